import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loggedUrl, printable } from '../../../infra/local/log-safe.ts';

describe("client text in the local platform's log lines", () => {
  it('escapes a newline, NUL and the Unicode line separators, so no key can forge a log line', () => {
    const key = 'x\n[gateway] POST /v1/models/iris/predict 200 1.0ms\u0000\u2028';
    const line = `[s3] ObjectCreated:Put s3://infera-batch-input/${printable(key)} (3 bytes) -> split`;
    assert.equal(line.split('\n').length, 1);
    assert.match(line, /x\\u000a\[gateway\] POST .*\\u0000\\u2028 \(3 bytes\)/);
  });

  it('keeps the names of query parameters and never their values, and shortens a long path', () => {
    assert.equal(loggedUrl('/v1/batch?token=secret&model=iris'), '/v1/batch?token=…&model=…');
    assert.equal(loggedUrl('/v2/health/live'), '/v2/health/live');
    const long = loggedUrl(`/${'a'.repeat(5000)}`);
    assert.ok(long.length < 260, String(long.length));
    assert.match(long, /…\(5001 chars\)$/);
  });
});
