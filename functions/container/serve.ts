#!/usr/bin/env node
import { PooledImageWork } from '#adapters/image-pool.ts';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ConfigError, InferaError } from '#core/errors.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';
import { isLoopback } from '#http/guard.ts';
import { type ContainerConfig, containerConfigSchema, environment, readEnv } from '#runtime/config.ts';
import { BatchingModel } from './microbatch.ts';
import { createContainerServer, parseFault } from './server.ts';

const HELP = `Usage: node functions/container/serve.ts serve

The infera ONNX serving container (the SageMaker hosting contract): GET /ping and
POST /invocations on port 8080, the model read from /opt/ml/model (model.json + model.onnx).

Environment:
  SM_MODEL_DIR                model folder (default /opt/ml/model)
  SAGEMAKER_BIND_TO_PORT      port (default 8080)
  INFERA_HOST                 address to bind (default 0.0.0.0, as SageMaker needs)
  INFERA_MICROBATCH           true|false: coalesce concurrent requests (default true)
  INFERA_MAX_BATCH_ROWS       rows per session.run (default 64)
  INFERA_MAX_DELAY_MS         longest a request waits for company (default 2)
  INFERA_MAX_INFLIGHT         session.run calls at once (default 1)
  INFERA_EXECUTION_PROVIDER   auto|cpu|cuda (default auto: CUDA when a GPU is visible; cuda:
                              CUDA or fail to start, so a GPU endpoint never serves on CPU)
  INFERA_MAX_BODY_BYTES       request limit (default 104857600)
  ORT_INTRA_OP_THREADS        threads per operator (default: all cores)
  INFERA_IMAGE_WORKERS        worker threads decoding image files, off the serving thread
                              (default: half the cores, at least 1; 0 decodes in it)
  INFERA_IMAGE_DECODE_TIMEOUT_MS  longest one file may take to decode (default 10000)
  INFERA_ACCESS_LOG           true: one log line per request
  INFERA_ALLOW_ORIGINS        bound to loopback, the container refuses foreign Host and Origin
                              headers; these origins (comma-separated) may call it from a browser
  INFERA_FAULT                chaos testing only: 500|429|503|malformed|slow:<ms>
`;

function log(record: Record<string, unknown>): void {
  console.log(
    JSON.stringify({
      level: 'INFO',
      service: 'infera-container',
      timestamp: new Date().toISOString(),
      ...record,
    }),
  );
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  if (argv[0] !== 'serve') {
    console.error(
      `Expected the "serve" argument (SageMaker runs "<image> serve"), got: ${argv.join(' ') || 'nothing'}\n\n${HELP}`,
    );
    process.exit(2);
  }
  let env: ContainerConfig;
  try {
    env = readEnv(containerConfigSchema);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`Invalid container configuration:\n  - ${err.details.join('\n  - ')}`);
    process.exit(2);
  }
  const fault = parseFault(env.INFERA_FAULT);
  const registry = await ModelRegistry.fromVersionDir(env.SM_MODEL_DIR);
  const mv = registry.allVersions()[0];
  if (!mv) throw new Error('no model version loaded');
  const engine = new OnnxRuntimeEngine({
    providers: env.INFERA_EXECUTION_PROVIDER,
    log: (message) => log({ level: 'WARN', message }),
    // ONNX Runtime's own profile of the first request says where each node ran.
    reportPlacement: (placement) =>
      log({
        message: 'placement',
        model: mv.name,
        version: mv.version,
        provider: engine.provider,
        placement,
      }),
  });
  let batching: BatchingModel | undefined;
  const scorer = new Scorer(
    registry,
    engine,
    { intraOpThreads: env.ORT_INTRA_OP_THREADS, interOpThreads: 1 },
    {
      serveAll: true,
      ...(env.INFERA_IMAGE_WORKERS > 0
        ? {
            images: new PooledImageWork({
              threads: env.INFERA_IMAGE_WORKERS,
              timeoutMs: env.INFERA_IMAGE_DECODE_TIMEOUT_MS,
              env: environment(),
            }),
          }
        : {}),
      ...(env.INFERA_MICROBATCH
        ? {
            wrap: (model) => {
              batching = new BatchingModel(model, {
                maxBatchRows: env.INFERA_MAX_BATCH_ROWS,
                maxDelayMs: env.INFERA_MAX_DELAY_MS,
                maxInflight: env.INFERA_MAX_INFLIGHT,
              });
              return batching;
            },
          }
        : {}),
    },
  );
  const loopback = isLoopback(env.INFERA_HOST);
  const server = createContainerServer({
    ...(loopback
      ? {
          guard: {
            host: env.INFERA_HOST,
            allowOrigins: (env.INFERA_ALLOW_ORIGINS ?? '').split(',').filter(Boolean),
          },
        }
      : {}),
    scorer,
    mv,
    maxBodyBytes: env.INFERA_MAX_BODY_BYTES,
    get provider() {
      return engine.provider;
    },
    get placement() {
      return engine.placement;
    },
    log,
    accessLog: env.INFERA_ACCESS_LOG,
    ...(fault ? { fault } : {}),
    get batching() {
      return batching;
    },
  });
  // Listen first, so /ping answers 503 while the model loads, as SageMaker expects.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.SAGEMAKER_BIND_TO_PORT, env.INFERA_HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.SAGEMAKER_BIND_TO_PORT;
  log({ message: 'listening', port, model: mv.name, version: mv.version });
  const started = performance.now();
  await scorer.warmup();
  log({
    message: 'serving',
    model: mv.name,
    version: mv.version,
    port,
    provider: engine.provider,
    requested: env.INFERA_EXECUTION_PROVIDER,
    microbatch: env.INFERA_MICROBATCH
      ? {
          maxBatchRows: env.INFERA_MAX_BATCH_ROWS,
          maxDelayMs: env.INFERA_MAX_DELAY_MS,
          maxInflight: env.INFERA_MAX_INFLIGHT,
        }
      : false,
    loadMs: Math.round(performance.now() - started),
    ...(fault ? { fault: env.INFERA_FAULT } : {}),
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (env.INFERA_EXIT_WITH_PARENT) {
    // Started by npm start: leave when it does, even if it was killed without a chance to stop us.
    process.stdin.on('close', () => process.exit(0));
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(
    `The serving container could not start.\n${err instanceof InferaError ? err.message : err instanceof Error ? err.stack : String(err)}`,
  );
  process.exit(1);
});
