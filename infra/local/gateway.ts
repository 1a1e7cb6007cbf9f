import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyResultV2,
  Context,
} from 'aws-lambda';
import { limitOf, megabytes } from '#core/aws/rules.ts';
import { LOCAL_OWNER } from '#core/batch/owner.ts';
import { answerClientErrors } from '#http/client-errors.ts';
import { foreignRequest, GUARDED_SERVER, type GuardOptions } from '#http/guard.ts';
import { resultBytes } from '#http/lambda-payload.ts';
import { type FunctionName, matchPath, routePaths } from '#http/routes.ts';
import { loggedUrl, printable } from './log-safe.ts';

export type LambdaHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

export interface GatewayOptions {
  /** The deployed handlers, by function name. */
  readonly functions: Readonly<Record<FunctionName, LambdaHandler>>;
  readonly host?: string;
  /** Browser origins admitted on purpose (npm start --allow-origin). */
  readonly guard?: GuardOptions;
  /** 0 picks a free port. */
  readonly port?: number;
  /** @default 30 s: the HTTP API's integration timeout (AWS rule http-api-integration-timeout) */
  readonly timeoutMs?: number;
  /** @default 10 MB: the HTTP API's payload limit (AWS rule http-api-payload) */
  readonly maxPayloadBytes?: number;
  /** One line per request, like an access log. */
  readonly onRequest?: (line: string) => void;
  /** Local-only pages (the dashboard), by exact path; they are not API routes and never reach a function. */
  readonly pages?: Readonly<Record<string, () => Promise<Page>>>;
}

export interface Page {
  readonly type: string;
  readonly body: string | Buffer;
}

export interface Gateway {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** The local principal, in the shape API Gateway's IAM authorizer gives a SigV4 caller. */
const LOCAL_IAM = {
  accessKey: 'local',
  accountId: '000000000000',
  callerId: LOCAL_OWNER.id,
  principalOrgId: '',
  userArn: LOCAL_OWNER.arn ?? LOCAL_OWNER.id,
  userId: LOCAL_OWNER.id,
  cognitoIdentity: null,
};

/** How much of an over-limit body is read and discarded before the connection is cut. */
const DRAIN_MAX_BYTES = 256 * 1024 * 1024;
/** Bodies below this make events well under Lambda's 6 MB, even base64-encoded: no need to measure. */
const EVENT_SURELY_FITS = 4 * 1024 * 1024;

const TEXT_TYPES = /^(text\/|application\/(json|.*\+json|xml|x-www-form-urlencoded|javascript))/i;

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/**
 * A local stand-in for API Gateway (HTTP API, payload format 2.0). It emulates only the event
 * source: routing by path to a function, the event and context shapes, the payload and timeout
 * limits, and response mapping. The logic is the deployed handlers themselves.
 */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const host = opts.host ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? limitOf('http-api-integration-timeout') * 1000;
  const maxPayload = opts.maxPayloadBytes ?? limitOf('http-api-payload');
  const routes = routePaths();

