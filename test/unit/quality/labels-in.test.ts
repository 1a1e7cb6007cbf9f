/**
 * Labels in: the API's checks against the model's task and labels, and a ground-truth file read
 * as a stream, line by line, with each problem named by its line and the parts named so that a
 * repeated S3 event writes the same parts again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesOf } from '#core/batch/lines.ts';
import { ValidationError } from '#core/errors.ts';
import { feedbackLines, type Truth } from '#core/quality/feedback.ts';
import { ingestLabels, PART_LINES, parseGroundTruthKey, resultKey } from '#core/quality/ingest.ts';
import { feedbackRequestSchema, type LabelLine, rowIds } from '#core/quality/records.ts';

const FRAUD: Truth = { model: 'fraud-detector', kind: 'label', labels: new Set(['legit', 'fraud']) };
const PRICE: Truth = { model: 'price', kind: 'value' };

describe('labels sent to POST /v1/models/{model}/feedback', () => {
  it('keeps one label per id, the later one of a request, and says how many were repeats', () => {
    const { lines, duplicates } = feedbackLines(
      FRAUD,
      [
        { id: 'a', label: 'fraud' },
        { id: 'b', label: 'legit', at: '2026-12-01T00:00:00Z' },
        { id: 'a', label: 'legit' },
      ],
      Date.parse('2026-12-07T00:00:00Z'),
    );
    assert.equal(duplicates, 1);
    assert.deepEqual(
      lines.map((l) => [l.id, l.label, new Date(l.at_ms).toISOString()]),
      [
        ['a', 'legit', '2026-12-07T00:00:00.000Z'],
        ['b', 'legit', '2026-12-01T00:00:00.000Z'],
      ],
    );
  });

  it('refuses a label that is not one of the model, or the wrong kind, naming each item and the fix', () => {
    assert.throws(
      () =>
        feedbackLines(
          FRAUD,
          [
            { id: 'a', label: 'frud' },
            { id: 'b', value: 1 },
          ],
          0,
        ),
      (e: unknown) =>
        e instanceof ValidationError &&
        /\[0\]: "frud" is not a label of 'fraud-detector'; use one of legit, fraud/.test(
          e.details.join('\n'),
        ) &&
        /\[1\]: "label" is required/.test(e.details.join('\n')),
    );
    assert.throws(
      () => feedbackLines(PRICE, [{ id: 'a', label: 'x' }], 0),
      /"value" is required: 'price' is a regression model/,
    );
  });

  it('takes at most 1,000 labels a request, ids up to 256 characters, and exactly one of label or value', () => {
    const ok = feedbackRequestSchema.safeParse([{ id: 'x'.repeat(256), label: 'fraud' }]);
    assert.ok(ok.success);
    for (const bad of [
      [],
      Array.from({ length: 1001 }, (_, i) => ({ id: String(i), label: 'fraud' })),
      [{ id: 'x'.repeat(257), label: 'fraud' }],
      [{ id: 'a', label: 'fraud', value: 1 }],
      [{ id: 'a' }],
      [{ id: 'a', label: 'fraud', at: 'yesterday' }],
      [{ id: 'a', label: 'fraud', extra: 1 }],
      [{ id: 'a', value: Number.NaN }],
    ])
      assert.equal(feedbackRequestSchema.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 80));
  });

  it("names a request's rows by request id, <id>#<row>, or the caller's own id field", () => {
    assert.deepEqual(rowIds('req', 1), ['req']);
    assert.deepEqual(rowIds('req', 3), ['req#0', 'req#1', 'req#2']);
    assert.deepEqual(rowIds('req', 2, [{ tx: 'T-1' }, { amount: 3 }], 'tx'), ['T-1', 'req#1']);
  });
});

async function ingest(text: string, format: 'csv' | 'jsonl', truth: Truth = FRAUD, etag = '"e1"') {
  const parts: { unique: string; lines: readonly LabelLine[] }[] = [];
  const result = await ingestLabels({
    truth,
    key: `ground-truth/${truth.model}/x.${format}`,
    etag,
    format,
    body: bytesOf(text),
    write: async (lines, unique) => {
      parts.push({ unique, lines });
    },
    now: () => Date.parse('2026-12-07T12:00:00Z'),
  });
  return { result, parts };
}

describe('a ground-truth file uploaded under ground-truth/<model>/', () => {
  it('reads CSV under its header, and names each refused line by its line in the file', async () => {
    const { result, parts } = await ingest(
      'id,label,at\nt1,fraud,2026-12-06T00:00:00Z\n\nt2,legit,\nt3,frud,\nt4\n"t5,legit\n',
      'csv',
    );
    assert.equal(result.accepted, 2);
    assert.equal(result.rejected, 3);
    assert.match(result.problems[0] ?? '', /^line 5: "frud" is not a label/);
    assert.match(result.problems[1] ?? '', /^line 6: 1 field\(s\), but the header has 3/);
    assert.match(result.problems[2] ?? '', /^line 7: /);
    assert.deepEqual(
      parts.flatMap((p) => p.lines.map((l) => [l.id, l.label, l.source])),
      [
        ['t1', 'fraud', 'file'],
        ['t2', 'legit', 'file'],
      ],
    );
  });

  it('refuses a CSV whose header lacks the id or the label column, and says which', async () => {
    const { result, parts } = await ingest('transaction,label\nt1,fraud\n', 'csv');
    assert.equal(parts.length, 0);
    assert.match(result.problems[0] ?? '', /the header needs the column\(s\) id/);
    const reg = await ingest('id,value\nq1,12.5\nq2,abc\n', 'csv', PRICE);
    assert.equal(reg.result.accepted, 1);
    assert.equal(reg.parts[0]?.lines[0]?.value, 12.5);
  });

  it('reads JSON Lines, refusing what is not an object and lines over 4 KB without buffering them', async () => {
    const { result } = await ingest(
      `{"id":"a","label":"fraud"}\n[1]\nnot json\n{"id":"${'x'.repeat(5000)}","label":"fraud"}\n{"id":7,"label":"legit"}\n`,
      'jsonl',
    );
    assert.equal(result.accepted, 2);
    assert.equal(result.rejected, 3);
    assert.match(result.problems.join('\n'), /line 4: .*4096/);
  });

  it('writes parts of 20,000 labels named from the key and ETag, the same names on a second delivery', async () => {
    const text = Array.from({ length: PART_LINES + 5 }, (_, i) => `{"id":"i${i}","label":"legit"}`).join(
      '\n',
    );
    const a = await ingest(text, 'jsonl');
    const b = await ingest(text, 'jsonl');
    assert.deepEqual(
      a.parts.map((p) => p.lines.length),
      [PART_LINES, 5],
    );
    assert.deepEqual(
      a.parts.map((p) => p.unique),
      b.parts.map((p) => p.unique),
    );
    const replaced = await ingest(text, 'jsonl', FRAUD, '"e2"');
    assert.notEqual(replaced.parts[0]?.unique, a.parts[0]?.unique, 'new content, new names');
  });

  it('takes keys under ground-truth/<model>/ ending in .jsonl or .csv, and puts the result beside', () => {
    assert.deepEqual(parseGroundTruthKey('ground-truth/fraud-detector/2026/12/chargebacks.CSV'), {
      model: 'fraud-detector',
      format: 'csv',
    });
    for (const key of [
      'ground-truth/fraud-detector.csv',
      'ground-truth/Bad Name/x.csv',
      'ground-truth/m/x.txt',
      'other/m/x.csv',
    ])
      assert.ok('error' in parseGroundTruthKey(key), key);
    assert.equal(resultKey('ground-truth/m/x.csv'), 'ground-truth-results/m/x.csv.json');
  });
});
