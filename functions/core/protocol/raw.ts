import { InferaError, invalid } from '../errors.ts';
import { imageInstance } from '../image/files.ts';
import { imageFormat } from '../image/format.ts';
import { soleImageInput } from '../model/manifest/image-input.ts';
import type { Manifest } from '../model/manifest.ts';

/** A raw body: an image file or plain text, sent as the input itself. */
export interface RawBody {
  /** The media type, lower case, without parameters: image/png, text/plain... */
  readonly contentType: string;
  readonly bytes: Uint8Array;
}

/**
 * A raw request body (one image file, or plain text) as the one v1 instance it stands for. Only a
 * model with exactly one image input takes an image body, and only a text model plain text;
 * anything else is a 415 that says what this model does take.
 */
export function rawInstance(m: Manifest, raw: RawBody): Record<string, unknown> {
  if (raw.contentType === 'text/plain' && m.inputs.kind === 'tensors' && m.inputs.text) {
    let text: string;
    try {
      text = utf8.decode(raw.bytes);
    } catch {
      invalid('Body is not valid UTF-8 text; send the text encoded as UTF-8.');
    }
    return { [m.inputs.text.field]: text };
  }
  const image = soleImageInput(m);
  const isImage = raw.contentType.startsWith('image/') || raw.contentType === 'application/octet-stream';
  if (isImage && image) {
    if (
      raw.contentType !== 'application/octet-stream' &&
      !/^image\/(png|jpeg|jpg|pjpeg)$/.test(raw.contentType)
    )
      unsupported(`Content-Type is '${raw.contentType}'; model '${m.name}' takes image/png or image/jpeg.`);
    if (!imageFormat(raw.bytes)) {
      invalid(
        `Body (${raw.contentType}, ${raw.bytes.length} bytes) is not a PNG or JPEG file; send the image file's bytes, e.g. curl --data-binary @line.png -H 'content-type: image/png'.`,
      );
    }
    return imageInstance(image.name, raw.bytes);
  }
  unsupported(
    `Content-Type is '${raw.contentType}', a raw body, but model '${m.name}' ${describe(m)}. Send application/json: {"instances": [...]}.`,
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function describe(m: Manifest): string {
  if (m.inputs.kind === 'tabular') return 'takes feature rows';
  if (m.inputs.text) return `takes text (text/plain, or {"${m.inputs.text.field}": "..."})`;
  const images = m.inputs.tensors.filter((t) => t.image).map((t) => t.name);
  if (images.length === 0) return 'takes tensors, not files';
  return `has ${m.inputs.tensors.length} inputs (images: ${images.join(', ')}), so one raw body cannot fill them`;
}

function unsupported(message: string): never {
  throw new InferaError(message, { status: 415, code: 'unsupported_media_type' });
}

/** Media types a raw-body operation takes as the input itself rather than as JSON. */
const RAW_TYPES = /^(image\/[a-z0-9.+-]+|application\/octet-stream|text\/plain)$/;

/** The media types a JSON body may come as: JSON itself, text/plain and curl's default form type. */
export const JSON_TYPES = /^(application\/(json|[a-z0-9.+-]+\+json|x-www-form-urlencoded)|text\/plain)$/i;

/** A Content-Type's media type, lower case, without parameters. */
export function mediaType(type: string | undefined): string | undefined {
  return type?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/**
 * Whether this body is raw, and as what: an image or octet stream, plain text that is not a JSON
 * object, or a PNG/JPEG file sent with no type or curl's default form type (`curl --data-binary
 * @photo.png`). `head` is the body's first bytes (64 are enough).
 */
export function rawType(type: string | undefined, head: Uint8Array): string | undefined {
  const media = mediaType(type);
  if (!media || media === 'application/x-www-form-urlencoded')
    return imageFormat(head) ? 'application/octet-stream' : undefined;
  if (!RAW_TYPES.test(media)) return undefined;
  // curl users have sent JSON as text/plain since v1; that still parses as JSON.
  const first = Buffer.from(head.subarray(0, 64)).toString('latin1').trimStart().charAt(0);
  if (media === 'text/plain' && (first === '{' || first === '[')) return undefined;
  return media;
}
