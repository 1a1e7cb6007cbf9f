import type * as z from 'zod';
import { isRecord, nth } from '../checked.ts';
import { messageOf, ValidationError } from '../errors.ts';
import { soleImageInput } from '../model/manifest/image-input.ts';
import type { Feature, Manifest } from '../model/manifest.ts';
import { formatIssues } from '../protocol/issues.ts';
import { instanceSchema } from '../tensor/features.ts';
import { parseCsvLine } from './csv.ts';

/** csv and jsonl are rows of text; image is one PNG or JPEG file, scored as one row. */
export type BatchFormat = 'csv' | 'jsonl' | 'image';
export const BATCH_FORMATS = ['csv', 'jsonl', 'image'] as const;

/** The results' format: CSV stays CSV, everything else is written as JSON Lines. */
export function resultFormat(format: BatchFormat): 'csv' | 'jsonl' {
  return format === 'csv' ? 'csv' : 'jsonl';
}

/** The one image input of a model that takes image files, or a ValidationError saying why not. */
export function imageInputOf(manifest: Manifest): string {
  const image = soleImageInput(manifest);
  if (!image) {
    throw new ValidationError(
      `model '${manifest.name}' does not take image files (it needs exactly one input, declared with "image" in its manifest); upload CSV or JSON Lines`,
    );
  }
  return image.name;
}

/** A row that decoded into a model instance, or the reason it did not. */
export type DecodedRow =
  | { readonly ok: true; readonly instance: Record<string, unknown>; readonly id?: string }
  | { readonly ok: false; readonly error: string; readonly id?: string };

export interface RowDecoder {
  decode(text: string): DecodedRow;
}

/**
 * The CSV decimal grammar, /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/, as Number() less the three
 * things Number() takes that the grammar does not: Infinity spelled out, 0x/0o/0b literals, and
 * whitespace around the digits. A tenth of a batch row's decode was this regular expression; a
 * property test holds the two equal on any string.
 */
export function decimalValue(s: string): number | undefined {
  const n = Number(s);
  if (Number.isNaN(n) || s === '') return undefined;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 43 || c === 45) c = s.charCodeAt(++i);
  if (c === 48) {
    // 0x.., 0o.., 0b..: Number() reads them as hex, octal and binary integers.
    const x = s.charCodeAt(i + 1) | 0x20;
    if (x === 120 || x === 111 || x === 98) return undefined;
  } else if (!(c >= 49 && c <= 57) && c !== 46) return undefined;
  const last = s.charCodeAt(s.length - 1);
  return (last >= 48 && last <= 57) || last === 46 ? n : undefined;
}
const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0']);

/** Header names that carry a row identifier through to the results. */
export function findIdColumn(columns: readonly string[], explicit?: string): string | undefined {
  if (explicit) return columns.includes(explicit) ? explicit : undefined;
  return columns.find((c) => c.toLowerCase() === 'id') ?? columns.find((c) => /_id$/i.test(c));
}

/**
 * Checks a CSV header against a model's features: every required feature needs a column, a
 * column may appear once. Extra columns are allowed (ids, labels, notes) and reported back.
 */
export function checkHeader(
  features: readonly Feature[],
  columns: readonly string[],
): { ignored: string[]; problems: string[] } {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === '') problems.push('the header has an empty column name');
    else if (seen.has(c)) problems.push(`column '${c}' appears twice in the header`);
    seen.add(c);
  }
  const missing = features.filter((f) => f.required && !seen.has(f.name)).map((f) => f.name);
  if (missing.length > 0) {
    problems.push(
      `missing column(s) ${missing.map((m) => `'${m}'`).join(', ')}; the header must name every required feature: ${features
        .filter((f) => f.required)
        .map((f) => f.name)
        .join(', ')}`,
    );
  }
  const names = new Set(features.map((f) => f.name));
  return { ignored: columns.filter((c) => c !== '' && !names.has(c)), problems };
}

/** A trimmed, non-empty CSV value as its feature's JSON value; undefined when it is not one. */
export function csvValue(f: Feature, s: string): number | boolean | string | undefined {
  switch (f.type) {
    case 'number':
    case 'integer':
      return decimalValue(s);
    case 'boolean': {
      const l = s.toLowerCase();
      return TRUE.has(l) ? true : FALSE.has(l) ? false : undefined;
    }
    case 'categorical':
      return s;
  }
}

