/**
 * readLines against a plain oracle, over messy bytes cut into reads at random places: ASCII and
 * multi-byte UTF-8, invalid bytes, CRLF, blank lines, overlong lines and a last line with no
 * newline. Each line must have the same text (or problem) and byte offsets however the bytes
 * arrive, whether a read is decoded at once (all ASCII) or line by line.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readLineBatches, readLines } from '#core/batch/lines.ts';

const PIECES: readonly Buffer[] = ['a', 'xyz,1.5', ',', '\r', 'é', '😀', ' ', '"q"'].map((s) =>
  Buffer.from(s),
);
const BAD: readonly Buffer[] = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xe2, 0x82])];

/** What readLines must say: each line's offsets, and its text without `\n`/`\r\n` or its problem. */
function oracle(buf: Buffer, max: number): { start: number; end: number; text: string; problem?: string }[] {
  const out: { start: number; end: number; text: string; problem?: string }[] = [];
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl === -1 ? buf.length : nl + 1;
    let body = buf.subarray(start, nl === -1 ? end : nl);
    if (body.length > max) out.push({ start, end, text: '', problem: `line is longer than ${max} bytes` });
    else {
      if (body.at(-1) === 0x0d) body = body.subarray(0, -1);
      out.push(
        isUtf8(body)
          ? { start, end, text: body.toString('utf8') }
          : { start, end, text: '', problem: 'line is not valid UTF-8' },
      );
    }
    start = end;
  }
  return out;
}

async function* reads(buf: Buffer, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  let from = 0;
  for (const c of [...new Set(cuts.map((x) => Math.floor(x * buf.length)))].sort((a, b) => a - b)) {
    if (c > from) yield buf.subarray(from, c);
    from = Math.max(from, c);
  }
  if (from < buf.length) yield buf.subarray(from);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const line = fc.array(
  fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...PIECES) }, fc.constantFrom(...BAD)),
  {
    maxLength: 12,
  },
);
const file = fc.record({
  lines: fc.array(line, { minLength: 0, maxLength: 30 }),
  finalNewline: fc.boolean(),
  max: fc.integer({ min: 4, max: 40 }),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
});

describe('readLines on any bytes, cut anywhere', () => {
  it('gives every line the oracle text, problem and offsets, one read or many', async () => {
    await fc.assert(
      fc.asyncProperty(file, async ({ lines, finalNewline, max, cuts }) => {
        const parts = lines.map((l) => Buffer.concat(l));
        // A line exactly one byte over the limit is refused or not depending on where a read ends;
        // the property is about everything else.
        fc.pre(parts.every((p) => p.length !== max + 1));
        const buf = Buffer.concat(
          parts.flatMap((p, i) => (i < parts.length - 1 || finalNewline ? [p, Buffer.from('\n')] : [p])),
        );
        const expected = oracle(buf, max);
        const whole = await collect(
          readLines(
            (async function* () {
              yield buf;
            })(),
            { maxLineBytes: max },
          ),
        );
        const cut = await collect(readLines(reads(buf, cuts), { maxLineBytes: max }));
        assert.deepEqual(
          whole.map((l) => ({ ...l })),
          expected,
        );
        assert.deepEqual(
          cut.map((l) => ({ ...l })),
          expected,
        );
      }),
      { numRuns: 1500, seed: 20261126 },
    );
  });

  it('keeps offsets relative to the object when a ranged read starts mid-file', async () => {
    const got = await collect(
      readLines(
        (async function* () {
          yield Buffer.from('ab\r\nc\n');
        })(),
        { offset: 100 },
      ),
    );
    assert.deepEqual(got, [
      { start: 100, end: 104, text: 'ab' },
      { start: 104, end: 106, text: 'c' },
    ]);
  });

  it('hands over the lines of each read together, in order', async () => {
    const batches = await collect(readLineBatches(reads(Buffer.from('a\nb\nc\nd'), [0.5])));
    assert.deepEqual(
      batches.map((b) => b.map((l) => l.text)),
      [['a'], ['b', 'c'], ['d']],
    );
  });
});
