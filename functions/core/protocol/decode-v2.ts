import { nth } from '../checked.ts';
import { invalid as fail } from '../errors.ts';
import { fromBase64 } from '../image/files.ts';
import type { Datatype, Feature, Manifest, TensorSpec } from '../model/manifest.ts';
import type { HostTensor } from '../ports.ts';
import { hostTensor } from '../tensor/host-tensor.ts';
import { checkBounds, checkShape, type ShapeLimits } from '../tensor/shapes.ts';
import { DATATYPE_TO_TYPE, flattenData, product, toTypedArray } from '../tensor/tensors.ts';
import { tensorToJson } from '../tensor/to-json.ts';
import type { TextInput } from '../text/load.ts';
import { bytesElements, decodeBinaryTensor } from './binary.ts';
import { imageFeed, isImage } from './images.ts';
import type { InferInput, InferRequest } from './schemas.ts';

/**
 * Decode, v2: an Open Inference Protocol request (JSON or binary tensor data) to the named tensors a
 * graph runs on, or, for a tabular model, to rows that then go through the v1 validation. Also the
 * JSON form of a binary request, for the hop to a SageMaker endpoint.
 */
/** N for an input shaped [N] or [N, 1] (a column: one value per row), else a 400 saying so. */
function columnRows(input: InferInput, at: string, what: string): number {
  const [n, one, ...rest] = input.shape;
  if (n === undefined || rest.length > 0 || (one !== undefined && one !== 1))
    fail(`${at}.shape: [${input.shape.join(', ')}] must be [N] or [N, 1]${what}`);
  return n;
}

/** A v2 BYTES input of image files: raw bytes (binary) or base64 strings (JSON), shape [N] or [N, 1]. */
function imageFiles(input: InferInput, at: string): Uint8Array[] {
  const n = columnRows(input, at, ': one image file per element');
  if (input.raw) return bytesElements(input.raw, n, `${at}.data`);
  const data = flattenData(input.data, input.shape, `${at}.data`);
  return data.map((v, i) => {
    if (typeof v !== 'string')
      fail(`${at}.data[${i}]: must be a base64 string of a PNG or JPEG file, or send binary tensor data`);
    return fromBase64(v, `${at}.data[${i}]`);
  });
}

const FEATURE_DATATYPES: Record<Feature['type'], readonly string[]> = {
  number: ['FP32', 'FP64', 'INT32', 'INT64'],
  integer: ['INT32', 'INT64'],
  boolean: ['BOOL'],
  categorical: ['BYTES'],
};

/**
 * The request with binary inputs turned into JSON `data` and no output asked for as binary, for a
 * hop that speaks JSON (the endpoint call); binary outputs are framed by whoever answers the caller.
 */
export function asJsonRequest(req: InferRequest, m: Manifest): InferRequest {
  const images = new Set(
    m.inputs.kind === 'tensors' ? m.inputs.tensors.filter(isImage).map((t) => t.name) : [],
  );
  const { binary_data_output: _all, ...parameters } = req.parameters ?? {};
  return {
    ...req,
    ...(req.parameters ? { parameters } : {}),
    // The hop answers in JSON: which outputs the caller wants as binary is for the last encode.
    ...(req.outputs
      ? {
          outputs: req.outputs.map((o) => {
            const { binary_data: _binary, ...keep } = o.parameters ?? {};
            return o.parameters ? { ...o, parameters: keep } : o;
          }),
        }
      : {}),
    inputs: req.inputs.map((input, i) => {
      if (!input.raw) return input;
      const { raw: _raw, parameters, ...rest } = input;
      const { binary_data_size: _size, ...keep } = parameters ?? {};
      return {
        ...rest,
        ...(Object.keys(keep).length > 0 ? { parameters: keep } : {}),
        // Image files travel as base64 strings in JSON, as a JSON client would send them.
        data:
          images.has(input.name) && input.datatype === 'BYTES' && input.raw
            ? bytesElements(input.raw, product(input.shape), `inputs[${i}].data`).map((b) =>
                Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'),
              )
            : valuesOf(input, input.datatype as Datatype, `inputs[${i}]`),
      };
    }),
  };
}

/** An input's elements as JSON values: its `data`, or its binary bytes decoded. */
function valuesOf(input: InferInput, datatype: Datatype, at: string): unknown[] {
  if (!input.raw) return flattenData(input.data, input.shape, `${at}.data`);
  const data = decodeBinaryTensor(input.raw, datatype, input.shape, `${at}.data`);
  return tensorToJson(hostTensor(DATATYPE_TO_TYPE[datatype], data, input.shape));
}

