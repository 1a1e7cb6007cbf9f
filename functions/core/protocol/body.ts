/**
 * A request body, read the same way by every transport (the Lambda edge, the serving container):
 * binary tensor data (a JSON header, then tensor bytes), a raw image or text body, or JSON. The
 * transport keeps only what is its own: where the bytes come from, and the media types only it
 * takes (the container's CSV and JSON Lines).
 */
import { InferaError, ValidationError } from '../errors.ts';
import { type BinaryData, binaryHeaderLength, type Framing } from './binary.ts';
import { parseJson } from './json.ts';
import { JSON_TYPES, mediaType, type RawBody, rawType } from './raw.ts';

export interface BodyInput {
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body as bytes, or as text when the transport has it so (an API Gateway event not in base64). */
  readonly body: Buffer | string;
  /** The operation takes a raw file or text as its input. */
  readonly raw: boolean;
  /** The operation takes the binary tensor data extension. */
  readonly binary: boolean;
  /** What to send instead, for a media type this transport does not take. */
  readonly accepts?: string;
}

export type ReadBody =
  | { readonly kind: 'raw'; readonly raw: RawBody }
  | {
      readonly kind: 'json';
      readonly json: unknown;
      readonly binary?: BinaryData;
    };

/** Where a binary request's JSON header ends, checked against the body's size; undefined for JSON. */
export function binaryFraming(
  input: Pick<BodyInput, 'headers' | 'binary'>,
  size: number,
): { length: number; framing: Framing } | undefined {
  return input.binary ? binaryHeaderLength(input.headers, size) : undefined;
}

/**
 * Reads a body as raw input or JSON, refusing an empty body (400) and a media type the operation
 * does not take (415). A JSON text body is parsed as it came: bytes are made only for raw and
 * binary bodies.
 */
export function readBody(input: BodyInput): ReadBody {
  const { headers, body } = input;
  const type = headers['content-type'];
  const framed = binaryFraming(input, typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  const head = typeof body === 'string' ? Buffer.from(body.slice(0, 64), 'latin1') : body.subarray(0, 64);
  const rawMedia = input.raw && !framed ? rawType(type, head) : undefined;
  if (rawMedia) {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (bytes.length === 0)
      throw new ValidationError(`Body is empty; send the ${rawMedia} content as the body.`);
    return { kind: 'raw', raw: { contentType: rawMedia, bytes } };
  }
  // curl -d sends application/x-www-form-urlencoded by default; a JSON body under it is accepted.
  if (!framed && type && !JSON_TYPES.test(mediaType(type) ?? '')) {
    throw new InferaError(
      `Content-Type is '${type}'; send the body as ${input.accepts ?? acceptsOf(input)}.`,
      { status: 415, code: 'unsupported_media_type' },
    );
  }
  const whole = typeof body === 'string' && framed ? Buffer.from(body, 'utf8') : body;
  const text =
    typeof whole === 'string' ? whole : (framed ? whole.subarray(0, framed.length) : whole).toString('utf8');
  if (text.trim() === '')
    throw new ValidationError('Body is empty; send a JSON object, e.g. {"instances": [{...}]}.');
  const hint =
    input.raw && /x-www-form-urlencoded/i.test(type ?? '')
      ? " It came as application/x-www-form-urlencoded, curl's default for -d and --data-binary: to send an image or text file, add -H 'content-type: image/png' (or image/jpeg, text/plain)."
      : '';
  const json = parseJson(text, 'Body', hint);
  return framed && typeof whole !== 'string'
    ? { kind: 'json', json, binary: { data: whole.subarray(framed.length), framing: framed.framing } }
    : { kind: 'json', json };
}

function acceptsOf(input: Pick<BodyInput, 'raw' | 'binary'>): string {
  return `application/json${input.binary ? ', or as binary tensor data with an Inference-Header-Content-Length header' : ''}${input.raw ? ', or as a raw image/png, image/jpeg or text/plain body for a model with an image or text input' : ''}`;
}
