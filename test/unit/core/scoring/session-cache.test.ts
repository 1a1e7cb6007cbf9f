import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import type { InferenceEngine, LoadedModel } from '#core/ports.ts';
import { SESSION_OVERHEAD_BYTES, sessionBytes } from '#core/scoring/prepared.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { makeModels } from '../../../../scripts/make-models.ts';

/** The real engine, recording loads and releases. */
function recordingEngine() {
  const real = new OnnxRuntimeEngine();
  const log = { loads: 0, releases: 0, live: 0 };
  const engine: InferenceEngine = {
    name: real.name,
    version: real.version,
    async load(bytes, opts) {
      log.loads++;
      log.live++;
      const m = await real.load(bytes, opts);
      const wrapped: LoadedModel = {
        inputs: m.inputs,
        outputs: m.outputs,
        run: (feeds, names) => m.run(feeds, names),
        release: async () => {
          log.releases++;
          log.live--;
          await m.release();
        },
      };
      return wrapped;
    },
  };
  return { engine, log };
}

const threads = { intraOpThreads: 1, interOpThreads: 1 };
const row = { sepal_length_cm: 5.1, sepal_width_cm: 3.5, petal_length_cm: 1.4, petal_width_cm: 0.2 };

describe('the session cache of a process serving many models', () => {
  let dir: string;
  let registry: ModelRegistry;
  /** Estimated bytes of one generated model's session. */
  let one: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'infera-lru-'));
    await makeModels(dir, 6, { prefix: 'm' });
    registry = await ModelRegistry.load(dir);
    const probe = new Scorer(registry, new OnnxRuntimeEngine(), threads);
    const mv = registry.resolve('m-001');
    one = await probe.withSession(mv, async (p) => sessionBytes(p.modelBytes));
    assert.ok(one > SESSION_OVERHEAD_BYTES);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('checks every graph at start but keeps only what fits the budget, least recently used out first', async () => {
    const { engine, log } = recordingEngine();
    const scorer = new Scorer(registry, engine, threads, { sessions: { maxBytes: 2 * one } });
    await scorer.warmup();
    assert.equal(log.loads, 6, 'every graph is loaded and checked once at start');
    assert.equal(scorer.ready, true, 'checked versions count as ready even when released');
    assert.equal(log.live, 2);
    assert.deepEqual(scorer.sessionStats(), { sessions: 2, bytes: 2 * one, maxBytes: 2 * one, evictions: 4 });
    // m-006 and m-005 are held; m-001 loads again on demand and pushes out m-005.
    const before = log.loads;
    const first = await scorer.predict(registry.resolve('m-001'), [row]);
    assert.equal(log.loads, before + 1);
    await scorer.predict(registry.resolve('m-006'), [row]);
    assert.equal(log.loads, before + 1, 'a held session is not loaded again');
    await scorer.predict(registry.resolve('m-002'), [row]);
    assert.equal(log.live, 2);
    // m-001 was least recently used of the held ones (m-006 was used after it), so it went.
    const again = await scorer.predict(registry.resolve('m-001'), [row]);
    assert.equal(log.loads, before + 3);
    assert.deepEqual(again, first, 'a model answers the same after it was released and loaded again');
  });

  it('never releases a session a request is still using', async () => {
    const { engine, log } = recordingEngine();
    const scorer = new Scorer(registry, engine, threads, { sessions: { maxBytes: one, lazy: true } });
    await scorer.warmup();
    assert.equal(log.loads, 0, 'lazy: nothing loads at start');
    assert.equal(scorer.ready, true);
    const names = ['m-001', 'm-002', 'm-003', 'm-004', 'm-005', 'm-006'];
    // Every model at once, with a budget of one session: each must still answer.
    const answers = await Promise.all(
      names.flatMap((n) => [1, 2, 3].map(() => scorer.predict(registry.resolve(n), [row]))),
    );
    assert.equal(answers.length, 18);
    for (const a of answers) assert.equal(a[0]?.label, 'setosa');
    assert.equal(log.live, 1, 'once idle, the cache is back within its budget');
    assert.equal(log.releases, log.loads - 1);
  });

  it('loads nothing at start when lazy, and each model on its first request', async () => {
    const { engine, log } = recordingEngine();
    const scorer = new Scorer(registry, engine, threads, { sessions: { lazy: true } });
    await scorer.warmup();
    assert.equal(log.loads, 0);
    await scorer.predict(registry.resolve('m-003'), [row]);
    assert.equal(log.loads, 1);
    assert.equal(scorer.sessionStats().sessions, 1);
  });

  it('checks a model file against its manifest when its session first reads it, failing only that model', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'infera-lru-broken-'));
    try {
      await makeModels(broken, 3, { prefix: 'm' });
      // m-003 now holds another model's bytes: its manifest's sha256 no longer matches.
      copyFileSync(join(broken, 'm-001', '1', 'model.onnx'), join(broken, 'm-003', '1', 'model.onnx'));
      await assert.rejects(ModelRegistry.load(broken), /m-003\/1\/model.json: sha256 does not match/);
      const lazy = await ModelRegistry.load(broken, { hashes: 'use' });
      const scorer = new Scorer(lazy, new OnnxRuntimeEngine(), threads, { sessions: { lazy: true } });
      await scorer.warmup();
      await assert.rejects(scorer.predict(lazy.resolve('m-003'), [row]), (err: Error) => {
        assert.equal(err.name, 'ModelPackageError');
        assert.match(err.message, /m-003\/1\/model.json: sha256 does not match model.onnx/);
        return true;
      });
      assert.equal((await scorer.predict(lazy.resolve('m-002'), [row]))[0]?.label, 'setosa');
      assert.equal(scorer.sessionStats().sessions, 1, 'the broken model holds no session');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
