#!/usr/bin/env node
/**
 * `npm start`: the whole platform on this machine, no AWS account and no Docker. The local gateway
 * turns HTTP into API Gateway v2 events and invokes the same handler modules that are deployed.
 */
import { parseArgs } from 'node:util';
import { InferaError } from '#core/errors.ts';
import { type LambdaHandler, startGateway } from './gateway.ts';

const HELP = `Usage: npm start [-- options]   (or: infera start [options])

Runs the infera platform locally: the real API handlers behind a local API Gateway.

Options:
  --port <n>     port to listen on (default: $PORT or 3000; 0 picks a free one)
  --host <addr>  address to bind (default: 127.0.0.1)
  --models <dir> models folder (default: $MODELS_DIR or ./models)
  --emf          print CloudWatch EMF metrics to stdout, as Lambda would
  --quiet        no access log lines
  -h, --help     show this help
`;

export async function start(argv: string[] = process.argv.slice(2)): Promise<void> {
  let values: {
    port?: string;
    host?: string;
    models?: string;
    emf?: boolean;
    quiet?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
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
  if (values.models) process.env.MODELS_DIR = values.models;
  // EMF blobs are for CloudWatch; locally they drown the logs unless asked for.
  if (!values.emf) process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'infera-local';

  let predict: LambdaHandler;
  let models: LambdaHandler;
  try {
    // Imported after the environment is set: the handlers read their config at load, as on a cold start.
    predict = (await import('#api/predict.ts')).handler as unknown as LambdaHandler;
    models = (await import('#api/models.ts')).handler as unknown as LambdaHandler;
  } catch (err) {
    console.error(
      `infera could not start.\n${err instanceof InferaError ? err.message : (err as Error).stack}`,
    );
    process.exit(1);
  }

  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({
      functions: { predict, models },
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
`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    gateway.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (import.meta.main) await start();
