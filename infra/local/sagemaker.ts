import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { endpointPayloadLimit } from '#core/scoring/types.ts';
import { answerClientErrors } from '#http/client-errors.ts';
import { foreignRequest, GUARDED_SERVER, type GuardOptions } from '#http/guard.ts';
import { childMemorySettings } from './memory.ts';

/**
 * A local SageMaker: one serving-container process per heavy model (the same code the image
 * runs), supervised like an endpoint instance (restarted when it dies), behind a local SageMaker
 * runtime API (`POST /endpoints/{name}/invocations`, restJson1 errors as the real service sends
 * them). Handlers reach it with the real @aws-sdk/client-sagemaker-runtime, configured only by
 * AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME; the AWS CLI and boto3 work against it with --endpoint-url.
 */
export interface LocalEndpointSpec {
  readonly name: string;
  readonly variant: string;
  /** Folder with model.json and model.onnx: what /opt/ml/model holds in the container. */
  readonly modelDir: string;
  /** A serverless endpoint takes 4 MB a request, an instance endpoint 6 MB. @default false */
  readonly serverless?: boolean;
}

export interface LocalSageMakerOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** How long a dead container stays down before it is restarted, as SageMaker replaces an instance. */
  readonly restartDelayMs?: number;
  /** SageMaker gives a container 60 s to answer an invocation. */
  readonly invocationTimeoutMs?: number;
  /** Extra environment for the containers (micro-batching settings, faults for tests). */
  readonly containerEnv?: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
  /** Browser origins admitted on purpose (npm start --allow-origin). */
  readonly guard?: GuardOptions;
}

export type ContainerState = 'starting' | 'ready' | 'down' | 'stopped';

const SERVE = fileURLToPath(new URL('../../functions/container/serve.ts', import.meta.url));
const ACCOUNT = '000000000000';

/** One supervised container process. */
export class LocalContainer {
  readonly spec: LocalEndpointSpec;
  state: ContainerState = 'down';
  port: number | undefined;
  #child: ChildProcess | undefined;
  #env: Record<string, string>;
  readonly #opts: LocalSageMakerOptions;
  #restart: NodeJS.Timeout | undefined;
  #ready: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  restarts = 0;

  constructor(spec: LocalEndpointSpec, opts: LocalSageMakerOptions) {
    this.spec = spec;
    this.#opts = opts;
    this.#env = { ...(opts.containerEnv ?? {}) };
    this.#ready = Promise.withResolvers<void>();
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Resolves once the container answers /ping. */
  ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Restarts the container with changed environment (tests use it to inject faults). */
  async reconfigure(env: Readonly<Record<string, string | undefined>>): Promise<void> {
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete this.#env[k];
      else this.#env[k] = v;
    }
    await this.stop();
    this.start();
    await this.ready();
  }

