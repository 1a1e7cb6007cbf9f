/**
 * `infera cost`: what a million predictions cost on each route a model version could take, and
 * where each should run. The times are measured here, on the real predict handler (cli/cost-probe.ts
 * in its own process), scaled to each route's CPU; the prices come from the versioned table in
 * functions/core/cost/prices.ts, or a file that overrides it.
 */
import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { modelFunctionMemoryMb } from '#core/cost/deployment.ts';
import {
  type AcceleratorTiming,
  alwaysOnMonthly,
  batchRoute,
  LAMBDA_MB_PER_VCPU,
  lambdaRoute,
  sagemakerRoute,
  serverlessRoute,
} from '#core/cost/estimate.ts';
import { type PriceTable, withOverrides } from '#core/cost/price-table.ts';
import { PRICES } from '#core/cost/prices.ts';
import { type Recommendation, recommend } from '#core/cost/recommend.ts';
import { storeCost } from '#core/cost/store.ts';
import type { Assumptions, RouteCost, Timing } from '#core/cost/types.ts';
import { ModelPackageError } from '#core/errors.ts';
import { DEFAULT_SERVERLESS_MEMORY_MB } from '#core/model/manifest.ts';
import { defaultInstanceType } from '#core/model/placement.ts';
import type { ModelRegistry, ModelVersion } from '#core/model/registry.ts';
import { loadConfig } from '#runtime/config.ts';
import { getRegistry } from '#runtime/platform.ts';
import { cdkJsonContext } from '../infra/lib/cdk-json.ts';
import { idleCost } from '../infra/lib/idle-cost.ts';
import {
  BATCH_MEMORY_MB,
  MODEL_FUNCTIONS,
  type ModelFunctions,
  type ModelLayout,
  modelLayout,
} from '../infra/lib/layout.ts';
import { localModelsDir } from '../infra/local/info-file.ts';
import { numberFlag, parseCommand, usageError } from './args.ts';
import { CliError, table } from './common.ts';
import { cloudWatchTimes } from './cost-cloudwatch.ts';
import { GPU_REPORT, type GpuTimes, gpuTimings, readGpuReport } from './cost-gpu.ts';
import type { ProbeRequest, ProbeResult } from './cost-probe.ts';
import { ProgressBar } from './progress.ts';

export const COST_HELP = `Usage: infera cost [model] [--version <v>] [options]

Prints, for each model version, what 1 million predictions cost on each route it could take
(Lambda x86_64 and arm64 at the function's memory, SageMaker real-time at the endpoint's instance
type, SageMaker Serverless, and batch per million rows), with p50/p99 latency, the idle cost a
month, and the cheapest route that meets the manifest's latencyBudgetMs.

The times are measured here: the real predict handler on each version's golden fixtures, at
batch 1 and at --batch rows, on one onnxruntime thread (one vCPU). They are scaled to each
route's CPU (Lambda: one vCPU at ${LAMBDA_MB_PER_VCPU} MB, in proportion below) and priced at list
prices (${PRICES.region}, ${PRICES.date}). Estimates: every assumption is printed with the table.

Options:
  --version <v>         one version (number or alias) of the model; default: every version
  --batch <n>           rows per request for the second column (default 10)
  --calls <n>           timed calls per version and batch size (default 300)
  --volume <n>          predictions a month, for the recommendation (default 1000000)
  --utilization <0-1>   how busy traffic keeps an always-on instance (default 0.5)
  --cpu-factor <x>      a Lambda vCPU's time per unit of this machine's (default 1: as fast)
  --prices <file>       JSON overriding any part of the price table (see docs/cost.md)
  --models <dir>        model repository (default: $MODELS_DIR, else the folder a running
                        npm start serves, else models)
  --template <file>     synthesized stack for the idle cost (default cdk.out/Infera.template.json
                        when it exists; else the endpoints the manifests configure)
  --gpu-report <file>   GPU times from npm run test:gpu, which price a version's GPU route
                        (default ${GPU_REPORT} when it exists; without one, a GPU route is
                        priced at CPU time, and says so)
  --stack <name>        use a deployed stack's own times from CloudWatch (PredictLatency and
                        Predictions of each version) instead of measuring here; a GPU route's
                        time is then the deployed GPU endpoint's
  --window <hours>      with --stack: how far back to read (default 24, at most 336)
  --region <region>     with --stack: the stack's region (default: $AWS_REGION)
  --namespace <ns>      with --stack: the metrics namespace (default infera)
  --model-functions <auto|per-model|shared>
                        how the stack lays out model functions, for their memory and
                        metrics (default: cdk.json's infera:modelFunctions, else auto)
  --json                print the figures as JSON
  -h, --help            show this help

Examples:
  infera cost
  infera cost fraud-detector --version 2 --batch 50
  infera cost --prices prices-eu-west-1.json --volume 50000000
`;

