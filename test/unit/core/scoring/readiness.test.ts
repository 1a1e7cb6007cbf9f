import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { RemoteEndpoints } from '#core/endpoint/remote.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import type { EndpointInvoker } from '#core/ports.ts';
import { type ReadinessSource, serverReadiness, versionReadiness } from '#core/scoring/readiness.ts';
import { routedInProcess } from '#core/scoring/scorer.ts';
import { MODELS } from '../../../helpers.ts';

/** Readiness never calls an endpoint: it reads the circuit. An invoker that is called fails the test. */
const neverCalled: EndpointInvoker = {
  invoke: () => {
    throw new Error('readiness must not call the endpoint');
  },
};

describe('readiness', () => {
  let registry: ModelRegistry;
  before(async () => {
    registry = await ModelRegistry.load(MODELS);
  });

  const source = (over: Partial<ReadinessSource> = {}): ReadinessSource => ({
    registry,
    remote: new RemoteEndpoints(neverCalled),
    ready: true,
    inProcess: routedInProcess,
    ...over,
  });
  const openCircuit = (src: ReadinessSource) => {
    const mv = registry.resolve('fraud-detector-xl', '1');
    const endpoint = mv.placement.endpoint;
    assert.ok(endpoint && src.remote);
    const breaker = src.remote.breaker(endpoint);
    for (let i = 0; i < src.remote.policy.breaker.failureThreshold; i++) breaker.failure(false);
    assert.equal(breaker.state, 'open');
  };

  it('is not ready while the sessions are still loading, for a version and for the server', () => {
    const src = source({ ready: false });
    assert.deepEqual(versionReadiness(src, registry.resolve('iris', '1')), {
      ready: false,
      reason: 'the models are still loading',
    });
    assert.deepEqual(serverReadiness(src), {
      ready: false,
      reason: 'the models are still loading',
      models: [],
    });
  });

  it('is ready for every live version when every circuit is closed, and lists none', () => {
    assert.deepEqual(serverReadiness(source()), { ready: true, models: [] });
  });

  it('names the missing SageMaker client for an endpoint model in a process without one', () => {
    const mv = registry.resolve('fraud-detector-xl', '1');
    const r = versionReadiness(source({ remote: undefined }), mv);
    assert.equal(r.ready, false);
    assert.match(r.reason ?? '', /no SageMaker client for /);
  });

  it('is not ready while the endpoint circuit is open, and says the fallback answers in its place', () => {
    const src = source();
    openCircuit(src);
    const mv = registry.resolve('fraud-detector-xl', '1');
    const r = versionReadiness(src, mv);
    assert.equal(r.ready, false);
    assert.match(r.reason ?? '', /circuit is open; fraud-detector answers its predictions in its place/);
    const server = serverReadiness(src);
    assert.equal(server.ready, false);
    assert.deepEqual(
      server.models.map((m) => [m.name, m.version, m.ready]),
      [['fraud-detector-xl', '1', false]],
    );
    // An in-process model is ready whatever another model's circuit says.
    assert.deepEqual(versionReadiness(src, registry.resolve('iris', '1')), { ready: true });
  });
});
