import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '#core/errors.ts';
import { type CaptureRecord, captureKey, parseCaptureTarget, redact } from '#core/monitoring/capture.ts';
import { filesAsBase64 } from '#core/protocol/json.ts';
import type { Config } from './config.ts';
import { logger } from './observability.ts';

/** Captures in flight at most; beyond it a sampled request is not captured (and counted). */
const MAX_CAPTURES_IN_FLIGHT = 16;

/**
 * Sampled input/output capture (CAPTURE_SAMPLE_RATE, CAPTURE_DESTINATION, CAPTURE_REDACT). The
 * invocation waits for the write before returning (Monitoring.flush); a failed write is logged
 * without the payload.
 */
export class Capture {
  readonly #rate: number;
  readonly #fields: ReadonlySet<string>;
  readonly #write: ((r: CaptureRecord) => Promise<void>) | undefined;
  #inFlight = 0;
  dropped = 0;
  written = 0;

  constructor(config: Config) {
    this.#rate = config.CAPTURE_DESTINATION ? config.CAPTURE_SAMPLE_RATE : 0;
    this.#fields = new Set(config.CAPTURE_REDACT);
    const target = config.CAPTURE_DESTINATION ? parseCaptureTarget(config.CAPTURE_DESTINATION) : undefined;
    if (target?.kind === 'dir') {
      this.#write = async (r) => {
        const { folder, day } = captureKey(r);
        const dir = join(target.path, folder);
        await mkdir(dir, { recursive: true });
        await appendFile(join(dir, `${day}.jsonl`), `${JSON.stringify(r, filesAsBase64)}\n`);
      };
    } else if (target?.kind === 's3') {
      let store: Promise<import('#core/ports.ts').ObjectStore> | undefined;
      this.#write = async (r) => {
        store ??= import('#adapters/s3.ts').then(
          ({ S3ObjectStore, s3Client }) => new S3ObjectStore(s3Client(config.AWS_ENDPOINT_URL)),
        );
        const { folder, day } = captureKey(r);
        const key = [target.prefix, folder, day, `${r.requestId}.json`].filter(Boolean).join('/');
        await (await store).write(target.bucket, key, JSON.stringify(r, filesAsBase64), {
          contentType: 'application/json',
        });
      };
    }
  }

  /** Whether this request is sampled; decided before any copy is made. */
  sampled(): boolean {
    return this.#write !== undefined && this.#rate > 0 && Math.random() < this.#rate;
  }

  /** Writes one record in the background, with the configured fields redacted. */
  capture(record: CaptureRecord): Promise<void> {
    const write = this.#write;
    if (!write) return Promise.resolve();
    if (this.#inFlight >= MAX_CAPTURES_IN_FLIGHT) {
      this.dropped++;
      return Promise.resolve();
    }
    this.#inFlight++;
    const safe = { ...record, instances: redact(record.instances, this.#fields) as unknown[] };
    return write(safe)
      .then(() => {
        this.written++;
      })
      .catch((err: unknown) => {
        logger.error('capture not written', {
          model: record.model,
          version: record.version,
          error: messageOf(err),
        });
      })
      .finally(() => {
        this.#inFlight--;
      });
  }
}

let capture: Capture | undefined;

/** The process's capture writer. */
export function getCapture(config: Config): Capture {
  capture ??= new Capture(config);
  return capture;
}