function coerce(f: Feature, raw: string): { value: unknown } | { error: string } {
  const s = raw.trim();
  if (s === '') return { value: null };
  const value = csvValue(f, s);
  if (value !== undefined) return { value };
  return f.type === 'boolean'
    ? { error: `${f.name}: '${clip(s)}' is not a boolean; use true/false, yes/no or 1/0` }
    : { error: `${f.name}: '${clip(s)}' is not a number` };
}

function clip(s: string, n = 40): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function issues(error: z.ZodError): string {
  return formatIssues(error).join('; ');
}

/**
 * Builds the per-line decoder for a tabular model: CSV fields or a JSON object become an
 * instance, checked against the manifest's instance schema (types, ranges, categories, required).
 * Tensor models take JSON Lines, one instance object per line, checked when scored.
 */
export function createRowDecoder(
  manifest: Manifest,
  format: BatchFormat,
  opts: { columns?: readonly string[]; idColumn?: string; filename?: string } = {},
): RowDecoder {
  const inputs = manifest.inputs;
  if (format === 'image') {
    // The worker hands the file's bytes over as base64 text: the instance an API caller would send.
    const input = imageInputOf(manifest);
    return {
      decode: (text) => ({
        ok: true,
        instance: { [input]: { b64: text } },
        ...(opts.filename ? { id: opts.filename } : {}),
      }),
    };
  }
  if (inputs.kind === 'tensors') {
    if (format !== 'jsonl') {
      throw new ValidationError(
        `Model '${manifest.name}' takes tensor inputs; upload JSON Lines (.jsonl), one instance object per line.`,
      );
    }
    return {
      decode(text) {
        if (text.trim() === '') return { ok: false, error: 'blank line' };
        const parsed = parseJsonObject(text);
        if ('error' in parsed) return { ok: false, error: parsed.error };
        const { id, ...instance } = parsed.value;
        return { ok: true, instance, ...(id !== undefined ? { id: String(id) } : {}) };
      },
    };
  }
  const features = inputs.features;
  const schema = instanceSchema(features);
  const names = features.map((f) => f.name);

  if (format === 'jsonl') {
    const idKey = opts.idColumn ?? 'id';
    return {
      decode(text) {
        if (text.trim() === '') return { ok: false, error: 'blank line' };
        const parsed = parseJsonObject(text);
        if ('error' in parsed) return { ok: false, error: parsed.error };
        const obj = parsed.value;
        const idValue = obj[idKey];
        const id = idValue === undefined || idValue === null ? undefined : String(idValue);
        const instance: Record<string, unknown> = {};
        for (const n of names) if (n in obj) instance[n] = obj[n];
        const r = schema.safeParse(instance, { reportInput: true });
        if (!r.success) return { ok: false, error: issues(r.error), ...(id ? { id } : {}) };
        return { ok: true, instance: r.data, ...(id ? { id } : {}) };
      },
    };
  }

  const columns = opts.columns ?? [];
  const width = columns.length;
  const index = features.map((f) => columns.indexOf(f.name));
  const idIndex = opts.idColumn ? columns.indexOf(opts.idColumn) : -1;
  return {
    decode(text) {
      if (text.trim() === '') return { ok: false, error: 'blank line' };
      const parsed = parseCsvLine(text);
      if (!parsed.ok) return { ok: false, error: parsed.error };
      const fields = parsed.fields;
      const id = idIndex >= 0 ? fields[idIndex] : undefined;
      const withId = id !== undefined && id !== '' ? { id } : {};
      if (fields.length !== width) {
        return {
          ok: false,
          error: `wrong column count: ${fields.length} value(s), but the header has ${width} column(s)`,
          ...withId,
        };
      }
      const instance: Record<string, unknown> = {};
      const problems: string[] = [];
      for (let i = 0; i < features.length; i++) {
        const at = index[i] ?? 0;
        if (at < 0) continue;
        const c = coerce(nth(features, i), fields[at] ?? '');
        if ('error' in c) problems.push(c.error);
        else instance[nth(features, i).name] = c.value;
      }
      if (problems.length > 0) return { ok: false, error: problems.join('; '), ...withId };
      const r = schema.safeParse(instance, { reportInput: true });
      if (!r.success) return { ok: false, error: issues(r.error), ...withId };
      return { ok: true, instance: r.data, ...withId };
    },
  };
}

function parseJsonObject(text: string): { value: Record<string, unknown> } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { error: `not valid JSON: ${messageOf(err)}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { error: `expected a JSON object per line, got ${Array.isArray(v) ? 'an array' : typeof v}` };
  }
  return isRecord(v) ? { value: v } : { error: 'expected a JSON object per line' };
}