  start(): void {
    clearTimeout(this.#restart);
    if (this.state === 'ready' || this.state === 'starting') return;
    this.#ready = Promise.withResolvers<void>();
    this.#ready.promise.catch(() => {});
    this.state = 'starting';
    this.port = undefined;
    const memory = childMemorySettings();
    const child = spawn(process.execPath, [...memory.execArgv, SERVE, 'serve'], {
      env: {
        ...memory.env,
        ...process.env,
        SM_MODEL_DIR: this.spec.modelDir,
        SAGEMAKER_BIND_TO_PORT: '0',
        INFERA_HOST: this.#opts.host ?? '127.0.0.1',
        INFERA_EXIT_WITH_PARENT: 'true',
        ...this.#env,
      },
      // stdin stays open while this process lives: the container exits when it closes, so a
      // killed `npm start` leaves no orphans holding ports.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        this.#onLine(line);
        nl = buffer.indexOf('\n');
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) this.#opts.log?.(`[${this.spec.name}] ${line}`);
    });
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      const was = this.state;
      this.port = undefined;
      if (was === 'stopped') return;
      this.state = 'down';
      this.#ready.reject(new Error(`container for ${this.spec.name} exited (${signal ?? `code ${code}`})`));
      const delay = this.#opts.restartDelayMs ?? 5000;
      this.#opts.log?.(
        `[sagemaker] container for ${this.spec.name} exited (${signal ?? `code ${code}`}); restarting in ${(delay / 1000).toFixed(1)} s, as SageMaker replaces a failed instance`,
      );
      this.#restart = setTimeout(() => {
        this.restarts++;
        this.start();
      }, delay);
      this.#restart.unref();
    });
  }

  #onLine(line: string): void {
    let record: { message?: string; port?: number; level?: string } | undefined;
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      record = undefined;
    }
    if (record?.message === 'listening' && typeof record.port === 'number') this.port = record.port;
    if (record?.message === 'serving') {
      this.state = 'ready';
      this.#ready.resolve();
    }
    if (record?.message !== 'request' || record.level !== 'INFO')
      this.#opts.log?.(`[${this.spec.name}] ${line}`);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#restart);
    const child = this.#child;
    this.state = 'stopped';
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
    this.#child = undefined;
  }

  /** Kills the process as a crash would (tests and demos); the supervisor restarts it. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child?.kill(signal);
  }
}

export interface LocalSageMaker {
  readonly url: string;
  readonly server: Server;
  readonly containers: ReadonlyMap<string, LocalContainer>;
  add(spec: LocalEndpointSpec): LocalContainer;
  close(): Promise<void>;
}

function sendError(res: ServerResponse, status: number, type: string, fields: Record<string, unknown>): void {
  const body = JSON.stringify(fields);
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': type,
    'x-amzn-requestid': crypto.randomUUID(),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Read to the end either way, so the client gets the error rather than a broken pipe.
    if (size > limit) over = true;
    if (!over) chunks.push(chunk);
  }
  return over ? undefined : Buffer.concat(chunks);
}

export async function startLocalSageMaker(opts: LocalSageMakerOptions = {}): Promise<LocalSageMaker> {
  const containers = new Map<string, LocalContainer>();
  const invocationTimeout = opts.invocationTimeoutMs ?? 60_000;

  const server = createServer(GUARDED_SERVER, (req, res) => {
    const foreign = foreignRequest(req, opts.host ?? '127.0.0.1', opts.guard);
    if (foreign) {
      req.resume();
      sendError(res, foreign.status, foreign.status === 400 ? 'ValidationError' : 'AccessDeniedException', {
        message: foreign.error,
      });
      return;
    }
    const m = /^\/endpoints\/([^/]+)\/invocations$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (!m || req.method !== 'POST') {
      req.resume();
      sendError(res, 404, 'UnknownOperationException', {
        message: `This local SageMaker runtime serves POST /endpoints/{name}/invocations, not ${req.method} ${req.url}.`,
      });
      return;
    }
    let name: string;
    try {
      name = decodeURIComponent(m[1] as string);
    } catch {
      // A malformed percent-escape is the caller's error; it must never reach the process.
      req.resume();
      sendError(res, 400, 'ValidationError', {
        message:
          'The endpoint name in the path is not valid percent-encoding; send the endpoint name as it is.',
      });
      return;
    }
    handle(name, req, res).catch((err: unknown) => {
      if (!res.headersSent)
        sendError(res, 500, 'InternalFailure', { message: `local runtime error: ${(err as Error).message}` });
    });
  });
  answerClientErrors(server);

  async function handle(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const c = containers.get(name);
    const limit = endpointPayloadLimit(c?.spec ?? {});
    const body = await readBody(req, limit);
    if (!c) {
      sendError(res, 400, 'ValidationError', {
        message: `Endpoint ${name} of account ${ACCOUNT} not found.`,
      });
      return;
    }
    if (!body) {
      sendError(res, 400, 'ValidationError', {
        message: `Request payload is over ${limit} bytes, the InvokeEndpoint limit of ${c.spec.serverless ? 'a serverless' : 'an instance'} endpoint; use asynchronous inference or batch.`,
      });
      return;
    }
    const wanted = req.headers['x-amzn-sagemaker-target-variant'];
    if (typeof wanted === 'string' && wanted !== c.spec.variant) {
      sendError(res, 400, 'ValidationError', {
        message: `The variant(s) "[${wanted}]" is/are not present in the endpoint ${name}; it has ${c.spec.variant}.`,
      });
      return;
    }
    if (c.state === 'starting') {
      sendError(res, 429, 'ModelNotReadyException', {
        message: `Endpoint ${name}'s container is still starting; retry shortly.`,
      });
      return;
    }
    if (c.state !== 'ready' || c.port === undefined) {
      sendError(res, 503, 'ServiceUnavailable', {
        message: `Endpoint ${name} has no healthy instance (its container is ${c.state}).`,
      });
      return;
    }
    const logStream = `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/sagemaker/Endpoints/${name}`;
    await new Promise<void>((resolve) => {
      const upstream = request(
        {
          host: opts.host ?? '127.0.0.1',
          port: c.port,
          method: 'POST',
          path: '/invocations',
          headers: {
            'content-type': req.headers['content-type'] ?? 'application/octet-stream',
            accept: req.headers.accept ?? '*/*',
            'content-length': body.length,
            ...(req.headers['x-amzn-sagemaker-custom-attributes']
              ? { 'x-amzn-sagemaker-custom-attributes': req.headers['x-amzn-sagemaker-custom-attributes'] }
              : {}),
          },
          timeout: invocationTimeout,
        },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (chunk: Buffer) => chunks.push(chunk));
          up.on('error', () => {
            sendError(res, 503, 'ServiceUnavailable', {
              message: `Endpoint ${name}: the container reset the connection.`,
            });
            resolve();
          });
          up.on('end', () => {
            const text = Buffer.concat(chunks);
            const status = up.statusCode ?? 500;
            if (status === 200) {
              res.writeHead(200, {
                'content-type': up.headers['content-type'] ?? 'application/octet-stream',
                'x-amzn-invoked-production-variant': c.spec.variant,
                ...(up.headers['x-amzn-sagemaker-custom-attributes']
                  ? { 'x-amzn-sagemaker-custom-attributes': up.headers['x-amzn-sagemaker-custom-attributes'] }
                  : {}),
                'content-length': text.length,
              });
              res.end(text);
            } else {
              const original = text.toString('utf8').slice(0, 4096);
              // What SageMaker does with any non-200 from a container: a ModelError carrying it.
              sendError(res, 424, 'ModelError', {
                Message: `Received ${status < 500 ? 'client' : 'server'} error (${status}) from primary with message "${original}". See ${logStream} in account ${ACCOUNT} for more information.`,
                OriginalStatusCode: status,
                OriginalMessage: original,
                LogStreamArn: logStream,
              });
            }
            resolve();
          });
        },
      );
      upstream.on('timeout', () => {
        upstream.destroy();
        sendError(res, 424, 'ModelError', {
          Message: `Received server error (0) from primary with message "Your invocation timed out while waiting for a response from container primary." See ${logStream} in account ${ACCOUNT} for more information.`,
          OriginalStatusCode: 0,
          OriginalMessage: 'Your invocation timed out while waiting for a response from container primary.',
          LogStreamArn: logStream,
        });
        resolve();
      });
      upstream.on('error', (err) => {
        if (!res.headersSent) {
          sendError(res, 503, 'ServiceUnavailable', {
            message: `Endpoint ${name}: its container did not accept the connection (${(err as NodeJS.ErrnoException).code ?? err.message}).`,
          });
        }
        resolve();
      });
      upstream.end(body);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    server,
    containers,
    add(spec) {
      const c = new LocalContainer(spec, opts);
      containers.set(spec.name, c);
      c.start();
      return c;
    },
    async close() {
      await Promise.all([...containers.values()].map((c) => c.stop()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
