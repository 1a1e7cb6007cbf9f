/**
 * B11: how many models one deployment holds, and what serving many of them costs.
 * - Resources and routes: the app is built (constructs only: no bundling, no layer build, the same
 *   resources) with a function per model on the shipped models plus 10 and 20 generated ones
 *   (scripts/make-models.ts), then with one shared function at 500 and 1,000 models.
 * - Synth: `cdk synth` (bundling included) of 500 generated models; its size annotation gives the
 *   shared function's code against Lambda's 250 MB, the last limit that grows with the models.
 * - Sessions: a warm function (bench/b11-sessions.ts) serving 50 copies of an 8.4 MB model lazily:
 *   the first request to a model against the next one, and its memory with and without a session
 *   budget; and the registry's load at 500 models, part of every cold start.
 * - npm start with 500 models: time to ready, and resident memory.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnResource } from 'aws-cdk-lib';
import { buildApp } from '../infra/app.ts';
import { MALLOC_ENV } from '../infra/lib/malloc.ts';
import { makeModels } from '../scripts/make-models.ts';
import { MODELS } from './lib/models.ts';
import { startProcess } from './lib/proc.ts';
import { absolute, type BenchOptions, type BenchResult, type Figure } from './lib/report.ts';
import { p50 } from './lib/stats.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const STACK_RESOURCES = 500;
const API_ROUTES = 300;
const LAMBDA_UNZIPPED_MB = 250;
const TARGET_MODELS = 500;

interface Count {
  readonly models: number;
  readonly resources: number;
  readonly routes: number;
  readonly byType: Record<string, number>;
}

async function count(dir: string, outdir: string, layout: string): Promise<Count> {
  const { stack } = await buildApp({
    outdir,
    // The same constructs and resources, without bundling each function or building the layer.
    context: { 'infera:models': dir, 'infera:modelFunctions': layout, 'aws:cdk:bundling-stacks': [] },
  });
  const resources = stack.node
    .findAll()
    .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && c.stack === stack);
  const byType: Record<string, number> = {};
  for (const r of resources) byType[r.cfnResourceType] = (byType[r.cfnResourceType] ?? 0) + 1;
  const models = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).length;
  return { models, resources: resources.length, routes: byType['AWS::ApiGatewayV2::Route'] ?? 0, byType };
}

/** The shipped models plus `added` generated ones, in a new folder. */
async function folder(root: string, added: number): Promise<string> {
  const dir = join(root, `models-${added}`);
  await cp(MODELS, dir, { recursive: true });
  if (added > 0) await makeModels(dir, added, { prefix: 'bench' });
  return dir;
}

