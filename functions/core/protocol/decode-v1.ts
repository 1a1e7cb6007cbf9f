import { isRecord } from '../checked.ts';
import { invalid as fail } from '../errors.ts';
import { imageValue } from '../image/files.ts';
import type { Feature, TensorSpec } from '../model/manifest.ts';
import type { HostTensor } from '../ports.ts';
import { encodeInstances } from '../tensor/features.ts';
import { hostTensor } from '../tensor/host-tensor.ts';
import { checkBounds, type ShapeLimits } from '../tensor/shapes.ts';
import { DATATYPE_TO_TYPE, flattenData, product, toTypedArray } from '../tensor/tensors.ts';
import type { TextInput } from '../text/load.ts';
import { imageFeed, isImage } from './images.ts';

/**
 * Decode, v1: JSON instances (and the one instance a raw body stands for) to the named tensors a
 * graph runs on. Tabular rows are validated against the manifest's features; tensor instances are
 * stacked; image files and texts are pre-processed. The protocol-neutral seam starts here.
 */
export function tabularFeeds(
  tensor: string,
  features: readonly Feature[],
  rows: readonly Record<string, unknown>[],
): Record<string, HostTensor> {
  return {
    [tensor]: {
      type: 'float32',
      data: encodeInstances(features, rows),
      dims: [rows.length, features.length],
    },
  };
}

/** v1 text instances, {"<field>": "..."}, to the token feeds. */
function textInstances(
  specs: readonly TensorSpec[],
  instances: readonly Record<string, unknown>[],
  limits: ShapeLimits,
  text: TextInput,
): Record<string, HostTensor> {
  const field = text.spec.field;
  checkBounds([instances.length, text.spec.maxLength], 'instances', limits);
  const texts = instances.map((inst, i) => {
    if (inst === null || typeof inst !== 'object' || Array.isArray(inst))
      fail(`instances[${i}]: must be an object, {"${field}": "..."}`);
    for (const key of Object.keys(inst))
      if (key !== field)
        fail(`instances[${i}]: unknown field "${key}"; this model takes {"${field}": "..."}`);
    const v = inst[field];
    if (typeof v !== 'string') fail(`instances[${i}].${field}: must be a string of text`);
    return v;
  });
  return text.tokenizer.feeds(texts, specs, (i) => `instances[${i}].${field}`);
}

export function stackTensorInstances(
  specs: readonly TensorSpec[],
  instances: readonly Record<string, unknown>[],
  limits: ShapeLimits,
  text?: TextInput,
  nonFinite: 'accept' | 'refuse' = 'accept',
): Record<string, HostTensor> {
  if (text) return textInstances(specs, instances, limits, text);
  const feeds: Record<string, HostTensor> = {};
  const known = specs.map((s) => s.name);
  instances.forEach((inst, i) => {
    if (inst === null || typeof inst !== 'object' || Array.isArray(inst))
      fail(`instances[${i}]: must be an object`);
    for (const key of Object.keys(inst)) {
      if (!known.includes(key))
        fail(`instances[${i}]: unknown field "${key}"; this model's inputs are: ${known.join(', ')}`);
    }
  });
  for (const spec of specs) {
    if (spec.shape.length === 0) {
      feeds[spec.name] = sharedScalar(spec, instances, nonFinite);
      continue;
    }
    if (spec.shape[0] !== -1) {
      fail(
        `input '${spec.name}' has no batch dimension (shape [${spec.shape.join(', ')}]); send it with POST /v2/models/{model}/infer`,
      );
    }
    if (isImage(spec)) {
      feeds[spec.name] = imageFeed(
        spec,
        instances.map((inst, i) => imageValue(inst[spec.name], `instances[${i}].${spec.name}`)),
        (i) => `instances[${i}].${spec.name}`,
        limits,
      );
      continue;
    }
    const inner = spec.shape.slice(1);
    const first = instances[0]?.[spec.name];
    if (first === undefined) fail(`instances[0].${spec.name}: is required`);
    const dims = inner.map((d, depth) => (d === -1 ? lengthAtDepth(first, depth) : d));
    checkBounds([instances.length, ...dims], `instances[0].${spec.name}`, limits);
    const per = product(dims);
    const values: unknown[] = [];
    instances.forEach((inst, i) => {
      const v = inst[spec.name];
      if (v === undefined) fail(`instances[${i}].${spec.name}: is required`);
      const flat = dims.length === 0 ? [v] : flattenData(v, dims, `instances[${i}].${spec.name}`);
      for (let k = 0; k < per; k++) values.push(flat[k]);
    });
    const data = toTypedArray(values, spec.datatype, `instances[*].${spec.name} (flattened)`, nonFinite);
    feeds[spec.name] = hostTensor(DATATYPE_TO_TYPE[spec.datatype], data, [instances.length, ...dims]);
  }
  return feeds;
}

/**
 * A scalar input (shape []) in v1: one value for the whole request, since a rank-0 tensor has no
 * batch dimension to stack instances along. Every instance gives it, and gives the same value.
 */
function sharedScalar(
  spec: TensorSpec,
  instances: readonly Record<string, unknown>[],
  nonFinite: 'accept' | 'refuse',
): HostTensor {
  const first = instances[0]?.[spec.name];
  instances.forEach((inst, i) => {
    const v = inst[spec.name];
    if (v === undefined) fail(`instances[${i}].${spec.name}: is required`);
    if (!Object.is(v, first) && JSON.stringify(v) !== JSON.stringify(first))
      fail(
        `instances[${i}].${spec.name}: is ${JSON.stringify(v)}, but instances[0] gave ${JSON.stringify(first)}; input '${spec.name}' is a scalar (shape []) that the whole request shares, so send instances with different values in separate requests`,
      );
  });
  const data = toTypedArray([first], spec.datatype, `instances[0].${spec.name}`, nonFinite);
  return hostTensor(DATATYPE_TO_TYPE[spec.datatype], data, []);
}

/** A v1 instance as the object a processor receives. */
export function asInstance(inst: unknown, i: number): Record<string, unknown> {
  if (!isRecord(inst)) fail(`instances[${i}]: must be an object`);
  return inst;
}

function lengthAtDepth(value: unknown, depth: number): number {
  let node = value;
  for (let d = 0; d < depth; d++) node = Array.isArray(node) ? node[0] : undefined;
  return Array.isArray(node) ? node.length : 0;
}