/** v2 for tabular models: one input per feature column, shape [N] or [N, 1]. */
export function columnsToRows(
  features: readonly Feature[],
  req: InferRequest,
  limits: ShapeLimits,
): Record<string, unknown>[] {
  const byName = new Map(features.map((f) => [f.name, f]));
  let n: number | undefined;
  const columns = new Map<string, unknown[]>();
  req.inputs.forEach((input, i) => {
    const at = `inputs[${i}]`;
    const f = byName.get(input.name);
    if (!f) {
      fail(
        `${at}.name: unknown input '${input.name}'; send one input per feature: ${features.map((x) => x.name).join(', ')}`,
      );
    }
    const allowed = FEATURE_DATATYPES[f.type];
    if (!allowed.includes(input.datatype)) {
      fail(
        `${at}.datatype: is ${input.datatype}, but feature '${f.name}' (${f.type}) takes ${allowed.join(' or ')}`,
      );
    }
    const rows = columnRows(input, at, ` for feature column '${f.name}'`);
    if (n === undefined) n = rows;
    else if (rows !== n)
      fail(`${at}.shape: has ${rows} rows but earlier inputs have ${n}; all columns need the same N`);
    checkBounds(input.shape, `${at}.shape`, limits);
    columns.set(f.name, valuesOf(input, input.datatype as Datatype, at));
  });
  const missing = features.filter((f) => f.required && !columns.has(f.name)).map((f) => f.name);
  if (missing.length > 0)
    fail(
      `missing input(s) ${missing.map((x) => `'${x}'`).join(', ')}; every required feature needs a column`,
    );
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < (n ?? 0); r++) {
    const row: Record<string, unknown> = {};
    for (const [name, col] of columns) row[name] = col[r];
    rows.push(row);
  }
  if (rows.length === 0) fail('inputs: N is 0; send at least one row');
  return rows;
}

export function tensorFeeds(
  specs: readonly TensorSpec[],
  req: InferRequest,
  limits: ShapeLimits,
  text?: TextInput,
  nonFinite: 'accept' | 'refuse' = 'accept',
): Record<string, HostTensor> {
  const field = text?.spec.field;
  const textAt = field === undefined ? -1 : req.inputs.findIndex((x) => x.name === field);
  if (text && textAt >= 0) {
    const input = nth(req.inputs, textAt);
    const at = `inputs[${textAt}]`;
    if (req.inputs.length > 1)
      fail(
        `inputs: send only '${field}'; the tokenizer makes ${specs.map((s) => s.name).join(', ')} from it`,
      );
    if (input.datatype !== 'BYTES') fail(`${at}.datatype: is ${input.datatype}; text is BYTES`);
    const n = columnRows(input, at, ': one text per element');
    checkBounds([n, text.spec.maxLength], `${at}.shape`, limits);
    const values = input.raw
      ? (decodeBinaryTensor(input.raw, 'BYTES', input.shape, `${at}.data`) as string[])
      : flattenData(input.data, input.shape, `${at}.data`);
    const texts = values.map((v, i) => {
      if (typeof v !== 'string') fail(`${at}.data[${i}]: must be a string of text`);
      return v;
    });
    return text.tokenizer.feeds(texts, specs, (i) => `${at}.data[${i}]`);
  }
  const byName = new Map(specs.map((s) => [s.name, s]));
  const feeds: Record<string, HostTensor> = {};
  req.inputs.forEach((input, i) => {
    const at = `inputs[${i}]`;
    const spec = byName.get(input.name);
    if (!spec)
      fail(
        `${at}.name: unknown input '${input.name}'; this model's inputs are: ${specs.map((s) => s.name).join(', ')}`,
      );
    if (isImage(spec) && input.datatype === 'BYTES') {
      const [n = 0] = input.shape;
      checkBounds([n, 1], `${at}.shape`, limits);
      feeds[spec.name] = imageFeed(spec, imageFiles(input, at), (k) => `${at}.data[${k}]`, limits);
      return;
    }
    if (input.datatype !== spec.datatype) {
      const also = isImage(spec) ? ', or BYTES with PNG or JPEG files' : '';
      fail(`${at}.datatype: is ${input.datatype}, but input '${spec.name}' expects ${spec.datatype}${also}`);
    }
    checkShape(input.shape, spec, `${at}.shape`, limits);
    feeds[spec.name] = hostTensor(
      DATATYPE_TO_TYPE[spec.datatype],
      input.raw
        ? decodeBinaryTensor(input.raw, spec.datatype, input.shape, `${at}.data`, nonFinite)
        : toTypedArray(
            flattenData(input.data, input.shape, `${at}.data`),
            spec.datatype,
            `${at}.data`,
            nonFinite,
          ),
      input.shape,
    );
  });
  const missing = specs.filter((s) => !feeds[s.name]).map((s) => s.name);
  if (missing.length > 0) fail(`missing input(s) ${missing.map((x) => `'${x}'`).join(', ')}`);
  return feeds;
}
