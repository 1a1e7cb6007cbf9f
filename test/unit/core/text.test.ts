/**
 * Text inputs: a Hugging Face tokenizer.json run in TypeScript, checked token for token against
 * Hugging Face's own Rust tokenizers, and the shipped ticket-router model served over v1, v2 JSON,
 * v2 binary and a raw text body. Real tokenizer library, real onnxruntime sessions.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ValidationError } from '#core/errors.ts';
import { manifestSchema, type TextSpec } from '#core/model/manifest.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { encodeBinaryTensor } from '#core/protocol/binary-outputs.ts';
import { formatIssues } from '#core/protocol/issues.ts';
import { rawInstance } from '#core/protocol/raw.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { MAX_TEXT_CHARS, TextTokenizer } from '#core/text/tokenizer.ts';
import { MODELS, ROOT, readJson } from '../../helpers.ts';

const DIR = join(MODELS, 'ticket-router/1');
const tokenizerJson = JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8'));
const SPEC: TextSpec = { field: 'text', tokenizer: 'tokenizer.json', maxLength: 32, padding: 'longest' };

interface HfFixture {
  tokenizers: string;
  maxLength: number;
  cases: { text: string; ids: number[]; attention_mask: number[] }[];
}

let registry: ModelRegistry;
let scorer: Scorer;
before(async () => {
  registry = await ModelRegistry.load(MODELS);
  scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
});

describe('tokenization matches Hugging Face tokenizers', () => {
  it('gives the ids and masks the Rust tokenizers library gives, truncation included', async () => {
    const fx = await readJson<HfFixture>(join(ROOT, 'test/fixtures/text/hf-tokenizers.json'));
    const tok = await TextTokenizer.load(
      tokenizerJson,
      { ...SPEC, maxLength: fx.maxLength },
      'tokenizer.json',
    );
    assert.ok(fx.cases.length >= 6);
    for (const c of fx.cases) {
      const e = tok.encode(c.text, 'text');
      assert.deepEqual(e.ids, c.ids, `${JSON.stringify(c.text)} (tokenizers ${fx.tokenizers})`);
      assert.deepEqual(e.mask, c.attention_mask);
    }
  });

  it('truncates to maxLength keeping [CLS] first and [SEP] last, and pads to the longest text', async () => {
    const tok = await TextTokenizer.load(tokenizerJson, { ...SPEC, maxLength: 8 }, 'tokenizer.json');
    const feeds = tok.feeds(
      ['the parcel is late the parcel is late the parcel is late', 'refund'],
      [
        { name: 'ids', datatype: 'INT64', shape: [-1, -1], tokens: 'ids' },
        { name: 'mask', datatype: 'INT32', shape: [-1, -1], tokens: 'mask' },
      ],
      (i) => `texts[${i}]`,
    );
    assert.deepEqual(feeds.ids?.dims, [2, 8]);
    const ids = Array.from(feeds.ids?.data as BigInt64Array, Number);
    assert.equal(ids[0], 2, '[CLS]');
    assert.equal(ids[7], 3, '[SEP]');
    assert.deepEqual(ids.slice(8), [2, 127, 3, 0, 0, 0, 0, 0], 'short text padded with [PAD] = 0');
    assert.deepEqual(Array.from(feeds.mask?.data as Int32Array).slice(8), [1, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('refuses a text over the character limit before tokenizing it', async () => {
    const tok = await TextTokenizer.load(tokenizerJson, SPEC, 'tokenizer.json');
    assert.throws(
      () => tok.encode('a'.repeat(MAX_TEXT_CHARS + 1), 'instances[0].text'),
      (e: Error) =>
        e instanceof ValidationError && /instances\[0\]\.text: is 100001 characters/.test(e.message),
    );
  });
});

describe('the shipped ticket-router text model', () => {
  const mv = () => registry.resolve('ticket-router');
  const TEXTS = ['Hi, refund the double charge please', 'My parcel is 10 days late', 'I forgot my password'];

  it('labels raw text, v1 {"text"} instances, v2 JSON BYTES and v2 binary BYTES alike', async () => {
    const v1 = await scorer.predict(
      mv(),
      TEXTS.map((text) => ({ text })),
    );
    assert.deepEqual(
      v1.map((p) => p.label),
      ['billing', 'delivery', 'account'],
    );
    const [raw] = await scorer.predict(mv(), [
      rawInstance(mv().manifest, {
        contentType: 'text/plain',
        bytes: new TextEncoder().encode(TEXTS[1] as string),
      }),
    ]);
    assert.deepEqual(raw, v1[1]);
    const json = await scorer.infer(mv(), {
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [3], data: TEXTS }],
    });
    const probs = (r: typeof json) => r.outputs.find((o) => o.name === 'probabilities')?.data;
    assert.deepEqual(
      probs(json),
      v1.flatMap((p) => Object.values(p.probabilities ?? {})),
    );
    const bytes = encodeBinaryTensor('BYTES', TEXTS);
    const binary = await scorer.infer(mv(), {
      inputs: [
        {
          name: 'text',
          datatype: 'BYTES',
          shape: [3, 1],
          data: [],
          raw: bytes,
          parameters: { binary_data_size: bytes.length },
        },
      ],
    });
    assert.deepEqual(probs(binary), probs(json));
  });

  it('says it takes one BYTES input named text in its v2 metadata', () => {
    assert.deepEqual(scorer.metadataV2(mv()).inputs, [{ name: 'text', datatype: 'BYTES', shape: [-1] }]);
  });

  it('refuses non-text values, extra fields and a wrong v2 datatype, naming them', async () => {
    await assert.rejects(
      scorer.predict(mv(), [{ text: 42 }]),
      /instances\[0\]\.text: must be a string of text/,
    );
    await assert.rejects(
      scorer.predict(mv(), [{ text: 'hi', lang: 'en' }]),
      /instances\[0\]: unknown field "lang"; this model takes \{"text": "..."\}/,
    );
    await assert.rejects(
      scorer.infer(mv(), { inputs: [{ name: 'text', datatype: 'FP32', shape: [1], data: [1] }] }),
      /inputs\[0\]\.datatype: is FP32; text is BYTES/,
    );
    assert.throws(
      () => rawInstance(mv().manifest, { contentType: 'text/plain', bytes: new Uint8Array([0xff, 0xfe]) }),
      /Body is not valid UTF-8 text/,
    );
  });

  it('refuses text that was not UTF-8 (U+FFFD, as API Gateway hands it on), UTF-16 and NULs, and takes "__proto__" as text', async () => {
    // Invalid UTF-8 reaches the function decoded, each bad byte a U+FFFD.
    const lossy = Buffer.from([0x52, 0x65, 0x66, 0xff, 0x75, 0x6e, 0x64]).toString('utf8');
    await assert.rejects(scorer.predict(mv(), [{ text: lossy }]), /instances\[0\]\.text: holds U\+FFFD/);
    const utf16 = Buffer.from('refund please', 'utf16le').toString('utf8');
    await assert.rejects(
      scorer.predict(mv(), [{ text: utf16 }]),
      /instances\[0\]\.text: holds a NUL character at 1 \(it looks like UTF-16\)/,
    );
    await assert.rejects(
      scorer.predict(mv(), [{ text: '\u0000'.repeat(64) }]),
      /holds a NUL character at 0; send the text encoded as UTF-8/,
    );
    await assert.rejects(
      scorer.infer(mv(), { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [lossy] }] }),
      /holds U\+FFFD/,
    );
    const [p] = await scorer.predict(mv(), [{ text: '__proto__' }]);
    assert.ok(p?.label);
  });
});

describe('manifests declare text inputs, and contradictions are named', () => {
  const problems = (inputs: Record<string, unknown>) => {
    const r = manifestSchema.safeParse({
      name: 't',
      version: '1',
      task: 'multiclass-classification',
      inputs: { kind: 'tensors', ...inputs },
      outputs: { tensor: 'p', labels: ['a', 'b'] },
      sha256: 'a'.repeat(64),
    });
    return r.success ? [] : formatIssues(r.error);
  };
  const ids = { name: 'input_ids', datatype: 'INT64', shape: [-1, -1], tokens: 'ids' };

  it('names tokens without a tokenizer, a float token input and a fixed length that maxLength contradicts', () => {
    assert.deepEqual(problems({ tensors: [ids] }), [
      'inputs.text: inputs declare "tokens" but there is no inputs.text saying which tokenizer fills them',
    ]);
    assert.deepEqual(problems({ text: { maxLength: 16 }, tensors: [{ ...ids, datatype: 'FP32' }] }), [
      'inputs.tensors[0].datatype: token inputs are INT64 or INT32; is FP32',
    ]);
    assert.deepEqual(
      problems({ text: { maxLength: 16, padding: 'max_length' }, tensors: [{ ...ids, shape: [-1, 8] }] }),
      ['inputs.tensors[0].shape[1]: is 8 but inputs.text.maxLength is 16; make them equal, or use -1'],
    );
    assert.deepEqual(problems({ text: { maxLength: 16 }, tensors: [{ ...ids, shape: [-1, 16] }] }), [
      'inputs.text.padding: input "input_ids" has a fixed length (16); set padding "max_length"',
    ]);
  });
});