interface VersionCost {
  readonly model: string;
  readonly version: string;
  readonly live: boolean;
  readonly task: string;
  readonly runsOn: string;
  readonly measured: ProbeResult;
  readonly routes: { readonly batch1: RouteCost[]; readonly batchN: RouteCost[]; readonly batch?: RouteCost };
  readonly recommendation?: Recommendation;
  readonly latencyBudgetMs?: number;
}

export async function costCommand(argv: string[]): Promise<number> {
  const name = 'infera cost';
  const parsed = parseCommand(
    {
      name,
      help: COST_HELP,
      positionals: true,
      options: {
        version: { type: 'string' },
        batch: { type: 'string' },
        calls: { type: 'string' },
        volume: { type: 'string' },
        utilization: { type: 'string' },
        'cpu-factor': { type: 'string' },
        prices: { type: 'string' },
        models: { type: 'string' },
        template: { type: 'string' },
        stack: { type: 'string' },
        'gpu-report': { type: 'string' },
        window: { type: 'string' },
        region: { type: 'string' },
        namespace: { type: 'string' },
        'model-functions': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    },
    argv,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw usageError(name, `Unexpected argument '${positionals[1]}'.`);
  const model = positionals[0];
  if (values.version !== undefined && !model)
    throw usageError(name, '--version needs a model: infera cost <model> --version <v>.');
  const batch = numberFlag(name, 'batch', values.batch, { min: 1, max: 1000, integer: true }) ?? 10;
  const calls = numberFlag(name, 'calls', values.calls, { min: 10, max: 100_000, integer: true }) ?? 300;
  const volume = numberFlag(name, 'volume', values.volume, { min: 1, max: 1e13, integer: true }) ?? 1_000_000;
  const assumptions: Assumptions = {
    utilization: numberFlag(name, 'utilization', values.utilization, { min: 0.01, max: 1 }) ?? 0.5,
    cpuFactor: numberFlag(name, 'cpu-factor', values['cpu-factor'], { min: 0.05, max: 20 }) ?? 1,
  };
  const prices = values.prices ? await loadPrices(values.prices) : PRICES;
  const stack = values.stack;
  const hours = numberFlag(name, 'window', values.window, { min: 1, max: 336 }) ?? 24;
  if (!stack) {
    for (const f of ['window', 'region', 'namespace'] as const)
      if (values[f] !== undefined) throw usageError(name, `--${f} goes with --stack <name>.`);
  } else {
    for (const f of ['cpu-factor', 'calls', 'batch'] as const)
      if (values[f] !== undefined)
        throw usageError(
          name,
          `--${f} is for a measurement here; with --stack the times are the stack's own.`,
        );
  }

  const gpu = readGpuReport(values['gpu-report'] ?? GPU_REPORT, values['gpu-report'] !== undefined);
  const modelsDir = localModelsDir(values.models).dir;
  // The heavy demo model is measured here too; its model.onnx is built on first need.
  if (!values.stack) {
    const { ensureHeavyModel } = await import('../scripts/make-heavy-model.ts');
    await ensureHeavyModel(modelsDir, { log: (line) => console.error(line) });
  }
  const config = loadConfig({ ...process.env, MODELS_DIR: modelsDir });
  const registry = await getRegistry(config).catch((err: Error) => {
    if (err instanceof ModelPackageError)
      throw new CliError(err.message, [
        'Point --models (or MODELS_DIR) at the folder that holds <name>/<version>/model.json.',
      ]);
    throw err;
  });
  const versions = pick(registry, model, values.version);
  const layout = modelLayout(modelFunctionsSetting(name, values['model-functions']), registry.list().length);

  let measured: ProbeResult[];
  if (stack) {
    const observed = await cloudWatchTimes(versions, {
      stack,
      hours,
      namespace: values.namespace ?? 'infera',
      layout,
      ...(values.region ? { region: values.region } : {}),
    });
    measured = observed.map((m, i) => asOneVcpu(registry, versions[i] as ModelVersion, m, layout));
  } else {
    const bar = values.json ? undefined : new ProgressBar({ label: 'measuring', unit: 'versions' });
    const next = (done: number) => {
      const v = versions[done];
      bar?.update(done, versions.length, v ? `${v.name} v${v.version}` : '');
    };
    next(0);
    measured = await probe(modelsDir, versions, { calls, batch }, next);
    bar?.done();
  }

  const results: VersionCost[] = versions.map((mv, i) =>
    costOf(registry, mv, measured[i] as ProbeResult, prices, assumptions, {
      gpu: stack ? 'observed' : gpu,
      layout,
      volume,
      coldStartMs: config.ROUTE_LAMBDA_COLD_START_MS,
      chunkRows: config.BATCH_CHUNK_ROWS,
    }),
  );
  const idle = await deploymentIdle(registry, prices, values.template);
  // A store-backed deployment's own costs, per model (infera:modelStore; docs/many-models.md).
  const store = storeCost(prices, {
    ttlMs: config.MODEL_POLICY_TTL_MS,
    objectsPerVersion: 4,
    bakeMinutes: 5,
  });
  const shared = {
    idle,
    modelStore: store,
    prices: { region: prices.region, date: prices.date, note: prices.note },
    source: stack ? `CloudWatch, stack ${stack}, the last ${hours} h` : 'measured here',
    assumptions: assumptionLines(
      assumptions,
      batch,
      calls,
      volume,
      config.ROUTE_LAMBDA_COLD_START_MS,
      stack ? hours : undefined,
    ),
  };
  if (values.json) {
    console.log(JSON.stringify({ ...shared, versions: results }, null, 2));
    return 0;
  }
  for (const r of results) printVersion(r, stack !== undefined);
  console.log(`\nIdle cost of the deployment as configured, ${idle.from}: ${usd(idle.monthly)} a month`);
  for (const l of idle.lines) console.log(`  ${l.what}: ${usd(l.monthly)} a month`);
  if (idle.hint) console.log(`  ${idle.hint}`);
  console.log(
    `\nWith a model store (infera:modelStore), per model; MODEL_POLICY_TTL_MS ${config.MODEL_POLICY_TTL_MS}:`,
  );
  console.log(
    `  record reads of one instance serving it all month: ${usd(store.recordReadsPerInstanceMonth)} a month`,
  );
  console.log(
    `  at most one read a request: ${usd(store.recordReadsPerMillionPredictions)} per million predictions`,
  );
  console.log(
    `  its first request in a new instance (record and a 4-object package): ${usd(store.coldFetch)}`,
  );
  console.log(`  a release or rollback (one transactional write of two items): ${usd(store.policyWrite)}`);
  console.log(`  a canary's two alarms for a 5-minute bake: ${usd(store.canaryAlarms)}`);
  console.log('');
  console.log('Assumptions (these figures are estimates):');
  for (const a of shared.assumptions) console.log(`  - ${a}`);
  console.log(`Prices: ${prices.region} list prices of ${prices.date}. ${prices.note}`);
  return 0;
}

async function loadPrices(file: string): Promise<PriceTable> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError(`Cannot read the price file ${file}: ${(err as Error).message}`, [
      'Give a JSON file with any part of the price table; see docs/cost.md.',
    ]);
  }
  try {
    return withOverrides(PRICES, raw);
  } catch (err) {
    throw new CliError(`The price file ${file} does not fit the price table:`, [
      ...(err as Error).message.split('\n'),
      'Each price needs usd (a number ≥ 0), per and source (a URL); an instance also vcpus and accelerator.',
    ]);
  }
}

