import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { ConfigError } from '#core/errors.ts';
import { batchEnvironment, loadConfig, readEnv } from '#runtime/config.ts';

describe('reading the environment', () => {
  it('names each bad variable and what it should be, in one ConfigError', () => {
    const schema = z.object({ PORT: z.coerce.number().int(), MODE: z.enum(['a', 'b']) });
    assert.throws(
      () => readEnv(schema, { PORT: 'x', MODE: 'c' }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.details, ['PORT: expected number, got NaN', 'MODE: must be one of: "a", "b"']);
        return true;
      },
    );
    assert.deepEqual(readEnv(schema, { PORT: '8080', MODE: 'a' }), { PORT: 8080, MODE: 'a' });
  });

  it('writes the batch variables under the names the functions read back', () => {
    const env = batchEnvironment({
      inputBucket: 'in-bucket',
      outputBucket: 'out-bucket',
      queueUrl: 'http://127.0.0.1:4566/000000000000/q',
      dlqUrl: 'http://127.0.0.1:4566/000000000000/dlq',
      maxAttempts: 4,
    });
    const config = loadConfig(env);
    assert.equal(config.BATCH_INPUT_BUCKET, 'in-bucket');
    assert.equal(config.BATCH_OUTPUT_BUCKET, 'out-bucket');
    assert.equal(config.BATCH_QUEUE_URL, 'http://127.0.0.1:4566/000000000000/q');
    assert.equal(config.BATCH_DLQ_URL, 'http://127.0.0.1:4566/000000000000/dlq');
    assert.equal(config.BATCH_MAX_ATTEMPTS, 4);
  });
});
