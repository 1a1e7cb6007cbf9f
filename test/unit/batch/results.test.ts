/**
 * The results writer: its number format must print exactly what the plain rule
 * (String(Number(x.toPrecision(9)))) prints, for every float32 and double the model can give, and
 * its byte buffer must hold exactly what Buffer.from gives for the same text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { num, TextBytes } from '#core/batch/results.ts';

const plain = (x: number): string => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(9))));

describe('results number format', () => {
  it('prints every float32 exactly as the plain 9-digit rule does', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => num(x) === plain(x)),
      { numRuns: 20_000, seed: 20261126 },
    );
  });

  it('prints every double exactly as the plain 9-digit rule does', () => {
    fc.assert(
      fc.property(fc.double(), (x) => num(x) === plain(x)),
      { numRuns: 20_000, seed: 20261126 },
    );
  });

  it('keeps the edges: rounding into exponent form, large non-integers, tiny values and zeros', () => {
    for (const x of [
      999_999_999.7,
      123_456_789.4,
      100_000_000.5,
      1e-6,
      9.9999999999e-7,
      1.23456789e-7,
      0.1,
      -0.5,
      -0,
      0.30000001192092896,
      Math.fround(0.1),
      1e21 + 0.5,
      Number.MIN_VALUE,
      -Number.MAX_VALUE,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ]) {
      assert.equal(num(x), plain(x), String(x));
    }
  });

  it('drops trailing zeros but never digits before the point', () => {
    assert.equal(num(0.5), '0.5');
    assert.equal(num(0.25), '0.25');
    assert.equal(num(123_456_780.5), '123456781');
    assert.equal(num(Math.fround(0.1)), '0.100000001');
  });

  it('quotes what is not a number as a CSV field, and leaves undefined empty', () => {
    assert.equal(num('a,b'), '"a,b"');
    assert.equal(num(undefined), '');
  });
});

describe('results bytes', () => {
  it('hold exactly the UTF-8 of the text added, whatever it contains and however much', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 60 }), (parts) => {
        const out = new TextBytes(64);
        for (const p of parts) out.add(p);
        assert.deepEqual(Buffer.from(out.bytes()), Buffer.from(parts.join(''), 'utf8'));
      }),
      { numRuns: 2000, seed: 20261126 },
    );
  });

  it('keep ids with accents, emoji and lone surrogates as Buffer.from would', () => {
    const out = new TextBytes(64);
    for (const p of ['1,', 'café', ',', '😀', ',', '\ud800', 'x'.repeat(500), '\n']) out.add(p);
    assert.deepEqual(Buffer.from(out.bytes()), Buffer.from(`1,café,😀,\ud800${'x'.repeat(500)}\n`, 'utf8'));
  });
});
