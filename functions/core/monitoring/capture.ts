/**
 * Input/output capture: a sampled copy of requests and their predictions, for audits, labelling
 * and retraining. Off by default. Redacted fields are replaced before anything leaves the
 * process, at any depth of an instance.
 */

export const REDACTED = '[redacted]';

export interface CaptureRecord {
  readonly time: string;
  readonly requestId: string;
  readonly model: string;
  readonly version: string;
  readonly traffic: string;
  readonly instances: readonly unknown[];
  readonly predictions: readonly unknown[];
}

/** Parses `s3://bucket/prefix` or a local folder. */
export type CaptureTarget =
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string }
  | { readonly kind: 'dir'; readonly path: string };

export function parseCaptureTarget(value: string): CaptureTarget {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(value);
  if (m) return { kind: 's3', bucket: m[1] ?? '', prefix: (m[2] ?? '').replace(/\/+$/, '') };
  return { kind: 'dir', path: value };
}

/** A copy of `value` with every property named in `fields` replaced by "[redacted]". */
export function redact(value: unknown, fields: ReadonlySet<string>): unknown {
  if (fields.size === 0 || value === null || typeof value !== 'object' || ArrayBuffer.isView(value))
    return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, fields));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = fields.has(k) ? REDACTED : redact(v, fields);
  return out;
}

/** Where a record goes: one object (S3) or one JSON line (local) per request, by model, version and day. */
export function captureKey(r: CaptureRecord): { folder: string; day: string } {
  return { folder: `${r.model}/${r.version}`, day: r.time.slice(0, 10) };
}
