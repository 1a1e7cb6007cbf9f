import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tracingWillBeActive } from '#runtime/xray-mode.ts';
import { ROOT } from '../helpers.ts';

/** Loads the shared observability module in a fresh process and says which X-Ray namespaces exist. */
async function namespacesWith(env: Record<string, string>, then = ''): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `await import('#runtime/observability.ts'); const m = await import('#runtime/tracing.ts'); ${then} console.log(JSON.stringify(Object.keys(process.namespaces ?? {})));`,
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

  it('loads the X-Ray SDK in Lambda with tracing on only when the Tracer loads, in automatic mode', async () => {
    assert.deepEqual(await namespacesWith({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }), []);
    assert.deepEqual(
      await namespacesWith({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }, 'await m.loadTracer();'),
      ['AWSXRay'],
    );
  });

  it('answers the cold start untraced, then traces every invocation as Powertools does', async () => {
    // The X-Ray daemon is a UDP listener: what the SDK sends is what X-Ray would get.
    const daemon = createSocket('udp4');
    const sent: Record<string, unknown>[] = [];
    daemon.on('message', (m) => sent.push(JSON.parse(m.toString().split('\n')[1] as string)));
    await new Promise<void>((r) => daemon.bind(0, '127.0.0.1', r));
    const script = `
      const { default: middy } = await import('@middy/core');
      const { traceInvocations, tracer } = await import('#runtime/tracing.ts');
      const h = middy(async () => { tracer.putAnnotation('model', 'iris'); return {}; }).use(traceInvocations({ captureResponse: false }));
      for (let i = 1; i <= 3; i++) {
        process.env._X_AMZN_TRACE_ID = 'Root=1-5759e988-bd862e3fe1be46a99427279' + i + ';Parent=53995c3f42cd8ad' + i + ';Sampled=1';
        await h({}, { awsRequestId: 'r' + i, getRemainingTimeInMillis: () => 1000 });
        console.log('invocation ' + i + ': X-Ray SDK ' + ('AWSXRay' in (process.namespaces ?? {}) ? 'loaded' : 'not loaded'));
        await new Promise((r) => setTimeout(r, 50));
      }`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        LAMBDA_TASK_ROOT: ROOT,
        _HANDLER: 'index.handler',
        POWERTOOLS_SERVICE_NAME: 'infera-iris',
        AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as { port: number }).port}`,
      },
    });
    await new Promise((r) => setTimeout(r, 200));
    daemon.close();
    assert.deepEqual(stdout.trim().split('\n'), [
      'invocation 1: X-Ray SDK not loaded',
      'invocation 2: X-Ray SDK loaded',
      'invocation 3: X-Ray SDK loaded',
    ]);
    assert.deepEqual(
      sent.map((s) => [s.name, s.parent_id, s.annotations]),
      [2, 3].map((i) => [
        '## index.handler',
        `53995c3f42cd8ad${i}`,
        { ColdStart: false, Service: 'infera-iris', model: 'iris' },
      ]),
    );
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
