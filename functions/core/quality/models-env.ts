/**
 * The quality function's view of the models: each judged model's task, labels and quality
 * section, written by the stack from the manifests (QUALITY_MODELS) and by npm start from the
 * models it serves. Compact: it rides in the function's environment (AWS rule lambda-environment).
 */
import * as z from 'zod';
import { MODEL_NAME, TASKS } from '../model/manifest/names.ts';
import { qualitySchema } from '../model/manifest/quality.ts';
import type { Manifest } from '../model/manifest.ts';
import { type Truth, truthFor } from './feedback.ts';
import { type QualityModel, qualityModelOf } from './model.ts';

const entrySchema = z.strictObject({
  t: z.enum(TASKS),
  l: z.array(z.string()).optional(),
  q: qualitySchema,
});
const envSchema = z.record(z.string().regex(MODEL_NAME), entrySchema);

/** The JSON of the manifests that have a quality section (their live versions). */
export function qualityModelsJson(manifests: readonly Manifest[]): string {
  const out: Record<string, z.input<typeof entrySchema>> = {};
  for (const m of manifests) {
    if (!m.quality) continue;
    out[m.name] = { t: m.task, ...(m.outputs.labels ? { l: m.outputs.labels } : {}), q: m.quality };
  }
  return JSON.stringify(out);
}

export interface JudgedModel {
  readonly q: QualityModel;
  readonly truth: Truth;
}

/** Parses QUALITY_MODELS; a bad value names the model and field. */
export function parseQualityModels(json: string | undefined): Map<string, JudgedModel> {
  const parsed = envSchema.parse(json === undefined ? {} : JSON.parse(json));
  const out = new Map<string, JudgedModel>();
  for (const [name, e] of Object.entries(parsed)) {
    const q = qualityModelOf({ name, task: e.t, quality: e.q, outputs: e.l ? { labels: e.l } : {} });
    if (!q) continue;
    out.set(name, { q, truth: truthFor(name, e.t, e.l) });
  }
  return out;
}
