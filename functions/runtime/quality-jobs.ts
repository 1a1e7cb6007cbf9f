/**
 * The quality function's two jobs. `ingestUploads`: a ground-truth file uploaded to
 * ground-truth/<model>/ is read as a stream and its labels stored, with a result object beside
 * (ground-truth-results/...). `evaluateAll`: each judged model's report from the engine (Athena on
 * AWS), its quality metrics as EMF, its events, and the report kept for GET .../quality.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Upload } from '#core/batch/deps.ts';
import { isCeiling, QUALITY_FIGURES } from '#core/model/manifest/quality.ts';
import type { ObjectStore, QualityEngine } from '#core/ports.ts';
import { computeQuality } from '#core/quality/compute.ts';
import {
  type IngestResult,
  ingestLabels,
  MAX_GROUND_TRUTH_BYTES,
  parseGroundTruthKey,
  RESULTS_PREFIX,
  resultKey,
} from '#core/quality/ingest.ts';
import { QUALITY_METRIC } from '#core/quality/metrics.ts';
import type { JudgedModel } from '#core/quality/models-env.ts';
import { type QualityReport, qualityReportSchema } from '#core/quality/report-schema.ts';
import { platformEnv } from './config.ts';
import type { Sink } from './monitoring.ts';
import { logger } from './observability.ts';
import { type Quality, reportKey } from './quality.ts';
import { judgeQuality } from './quality-watch.ts';

export interface QualityJobDeps {
  readonly store: ObjectStore;
  readonly quality: Quality;
  readonly models: ReadonlyMap<string, JudgedModel>;
  /** The largest file read (MAX_GROUND_TRUTH_BYTES). */
  readonly maxBytes?: number;
}

/** Each upload's labels stored and its result written; an upload that names no model gets a result saying so. */
export async function ingestUploads(d: QualityJobDeps, uploads: readonly Upload[]): Promise<IngestResult[]> {
  const results: IngestResult[] = [];
  for (const u of uploads) {
    if (u.key.startsWith(RESULTS_PREFIX)) continue;
    const parsed = parseGroundTruthKey(u.key);
    const judged = 'error' in parsed ? undefined : d.models.get(parsed.model);
    const refused = (why: string, model = ''): IngestResult => ({
      model,
      key: u.key,
      lines: 0,
      accepted: 0,
      rejected: 0,
      problems: [why],
      parts: 0,
      finishedAt: new Date().toISOString(),
    });
    let result: IngestResult;
    // Read as it is now, and only that version: a file replaced meanwhile gets its own event.
    const head = await d.store.head(u.bucket, u.key);
    if (!head) continue;
    if ('error' in parsed) result = refused(parsed.error);
    else if (!judged)
      result = refused(
        `model '${parsed.model}' takes no labels here: its live model.json has no "quality" section`,
      );
    else if (head.bytes > (d.maxBytes ?? MAX_GROUND_TRUTH_BYTES))
      result = refused(
        `the file is ${head.bytes} bytes; a ground-truth file may be ${d.maxBytes ?? MAX_GROUND_TRUTH_BYTES}: split it into several`,
        parsed.model,
      );
    else
      result = await ingestLabels({
        truth: judged.truth,
        key: u.key,
        etag: head.etag,
        format: parsed.format,
        body: await d.store.read(u.bucket, u.key, { ifMatch: head.etag }),
        write: (lines, unique) => d.quality.labels(judged.q.model, lines, 'file', unique),
      });
    logger.info('ground truth ingested', {
      key: u.key,
      accepted: result.accepted,
      rejected: result.rejected,
    });
    await d.store.write(u.bucket, resultKey(u.key), JSON.stringify(result, null, 2), {
      contentType: 'application/json',
    });
    results.push(result);
  }
  return results;
}

/** One evaluation round over every judged model; reports and events as the local watch makes them. */
export async function evaluateAll(
  d: QualityJobDeps & { readonly engine: QualityEngine; readonly bucket: string; readonly prefix: string },
  sinks: readonly Sink[],
): Promise<number> {
  const events = await judgeQuality(
    [...d.models.values()].map((m) => m.q),
    (q) => computeQuality(d.engine, q),
    async (model) => {
      const text = await d.store.readText(d.bucket, reportKey(d.prefix, model));
      return text === undefined ? undefined : qualityReportSchema.safeParse(JSON.parse(text)).data;
    },
    async (r) => {
      publish(r);
      await d.store.write(d.bucket, reportKey(d.prefix, r.model), JSON.stringify(r), {
        contentType: 'application/json',
      });
    },
    sinks,
  );
  return events.length;
}

/**
 * A report's figures as EMF: per model and version, and per model for the worst version that
 * serves traffic (not a shadow alone), which the stack's quality alarm watches.
 */
export function publish(r: QualityReport): void {
  if (platformEnv().POWERTOOLS_METRICS_DISABLED) return;
  // One EMF document per dimension set: a document's metrics all carry its dimensions.
  figures ??= new Metrics({
    namespace: platformEnv().POWERTOOLS_METRICS_NAMESPACE,
    serviceName: platformEnv().POWERTOOLS_SERVICE_NAME,
  });
  const m = figures;
  const serving = r.versions.filter((v) => Object.keys(v.traffic).some((t) => t !== 'shadow'));
  for (const v of r.versions) {
    m.addDimensions({ model: r.model, version: v.version });
    m.addMetric('QualityLabelled', MetricUnit.Count, v.labelled);
    for (const key of QUALITY_FIGURES) {
      const value = v[key];
      if (value !== null) m.addMetric(QUALITY_METRIC[key], MetricUnit.NoUnit, value);
    }
    m.publishStoredMetrics();
  }
  let any = false;
  for (const key of QUALITY_FIGURES) {
    const judged = serving.filter((v) => v[key] !== null && v.labelled >= r.minLabels);
    const worse = (b: number, a: number) => (isCeiling(key) ? b > a : b < a);
    const worst = judged.reduce<(typeof judged)[number] | undefined>(
      (a, b) => (!a || worse(b[key] ?? 0, a[key] ?? 0) ? b : a),
      undefined,
    );
    if (!worst) continue;
    if (!any) m.addDimensions({ model: r.model });
    any = true;
    m.addMetric(QUALITY_METRIC[key], MetricUnit.NoUnit, worst[key] ?? 0);
  }
  if (any) {
    // Every figure above comes from a version with at least minLabels: the alarm's IF passes.
    const labelled = Math.min(...serving.filter((v) => v.labelled >= r.minLabels).map((v) => v.labelled));
    m.addMetric('QualityLabelled', MetricUnit.Count, labelled);
    m.publishStoredMetrics();
  }
}

let figures: Metrics | undefined;
