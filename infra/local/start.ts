#!/usr/bin/env node
/**
 * `npm start`: the whole platform on this machine, no AWS account and no Docker. The local gateway
 * turns HTTP into API Gateway v2 events and invokes the same handler modules that are deployed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InferaError, ModelPackageError } from '#core/errors.ts';
import type { ModelVersion } from '#core/model/registry.ts';
import { numberFlag, parseCommand, runMain, usageError } from '../../cli/args.ts';
import { DEFAULT_NAMES, handlerEnv, type LocalAws, startLocalAws } from './aws.ts';
import { type LocalBatch, startLocalBatch } from './batch.ts';
import { dashboardPages } from './dashboard.ts';
import type { Handler } from './event-sources.ts';
import { type LambdaHandler, startGateway } from './gateway.ts';
import { removeInfoFile, writeInfoFile } from './info-file.ts';
import { tuneProcessMemory } from './memory.ts';
import { startLocalQuality } from './quality.ts';
import { type LocalSageMaker, startLocalSageMaker } from './sagemaker.ts';

const HELP = `Usage: npm start [-- options]   (or: infera start [options])

Runs the infera platform locally: the real API handlers behind a local API Gateway, batch
scoring on an embedded S3 + SQS emulator (fauxqs) with the real split and score handlers, and
one serving-container process per heavy (SageMaker-routed) model behind a local SageMaker runtime.

Options:
  --port <n>                 API port (default: $PORT or 3000; 0 picks a free one)
  --host <addr>              address to bind (default: 127.0.0.1)
  --allow-origin <url>       let browser pages of this origin (scheme://host:port) call the platform,
                             e.g. a local web app on http://localhost:5173 (repeatable; default: none,
                             only the platform's own pages)
  --models <dir>             models folder (default: $MODELS_DIR or ./models)
  --store <dir>              serve from a model store folder instead (infera publish --store
                             <dir> fills it; release, promote and rollback with --store move
                             one model's traffic, as on a stack deployed with infera:modelStore)
  --aws-port <n>             S3 + SQS emulator port (default: 4566; 0 picks a free one)
  --no-batch                 no emulator and no batch functions
  --state <dir>              where S3 objects and SQS queues live on disk (default: .infera/state)
  --ephemeral                keep S3 and SQS in memory only: everything is gone when it stops
  --visibility-timeout <s>   seconds before a failed chunk is retried (default: 30)
  --max-attempts <n>         attempts per chunk before the dead-letter queue (default: 3)
  --chunk-rows <n>           rows per chunk message (default: 5000)
  --sagemaker-port <n>       local SageMaker runtime port (default: 4567; 0 picks a free one)
  --no-sagemaker             no serving containers; heavy models answer 502 endpoint_not_found
  --no-microbatch            containers run each request on its own
  --max-batch-rows <n>       micro-batch size in the containers (default: 64)
  --max-delay-ms <n>         longest a request waits to join a micro-batch (default: 2)
  --restart-delay <ms>       how long a crashed container stays down (default: 5000)
  --drift-webhook <url>      POST each drift event to this URL as JSON (default: $DRIFT_WEBHOOK_URL)
  --emf                      print CloudWatch EMF metrics to stdout, as Lambda would
  --quiet                    no access log lines
  -h, --help                 show this help
`;

const COMMAND = 'npm start --';

export async function start(argv: string[] = process.argv.slice(2)): Promise<void> {
  const parsed = parseCommand(
    {
      name: COMMAND,
      help: HELP,
      allowNegative: true,
      options: {
        'aws-port': { type: 'string' },
        batch: { type: 'boolean', default: true },
        'visibility-timeout': { type: 'string', default: '30' },
        'max-attempts': { type: 'string' },
        'chunk-rows': { type: 'string' },
        'sagemaker-port': { type: 'string' },
        sagemaker: { type: 'boolean', default: true },
        microbatch: { type: 'boolean', default: true },
        'max-batch-rows': { type: 'string', default: '64' },
        'max-delay-ms': { type: 'string', default: '2' },
        'restart-delay': { type: 'string', default: '5000' },
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'allow-origin': { type: 'string', multiple: true },
        models: { type: 'string' },
        store: { type: 'string' },
        'drift-webhook': { type: 'string' },
        state: { type: 'string', default: join('.infera', 'state') },
        ephemeral: { type: 'boolean', default: false },
        emf: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
    },
    argv,
  );
  if (!parsed) return;
  const { values } = parsed;
  const whole = (flag: string, raw: string | undefined, min: number, max: number) =>
    numberFlag(COMMAND, flag, raw, { min, max, integer: true }) as number;
  const port = whole('port', values.port ?? process.env.PORT ?? '3000', 0, 65535);
  const awsPort = whole('aws-port', values['aws-port'] ?? process.env.INFERA_AWS_PORT ?? '4566', 0, 65535);
  const visibility = whole('visibility-timeout', values['visibility-timeout'], 0, 43200);
  const smPort = whole(
    'sagemaker-port',
    values['sagemaker-port'] ?? process.env.INFERA_SAGEMAKER_PORT ?? '4567',
    0,
    65535,
  );
  whole('max-batch-rows', values['max-batch-rows'], 1, 100000);
  whole('max-delay-ms', values['max-delay-ms'], 0, 1000);
  const restartDelay = whole('restart-delay', values['restart-delay'], 0, 600000);
  if (values.models) process.env.MODELS_DIR = values.models;
  if (values.store) {
    // The same store code as on AWS, with a folder for S3 and DynamoDB (adapters/model-store).
    process.env.MODEL_STORE_DIR = resolve(values.store);
    process.env.MODEL_PACKAGE_CACHE_DIR ??= packageCacheDir();
    // As the store-backed function runs: each model's session loads on its first request.
    process.env.MODEL_WARMUP ??= 'lazy';
  }
  if (values['max-attempts']) process.env.BATCH_MAX_ATTEMPTS = values['max-attempts'];
  if (values['chunk-rows']) process.env.BATCH_CHUNK_ROWS = values['chunk-rows'];
  // EMF blobs are for CloudWatch; locally they drown the logs unless asked for.
  if (!values.emf) process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'infera-local';
  // `infera release/promote/rollback/shadow` rewrite aliases.json; the running platform follows.
  process.env.WATCH_ALIASES ??= 'true';
  // One process answers every model here: image files are decoded in worker threads, so a large
  // image never holds up the other requests (functions/adapters/image-pool.ts).
  process.env.IMAGE_WORKERS ??= String(Math.max(1, Math.floor(availableParallelism() / 2)));
  if (values['drift-webhook']) process.env.DRIFT_WEBHOOK_URL = values['drift-webhook'];
  // The quality log (prediction ids and outputs, and labels) beside S3 and SQS, or for the run alone.
  const qualityTemp = values.ephemeral ? mkdtempSync(join(tmpdir(), 'infera-quality-')) : undefined;
  process.env.QUALITY_DESTINATION ??= resolve(qualityTemp ?? join(values.state as string, 'quality'));
  // The quality function's view of the models, as the stack writes it from the manifests; set
  // before anything reads the configuration, which every handler in this process shares.
  try {
    const { qualityModelsJson } = await import('#core/quality/models-env.ts');
    const { loadConfig } = await import('#runtime/config.ts');
    const { getRegistry } = await import('#runtime/platform.ts');
    const served = await getRegistry(loadConfig({ ...process.env }));
    process.env.QUALITY_MODELS ??= qualityModelsJson(
      served.list().map((m) => served.resolve(m.name).manifest),
    );
  } catch (err) {
    console.error(
      `infera could not start.\n${err instanceof InferaError ? err.message : (err as Error).stack}`,
    );
    process.exit(1);
  }
  const log = values.quiet ? undefined : (line: string) => console.log(line);
  const guard = { allowOrigins: allowedOrigins(values['allow-origin'] ?? []) };

  let aws: LocalAws | undefined;
  if (values.batch) {
    try {
      aws = await startLocalAws({
        port: awsPort,
        host: values.host ?? '127.0.0.1',
        guard,
        visibilityTimeout: visibility,
        maxReceiveCount: Number(process.env.BATCH_MAX_ATTEMPTS ?? 3) + 2,
        ...(values.ephemeral ? {} : { stateDir: values.state as string }),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      console.error(
        e.code === 'EADDRINUSE'
          ? `Port ${awsPort} (the S3 + SQS emulator) is in use, maybe by LocalStack. Use --aws-port ${awsPort + 1}, or --no-batch.`
          : `The S3 + SQS emulator could not start: ${e.message}`,
      );
      process.exit(1);
    }
    if (aws.repairs.damaged.length > 0)
      console.warn(
        `The S3 state had ${aws.repairs.damaged.length} file(s) a crash left unreadable: writes that were never acknowledged. They were moved under ${join(values.state as string, 's3', 'damaged')}; delete that folder once you have looked.`,
      );
    // The handlers reach the emulator through the real AWS SDK clients: only the endpoint differs.
    Object.assign(process.env, handlerEnv(aws));
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
  }

  // The SDK clients need a region and some credentials even when every endpoint is local.
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

  let sm: LocalSageMaker | undefined;
  try {
    sm = values.sagemaker
      ? await startSageMaker({
          host: values.host ?? '127.0.0.1',
          port: smPort,
          guard,
          restartDelayMs: restartDelay,
          containerEnv: {
            ...(guard.allowOrigins.length > 0 ? { INFERA_ALLOW_ORIGINS: guard.allowOrigins.join(',') } : {}),
            INFERA_MICROBATCH: values.microbatch ? 'true' : 'false',
            INFERA_MAX_BATCH_ROWS: String(values['max-batch-rows']),
            INFERA_MAX_DELAY_MS: String(values['max-delay-ms']),
          },
          ...(log ? { log } : {}),
        })
      : undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    console.error(
      e.code === 'EADDRINUSE'
        ? `Port ${smPort} (the local SageMaker runtime) is in use. Use --sagemaker-port ${smPort + 1}, or --no-sagemaker.`
        : `infera could not start its SageMaker endpoints.\n${err instanceof InferaError ? err.message : e.stack}`,
    );
    await aws?.close();
    process.exit(1);
  }

  // Without containers the local runtime still answers, as SageMaker does for an endpoint that
  // does not exist: heavy models get 502 endpoint_not_found, not whatever else is on AWS_ENDPOINT_URL.
  const emptyRuntime = sm
    ? undefined
    : await startLocalSageMaker({
        host: values.host ?? '127.0.0.1',
        port: 0,
        guard,
        ...(log ? { log } : {}),
      });
  if (emptyRuntime) process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = emptyRuntime.url;

  let predict: LambdaHandler;
  let models: LambdaHandler;
  let batch: LambdaHandler = async () => ({
    statusCode: 501,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      error: 'Batch scoring is off: npm start was run with --no-batch.',
      code: 'not_implemented',
    }),
  });
  let localBatch: LocalBatch | undefined;
  try {
    // What AWS would refuse behind its HTTP API, refused here first, before anything serves.
    const { apiRuleProblems } = await import('#core/aws/manifest-rules.ts');
    const { loadConfig } = await import('#runtime/config.ts');
    const { getRegistry } = await import('#runtime/platform.ts');
    const problems = apiRuleProblems((await getRegistry(loadConfig())).allVersions());
    if (problems.length > 0) throw new ModelPackageError(problems);
    // Imported after the environment is set: the handlers read their config at load, as on a cold start.
    predict = (await import('#api/predict.ts')).handler as unknown as LambdaHandler;
    models = (await import('#api/models.ts')).handler as unknown as LambdaHandler;
    if (aws) {
      batch = (await import('#api/batch.ts')).handler as unknown as LambdaHandler;
      const split = (await import('#batch/split.ts')).handler as unknown as Handler;
      const splitFailed = (await import('#batch/split-failed.ts')).handler as unknown as Handler;
      const score = (await import('#batch/score.ts')).handler as unknown as Handler;
      localBatch = startLocalBatch({ aws, split, splitFailed, score, ...(log ? { log } : {}) });
      const quality = (await import('#quality/handler.ts')).handler as unknown as Handler;
      startLocalQuality({ aws, handler: quality, ...(log ? { log } : {}) });
      // After a crash: a job still "splitting" lost its split with the process; announce its file
      // again. Queued chunks need nothing: SQS kept them, and they come back when their visibility ends.
      const resumed = await resumeSplits(aws);
      if (resumed > 0)
        console.log(`Resuming ${resumed} batch job(s) that were being split when infera stopped.`);
    }
  } catch (err) {
    console.error(
      `infera could not start.\n${err instanceof InferaError ? err.message : (err as Error).stack}`,
    );
    process.exit(1);
  }

  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({
      functions: { predict, models, batch },
      host: values.host,
      guard,
      port,
      pages: {
        ...dashboardPages(),
        // Local only: which models folder this platform serves, so `infera release --url` edits it.
        '/local/info.json': async () => ({
          type: 'application/json; charset=utf-8',
          body: JSON.stringify({ modelsDir: resolve(process.env.MODELS_DIR ?? 'models') }),
        }),
      },
      onRequest: values.quiet ? undefined : (line) => console.log(`[gateway] ${line}`),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    console.error(
      e.code === 'EADDRINUSE'
        ? `Port ${port} is in use. Stop the other process or run: npm start -- --port ${port + 1}`
        : `infera could not listen on ${values.host}:${port}: ${e.message}`,
    );
    process.exit(1);
  }

  const config = (await import('#runtime/config.ts')).loadConfig();
  const { registry } = await (await import('#runtime/platform.ts')).getPlatform(config);
  const url = gateway.url;
  // Labelled quality: judged on a clock, its events sent where drift events go.
  await (await import('#runtime/quality-watch.ts')).startQualityWatch(config, registry);
  // The CLI's local commands (release, promote, init...) act on the folder this platform serves.
  writeInfoFile({
    pid: process.pid,
    url,
    modelsDir: resolve(process.env.MODELS_DIR ?? 'models'),
    ...(aws ? { awsEndpoint: aws.endpoint, qualityBucket: aws.names.qualityBucket } : {}),
  });
  const all = registry.list();
  const lines0: string[] = [];
  if (values.store) {
    const { FolderModelStore } = await import('#adapters/model-store/folder.ts');
    const published = await new FolderModelStore(resolve(values.store)).listModels();
    lines0.push(
      `    ${published.length} published in the model store; each is fetched on its first request.`,
      `    infera publish <model> --store ${values.store}, then infera release <model> <v> --canary 10 --store ${values.store}`,
    );
  }
  // Hundreds of models: the first ones, and where to see the rest.
  const BANNER_MODELS = 20;
  const lines = [
    ...lines0,
    ...all.slice(0, BANNER_MODELS).map((m) => {
      const live = registry.resolve(m.name);
      const where =
        live.placement.target === 'sagemaker'
          ? `sagemaker: ${live.placement.endpoint?.name}`
          : live.placement.target;
      return `    ${m.name.padEnd(18)} versions ${m.versions
        .map((v) => v.version)
        .join(', ')
        .padEnd(5)} live -> ${m.aliases.live}  (${where})`;
    }),
  ];
  if (all.length > BANNER_MODELS)
    lines.push(`    … and ${all.length - BANNER_MODELS} more: npx infera models, or ${url}/v1/models`);
  console.log(`
infera is running at ${url}

  Models (${values.store ? `from the model store ${values.store}` : `${all.length} in ${registry.root}`}):
${lines.join('\n')}

  Try:
    curl -s ${url}/v1/models
${tryRequest(url, registry)}
  Dashboard: ${url}/dashboard     OpenAPI: ${url}/openapi.json     Stop: Ctrl+C
${releasesBanner(registry)}${sm ? sageMakerBanner(sm, url, registry) : '\n  SageMaker endpoints are off (--no-sagemaker).\n'}${aws ? batchBanner(aws, url, values.ephemeral ? undefined : (values.state as string)) : '\n  Batch scoring is off (--no-batch).\n'}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    removeInfoFile();
    if (values.store) rmSync(process.env.MODEL_PACKAGE_CACHE_DIR ?? '', { recursive: true, force: true });
    if (qualityTemp) rmSync(qualityTemp, { recursive: true, force: true });
    Promise.allSettled([gateway.close(), localBatch?.stop(), sm?.close(), emptyRuntime?.close()])
      .then(() => aws?.close())
      .then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // `kill -TERM <npm pid>` stops npm but does not reach this process: follow the parent instead,
  // so no platform (or serving container) is left running on the ports with nobody to stop it.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('parent process exited');
  }, 500).unref();
}

/**
 * A request to try, for a model this platform serves: iris's, else the first golden instance
 * small enough to paste, else a metadata call.
 */
