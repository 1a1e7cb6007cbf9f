import { isRecord } from '../checked.ts';
import { invalid as fail } from '../errors.ts';

/**
 * How image files travel inside JSON: as `{"b64": "<base64>"}` in a v1 instance (TensorFlow
 * Serving's convention) and as base64 strings in a v2 JSON BYTES input. Binary requests and raw
 * bodies carry the bytes as they are.
 */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (standard alphabet, padded) to bytes. */
export function fromBase64(text: string, at: string): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64.test(text))
    fail(`${at}: is not base64 (standard alphabet, padded with =); encode the image file's bytes`);
  return Buffer.from(text, 'base64');
}

/** A v1 image value, `{"b64": "..."}` or a raw body's bytes, to the file's bytes. */
export function imageValue(value: unknown, at: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  const b64 = isRecord(value) ? value.b64 : undefined;
  if (typeof b64 !== 'string' || !isRecord(value) || Object.keys(value).length !== 1)
    fail(`${at}: must be {"b64": "<base64 of a PNG or JPEG file>"}`);
  return fromBase64(b64, `${at}.b64`);
}

/**
 * A v1 instance holding one image, as the raw-body route builds it: the file's bytes, as they
 * came, until the decoder (a JSON hop writes them as {"b64"}: protocol/json.ts filesAsBase64).
 */
export function imageInstance(input: string, bytes: Uint8Array): Record<string, unknown> {
  return { [input]: bytes };
}
