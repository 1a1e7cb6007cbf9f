import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tracingWillBeActive } from '#runtime/xray-mode.ts';
import { ROOT } from '../helpers.ts';

/** Loads the shared observability module in a fresh process and says which X-Ray namespaces exist. */
async function namespacesWith(env: Record<string, string>): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "await import('#runtime/observability.ts'); console.log(JSON.stringify(Object.keys(process.namespaces ?? {})));",
    ],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string);
}

describe('the X-Ray SDK mode', () => {
  it('installs no async hook where the Tracer will not trace: outside Lambda, or with tracing off', async () => {
    assert.deepEqual(await namespacesWith({}), []);
    assert.deepEqual(
      await namespacesWith({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'false' }),
      [],
    );
  });

  it('keeps automatic mode in Lambda with tracing on, so traces are as before', async () => {
    assert.deepEqual(await namespacesWith({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }), ['AWSXRay']);
  });

  it('decides as the Powertools Tracer does', () => {
    assert.equal(tracingWillBeActive({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }), true);
    assert.equal(tracingWillBeActive({}), false);
    assert.equal(tracingWillBeActive({ AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' }), false);
    assert.equal(
      tracingWillBeActive({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', AWS_SAM_LOCAL: 'true' }),
      false,
    );
    assert.equal(
      tracingWillBeActive({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'FALSE' }),
      false,
    );
  });
});