function tryRequest(
  url: string,
  registry: { list(): readonly { name: string }[]; resolve(name: string): ModelVersion },
): string {
  const names = registry.list().map((m) => m.name);
  const pick = names.includes('iris') ? ['iris'] : names;
  for (const name of pick) {
    const instance = firstGoldenInstance(registry.resolve(name));
    if (instance === undefined || instance.length > 300) continue;
    return `    curl -s -X POST ${url}/v1/models/${name}/predict -H 'content-type: application/json' \\
      -d '{"instances":[${instance}]}'
`;
  }
  return names[0] ? `    curl -s ${url}/v2/models/${names[0]}\n` : '';
}

function firstGoldenInstance(mv: ModelVersion): string | undefined {
  try {
    const golden = JSON.parse(readFileSync(join(mv.dir, 'fixtures', 'golden.json'), 'utf8')) as {
      instances?: unknown[];
    };
    return golden.instances?.[0] === undefined ? undefined : JSON.stringify(golden.instances[0]);
  } catch {
    return undefined;
  }
}

/** The release commands, shown with a model that has two versions (or else the first model). */
function releasesBanner(registry: {
  list(): readonly { name: string; versions: readonly { version: string }[] }[];
}): string {
  const all = registry.list();
  const two = all.find((m) => m.versions.length >= 2);
  const m = two ?? all[0];
  if (!m) return '';
  const [a = '1', b = '<version>'] = two ? two.versions.map((v) => v.version) : [m.versions[0]?.version];
  const drift = m.name === 'fraud-detector' ? ' -- --drift amount' : ` -- --model ${m.name}`;
  return `
  Releases (the running platform follows aliases.json at once):
    npx infera release ${m.name} ${b} --canary 20     npx infera compare ${m.name} ${a} ${b}
    npx infera rollback ${m.name}                  npm run traffic${drift}
`;
}