/** `cdk synth` with bundling: seconds, and the layer and largest function sizes it reports (MB). */
async function synth(dir: string, outdir: string) {
  const started = performance.now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      join(ROOT, 'node_modules/.bin/cdk'),
      ['synth', '-q', '-c', `infera:models=${dir}`, '-o', outdir],
      { cwd: ROOT, env: { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}` } },
    );
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c));
    child.stderr.on('data', (c: Buffer) => (text += c));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`cdk synth failed:
${text.slice(-3000)}`))));
  });
  const m = /onnxruntime layer ([\d.]+) MB \+ largest function (\S+) ([\d.]+) MB/.exec(out);
  if (!m) throw new Error(`B11: cdk synth printed no size annotation:\n${out.slice(-2000)}`);
  return { seconds: (performance.now() - started) / 1000, layerMb: Number(m[1]), largest: m[2] as string, largestMb: Number(m[3]) };
}

interface Sessions {
  registryMs: number;
  registryModels: number;
  cold: number[];
  warm: number[];
  rssStart: number;
  rssPeak: number;
  rssEnd: number;
  stats: { sessions: number; bytes: number; maxBytes: number | null; evictions: number };
  models: number;
}

/** bench/b11-sessions.ts in its own process. */
async function sessions(
  dir: string,
  count: number,
  budgetMb: number,
  rounds: number,
  hashes: 'start' | 'use' = 'use',
): Promise<Sessions> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', join(ROOT, 'bench/b11-sessions.ts'), dir, String(count), String(budgetMb), String(rounds), hashes], {
      cwd: ROOT,
      // The shared function's malloc settings, without which released sessions stay resident.
      env: { ...process.env, ...MALLOC_ENV, POWERTOOLS_LOG_LEVEL: 'CRITICAL' },
    });
    let text = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (text += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`B11 sessions child failed:\n${err.slice(-3000)}`))));
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Sessions;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** npm start on a folder: seconds to its banner and to ready, and its resident memory then and after a request to every 10th model. */
async function npmStart(dir: string) {
  const started = performance.now();
  const p = await startProcess(
    [join(ROOT, 'infra/local/start.ts'), '--port', '0', '--aws-port', '0', '--sagemaker-port', '0', '--models', dir, '--no-batch', '--no-sagemaker', '--ephemeral', '--quiet'],
    /infera is running at (http:\/\/\S+)/,
    { name: 'npm start', cwd: ROOT, env: { ...process.env, PORT: '', POWERTOOLS_LOG_LEVEL: 'CRITICAL' }, timeoutMs: 300_000 },
  );
  try {
    const url = p.match[1] as string;
    while ((await fetch(`${url}/v2/health/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
    const ready = (performance.now() - started) / 1000;
    const pid = p.child.pid as number;
    const rssReady = rssMb(pid);
    const { models } = (await (await fetch(`${url}/v1/models`)).json()) as { models: { name: string }[] };
    const row = { sepal_length_cm: 6.0, sepal_width_cm: 2.9, petal_length_cm: 4.5, petal_width_cm: 1.5 };
    let served = 0;
    for (const m of models.filter((x) => x.name.startsWith('bench-')).filter((_, i) => i % 10 === 0)) {
      const r = await fetch(`${url}/v1/models/${m.name}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [row] }),
      });
      if (r.status !== 200) throw new Error(`B11: npm start answered ${m.name} with ${r.status}`);
      served++;
    }
    return { ready, rssReady, rssServed: rssMb(pid), served, models: models.length };
  } finally {
    await p.stop();
  }
}

/**
 * `n` copies of the shipped 8.4 MB fraud-detector-xl, each a model of its own served in Lambda:
 * sessions large enough for the cache's budget to show in the memory.
 */
export async function largeModels(root: string, n: number): Promise<string> {
  const dir = join(root, 'large');
  const source = join(MODELS, 'fraud-detector-xl', '1');
  const manifest = JSON.parse(await readFile(join(source, 'model.json'), 'utf8')) as Record<string, unknown>;
  for (let i = 1; i <= n; i++) {
    const name = `xl-${String(i).padStart(2, '0')}`;
    await cp(source, join(dir, name, '1'), { recursive: true });
    const { fallback: _, ...rest } = manifest;
    await writeFile(
      join(dir, name, '1', 'model.json'),
      JSON.stringify({ ...rest, name, target: { type: 'lambda', memoryMb: 2048 } }, null, 2),
    );
    await writeFile(join(dir, name, 'aliases.json'), JSON.stringify({ live: '1' }));
  }
  return dir;
}

const mb = (x: number) => Math.round(x * 10) / 10;

export async function b11(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const root = await mkdtemp(join(tmpdir(), 'infera-bench-many-'));
  try {
    const shipped = (await readdir(MODELS, { withFileTypes: true })).filter((e) => e.isDirectory()).length;
    const big = opts.quick ? 50 : TARGET_MODELS;
    const perModel: Count[] = [];
    for (const added of [0, 10, 20]) {
      opts.progress(`B11: a function per model, the shipped models and ${added} generated ones`);
      perModel.push(await count(await folder(root, added), join(root, `out-${added}`), 'per-model'));
    }
    const [base, ten, twenty] = perModel as [Count, Count, Count];
    const resourcesPerModel = (twenty.resources - ten.resources) / (twenty.models - ten.models);
    const routesPerModel = (twenty.routes - ten.routes) / (twenty.models - ten.models);
    const perModelMost = Math.min(
      base.models + Math.floor((STACK_RESOURCES - base.resources) / resourcesPerModel),
      base.models + Math.floor((API_ROUTES - base.routes) / routesPerModel),
    );

    opts.progress(`B11: one shared function, ${big} and ${2 * big} models`);
    const bigDir = await folder(root, big - shipped);
    const sharedA = await count(bigDir, join(root, 'out-big'), 'auto');
    const sharedB = await count(await folder(root, 2 * big - shipped), join(root, 'out-big2'), 'auto');
    const sharedPerModel = (sharedB.resources - sharedA.resources) / (sharedB.models - sharedA.models);

    opts.progress(`B11: cdk synth of ${big} models, bundling included`);
    const s = await synth(bigDir, join(root, 'cdk.out'));
    // Every byte of the largest function taken as growing with the models: a lower bound.
    const bySize = Math.floor((sharedA.models * (LAMBDA_UNZIPPED_MB - s.layerMb)) / s.largestMb);
    const sharedMost = Math.min(
      bySize,
      sharedPerModel > 0 ? sharedA.models + Math.floor((STACK_RESOURCES - sharedA.resources) / sharedPerModel) : Infinity,
    );

    const n = opts.quick ? 6 : 50;
    const budget = opts.quick ? 40 : 256;
    const rounds = opts.quick ? 1 : 2;
    opts.progress(`B11: loading the registry of ${big} models`);
    const registry = await sessions(bigDir, 1, 0, 0, 'start');
    const registryLazy = await sessions(bigDir, 1, 0, 0, 'use');
    opts.progress(`B11: a warm function serving ${n} 8.4 MB models, sessions unbounded, then within ${budget} MB`);
    const large = await largeModels(root, n);
    const largeStart = await sessions(large, 1, 0, 0, 'start');
    const all = await sessions(large, n, 0, rounds);
    const lru = await sessions(large, n, budget, rounds);

    opts.progress(`B11: npm start with ${big} models`);
    const start = await npmStart(bigDir);

    const figures: Figure[] = [
      absolute('CloudFormation resources per added model, a function each', '', resourcesPerModel),
      absolute(`most models with a function each (${STACK_RESOURCES} resources, ${API_ROUTES} routes)`, 'models', perModelMost),
      absolute(`resources with one shared function at ${sharedA.models} models`, '', sharedA.resources),
      absolute(`resources per added model, shared function (${sharedA.models} → ${sharedB.models})`, '', sharedPerModel),
      absolute(`HTTP API routes with one shared function`, '', sharedA.routes),
      absolute(
        `most models in one deployment, shared function (iris-sized models; Lambda's ${LAMBDA_UNZIPPED_MB} MB code limit binds first)`,
        'models',
        sharedMost,
        { text: `≥ ${TARGET_MODELS}`, met: sharedMost >= TARGET_MODELS },
      ),
      absolute(`cdk synth of ${sharedA.models} models, bundling included`, 's', s.seconds),
      absolute(
        `loading the registry of ${registry.registryModels} models, files hashed at start (npm start)`,
        'ms',
        Math.round(registry.registryMs),
      ),
      absolute(
        `the same, files hashed on first use (the shared function's cold start)`,
        'ms',
        Math.round(registryLazy.registryMs),
      ),
      absolute(
        `loading the registry of ${n} 8.4 MB models, files hashed at start`,
        'ms',
        Math.round(largeStart.registryMs),
      ),
      absolute(`the same, hashed on first use`, 'ms', Math.round(all.registryMs)),
      absolute(`first request to an 8.4 MB model not yet loaded in a warm function, p50 of ${n}`, 'ms', p50(lru.cold)),
      absolute('next request to the same model, loaded, p50', 'ms', p50(lru.warm)),
      absolute(`RSS of a function serving ${n} models, sessions unbounded (${all.stats.sessions} held)`, 'MB', mb(all.rssPeak)),
      absolute(`RSS of a function serving ${n} models within a ${budget} MB session budget (${lru.stats.sessions} held)`, 'MB', mb(lru.rssPeak)),
      absolute(`npm start with ${start.models} models: seconds to ready`, 's', start.ready),
      absolute(`npm start with ${start.models} models: RSS at ready`, 'MB', mb(start.rssReady)),
      absolute(`npm start: RSS after serving ${start.served} of the models`, 'MB', mb(start.rssServed)),
    ];
    const added = Object.entries(twenty.byType)
      .map(([t, k]) => [t, (k - (ten.byType[t] ?? 0)) / (twenty.models - ten.models)] as const)
      .filter(([, k]) => k > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([t, k]) => `${k} ${t.replace(/^AWS::/, '')}`);
    return {
      id: 'B11',
      title: 'many models: resources and routes per model, how many fit in one deployment, and serving them',
      baseline: `CloudFormation's ${STACK_RESOURCES} resources per stack; the HTTP API's default ${API_ROUTES} routes per API; Lambda's ${LAMBDA_UNZIPPED_MB} MB of code`,
      target: `≥ ${TARGET_MODELS} models in one deployment`,
      figures,
      notes: [
        `A function per model (infera:modelFunctions=per-model): the shipped models, then 10 and 20 generated iris models added (npm run models:many); ${base.resources}, ${ten.resources} and ${twenty.resources} resources, ${base.routes}, ${ten.routes} and ${twenty.routes} routes. Each added model brings: ${added.join(', ')}. Resources are counted on the app's construct tree (bundling skipped), which matches cdk synth's count.`,
        `One shared function (infera:modelFunctions=auto beyond 10 models): ${sharedA.resources} resources and ${sharedA.routes} routes at ${sharedA.models} models, ${sharedB.resources} and ${sharedB.routes} at ${sharedB.models}.`,
        `cdk synth at ${sharedA.models} models: onnxruntime layer ${s.layerMb} MB, largest function ${s.largest} ${s.largestMb} MB, of Lambda's ${LAMBDA_UNZIPPED_MB} MB.`,
        `Sessions (bench/b11-sessions.ts, one thread): ${n} copies of the 8.4 MB fraud-detector-xl, each a model of its own, ${rounds} rounds over all of them in turn after the first requests. RSS is read after a garbage collection, with the shared function's malloc settings. Unbounded: ${mb(all.rssStart)} MB before the first request, ${mb(all.rssPeak)} MB peak. Within ${budget} MB: ${mb(lru.rssStart)} MB before, ${lru.stats.sessions} sessions held at the end, ${lru.stats.evictions} released on the way, ${mb(lru.rssPeak)} MB peak. A cold request reads the model file from the function's code, creates the session and checks its graph against the manifest.`,
      ],
      limits: [
        'A shared function holds every model in its code, so a model release is a new version of it: CodeDeploy canaries the whole function (only the released model changes) and the hook checks every model. Models larger than the code limit allows need a SageMaker endpoint; loading packages from S3 instead of the code is the next step past it.',
      ],
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