function pick(
  registry: ModelRegistry,
  model: string | undefined,
  version: string | undefined,
): ModelVersion[] {
  if (!model) return registry.list().flatMap((e) => e.versions);
  const entry = registry.list().find((e) => e.name === model);
  if (!entry) {
    throw new CliError(
      `No model '${model}'.`,
      [
        `Models: ${registry
          .list()
          .map((e) => e.name)
          .join(', ')}`,
      ],
      2,
    );
  }
  if (version === undefined) return [...entry.versions];
  try {
    return [registry.resolve(model, version)];
  } catch (err) {
    throw new CliError(
      (err as Error).message,
      [`Versions of ${model}: ${entry.versions.map((v) => v.version).join(', ')}`],
      2,
    );
  }
}

function probe(
  modelsDir: string,
  versions: readonly ModelVersion[],
  opts: { calls: number; batch: number },
  onVersion: (done: number) => void,
): Promise<ProbeResult[]> {
  return new Promise((resolve, reject) => {
    const names = [...new Set(versions.map((v) => v.name))];
    const child = fork(new URL('./cost-probe.ts', import.meta.url).pathname, [], {
      env: {
        ...process.env,
        MODELS_DIR: modelsDir,
        MODEL_NAMES: names.join(','),
        // Every version scored in the process, so each route is priced from the model's own time.
        ROUTE_OVERRIDES: names.map((n) => `${n}=lambda`).join(','),
        ORT_INTRA_OP_THREADS: '1',
        ORT_INTER_OP_THREADS: '1',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const out: ProbeResult[] = [];
    child.on('message', (m) => {
      out.push(m as ProbeResult);
      onVersion(out.length);
    });
    child.on('exit', (code) => {
      if (out.length === versions.length) resolve(out);
      else
        reject(
          new CliError(
            `Measuring stopped after ${out.length} of ${versions.length} versions (exit ${code}).`,
            stderr.trim().split('\n').slice(-8),
          ),
        );
    });
    const req: ProbeRequest = {
      versions: versions.map((v) => ({ model: v.name, version: v.version })),
      ...opts,
    };
    child.send(req);
  });
}

function costOf(
  registry: ModelRegistry,
  mv: ModelVersion,
  m: ProbeResult,
  prices: PriceTable,
  a: Assumptions,
  o: {
    /** test:gpu's report, or 'observed' when the times were taken on the deployed endpoint. */
    gpu: GpuTimes | 'observed' | undefined;
    layout: ModelLayout;
    volume: number;
    coldStartMs: number;
    chunkRows: number;
  },
): VersionCost {
  const entry = registry.get(mv.name);
  const fnMemory = functionMemoryOf(registry, mv, o.layout);
  const target = mv.manifest.target;
  const endpoint = mv.placement.endpoint;
  const accelerator = target.type === 'lambda' ? 'none' : (target.accelerator ?? 'none');
  const instanceType =
    endpoint?.instanceType ??
    (target.type !== 'lambda' ? target.instanceType : undefined) ??
    defaultInstanceType(accelerator);
  const instanceCount =
    endpoint?.instanceCount ?? (target.type !== 'lambda' ? target.instanceCount : undefined) ?? 1;
  const serverlessMb =
    endpoint?.serverless?.memoryMb ??
    (target.type !== 'lambda' ? target.serverless?.memoryMb : undefined) ??
    DEFAULT_SERVERLESS_MEMORY_MB;
  const routesAt = (t: Timing | undefined, accelerated: AcceleratorTiming | undefined): RouteCost[] =>
    t
      ? [
          lambdaRoute(t, fnMemory, 'x86_64', prices, a),
          lambdaRoute(t, fnMemory, 'arm64', prices, a),
          sagemakerRoute(t, instanceType, instanceCount, fnMemory, prices, a, accelerated),
          serverlessRoute(t, serverlessMb, fnMemory, prices, a),
        ]
      : [];
  // GPU time: test:gpu's report of this version, or the deployed endpoint's own (--stack).
  const onEndpoint = (t: Timing | undefined): AcceleratorTiming | undefined =>
    t && mv.placement.target === 'sagemaker'
      ? { ...t, source: 'CloudWatch PredictLatency of the deployed endpoint route' }
      : undefined;
  const gpu =
    o.gpu === 'observed'
      ? { single: onEndpoint(m.single), batched: onEndpoint(m.batched) }
      : gpuTimings(o.gpu, mv.name, mv.version);
  const batch1 = routesAt(m.single, gpu.single);
  const batchN = routesAt(m.batched, gpu.batched);
  const batch =
    m.batchRowMs !== undefined
      ? batchRoute(
          m.batchRowMs,
          m.splitRowMs ?? 0,
          o.chunkRows,
          BATCH_MEMORY_MB.score,
          BATCH_MEMORY_MB.split,
          prices,
          a,
        )
      : undefined;
  const budget = target.type === 'auto' ? target.latencyBudgetMs : undefined;
  // One prediction per request: what a real-time caller most often sends.
  const recommendation = recommend(batch1, {
    ...(budget !== undefined ? { latencyBudgetMs: budget } : {}),
    coldStartMs: o.coldStartMs,
    volumePerMonth: o.volume,
  });
  return {
    model: mv.name,
    version: mv.version,
    live: entry.aliases.live === mv.version,
    task: mv.manifest.task,
    runsOn: `${mv.placement.target}${endpoint ? ` (${endpoint.serverless ? 'serverless' : endpoint.instanceType})` : ''}: ${mv.placement.reason}`,
    measured: m,
    routes: { batch1, batchN, ...(batch ? { batch } : {}) },
    ...(recommendation ? { recommendation } : {}),
    ...(budget !== undefined ? { latencyBudgetMs: budget } : {}),
  };
}

const usd = (n: number) =>
  Number.isNaN(n)
    ? 'n/a'
    : n === 0
      ? '$0'
      : n < 0.01
        ? `$${n.toPrecision(2)}`
        : n < 100
          ? `$${n.toFixed(2)}`
          : `$${Math.round(n).toLocaleString('en-US')}`;
const ms = (n: number | undefined) =>
  n === undefined ? '' : n < 10 ? `${n.toFixed(2)} ms` : `${n.toFixed(1)} ms`;

function printVersion(r: VersionCost, stack: boolean): void {
  console.log(`\n${r.model} v${r.version}${r.live ? ' (live)' : ''}: ${r.task}; runs on ${r.runsOn}`);
  const m = r.measured;
  const rowsOf = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
  const one = m.single;
  const many = m.batched && one && m.batched.rows !== one.rows ? m.batched : undefined;
  if (one && !stack) {
    console.log(
      `  measured here, one vCPU: batch 1 p50 ${ms(one.p50Ms)}, p99 ${ms(one.p99Ms)}` +
        (many ? `; batch ${many.rows} p50 ${ms(many.p50Ms)}, p99 ${ms(many.p99Ms)}` : '') +
        (m.batchRowMs !== undefined ? `; batch worker ${(1000 / m.batchRowMs).toFixed(0)} rows/s` : ''),
    );
  }
  for (const p of m.problems) console.log(`  note: ${p}`);
  if (one && r.routes.batch1.length > 0) {
    const at = `${rowsOf(one.rows)} ROW${one.rows === 1 ? '' : 'S'}/REQUEST`;
    const rows = [
      [
        'ROUTE',
        `$/1M AT ${at}`,
        ...(many ? [`$/1M AT ${many.rows} ROWS/REQUEST`] : []),
        `P50 (${at})`,
        `P99 (${at})`,
        'IDLE A MONTH',
      ],
    ];
    r.routes.batch1.forEach((b1, i) => {
      const bn = r.routes.batchN[i];
      rows.push([
        b1.route,
        b1.unpriced ? 'not priced' : usd(b1.perMillion),
        ...(many ? [bn && !bn.unpriced ? usd(bn.perMillion) : ''] : []),
        ms(b1.p50Ms),
        ms(b1.p99Ms),
        b1.unpriced ? '' : usd(b1.idleMonthly),
      ]);
    });
    if (r.routes.batch)
      rows.push([
        r.routes.batch.route,
        `${usd(r.routes.batch.perMillion)} per 1M rows`,
        ...(many ? [''] : []),
        '',
        '',
        '$0',
      ]);
    console.log(table(rows).replace(/^/gm, '  '));
    for (const b of r.routes.batch1) if (b.unpriced) console.log(`  ${b.route}: ${b.unpriced}`);
    for (const [i, b] of r.routes.batch1.entries()) {
      if (!b.timedOn || b.timedOn === 'CPU' || b.unpriced) continue;
      const bn = r.routes.batchN[i];
      console.log(
        b.timedOn === 'CPU (no accelerator time)'
          ? `  ${b.route}: priced at CPU time; no GPU time for this version (npm run test:gpu on a GPU machine measures one, --gpu-report reads it)`
          : `  ${b.route}: priced at GPU time, ${b.timedOn}${bn?.timedOn === b.timedOn && bn.lines[0] ? `; second column ${bn.lines[0].what.match(/per (\d+)-row call/)?.[1] ?? '?'} rows a call` : ''}`,
      );
    }
  }
  if (r.recommendation)
    console.log(
      `  recommended (at ${rowsOf(one?.rows ?? 1)} row${one?.rows === 1 ? '' : 's'} a request): ${r.recommendation.reason}`,
    );
}

/**
 * The memory the stack gives the version's model function (infra's rule, core/cost/deployment.ts):
 * its own model's versions decide, or, for a shared function, every model's.
 */
function functionMemoryOf(registry: ModelRegistry, mv: ModelVersion, layout: ModelLayout): number {
  const versions = layout === 'shared' ? registry.allVersions() : registry.get(mv.name).versions;
  return modelFunctionMemoryMb(versions.map((v) => v.manifest));
}

/** --model-functions, else cdk.json's infera:modelFunctions, else auto: what the stack was built with. */
function modelFunctionsSetting(command: string, flag: string | undefined): ModelFunctions {
  let value = flag;
  if (value === undefined) {
    try {
      const v = cdkJsonContext()['infera:modelFunctions'];
      value = typeof v === 'string' ? v : undefined;
    } catch {
      value = undefined;
    }
  }
  if (value === undefined) return 'auto';
  if (!(MODEL_FUNCTIONS as readonly string[]).includes(value))
    throw usageError(
      command,
      `--model-functions must be one of ${MODEL_FUNCTIONS.join(', ')}, got '${value}'.`,
    );
  return value as ModelFunctions;
}

/**
 * A time CloudWatch saw inside a Lambda function of M MB, as one vCPU's time: below 1,769 MB the
 * function had M/1769 of a vCPU, so its work took 1769/M times as long. The route estimates then
 * scale it like a local measurement. A version on SageMaker keeps the endpoint's round trip.
 */
function asOneVcpu(
  registry: ModelRegistry,
  mv: ModelVersion,
  m: ProbeResult,
  layout: ModelLayout,
): ProbeResult {
  if (!m.single || mv.placement.target === 'sagemaker') return m;
  const f = Math.min(1, functionMemoryOf(registry, mv, layout) / LAMBDA_MB_PER_VCPU);
  const t = { ...m.single, p50Ms: m.single.p50Ms * f, p99Ms: m.single.p99Ms * f };
  return { ...m, single: t, batched: t };
}

function assumptionLines(
  a: Assumptions,
  batch: number,
  calls: number,
  volume: number,
  coldStartMs: number,
  stackHours?: number,
): string[] {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return [
    stackHours !== undefined
      ? `Times are the stack's own: CloudWatch's PredictLatency (time inside the predict function) and Predictions over the last ${stackHours} h, per version, at the observed rows per request; a version on Lambda is first brought back to one vCPU's time (× memory / ${LAMBDA_MB_PER_VCPU} below ${LAMBDA_MB_PER_VCPU} MB).`
      : `Times were measured on this machine (${cpu}, ${availableParallelism()} cores) with one onnxruntime thread, ${calls} timed calls per version and batch size, warm (no cold start).`,
    `A Lambda or Serverless function has one vCPU at ${LAMBDA_MB_PER_VCPU} MB and a proportional share below it, so a time is multiplied by ${LAMBDA_MB_PER_VCPU} / memory below that size and kept as it is above; ${stackHours !== undefined ? 'the times were taken on AWS, so no machine factor applies' : `a Lambda vCPU is assumed ${a.cpuFactor === 1 ? "as fast as this machine's" : `to take ${a.cpuFactor}× this machine's time`} (--cpu-factor)`}. arm64 is assumed as fast as x86_64.`,
    `A real-time CPU instance serves one request per vCPU at a time, each taking the measured time, and traffic keeps it ${Math.round(a.utilization * 100)}% busy (--utilization). A GPU instance serves one request at a time on its GPU, at the GPU time of npm run test:gpu's report (--gpu-report) or, with --stack, of the deployed endpoint; with neither it is priced at CPU time, and its line says so.`,
    'SageMaker routes include the predict function that calls the endpoint (it is billed while it waits) and the HTTP API request.',
    stackHours !== undefined
      ? 'A prediction is one row.'
      : `The second price column sends ${batch} rows per request (--batch); a prediction is one row.`,
    `The recommendation compares a month at ${volume.toLocaleString('en-US')} predictions (--volume); an always-on instance costs at least its idle cost; routes that can cold start meet a latency budget only if it is ${coldStartMs} ms or more (ROUTE_LAMBDA_COLD_START_MS).`,
    'Not included: the free tier, Savings Plans, data transfer, CloudWatch Logs and metrics, X-Ray traces, S3 storage, and cold starts.',
  ];
}

interface DeploymentIdle {
  readonly from: string;
  readonly monthly: number;
  readonly lines: readonly { what: string; monthly: number }[];
  readonly hint?: string;
}

/**
 * What the deployment costs with no traffic: from the synthesized template when there is one
 * (instances, provisioned concurrency, alarms, dashboards, keys), else from the endpoints the
 * manifests configure.
 */
async function deploymentIdle(
  registry: ModelRegistry,
  prices: PriceTable,
  template?: string,
): Promise<DeploymentIdle> {
  const file = template ?? 'cdk.out/Infera.template.json';
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (template !== undefined)
      throw new CliError(`Cannot read the template ${file}: ${(err as Error).message}`, [
        'Run npx cdk synth first, or leave out --template.',
      ]);
  }
  if (text !== undefined) {
    const cost = idleCost(JSON.parse(text) as never, prices);
    return {
      from: `from ${file}`,
      monthly: cost.monthly,
      lines: cost.lines,
      ...(cost.unpriced.length > 0
        ? { hint: `not priced (add them to a --prices file): ${cost.unpriced.join(', ')}` }
        : {}),
    };
  }
  const lines: { what: string; monthly: number }[] = [];
  for (const mv of registry.list().flatMap((e) => e.versions)) {
    const e = mv.placement.endpoint;
    if (mv.placement.target !== 'sagemaker' || !e || e.serverless || !e.instanceType) continue;
    lines.push({
      what: `${mv.name} v${mv.version}: ${e.instanceCount ?? 1} × ${e.instanceType} (always on)`,
      monthly: alwaysOnMonthly(prices, e.instanceType, e.instanceCount ?? 1) ?? Number.NaN,
    });
  }
  return {
    from: 'from the manifests',
    monthly: lines.reduce((s, l) => s + (Number.isNaN(l.monthly) ? 0 : l.monthly), 0),
    lines,
    hint: 'Lambda and Serverless cost nothing idle. Run npx cdk synth to add alarms, dashboards, keys and provisioned concurrency.',
  };
}