/**
 * Announces again the input of every job whose split had not finished. Job records are read as
 * the batch functions read them: one `_job.json` per job folder, through the S3 port.
 */
async function resumeSplits(aws: LocalAws): Promise<number> {
  const { S3ObjectStore } = await import('#adapters/s3.ts');
  const { JOB_ID, keys } = await import('#core/batch/job.ts');
  const { jobRecordSchema } = await import('#core/batch/job-record.ts');
  const store = new S3ObjectStore(aws.s3);
  const bucket = aws.names.outputBucket;
  let resumed = 0;
  for (const prefix of await store.listPrefixes(bucket, '')) {
    const jobId = prefix.replace(/\/$/, '');
    if (!JOB_ID.test(jobId)) continue;
    const text = await store.readText(bucket, keys.job(jobId));
    const job = text === undefined ? undefined : jobRecordSchema.safeParse(JSON.parse(text)).data;
    if (job?.state === 'splitting' && job.source?.bucket === aws.names.inputBucket) {
      await aws.replay(job.source.key);
      resumed++;
    }
  }
  return resumed;
}

/**
 * Starts the local SageMaker runtime, then one container per SageMaker-routed version, and waits
 * for them. Runs before the handlers are imported: they read AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME.
 */
async function startSageMaker(opts: Parameters<typeof startLocalSageMaker>[0] & { host: string }) {
  const { ensureHeavyModel } = await import('../../scripts/make-heavy-model.ts');
  await ensureHeavyModel(process.env.MODELS_DIR ?? 'models', { log: (line) => console.log(line) });
  const sm = await startLocalSageMaker(opts);
  process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = sm.url;
  const { loadConfig } = await import('#runtime/config.ts');
  const { getRegistry } = await import('#runtime/platform.ts');
  const registry = await getRegistry(loadConfig());
  for (const mv of registry.allVersions()) {
    const e = mv.placement.endpoint;
    if (mv.placement.target !== 'sagemaker' || !e) continue;
    if (e.image) {
      console.log(
        `  ${mv.name}@${mv.version} uses its own image (${e.image}), which cannot run here; it answers 502 endpoint_not_found locally.`,
      );
      continue;
    }
    if (mv.sizeBytes === undefined) {
      console.log(`  ${mv.name}@${mv.version} has no model.onnx here, so no local container; add the file.`);
      continue;
    }
    if (sm.containers.has(e.name)) continue;
    sm.add({ name: e.name, variant: e.variant, modelDir: mv.dir, serverless: e.serverless !== undefined });
  }
  if (sm.containers.size > 0) {
    console.log(`Starting ${sm.containers.size} serving container(s) for the SageMaker-routed models...`);
    const timeout = AbortSignal.timeout(120_000);
    await Promise.race([
      Promise.all([...sm.containers.values()].map((c) => c.ready())),
      new Promise((_, reject) =>
        timeout.addEventListener('abort', () =>
          reject(new Error('the serving containers did not start within 120 s')),
        ),
      ),
    ]);
  }
  return sm;
}

