import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkJsonDepth, MAX_JSON_DEPTH, parseJson } from '#core/protocol/json.ts';

describe('the shape every JSON body is held to', () => {
  it('refuses a field named "__proto__" at any depth, and takes "__proto__" as a value', () => {
    for (const text of ['{"__proto__": {"x": 1}}', '{"instances": [{"a": 1, "__proto__": 2}]}']) {
      assert.throws(() => parseJson(text), /Body has a field named "__proto__"/);
    }
    parseJson('{"instances": [{"text": "__proto__"}], "x": ["__proto__"]}');
  });

  it('refuses "__proto__" spelt with an escape as a key too, and parses a large body without the reviver', () => {
    assert.throws(() => parseJson('{"\\u005f_proto__": {"x": 1}}'), /Body has a field named "__proto__"/);
    const big = JSON.stringify({ data: Array.from({ length: 10_000 }, (_, i) => i / 7) });
    assert.deepEqual(parseJson(big), JSON.parse(big));
  });

  it(`refuses nesting beyond ${MAX_JSON_DEPTH} levels`, () => {
    const deep = JSON.parse(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`);
    assert.throws(() => checkJsonDepth(deep), /nests arrays or objects more than 64 levels deep/);
    checkJsonDepth(JSON.parse(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`));
  });
});
