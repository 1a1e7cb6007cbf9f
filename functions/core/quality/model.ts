/**
 * What the join needs to know of a model, from its manifest: small and free of the SQL and the
 * report's schemas, so the predict path can log for the join without loading them.
 */
import type { QualitySpec } from '../model/manifest/quality.ts';
import type { Manifest } from '../model/manifest.ts';

/** What the join needs to know of a model: its task, its quality section and positive label. */
export interface QualityModel {
  readonly model: string;
  readonly task: string;
  readonly spec: QualitySpec;
  readonly positiveLabel?: string | undefined;
}

/** The quality settings of a manifest, or undefined when it has no quality section. */
export function qualityModelOf(
  m: Pick<Manifest, 'name' | 'task' | 'quality'> & {
    readonly outputs: { readonly labels?: readonly string[] | undefined };
  },
): QualityModel | undefined {
  if (!m.quality) return undefined;
  return {
    model: m.name,
    task: m.task,
    spec: m.quality,
    positiveLabel:
      m.task === 'binary-classification' ? (m.quality.positiveLabel ?? m.outputs.labels?.[1]) : undefined,
  };
}

/** The longest window a report may ask for: 90 days. */
export const MAX_WINDOW_HOURS = 24 * 90;