const FRAUD_EXAMPLE =
  '{"instances":[{"amount":912.5,"merchant_category":"electronics","hour":2,"distance_from_home_km":840,"transactions_last_hour":4,"card_present":false,"account_age_days":12,"is_foreign":true}]}';

function sageMakerBanner(
  sm: LocalSageMaker,
  url: string,
  registry: { allVersions(): readonly import('#core/model/registry.ts').ModelVersion[] },
): string {
  const rows = [...sm.containers.values()].map((c) => {
    const mv = registry.allVersions().find((v) => v.placement.endpoint?.name === c.spec.name);
    return `    ${c.spec.name.padEnd(28)} ${mv ? `${mv.name}@${mv.version}` : ''}  container pid ${c.pid} on 127.0.0.1:${c.port}`;
  });
  if (rows.length === 0) return `\n  Local SageMaker runtime: ${sm.url} (no SageMaker-routed models)\n`;
  const heavy = registry.allVersions().find((v) => sm.containers.has(v.placement.endpoint?.name ?? ''));
  const endpoint = heavy?.placement.endpoint?.name ?? '';
  const body =
    heavy?.manifest.inputs.kind === 'tabular' && heavy.name.startsWith('fraud')
      ? FRAUD_EXAMPLE
      : '{"instances":[...]}';
  return `
  SageMaker endpoints (local runtime ${sm.url}; a killed container restarts, as an instance would):
${rows.join('\n')}

    curl -s -X POST ${url}/v1/models/${heavy?.name}/predict -H 'content-type: application/json' \\
      -d '${body}'
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws sagemaker-runtime invoke-endpoint \\
      --endpoint-url ${sm.url} --region us-east-1 --endpoint-name ${endpoint} \\
      --content-type application/json --body '${body}' out.json
`;
}

