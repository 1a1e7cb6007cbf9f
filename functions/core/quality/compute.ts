/** One model's quality report: the window from its manifest, the SQL run by an engine, the figures. */

import type { QualitySpec } from '../model/manifest/quality.ts';
import type { Manifest } from '../model/manifest.ts';
import type { QualityEngine } from '../ports.ts';
import { qualityReport } from './metrics.ts';
import type { QualityReport } from './report-schema.ts';
import { qualityParams, qualitySql, seriesBucketMs } from './sql.ts';

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

export async function computeQuality(
  engine: QualityEngine,
  q: QualityModel,
  opts: { readonly now?: number; readonly hours?: number } = {},
): Promise<QualityReport> {
  const now = opts.now ?? Date.now();
  const hours = Math.min(opts.hours ?? q.spec.windowHours, MAX_WINDOW_HOURS);
  const window = {
    model: q.model,
    fromMs: now - hours * 3_600_000,
    toMs: now + 1,
    positiveLabel: q.positiveLabel,
  };
  const bucketMs = seriesBucketMs(window.fromMs, window.toMs);
  const rows = await engine.query(qualitySql(bucketMs), qualityParams(window));
  return qualityReport(rows, { window, task: q.task, spec: q.spec, engine: engine.name, now, bucketMs });
}
