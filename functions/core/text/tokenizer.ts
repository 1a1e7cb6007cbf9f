import type { Tokenizer } from '@huggingface/tokenizers';
import { invalid as fail, fieldOf, ModelPackageError, messageOf } from '../errors.ts';
import type { Datatype, TensorSpec, TextSpec } from '../model/manifest.ts';
import type { HostTensor } from '../ports.ts';
import { hostTensor } from '../tensor/host-tensor.ts';
import { DATATYPE_TO_TYPE } from '../tensor/tensors.ts';

/**
 * Text to the token tensors a graph names (input_ids, attention_mask, token_type_ids), with a
 * Hugging Face `tokenizer.json` run by Hugging Face's own pure-JS tokenizers library. Truncation
 * keeps the special tokens the tokenizer's post-processor adds ([CLS] ... [SEP]), as the Python
 * tokenizers library does; padding is to the longest text in the request or to maxLength.
 */

/** Characters one text may have before it is refused, whatever maxLength truncates it to. */
export const MAX_TEXT_CHARS = 100_000;

export type TokenRole = 'ids' | 'mask' | 'type_ids';

/**
 * Refuses text that is not what it claims to be, on every transport alike: U+FFFD is what a
 * decoder puts where bytes were not UTF-8 (API Gateway decodes a text/plain body so, before the
 * function sees it), and NUL characters are what UTF-16 or binary data look like as UTF-8. A
 * model would label either with confidence.
 */
export function checkText(text: string, at: string): void {
  if (text.includes('\uFFFD'))
    fail(
      `${at}: holds U+FFFD, the character that stands for bytes that were not UTF-8; send the text encoded as UTF-8`,
    );
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    const head = [...text.slice(0, 16)].map((c) => c === '\u0000');
    // UTF-16 text of Latin letters read as UTF-8: every other character is a NUL.
    const utf16 = head.length >= 4 && head.every((isNul, k) => isNul === (k % 2 === (head[0] ? 0 : 1)));
    fail(
      `${at}: holds a NUL character at ${nul}${utf16 ? ' (it looks like UTF-16)' : ''}; send the text encoded as UTF-8`,
    );
  }
}

interface Encoded {
  readonly ids: number[];
  readonly mask: number[];
  readonly typeIds: number[];
}

export class TextTokenizer {
  readonly #tokenizer: Tokenizer;
  readonly #spec: TextSpec;
  readonly #padId: number;

  /**
   * Loads the tokenizers library on first need (a text model's cold start pays for it, not every
   * model's) and builds the tokenizer from its tokenizer.json.
   */
  static async load(tokenizerJson: unknown, spec: TextSpec, where: string): Promise<TextTokenizer> {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson as object, {});
    } catch (err) {
      throw new ModelPackageError([
        `${where}: not a tokenizer.json the tokenizers library can load: ${messageOf(err)}`,
      ]);
    }
    return new TextTokenizer(tokenizer, tokenizerJson, spec, where);
  }

  private constructor(tokenizer: Tokenizer, tokenizerJson: unknown, spec: TextSpec, where: string) {
    this.#spec = spec;
    this.#tokenizer = tokenizer;
    const fromFile = fieldOf(fieldOf(tokenizerJson, 'padding'), 'pad_id');
    const pad =
      spec.padId ??
      (typeof fromFile === 'number' ? fromFile : undefined) ??
      this.#tokenizer.token_to_id('[PAD]') ??
      this.#tokenizer.token_to_id('<pad>');
    if (pad === undefined)
      throw new ModelPackageError([
        `${where}: the tokenizer has no padding token ([PAD] or <pad>) and the manifest sets no inputs.text.padId; set one`,
      ]);
    this.#padId = pad;
  }

  /** One text to ids, truncated to maxLength with the tokenizer's special tokens kept. */
  encode(text: string, at: string): Encoded {
    if (text.length > MAX_TEXT_CHARS)
      fail(`${at}: is ${text.length} characters; the limit is ${MAX_TEXT_CHARS}. Split the text`);
    checkText(text, at);
    const full = this.#tokenizer.encode(text, { return_token_type_ids: true });
    const max = this.#spec.maxLength;
    const typeIds = full.token_type_ids ?? new Array<number>(full.ids.length).fill(0);
    if (full.ids.length <= max) return { ids: full.ids, mask: full.attention_mask, typeIds };
    // Where the text's own tokens sit between the special tokens: the same text without them.
    const plain = this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
    const prefix = indexOfRun(full.ids, plain);
    const suffix = full.ids.length - prefix - plain.length;
    const keep = Math.max(0, max - prefix - suffix);
    const pick = (xs: number[]) =>
      [...xs.slice(0, prefix + keep), ...xs.slice(xs.length - suffix)].slice(0, max);
    return { ids: pick(full.ids), mask: pick(full.attention_mask), typeIds: pick(typeIds) };
  }

  /** Several texts to one [N, L] tensor per role the manifest names. */
  feeds(
    texts: readonly string[],
    tensors: readonly TensorSpec[],
    at: (i: number) => string,
  ): Record<string, HostTensor> {
    const encoded = texts.map((t, i) => this.encode(t, at(i)));
    const width =
      this.#spec.padding === 'max_length'
        ? this.#spec.maxLength
        : Math.max(1, ...encoded.map((e) => e.ids.length));
    const n = texts.length;
    const feeds: Record<string, HostTensor> = {};
    for (const spec of tensors) {
      const role = spec.tokens as TokenRole;
      const values = new Array<number>(n * width);
      encoded.forEach((e, i) => {
        const row = role === 'ids' ? e.ids : role === 'mask' ? e.mask : e.typeIds;
        const pad = role === 'ids' ? this.#padId : 0;
        for (let k = 0; k < width; k++) values[i * width + k] = k < row.length ? (row[k] ?? 0) : pad;
      });
      feeds[spec.name] = hostTensor(DATATYPE_TO_TYPE[spec.datatype], typed(values, spec.datatype), [
        n,
        width,
      ]);
    }
    return feeds;
  }
}

function typed(values: number[], datatype: Datatype) {
  switch (datatype) {
    case 'INT64':
      return BigInt64Array.from(values, (v) => BigInt(v));
    case 'INT32':
      return Int32Array.from(values);
    default:
      throw new Error(`token inputs cannot be ${datatype}`);
  }
}

/** Where `run` starts inside `xs` (0 when it does not occur, e.g. an empty text). */
function indexOfRun(xs: readonly number[], run: readonly number[]): number {
  if (run.length === 0) return Math.min(1, xs.length);
  outer: for (let i = 0; i + run.length <= xs.length; i++) {
    for (let k = 0; k < run.length; k++) if (xs[i + k] !== run[k]) continue outer;
    return i;
  }
  return 0;
}