function batchBanner(aws: LocalAws, url: string, state: string | undefined): string {
  const n = aws.names;
  return `
  Batch scoring (S3 + SQS emulator, fauxqs): ${aws.endpoint}
    state          ${state ? `${state}/ (kept across restarts; delete it to start empty, or use --ephemeral)` : 'in memory (--ephemeral): gone when infera stops'}
    input bucket   s3://${n.inputBucket}/<model>/<file>.csv   (or <model>@<version>/...)
    output bucket  s3://${n.outputBucket}/<jobId>/
    chunk queue    ${aws.queueUrl}
    dead letters   ${aws.dlqUrl}

    infera batch submit data.csv --model fraud-detector --wait     (INFERA_URL=${url})
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${aws.region} \\
      aws s3 cp data.csv s3://${n.inputBucket}/fraud-detector/ --endpoint-url ${aws.endpoint}
`;
}

export { DEFAULT_NAMES };

if (import.meta.main) {
  tuneProcessMemory();
  await runMain(async () => {
    await start();
    return -1; // keeps running until a signal
  });
}

/** --allow-origin values as origins (scheme://host:port), each checked: a bad one stops start-up. */
function allowedOrigins(values: readonly string[]): string[] {
  return values.map((v) => {
    let u: URL | undefined;
    try {
      u = new URL(v);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin === 'null') {
      throw usageError(
        COMMAND,
        `--allow-origin must be an origin such as http://localhost:5173, got '${v}'.`,
      );
    }
    return u.origin;
  });
}

/**
 * This process's package cache for --store: its own folder under .infera/package-cache, so two
 * platforms never clear each other's; folders of processes that are gone are removed first.
 */
function packageCacheDir(): string {
  const root = resolve('.infera', 'package-cache');
  mkdirSync(root, { recursive: true });
  for (const name of readdirSync(root)) {
    if (!/^\d+$/.test(name) || name === String(process.pid)) continue;
    try {
      process.kill(Number(name), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH')
        rmSync(join(root, name), { recursive: true, force: true });
    }
  }
  return join(root, String(process.pid));
}
