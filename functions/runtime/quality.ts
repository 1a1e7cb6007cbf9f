/**
 * The quality log of this process: the ids and predictions of models with a manifest `quality`
 * section, and the labels sent for them, written where QUALITY_DESTINATION says (a folder locally,
 * S3 on AWS); and the reports read back. Locally a report is computed on demand by DuckDB over
 * the folder; on AWS the quality function computes it with Athena on a schedule and this reads it.
 */
import { messageOf, NotFoundError } from '#core/errors.ts';
import type { ModelVersion } from '#core/model/registry.ts';
import { parseCaptureTarget } from '#core/monitoring/capture.ts';
import type { ObjectStore, QualityEngine, QualityLog } from '#core/ports.ts';
import type { Prediction } from '#core/protocol/schemas.ts';
import { type QualityModel, qualityModelOf } from '#core/quality/model.ts';
import {
  jsonLines,
  type LabelLine,
  labelsFolder,
  outputsOf,
  type PredictionLine,
  predictionsFolder,
  type QualityTraffic,
  rowIds,
} from '#core/quality/records.ts';
import type { QualityReport } from '#core/quality/report-schema.ts';
import type { Config } from './config.ts';
import { logger } from './observability.ts';

/** Writes in flight at most; beyond it a request's lines are not written (and counted). */
const MAX_WRITES_IN_FLIGHT = 32;
/** A buffer this large is written whatever its age. */
const MAX_BUFFER_BYTES = 1024 * 1024;

/** The key of a model's latest report under an S3 quality destination. */
export const reportKey = (prefix: string, model: string) =>
  [prefix, 'reports', `${model}.json`].filter(Boolean).join('/');

export class Quality {
  readonly #config: Config;
  readonly #log: Promise<QualityLog> | undefined;
  readonly #target: ReturnType<typeof parseCaptureTarget> | undefined;
  #store: Promise<ObjectStore> | undefined;
  #engine: QualityEngine | undefined;
  readonly #reports = new Map<string, { at: number; report: Promise<QualityReport> }>();
  readonly #buffers = new Map<string, { folder: string; unique: string; body: string; since: number }>();
  #inFlight = 0;
  dropped = 0;

