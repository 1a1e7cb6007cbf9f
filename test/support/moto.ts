import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * The machine's Python AWS tools that `npm run test:aws` needs. A missing one fails the suite with
 * its name, never skips it.
 */
export function requireTools(...names: string[]): void {
  const missing = names.filter((n) => spawnSync(n, ['--version'], { stdio: 'ignore' }).error);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not found on PATH. npm run test:aws needs the machine's Python tools: moto 5.2 (moto_server), cfn-lint 1.51 and awscli (pip install 'moto[server]' cfn-lint awscli).`,
    );
  }
}

const MOTO_SERVER = new URL('./moto_server.py', import.meta.url).pathname;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Moto {
  /** http://localhost:<port>: the CDK CLI resolves asset URLs only with "localhost". */
  readonly url: string;
  /** Dummy credentials and the endpoint, for the CDK CLI, the AWS CLI and the SDK. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts moto_server on a free loopback port and waits until it answers. */
export async function startMoto(region = 'us-east-1'): Promise<Moto> {
  const port = await freePort();
  // moto_server itself, with one CloudFormation resource type moto lacks added (see the script).
  const proc: ChildProcess = spawn('python3', [MOTO_SERVER, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://localhost:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null || Date.now() > until) {
      proc.kill();
      throw new Error(`moto_server did not start on port ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    env: {
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      CDK_DISABLE_VERSION_CHECK: 'true',
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
