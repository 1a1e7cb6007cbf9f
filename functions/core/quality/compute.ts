/** One model's quality report: the window from its manifest, the SQL run by an engine, the figures. */

export { MAX_WINDOW_HOURS, type QualityModel, qualityModelOf } from './model.ts';

import type { QualityEngine } from '../ports.ts';
import { qualityReport } from './metrics.ts';
import { MAX_WINDOW_HOURS, type QualityModel } from './model.ts';
import type { QualityReport } from './report-schema.ts';
import { qualityParams, qualitySql, seriesBucketMs } from './sql.ts';

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
  // The series divides the window asked for; toMs is one past now, to include it.
  const bucketMs = seriesBucketMs(window.fromMs, now);
  const rows = await engine.query(qualitySql(bucketMs), qualityParams(window));
  return qualityReport(rows, { window, task: q.task, spec: q.spec, engine: engine.name, now, bucketMs });
}
