/**
 * B13: serving from a model store (infera:modelStore), through the real predict handler in one
 * process, with the store a folder on this machine (npm start --store's adapter, the same core as
 * S3 and DynamoDB on AWS; their own latencies are AWS's and not measured here).
 * - publish: `infera publish`'s core over 20 iris models and 10 copies of the 8.4 MB
 *   fraud-detector-xl, each its own model;
 * - a model's first request in a warm function (record read, package fetched and verified into the
 *   cache, session created, scored) against its next request;
 * - a request that reads its model's record again (the ttl passed) with nothing changed, and one
 *   that applies a changed policy: what a release adds to the first request after the ttl;
 * - the package bytes of each model, from which the cache's capacity at each size follows.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeModels } from '../scripts/make-models.ts';
import { largeModels } from './b11-many-models.ts';
import { runHandlerChild } from './lib/proc.ts';
import { absolute, type BenchOptions, type BenchResult } from './lib/report.ts';
import { p50 } from './lib/stats.ts';

const IRIS = 20;
const LARGE = 10;

interface ChildReport {
  readonly cold: Record<string, number[]>;
  readonly warm: Record<string, number[]>;
  readonly reread: number[];
  readonly applied: number[];
  readonly packageBytes: Record<string, number>;
}


async function child(): Promise<void> {
  const { handler } = (await import('#api/predict.ts')) as unknown as {
    handler: (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>;
  };
  const { predictEvent } = await import('#runtime/golden-events.ts');
  const { FolderModelStore } = await import('#adapters/model-store/folder.ts');
  const { changePolicy } = await import('#core/model/store/release.ts');
  const { readPackageIndex } = await import('#core/model/store/package.ts');
  const { readRecord } = await import('#core/model/store/publish.ts');
  const { setShadow } = await import('#core/model/traffic.ts');
  const store = new FolderModelStore(process.env.MODEL_STORE_DIR as string);
  const context = { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => 30_000 };
  const instances = JSON.parse(process.env.B13_INSTANCES as string) as Record<string, unknown[]>;
  const ask = async (model: string) => {
    const event = predictEvent({ model, version: '1', golden: { instances: instances[model] ?? [] } } as never, 'b13');
    const t = performance.now();
    const res = await handler(event, context);
    const ms = performance.now() - t;
    if (res.statusCode !== 200) throw new Error(`${model} answered ${res.statusCode}: ${res.body}`);
    return ms;
  };
  const report: ChildReport = { cold: { iris: [], large: [] }, warm: { iris: [], large: [] }, reread: [], applied: [], packageBytes: {} };
  for (const model of await store.listModels()) {
    const kind = model.startsWith('xl-') ? 'large' : 'iris';
    report.cold[kind]?.push(await ask(model));
    report.warm[kind]?.push(await ask(model));
    const record = await readRecord(store, model);
    const index = await readPackageIndex(store, record?.versions['1'] as string);
    report.packageBytes[kind] = index.files.reduce((n, f) => n + f.size, 0);
  }
  // MODEL_POLICY_TTL_MS is 0 here: every request reads its record again.
  const model = 'iris-001';
  for (let i = 0; i < 50; i++) report.reread.push(await ask(model));
  for (let i = 0; i < 20; i++) {
    await changePolicy(store, model, (f, p) => setShadow(f, p, i % 2 === 0 ? '1' : undefined), 'bench');
    report.applied.push(await ask(model));
  }
  process.send?.({ rounds: report });
}

export async function b13(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const root = await mkdtemp(join(tmpdir(), 'infera-bench-store-'));
  try {
    const models = join(root, 'models');
    const iris = opts.quick ? 3 : IRIS;
    const large = opts.quick ? 1 : LARGE;
    await makeModels(models, iris, { prefix: 'iris' });
    const largeDir = await largeModels(root, large);
    const { FolderModelStore } = await import('#adapters/model-store/folder.ts');
    const { publishModel } = await import('#core/model/store/publish.ts');
    const { DEFAULT_PLACEMENT_POLICY } = await import('#core/model/placement.ts');
    const store = new FolderModelStore(join(root, 'store'));
    const names = [
      ...Array.from({ length: iris }, (_, i) => `iris-${String(i + 1).padStart(3, '0')}`),
      ...Array.from({ length: large }, (_, i) => `xl-${String(i + 1).padStart(2, '0')}`),
    ];
    opts.progress(`B13: publishing ${iris} iris models and ${large} 8.4 MB ones to a store folder`);
    const publishMs: Record<'iris' | 'large', number[]> = { iris: [], large: [] };
    const instances: Record<string, unknown[]> = {};
    for (const name of names) {
      const t = performance.now();
      const from = join(name.startsWith('xl-') ? largeDir : models, name);
      await publishModel(store, from, name, ['1'], { routing: DEFAULT_PLACEMENT_POLICY, reason: 'bench' });
      publishMs[name.startsWith('xl-') ? 'large' : 'iris'].push(performance.now() - t);
      const golden = JSON.parse(await readFile(join(from, '1', 'fixtures', 'golden.json'), 'utf8')) as {
        instances: unknown[];
      };
      instances[name] = golden.instances.slice(0, 1);
    }
    opts.progress('B13: first and next requests through the predict handler, reading the store');
    const r = await runHandlerChild<ChildReport>(
      import.meta.url,
      'store',
      {
        MODEL_STORE_DIR: join(root, 'store'),
        MODEL_PACKAGE_CACHE_DIR: join(root, 'cache'),
        MODEL_PACKAGE_CACHE_MB: '400',
        MODEL_POLICY_TTL_MS: '0',
        MODEL_WARMUP: 'lazy',
        ORT_INTRA_OP_THREADS: '1',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
        B13_INSTANCES: JSON.stringify(instances),
      },
      'B13',
    );
    const mb = (b: number | undefined) => (b ?? 0) / 1024 / 1024;
    const largeMb = mb(r.packageBytes.large);
    const fit = (cacheMb: number) => Math.floor(cacheMb / Math.max(largeMb, 1e-9));
    return {
      id: 'B13',
      title: 'Serving from a model store: publish, first request, policy refresh',
      baseline: 'the same request once the model is loaded',
      target: 'measured, no target: the limits docs/many-models.md states',
      figures: [
        absolute(`publish one iris version (4 objects), p50 of ${iris}`, 'ms', p50(publishMs.iris)),
        absolute(`publish one 8.4 MB version, p50 of ${large}`, 'ms', p50(publishMs.large)),
        absolute(`first request to an iris model not yet fetched, p50 of ${iris}`, 'ms', p50(r.cold.iris ?? [])),
        absolute('the next request to it', 'ms', p50(r.warm.iris ?? [])),
        absolute(`first request to an 8.4 MB model not yet fetched, p50 of ${large}`, 'ms', p50(r.cold.large ?? [])),
        absolute('the next request to it', 'ms', p50(r.warm.large ?? [])),
        absolute('a request that reads its unchanged record again (the ttl passed), p50 of 50', 'ms', p50(r.reread)),
        absolute('a request that applies a changed policy, p50 of 20', 'ms', p50(r.applied)),
        absolute('package of an iris version', 'KB', (r.packageBytes.iris ?? 0) / 1024),
        absolute('package of an 8.4 MB version', 'MB', largeMb),
        absolute('8.4 MB packages in the default 400 MB cache', 'models', fit(400)),
        absolute("8.4 MB packages in Lambda's largest /tmp (10,240 MB, cache 10,128 MB)", 'models', fit(10_128)),
      ],
      notes: [
        'One process, one onnxruntime thread, the predict handler invoked in-process with API Gateway events (bench/b13-model-store.ts). The store is a folder on this machine: a first request on AWS adds one DynamoDB GetItem and the S3 GETs of the package, which this does not measure.',
        'A first request reads the record, fetches the index and each file, checks every sha256, writes the package under MODEL_PACKAGE_CACHE_DIR, loads the version (manifest, hashes) and creates its session; the next request does none of that.',
        'MODEL_POLICY_TTL_MS is 0 for the refresh figures: every request reads its record. At the default 5 s only the first request after the ttl does.',
      ],
      // No target to miss.
      limits: [],
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child')) await child();
