#!/usr/bin/env node
/**
 * `npm start`: the whole platform on this machine, no AWS account and no Docker. The local gateway
 * turns HTTP into API Gateway v2 events and invokes the same handler modules that are deployed.
 */
import { parseArgs } from 'node:util';
import { InferaError } from '#core/errors.ts';
import { DEFAULT_NAMES, handlerEnv, type LocalAws, startLocalAws } from './aws.ts';
import { type LocalBatch, startLocalBatch } from './batch.ts';
import type { Handler } from './event-sources.ts';
import { type LambdaHandler, startGateway } from './gateway.ts';

const HELP = `Usage: npm start [-- options]   (or: infera start [options])

Runs the infera platform locally: the real API handlers behind a local API Gateway, and
batch scoring on an embedded S3 + SQS emulator (fauxqs) with the real split and score handlers.

Options:
  --port <n>                 API port (default: $PORT or 3000; 0 picks a free one)
  --host <addr>              address to bind (default: 127.0.0.1)
  --models <dir>             models folder (default: $MODELS_DIR or ./models)
  --aws-port <n>             S3 + SQS emulator port (default: 4566; 0 picks a free one)
  --no-batch                 no emulator and no batch functions
  --visibility-timeout <s>   seconds before a failed chunk is retried (default: 30)
  --max-attempts <n>         attempts per chunk before the dead-letter queue (default: 3)
  --chunk-rows <n>           rows per chunk message (default: 5000)
  --emf                      print CloudWatch EMF metrics to stdout, as Lambda would
  --quiet                    no access log lines
  -h, --help                 show this help
`;

export async function start(argv: string[] = process.argv.slice(2)): Promise<void> {
  let values: {
    port?: string;
    host?: string;
    'aws-port'?: string;
    batch?: boolean;
    'visibility-timeout'?: string;
    'max-attempts'?: string;
    'chunk-rows'?: string;
    models?: string;
    emf?: boolean;
    quiet?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      allowNegative: true,
      options: {
        'aws-port': { type: 'string' },
        batch: { type: 'boolean', default: true },
        'visibility-timeout': { type: 'string', default: '30' },
        'max-attempts': { type: 'string' },
        'chunk-rows': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        models: { type: 'string' },
        emf: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a whole number from 0 to 65535, got '${values.port ?? process.env.PORT}'.`);
    process.exit(2);
  }
  const awsPort = Number(values['aws-port'] ?? process.env.INFERA_AWS_PORT ?? 4566);
  const visibility = Number(values['visibility-timeout']);
  for (const [flag, v, min, max] of [
    ['--aws-port', awsPort, 0, 65535],
    ['--visibility-timeout', visibility, 0, 43200],
  ] as const) {
    if (!Number.isInteger(v) || v < min || v > max) {
      console.error(`${flag} must be a whole number from ${min} to ${max}.`);
      process.exit(2);
    }
  }
  if (values.models) process.env.MODELS_DIR = values.models;
  if (values['max-attempts']) process.env.BATCH_MAX_ATTEMPTS = values['max-attempts'];
  if (values['chunk-rows']) process.env.BATCH_CHUNK_ROWS = values['chunk-rows'];
  // EMF blobs are for CloudWatch; locally they drown the logs unless asked for.
  if (!values.emf) process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'infera-local';
  const log = values.quiet ? undefined : (line: string) => console.log(line);

  let aws: LocalAws | undefined;
  if (values.batch) {
    try {
      aws = await startLocalAws({
        port: awsPort,
        host: values.host ?? '127.0.0.1',
        visibilityTimeout: visibility,
        maxReceiveCount: Number(process.env.BATCH_MAX_ATTEMPTS ?? 3) + 2,
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
    // The handlers reach the emulator through the real AWS SDK clients: only the endpoint differs.
    Object.assign(process.env, handlerEnv(aws));
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
  }

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
    // Imported after the environment is set: the handlers read their config at load, as on a cold start.
    predict = (await import('#api/predict.ts')).handler as unknown as LambdaHandler;
    models = (await import('#api/models.ts')).handler as unknown as LambdaHandler;
    if (aws) {
      batch = (await import('#api/batch.ts')).handler as unknown as LambdaHandler;
      const split = (await import('#batch/split.ts')).handler as unknown as Handler;
      const score = (await import('#batch/score.ts')).handler as unknown as Handler;
      localBatch = startLocalBatch({ aws, split, score, ...(log ? { log } : {}) });
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
      port,
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

  const { registry } = await (await import('#shared/platform.ts')).getPlatform(
    (await import('#shared/config.ts')).loadConfig(),
  );
  const url = gateway.url;
  const lines = registry
    .list()
    .map(
      (m) =>
        `    ${m.name.padEnd(18)} versions ${m.versions.map((v) => v.version).join(', ')}  live -> ${m.aliases.live}`,
    );
  console.log(`
infera is running at ${url}

  Models (${registry.root}):
${lines.join('\n')}

  Try:
    curl -s ${url}/v1/models
    curl -s -X POST ${url}/v1/models/iris/predict -H 'content-type: application/json' \\
      -d '{"instances":[{"sepal_length_cm":5.1,"sepal_width_cm":3.5,"petal_length_cm":1.4,"petal_width_cm":0.2}]}'

  OpenAPI: ${url}/openapi.json     Stop: Ctrl+C
${aws ? batchBanner(aws, url) : '\n  Batch scoring is off (--no-batch).\n'}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    Promise.allSettled([gateway.close(), localBatch?.stop()])
      .then(() => aws?.close())
      .then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function batchBanner(aws: LocalAws, url: string): string {
  const n = aws.names;
  return `
  Batch scoring (S3 + SQS emulator, fauxqs): ${aws.endpoint}
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

if (import.meta.main) await start();
