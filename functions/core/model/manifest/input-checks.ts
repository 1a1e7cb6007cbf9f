/**
 * Rules across an input's fields that a schema alone cannot state: unique names, min ≤ max, a
 * default for optional features, token roles against inputs.text, image shapes against layout and
 * colour order. Each names the field and the fix.
 */

import type { Feature, ImageSpec, TensorSpec, TextSpec } from './inputs.ts';
import type { Datatype } from './names.ts';

export type Issue = (path: (string | number)[], message: string) => void;

export function checkFeatures(features: Feature[], issue: Issue): void {
  const seen = new Set<string>();
  features.forEach((f, i) => {
    const at = ['inputs', 'features', i];
    if (seen.has(f.name))
      issue([...at, 'name'], `duplicate feature name "${f.name}"; feature names must be unique`);
    seen.add(f.name);
    if (
      (f.type === 'number' || f.type === 'integer') &&
      f.min !== undefined &&
      f.max !== undefined &&
      f.min > f.max
    ) {
      issue([...at, 'min'], `min (${f.min}) is greater than max (${f.max}); swap them`);
    }
    if (f.type === 'categorical' && new Set(f.values).size !== f.values.length) {
      issue([...at, 'values'], 'categorical values must be unique');
    }
    if (!f.required && f.default === undefined) {
      issue(
        [...at, 'default'],
        `feature "${f.name}" is optional (required: false) but has no default; add "default" so a missing value can be imputed`,
      );
    }
    if (f.type === 'categorical' && f.default !== undefined && !f.values.includes(f.default)) {
      issue([...at, 'default'], `default "${f.default}" is not one of the feature's values`);
    }
  });
}

export function checkTensors(tensors: TensorSpec[], issue: Issue): void {
  const seen = new Set<string>();
  tensors.forEach((t, i) => {
    if (seen.has(t.name)) issue(['inputs', 'tensors', i, 'name'], `duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    if (t.shape.some((d) => d === 0))
      issue(['inputs', 'tensors', i, 'shape'], 'dimensions must be -1 (dynamic) or >= 1');
    if (t.image)
      checkImage(t as TensorSpec & { image: ImageSpec }, (path, message) =>
        issue(['inputs', 'tensors', i, ...path], message),
      );
  });
}

export function checkText(tensors: readonly TensorSpec[], text: TextSpec | undefined, issue: Issue): void {
  const roles = tensors.filter((t) => t.tokens);
  if (!text) {
    if (roles.length > 0)
      issue(
        ['inputs', 'text'],
        'inputs declare "tokens" but there is no inputs.text saying which tokenizer fills them',
      );
    return;
  }
  tensors.forEach((t, i) => {
    const at = ['inputs', 'tensors', i];
    if (!t.tokens) {
      issue(
        [...at, 'tokens'],
        `with inputs.text every input is filled by the tokenizer; say which output fills "${t.name}": ids, mask or type_ids`,
      );
      return;
    }
    if (t.image) issue([...at, 'image'], 'an input is either an image or tokens, not both');
    if (t.datatype !== 'INT64' && t.datatype !== 'INT32')
      issue([...at, 'datatype'], `token inputs are INT64 or INT32; is ${t.datatype}`);
    const [, len, ...rest] = t.shape;
    if (t.shape.length !== 2 || rest.length > 0) {
      issue(
        [...at, 'shape'],
        `token inputs have shape [N, length]; this one has ${t.shape.length} dimensions`,
      );
    } else if (len !== -1 && len !== text.maxLength) {
      issue(
        [...at, 'shape', 1],
        `is ${len} but inputs.text.maxLength is ${text.maxLength}; make them equal, or use -1`,
      );
    } else if (len !== -1 && text.padding !== 'max_length') {
      issue(
        ['inputs', 'text', 'padding'],
        `input "${t.name}" has a fixed length (${len}); set padding "max_length"`,
      );
    }
  });
  if (!roles.some((t) => t.tokens === 'ids'))
    issue(['inputs', 'tensors'], 'one input must take the token ids (tokens: "ids")');
  const seen = new Set<string>();
  for (const t of roles) {
    if (seen.has(t.tokens as string)) issue(['inputs', 'tensors'], `two inputs take tokens "${t.tokens}"`);
    seen.add(t.tokens as string);
  }
}

const IMAGE_DATATYPES: readonly Datatype[] = ['FP32', 'FP16', 'FP64', 'UINT8', 'INT8'];

function checkImage(t: TensorSpec & { image: ImageSpec }, issue: Issue): void {
  const img = t.image;
  if (!IMAGE_DATATYPES.includes(t.datatype))
    issue(['datatype'], `an image input must be ${IMAGE_DATATYPES.join(', ')}; is ${t.datatype}`);
  if (t.shape.length !== 4) {
    issue(
      ['shape'],
      `an image input has 4 dimensions, [N, C, H, W] (layout NCHW) or [N, H, W, C] (NHWC); this one has ${t.shape.length}`,
    );
    return;
  }
  const [, a, b, d] = t.shape as [number, number, number, number];
  const [c, h, w] = img.layout === 'NCHW' ? [a, b, d] : [d, a, b];
  const channels = img.colorOrder === 'GRAY' ? 1 : 3;
  const cAt = img.layout === 'NCHW' ? 1 : 3;
  if (c !== channels)
    issue(
      ['shape', cAt],
      `colorOrder ${img.colorOrder} gives ${channels} channel${channels === 1 ? '' : 's'}, so this dimension must be ${channels} (layout ${img.layout}); it is ${c}`,
    );
  if (h === -1) issue(['shape', img.layout === 'NCHW' ? 2 : 1], 'an image input needs a fixed height');
  if (w === -1 && img.resize !== 'fit-height')
    issue(
      ['shape', img.layout === 'NCHW' ? 3 : 2],
      `resize "${img.resize}" needs a fixed width; only "fit-height" takes a dynamic one`,
    );
  for (const key of ['mean', 'std'] as const) {
    const v = img[key];
    if (v && v.length !== channels)
      issue(['image', key], `has ${v.length} values; give one per channel (${channels})`);
  }
}
