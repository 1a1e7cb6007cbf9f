/**
 * The batch worker's fast decoder against the full one, on the same messy files: a differential
 * test. Each file is scored twice through scoreChunk with the real scorer: once as every row was
 * (the full decoder, zod, predict on instances), once through tabular-fast.ts and the matrix
 * scorer. The results, the rejected rows with their reasons, and the counts must be identical.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { type ChunkOutput, scoreChunk } from '#core/batch/chunk.ts';
import type { Line } from '#core/batch/lines.ts';
import { createRowDecoder, decimalValue } from '#core/batch/rows.ts';
import { createTabularEncoder } from '#core/batch/tabular-fast.ts';
import { ModelRegistry, type ModelVersion } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { TRANSACTION_COLUMNS } from '../../../scripts/lib/fraud-data.ts';
import { MODELS } from '../../helpers.ts';

const HEADER = ['transaction_id', ...TRANSACTION_COLUMNS];

/** Values for each column, good and bad, as they turn up in real exports. */
const CELLS: Record<string, readonly string[]> = {
  transaction_id: ['t1', 'abc-9', '', ' spaced ', '"quoted, id"', '😀'],
  amount: [
    '12.5',
    '0',
    '50000',
    '50000.01',
    '-1',
    '1e3',
    '1e400',
    ' 7 ',
    'NaN',
    'abc',
    '',
    '-0',
    '.5',
    '5.',
    '+3',
    '0x10',
  ],
  merchant_category: [
    'grocery',
    'travel',
    'Grocery',
    ' gas ',
    '',
    'unknown',
    '"online_retail"',
    'cash_advance',
  ],
  hour: ['0', '23', '24', '3.5', '-0', '1e1', '', 'x', '007', '9007199254740993'],
  distance_from_home_km: ['3.2', '', ' ', '20000', '20001', 'far', '1e-7'],
  transactions_last_hour: ['0', '100', '101', '2', '2.0', ''],
  card_present: ['true', 'false', 'TRUE', 'yes', 'n', '1', '0', 'maybe', '', ' t '],
  account_age_days: ['400', '0', '20000', '-5', '12.25', ''],
  is_foreign: ['false', 'true', 'Y', 'no', '2', ''],
};

const csvLine = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(...HEADER.map((h) => fc.constantFrom(...(CELLS[h] as string[]))))
      .map((c) => c.join(',')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '   ',
      'a,b',
      ',,,,,,,,',
      ',,,,,,,,,',
      '"broken,quote',
      'x,"1,2",grocery,3,,0,true,1,false',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(...HEADER.map((h) => fc.constantFrom(...(CELLS[h] as string[]))))
      .map((c) => `${c.join(',')},extra`),
  },
);

const JSON_VALUES: readonly unknown[] = [
  1,
  0,
  -1,
  12.5,
  23,
  24,
  3.5,
  50000,
  1e6,
  true,
  false,
  'true',
  '5',
  'grocery',
  'travel',
  'Grocery',
  null,
  [],
  {},
];
const jsonlLine = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record(
        Object.fromEntries(
          HEADER.map((h) => [h === 'transaction_id' ? 'id' : h, fc.constantFrom(...JSON_VALUES)]),
        ),
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      '[1,2]',
      '"text"',
      'null',
      '{"amount": 1e400}',
      '{"toString": 1}',
      '{"__proto__": {"amount": 1}}',
    ),
  },
);

/** A valid row, so most files score something. */
const GOOD_CSV = 't9,12.5,grocery,14,3.2,0,true,400,false';
const GOOD_JSONL = JSON.stringify({
  id: 7,
  amount: 12.5,
  merchant_category: 'gas',
  hour: 3,
  transactions_last_hour: 1,
  card_present: false,
  account_age_days: 9,
  is_foreign: true,
});

