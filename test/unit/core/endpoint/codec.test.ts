import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInferResponse, parsePredictions } from '#core/endpoint/codec.ts';

describe('replies from an endpoint', () => {
  it('reads one prediction per instance', () => {
    assert.deepEqual(parsePredictions('{"predictions":[{"score":0.1},{"score":0.9}]}', 2), [
      { score: 0.1 },
      { score: 0.9 },
    ]);
  });

  it('refuses a body that is not JSON, quoting only how it starts', () => {
    assert.throws(
      () => parsePredictions(`<html>${'x'.repeat(500)}`, 1),
      (e: Error & { kind?: string }) => {
        assert.equal(e.kind, 'malformed');
        assert.match(e.message, /the body is not JSON \(starts "<html>x+"\)/);
        assert.ok(e.message.length < 200);
        return true;
      },
    );
  });

  it('refuses the wrong number of predictions, and a shape that is not predictions', () => {
    assert.throws(
      () => parsePredictions('{"predictions":[{"score":0.1}]}', 2),
      /returned 1 predictions for 2 instances/,
    );
    assert.throws(() => parsePredictions('{"outputs":[]}', 1), /expected \{"predictions": \[...\]\}/);
  });

  it('reads a v2 infer response, and refuses one without outputs', () => {
    const r = parseInferResponse(
      '{"model_name":"m","model_version":"1","outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.5]}]}',
    );
    assert.equal(r.outputs[0]?.name, 'score');
    assert.throws(
      () => parseInferResponse('{"model_name":"m","model_version":"1","outputs":[]}'),
      /v2 infer response with outputs/,
    );
  });
});
