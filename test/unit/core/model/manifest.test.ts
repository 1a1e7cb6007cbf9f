/**
 * The manifest's rules across fields (core/manifest/schema.ts and input-checks.ts): each broken
 * rule is refused with the field's path and the fix, and a valid manifest passes untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manifestSchema, soleImageInput } from '#core/model/manifest.ts';
import { formatIssues } from '#core/protocol/issues.ts';

const SHA = 'a'.repeat(64);

const tabular = () => ({
  name: 'm',
  version: '1',
  task: 'binary-classification',
  inputs: {
    kind: 'tabular',
    features: [
      { name: 'amount', type: 'number', min: 0, max: 10 },
      { name: 'kind', type: 'categorical', values: ['a', 'b'] },
    ],
  },
  outputs: { tensor: 'p', labels: ['no', 'yes'] },
  sha256: SHA,
});

const image = () => ({
  name: 'img',
  version: '1',
  task: 'tensor',
  inputs: {
    kind: 'tensors',
    tensors: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 48, 192], image: { resize: 'fit-height' } }],
  },
  outputs: { tensors: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] },
  sha256: SHA,
});

const text = () => ({
  name: 'txt',
  version: '1',
  task: 'multiclass-classification',
  inputs: {
    kind: 'tensors',
    text: { maxLength: 32 },
    tensors: [
      { name: 'input_ids', datatype: 'INT64', shape: [-1, -1], tokens: 'ids' },
      { name: 'attention_mask', datatype: 'INT64', shape: [-1, -1], tokens: 'mask' },
    ],
  },
  outputs: { tensor: 'logits', labels: ['a', 'b'], activation: 'softmax' },
  sha256: SHA,
});

/** The problems a manifest is refused with, as `path: message` lines. */
function problems(m: unknown): string[] {
  const r = manifestSchema.safeParse(m);
  return r.success ? [] : formatIssues(r.error);
}

// biome-ignore lint/suspicious/noExplicitAny: each case reaches into a plain JSON manifest to break one rule.
type Doc = any;

function edited(base: () => object, edit: (m: Doc) => void): object {
  const m = base();
  edit(m);
  return m;
}

describe('the model manifest', () => {
  it('accepts the three shapes of model as written, with their defaults filled in', () => {
    for (const m of [tabular(), image(), text()]) assert.deepEqual(problems(m), [], m.name);
    const parsed = manifestSchema.parse(text());
    assert.deepEqual(parsed.target, { type: 'lambda' });
    assert.equal(parsed.inputs.kind === 'tensors' && parsed.inputs.text?.padding, 'longest');
  });

  const cases: [string, unknown, RegExp][] = [
    [
      'a duplicate feature name',
      edited(tabular, (m: Doc) => m.inputs.features.push({ name: 'amount', type: 'number' })),
      /^inputs\.features\[2\]\.name: duplicate feature name "amount"/,
    ],
    [
      'min above max',
      edited(tabular, (m: Doc) => Object.assign(m.inputs.features[0], { min: 5, max: 1 })),
      /^inputs\.features\[0\]\.min: min \(5\) is greater than max \(1\); swap them$/,
    ],
    [
      'an optional feature without a default',
      edited(tabular, (m: Doc) => Object.assign(m.inputs.features[0], { required: false })),
      /^inputs\.features\[0\]\.default: feature "amount" is optional .* add "default"/,
    ],
    [
      'a categorical default that is not one of its values',
      edited(tabular, (m: Doc) => Object.assign(m.inputs.features[1], { default: 'c' })),
      /^inputs\.features\[1\]\.default: default "c" is not one of the feature's values$/,
    ],
    [
      'a binary classifier with three labels',
      edited(tabular, (m: Doc) => m.outputs.labels.push('maybe')),
      /^outputs\.labels: binary-classification needs exactly 2 labels/,
    ],
    [
      'labels given twice',
      edited(text, (m: Doc) => Object.assign(m.outputs, { labelsFile: 'labels.txt' })),
      /^outputs\.labelsFile: give the labels once/,
    ],
    [
      'a threshold on a multiclass model',
      edited(text, (m: Doc) => Object.assign(m.outputs, { threshold: 0.5 })),
      /^outputs\.threshold: a decision threshold only applies to binary-classification/,
    ],
    [
      'a fallback for a Lambda model',
      edited(tabular, (m: Doc) => Object.assign(m, { fallback: 'other' })),
      /^fallback: a fallback only applies to models served by SageMaker/,
    ],
    [
      'a serverless endpoint with a GPU',
      edited(tabular, (m: Doc) =>
        Object.assign(m, { target: { type: 'sagemaker', serverless: {}, accelerator: 'gpu' } }),
      ),
      /^target\.accelerator: SageMaker Serverless is CPU only/,
    ],
    [
      'an image input with the wrong channel count for its colour order',
      edited(image, (m: Doc) => Object.assign(m.inputs.tensors[0].image, { colorOrder: 'GRAY' })),
      /^inputs\.tensors\[0\]\.shape\[1\]: colorOrder GRAY gives 1 channel, so this dimension must be 1/,
    ],
    [
      'a dynamic image width with a stretch resize',
      edited(image, (m: Doc) => {
        m.inputs.tensors[0].shape = [-1, 3, 48, -1];
        m.inputs.tensors[0].image.resize = 'stretch';
      }),
      /^inputs\.tensors\[0\]\.shape\[3\]: resize "stretch" needs a fixed width/,
    ],
    [
      'a fixed token length that differs from maxLength',
      edited(text, (m: Doc) => {
        m.inputs.tensors[0].shape = [-1, 16];
      }),
      /^inputs\.tensors\[0\]\.shape\[1\]: is 16 but inputs\.text\.maxLength is 32/,
    ],
    [
      'token inputs without inputs.text',
      edited(text, (m: Doc) => {
        delete m.inputs.text;
      }),
      /^inputs\.text: inputs declare "tokens" but there is no inputs\.text/,
    ],
    [
      'two inputs taking the same tokens',
      edited(text, (m: Doc) => {
        m.inputs.tensors[1].tokens = 'ids';
      }),
      /^inputs\.tensors: two inputs take tokens "ids"$/,
    ],
  ];
  for (const [what, m, expected] of cases) {
    it(`refuses ${what}, naming the field and the fix`, () => {
      const found = problems(m);
      assert.ok(
        found.some((p) => expected.test(p)),
        `expected ${expected}, got:\n${found.join('\n')}`,
      );
    });
  }

  it('finds the one image input a raw image body fills, and none for other models', () => {
    assert.equal(soleImageInput(manifestSchema.parse(image()))?.name, 'x');
    assert.equal(soleImageInput(manifestSchema.parse(text())), undefined);
    assert.equal(soleImageInput(manifestSchema.parse(tabular())), undefined);
  });
});