/** The lines as readLineBatches hands them over: in batches (here of up to 7). */
async function* asLines(lines: readonly string[]): AsyncGenerator<Line[]> {
  let at = 0;
  let batch: Line[] = [];
  for (const text of lines) {
    batch.push({ start: at, end: at + text.length + 1, text });
    at += text.length + 1;
    if (batch.length === 7) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

describe('the fast batch decoder against the full one', () => {
  let mv: ModelVersion;
  let scorer: Scorer;
  before(async () => {
    const registry = await ModelRegistry.load(MODELS, { only: ['fraud-detector'] });
    mv = registry.resolve('fraud-detector', '1');
    scorer = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
    await scorer.warmup();
  });

  const both = async (format: 'csv' | 'jsonl', lines: string[], idColumn?: string) => {
    const opts = { ...(format === 'csv' ? { columns: HEADER } : {}), ...(idColumn ? { idColumn } : {}) };
    const common = {
      firstRow: 1,
      rows: lines.length,
      headerLines: format === 'csv' ? 1 : 0,
      format,
      decoder: createRowDecoder(mv.manifest, format, opts),
      manifest: mv.manifest,
      hasId: idColumn !== undefined,
      predict: (instances: readonly Record<string, unknown>[]) => scorer.predict(mv, instances),
    };
    const full = await scoreChunk({ ...common, lines: asLines(lines) });
    const encoder = createTabularEncoder(mv.manifest, format, opts);
    const matrix = scorer.matrixScorer(mv);
    assert.ok(encoder && matrix);
    const fast = await scoreChunk({
      ...common,
      lines: asLines(lines),
      encoded: { encoder, predict: matrix },
    });
    return { full, fast };
  };

  const same = (full: ChunkOutput, fast: ChunkOutput) => {
    assert.equal(fast.errors, full.errors);
    const text = (o: ChunkOutput) => Buffer.from(o.results).toString('utf8');
    assert.equal(text(fast), text(full));
    assert.deepEqual(
      [fast.rowsRead, fast.scored, fast.rejected],
      [full.rowsRead, full.scored, full.rejected],
    );
  };

  it('scores and rejects messy CSV files exactly as the full decoder does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(csvLine, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (lines, bom) => {
          const file = [GOOD_CSV, ...lines];
          if (bom) file[0] = `\ufeff${file[0]}`;
          const { full, fast } = await both('csv', file, 'transaction_id');
          same(full, fast);
        },
      ),
      { numRuns: 150, seed: 20261126 },
    );
  });

  it('scores and rejects messy JSON Lines files exactly as the full decoder does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(jsonlLine, { minLength: 1, maxLength: 40 }), async (lines) => {
        const { full, fast } = await both('jsonl', [GOOD_JSONL, ...lines]);
        same(full, fast);
      }),
      { numRuns: 150, seed: 20261126 },
    );
  });

  it('takes the fast path for clean rows and leaves every doubtful one to the full decoder', () => {
    const encoder = createTabularEncoder(mv.manifest, 'csv', { columns: HEADER, idColumn: 'transaction_id' });
    assert.ok(encoder);
    const x = new Float32Array(encoder.width);
    assert.equal(encoder.encode(GOOD_CSV, x, 0), 't9');
    assert.deepEqual(Array.from(x), [12.5, 0, 14, Math.fround(3.2), 0, 1, 400, 0]);
    assert.equal(
      encoder.encode('t9,12.5,grocery,14,,0,true,400,false', x, 0),
      't9',
      'an empty optional value',
    );
    assert.equal(x[3], Math.fround(7.53), 'takes its default');
    for (const doubtful of [
      '"t9",12.5,grocery,14,3.2,0,true,400,false',
      't9,12.5,grocery,24,3.2,0,true,400,false',
      't9,12.5,Grocery,14,3.2,0,true,400,false',
      't9,,grocery,14,3.2,0,true,400,false',
      't9,1e400,grocery,14,3.2,0,true,400,false',
      't9,12.5,grocery,14,3.2,0,true,400',
      '',
    ]) {
      assert.equal(encoder.encode(doubtful, x, 0), undefined, doubtful);
    }
  });

  it('reads a CSV decimal exactly as the grammar it replaces does, on any string', () => {
    const GRAMMAR = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
    const asGrammar = (s: string) => (GRAMMAR.test(s) ? Number(s) : undefined);
    const pieces = fc.constantFrom(
      '0',
      '1',
      '9',
      '.',
      'e',
      'E',
      '+',
      '-',
      'x',
      'X',
      'o',
      'b',
      'B',
      'Infinity',
      ' ',
      '\t',
      '\u00a0',
      '_',
      'n',
    );
    const numberish = fc.array(pieces, { maxLength: 8 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(numberish, fc.string()), (s) => {
        assert.equal(decimalValue(s), asGrammar(s), JSON.stringify(s));
      }),
      { numRuns: 20_000 },
    );
    for (const s of [
      '0x10',
      '0b1',
      '0O7',
      'Infinity',
      '-Infinity',
      ' 1',
      '1 ',
      '5.',
      '.5',
      '+.5e-3',
      '1e400',
      '-0',
      '',
      '.',
      '+',
    ])
      assert.equal(decimalValue(s), asGrammar(s), JSON.stringify(s));
  });

  it('is used only where the matrix scorer can take the rows: tabular models run in this process', async () => {
    const registry = await ModelRegistry.load(MODELS, {
      only: ['fraud-detector', 'ticket-router', 'fraud-detector-xl'],
    });
    const s = new Scorer(registry, new OnnxRuntimeEngine(), { intraOpThreads: 1, interOpThreads: 1 });
    assert.ok(s.matrixScorer(registry.resolve('fraud-detector', '1')));
    assert.equal(s.matrixScorer(registry.resolve('ticket-router', '1')), undefined, 'a text model');
    assert.equal(s.matrixScorer(registry.resolve('fraud-detector-xl', '1')), undefined, 'an endpoint model');
    assert.equal(createTabularEncoder(registry.resolve('ticket-router', '1').manifest, 'jsonl'), undefined);
  });
});