  const server = createServer(GUARDED_SERVER, (req, res) => {
    const started = performance.now();
    const done = (status: number) =>
      opts.onRequest?.(
        `${printable(req.method ?? '', 16)} ${loggedUrl(req.url)} ${status} ${(performance.now() - started).toFixed(1)}ms`,
      );
    const foreign = foreignRequest(req, host, opts.guard);
    if (foreign) {
      req.resume();
      send(res, foreign.status, {
        error: foreign.error,
        code: foreign.status === 400 ? 'bad_request' : 'forbidden',
        requestId: randomUUID(),
      });
      done(foreign.status);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    const refuse = () => {
      send(
        res,
        413,
        {
          error: `The request body is over ${megabytes(maxPayload)} (${maxPayload} bytes), the HTTP API's limit (AWS rule http-api-payload). Send binary tensor data instead of JSON, fewer instances per request, or use batch scoring (POST /v1/batch).`,
          code: 'payload_too_large',
        },
        { connection: 'close' },
      );
      done(413);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (rejected) {
        // Read to the end and discard, so a client that sends all before it reads (tritonclient)
        // gets the 413 rather than a broken pipe; past DRAIN_MAX_BYTES it is cut off.
        if (size > maxPayload + DRAIN_MAX_BYTES) {
          refuse();
          req.destroy();
        }
        return;
      }
      if (size > maxPayload) {
        rejected = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (rejected) {
        refuse();
        return;
      }
      handle(req, res, Buffer.concat(chunks))
        .then(done)
        .catch((err: unknown) => {
          // Never reached by handler errors (those become responses); guards the gateway itself.
          console.error('gateway error', err);
          if (!res.headersSent) send(res, 500, { error: 'Internal Server Error', code: 'internal_error' });
          done(500);
        });
    });
  });
  answerClientErrors(server);

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<number> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://local');
    } catch {
      send(res, 400, { error: 'Malformed request URL.', code: 'invalid_request' });
      return 400;
    }
    const rawPath = url.pathname;
    const page = opts.pages?.[rawPath];
    if (page && (req.method === 'GET' || req.method === 'HEAD')) {
      const p = await page();
      res.writeHead(200, {
        'content-type': p.type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-security-policy':
          "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
      });
      res.end(req.method === 'HEAD' ? undefined : p.body);
      return 200;
    }
    if (page) {
      send(
        res,
        405,
        {
          error: `Method ${req.method} is not allowed on ${rawPath}. Use GET.`,
          code: 'method_not_allowed',
          requestId: randomUUID(),
        },
        { allow: 'GET, HEAD' },
      );
      return 405;
    }
    const route = routes.find((r) => matchPath(r.path, rawPath));
    const fnName: FunctionName = route?.function ?? 'models';
    const routeKey = route ? `ANY ${route.path}` : '$default';
    const pathParameters = route ? matchPath(route.path, rawPath) : undefined;
    const event = toEvent(req, url, body, routeKey, pathParameters);
    // What Lambda itself would refuse: an event over its synchronous request limit.
    const eventBytes = body.length < EVENT_SURELY_FITS ? 0 : Buffer.byteLength(JSON.stringify(event));
    if (eventBytes > limitOf('lambda-sync-request')) {
      send(res, 413, {
        error: `The request reaches the function as a ${megabytes(eventBytes)} event (a binary body travels base64-encoded); Lambda takes at most ${megabytes(limitOf('lambda-sync-request'))} (AWS rule lambda-sync-request). Send fewer instances per request, or use batch scoring (POST /v1/batch).`,
        code: 'payload_too_large',
        requestId: event.requestContext.requestId,
      });
      return 413;
    }
    const context = lambdaContext(fnName, timeoutMs);
    const handler = opts.functions[fnName];

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let result: APIGatewayProxyResultV2 | 'timeout';
    try {
      result = await Promise.race([handler(event, context), timeout]);
    } catch (err) {
      // What API Gateway does when the function itself fails: a bare 500.
      console.error(`function ${fnName} failed`, err);
      send(res, 500, { error: 'Internal Server Error', code: 'internal_error' });
      return 500;
    } finally {
      clearTimeout(timer);
    }
    const returned = result === 'timeout' ? 0 : resultBytes(result);
    if (returned > limitOf('lambda-sync-response')) {
      // The invocation fails on AWS, and API Gateway answers a bare 500; locally it says why.
      console.error(
        `function ${fnName} returned ${megabytes(returned)}, over Lambda's ${megabytes(limitOf('lambda-sync-response'))} response limit (AWS rule lambda-sync-response)`,
      );
      send(res, 500, {
        error: `Internal Server Error: the function's answer is over Lambda's ${megabytes(limitOf('lambda-sync-response'))} response limit (AWS rule lambda-sync-response), so API Gateway would answer 500.`,
        code: 'internal_error',
      });
      return 500;
    }
    if (result === 'timeout') {
      send(res, 504, {
        error: `The function did not answer within ${timeoutMs / 1000} s, the HTTP API's integration timeout (AWS rule http-api-integration-timeout): on AWS, API Gateway answers 504 and the function runs on. Send fewer instances per request, or use batch scoring (POST /v1/batch) for long work.`,
        code: 'gateway_timeout',
      });
      return 504;
    }
    return writeResult(res, result);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 3000, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string> | undefined,
): APIGatewayProxyEventV2WithIAMAuthorizer {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const contentType = headers['content-type'] ?? '';
  // As API Gateway does: a body with no content type, or a binary one, arrives base64-encoded.
  const isText = body.length === 0 || (TEXT_TYPES.test(contentType) && !/binary/i.test(contentType));
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(headers.cookie ? { cookies: headers.cookie.split(/;\s*/) } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(pathParameters && Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      // No authentication locally: every caller is the one local principal, as API Gateway's IAM
      // authorizer would name a SigV4 caller. Batch jobs are owned by it.
      authorizer: { iam: LOCAL_IAM },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !isText,
  };
}

export function lambdaContext(fnName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const name = `infera-${fnName}`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** API Gateway's payload 2.0 response mapping, including its inference for non-structured results. */
function writeResult(res: ServerResponse, result: APIGatewayProxyResultV2): number {
  if (
    typeof result === 'object' &&
    result !== null &&
    'statusCode' in result &&
    result.statusCode !== undefined
  ) {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    if (result.cookies?.length) headers['set-cookie'] = result.cookies;
    res.writeHead(result.statusCode, headers);
    const body = result.body ?? '';
    res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
    return result.statusCode;
  }
  const body = typeof result === 'string' ? result : JSON.stringify(result);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
  return 200;
}