  constructor(config: Config) {
    this.#config = config;
    this.#target = config.QUALITY_DESTINATION ? parseCaptureTarget(config.QUALITY_DESTINATION) : undefined;
    const t = this.#target;
    if (t?.kind === 'dir')
      this.#log = import('#adapters/quality/folder.ts').then(
        ({ FolderQualityLog }) => new FolderQualityLog(t.path),
      );
    else if (t?.kind === 's3')
      this.#log = this.#objects().then(async (store) => {
        const { S3QualityLog } = await import('#adapters/quality/s3.ts');
        return new S3QualityLog(store, t.bucket, t.prefix);
      });
  }

  /** Whether labels can be taken and reports made at all. */
  get configured(): boolean {
    return this.#log !== undefined;
  }

  /** Whether predictions of `mv` are logged at all: its model has a quality section. */
  logs(mv: ModelVersion): boolean {
    return this.#log !== undefined && mv.manifest.quality !== undefined;
  }

  /** Whether this request to `mv` is logged: logs(mv), and sampled at QUALITY_SAMPLE_RATE. */
  sampled(mv: ModelVersion): boolean {
    return (
      this.logs(mv) &&
      (this.#config.QUALITY_SAMPLE_RATE >= 1 || Math.random() < this.#config.QUALITY_SAMPLE_RATE)
    );
  }

  /** Logs a request's predictions with its row ids; the caller awaits it within the invocation. */
  predictions(
    mv: ModelVersion,
    requestId: string,
    traffic: QualityTraffic,
    instances: readonly unknown[] | undefined,
    predictions: readonly Prediction[],
    ids?: readonly string[],
    opts: { readonly must?: boolean } = {},
  ): Promise<void> {
    const q = qualityModelOf(mv.manifest);
    if (!q) return Promise.resolve();
    const ts = Date.now();
    const rows = ids ?? rowIds(requestId, predictions.length, instances, q.spec.idField);
    const lines: PredictionLine[] = predictions.map((p, i) => ({
      id: rows[i] ?? `${requestId}#${i}`,
      request: requestId,
      version: mv.version,
      ts,
      traffic,
      ...outputsOf(p, q.positiveLabel),
    }));
    const folder = predictionsFolder(mv.name, ts);
    const unique = `${mv.version}-${traffic === 'shadow' ? 'shadow-' : ''}${requestId}`;
    if (opts.must || this.#target?.kind !== 's3' || this.#config.QUALITY_FLUSH_MS === 0)
      return this.#write(folder, `${mv.version}-${process.pid}`, unique, jsonLines(lines), opts.must);
    return this.#buffered(folder, mv.version, unique, jsonLines(lines), ts);
  }

  /**
   * S3: one object per QUALITY_FLUSH_MS per folder and version, not one per request. The request
   * that finds the buffer old enough (or over 1 MB) writes it, and waits for the write; the others
   * only append. Lines still buffered when Lambda reclaims an idle instance are lost: at most one
   * interval of that instance's predictions, whose labels then count as unmatched.
   */
  #buffered(folder: string, version: string, unique: string, body: string, now: number): Promise<void> {
    const key = `${folder}/${version}`;
    let b = this.#buffers.get(key);
    if (!b) {
      b = { folder, unique, body: '', since: now };
      this.#buffers.set(key, b);
    }
    b.body += body;
    const due = [...this.#buffers].filter(
      ([, x]) => now - x.since >= this.#config.QUALITY_FLUSH_MS || x.body.length >= MAX_BUFFER_BYTES,
    );
    if (due.length === 0) return Promise.resolve();
    for (const [k] of due) this.#buffers.delete(k);
    return Promise.all(due.map(([, x]) => this.#write(x.folder, '', x.unique, x.body))).then(() => {});
  }

  /** Stores labels for a model; `unique` names the write (a request id, or a file's part). */
  labels(model: string, lines: readonly LabelLine[], stream: string, unique: string): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return this.#write(
      labelsFolder(model, lines[0]?.received_ms ?? Date.now()),
      stream,
      `${stream}-${unique}`,
      jsonLines(lines),
      true,
    );
  }

  #write(folder: string, stream: string, unique: string, body: string, must = false): Promise<void> {
    const log = this.#log;
    if (!log) return Promise.resolve();
    if (!must && this.#inFlight >= MAX_WRITES_IN_FLIGHT) {
      this.dropped++;
      return Promise.resolve();
    }
    this.#inFlight++;
    const done = log
      .then((l) => l.write(folder, stream, unique, body))
      .finally(() => {
        this.#inFlight--;
      });
    // Labels are the caller's data: a failed write fails the request. Predictions are a copy.
    if (must) return done;
    return done.catch((err: unknown) => {
      logger.error('quality log not written', { folder, error: messageOf(err) });
    });
  }

  /** A model's report: computed now (DuckDB over the folder) or the last one the schedule wrote (S3). */
  async report(q: QualityModel, hours?: number): Promise<QualityReport> {
    const t = this.#target;
    if (t?.kind === 's3') {
      const text = await (await this.#objects()).readText(t.bucket, reportKey(t.prefix, q.model));
      if (text === undefined)
        throw new NotFoundError(
          `No quality report for '${q.model}' yet: the quality function writes one on its schedule, once it has run after the first predictions were logged.`,
        );
      // The report's schema and the join load on a report's first request, not at a cold start.
      const { qualityReportSchema } = await import('#core/quality/report-schema.ts');
      return qualityReportSchema.parse(JSON.parse(text));
    }
    const key = `${q.model}/${hours ?? ''}`;
    const hit = this.#reports.get(key);
    if (hit && Date.now() - hit.at < this.#config.QUALITY_REPORT_TTL_MS) return hit.report;
    const report = import('#core/quality/compute.ts').then(({ computeQuality }) =>
      computeQuality(this.engine(), q, hours === undefined ? {} : { hours }),
    );
    this.#reports.set(key, { at: Date.now(), report });
    report.catch(() => this.#reports.delete(key));
    return report;
  }

  /** The local engine: DuckDB over the folder quality log. */
  engine(): QualityEngine {
    const t = this.#target;
    if (t?.kind !== 'dir') throw new Error('the local quality engine needs a folder QUALITY_DESTINATION');
    if (!this.#engine) {
      const root = t.path;
      let engine: Promise<QualityEngine> | undefined;
      const load = () => {
        engine ??= import('#adapters/quality/duckdb.ts').then(
          ({ DuckDbQualityEngine }) => new DuckDbQualityEngine(root),
        );
        return engine;
      };
      this.#engine = { name: 'duckdb', query: async (sql, params) => (await load()).query(sql, params) };
    }
    return this.#engine;
  }

  #objects(): Promise<ObjectStore> {
    this.#store ??= import('#adapters/s3.ts').then(
      ({ S3ObjectStore, s3Client }) => new S3ObjectStore(s3Client(this.#config.AWS_ENDPOINT_URL)),
    );
    return this.#store;
  }
}

let shared: Quality | undefined;

/** The process's quality log, shared by the handlers in it (locally: all of them). */
export function getQuality(config: Config): Quality {
  shared ??= new Quality(config);
  return shared;
}
