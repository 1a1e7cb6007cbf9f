import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The slice of the AWS Lambda and CodeDeploy APIs that infera's release tooling calls, over
 * their real wire protocols (Lambda REST-JSON, CodeDeploy JSON 1.1), so tests drive the real
 * @aws-sdk clients through endpoint configuration alone. No maintained emulator of these APIs
 * installs offline; this keeps the state a test needs (versions, one alias) and nothing else.
 */
export interface FakeVersion {
  version: string;
  description: string;
}

export interface LambdaApi {
  readonly url: string;
  readonly versions: FakeVersion[];
  alias: { functionVersion: string; weights: Record<string, number> };
  /** Lifecycle statuses CodeDeploy was told. */
  readonly hookStatuses: Array<{ deploymentId: string; executionId: string; status: string }>;
  /** Requests seen, as "METHOD path". */
  readonly calls: string[];
  close(): Promise<void>;
}

export async function startLambdaApi(opts: {
  functionName: string;
  versions: FakeVersion[];
  live: string;
  invoke?: (qualifiedName: string, event: unknown) => Promise<unknown>;
  /** The function's environment variables, as GetFunctionConfiguration returns them. */
  environment?: Record<string, string>;
}): Promise<LambdaApi> {
  const state: LambdaApi = {
    url: '',
    versions: opts.versions,
    alias: { functionVersion: opts.live, weights: {} },
    hookStatuses: [],
    calls: [],
    close: async () => {},
  };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const notFound = (res: ServerResponse, message: string) =>
    send(res, 404, { Type: 'User', Message: message }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const aliasBody = () => ({
    Name: 'live',
    FunctionVersion: state.alias.functionVersion,
    AliasArn: `arn:aws:lambda:us-east-1:000000000000:function:${opts.functionName}:live`,
    RoutingConfig: { AdditionalVersionWeights: state.alias.weights },
  });
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await read(req);
    state.calls.push(`${req.method} ${url.pathname}`);
    if (req.headers['x-amz-target'] === 'CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus') {
      const b = JSON.parse(body) as {
        deploymentId: string;
        lifecycleEventHookExecutionId: string;
        status: string;
      };
      state.hookStatuses.push({
        deploymentId: b.deploymentId,
        executionId: b.lifecycleEventHookExecutionId,
        status: b.status,
      });
      return send(res, 200, { lifecycleEventHookExecutionId: b.lifecycleEventHookExecutionId });
    }
    const m =
      /^\/2015-03-31\/functions\/([^/]+)\/(versions|aliases\/([^/]+)|invocations|configuration)$/.exec(
        url.pathname,
      );
    const fn = m ? decodeURIComponent(m[1] as string) : '';
    const base = fn.split(':').at(-1) === fn ? fn : fn.split(':').slice(-2, -1)[0];
    if (
      !m ||
      (fn !== opts.functionName &&
        !fn.includes(`:function:${opts.functionName}`) &&
        base !== opts.functionName)
    ) {
      return notFound(res, `Function not found: ${fn}`);
    }
    if (m[2] === 'configuration' && req.method === 'GET') {
      return send(res, 200, {
        FunctionName: opts.functionName,
        Version: '$LATEST',
        Environment: { Variables: opts.environment ?? {} },
      });
    }
    if (m[2] === 'versions' && req.method === 'GET') {
      return send(res, 200, {
        Versions: [
          { Version: '$LATEST', Description: '' },
          ...state.versions.map((v) => ({
            FunctionName: opts.functionName,
            Version: v.version,
            Description: v.description,
            LastModified: '2026-11-22T00:00:00.000+0000',
            CodeSha256: `sha-${v.version}`,
          })),
        ],
      });
    }
    if (m[3] === 'live' && req.method === 'GET') return send(res, 200, aliasBody());
    if (m[3] && m[3] !== 'live') return notFound(res, `Alias not found: ${m[3]}`);
    if (m[3] === 'live' && req.method === 'PUT') {
      const b = JSON.parse(body) as {
        FunctionVersion: string;
        RoutingConfig?: { AdditionalVersionWeights?: Record<string, number> };
      };
      if (!state.versions.some((v) => v.version === b.FunctionVersion))
        return notFound(res, `Version ${b.FunctionVersion}`);
      state.alias = {
        functionVersion: b.FunctionVersion,
        weights: b.RoutingConfig?.AdditionalVersionWeights ?? {},
      };
      return send(res, 200, aliasBody());
    }
    if (m[2] === 'invocations' && req.method === 'POST' && opts.invoke) {
      try {
        const out = await opts.invoke(fn, JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '1' });
        return res.end(JSON.stringify(out));
      } catch (err) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
        return res.end(JSON.stringify({ errorType: 'Error', errorMessage: (err as Error).message }));
      }
    }
    return send(
      res,
      400,
      { Type: 'User', Message: `unsupported ${req.method} ${url.pathname}` },
      { 'x-amzn-errortype': 'InvalidRequestContentException' },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
