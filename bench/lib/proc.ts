import { type ChildProcess, fork, spawn } from 'node:child_process';
import { join } from 'node:path';

/** A child process that is ready once a line of its stdout matches; killed by stop(). */
export interface Proc {
  readonly child: ChildProcess;
  readonly match: RegExpExecArray;
  stop(): Promise<void>;
}

export function startProcess(
  args: string[],
  ready: RegExp,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; name: string },
): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`${opts.name} did not start within ${opts.timeoutMs ?? 120_000} ms:\n${out}${err}`.slice(-3000)));
    }, opts.timeoutMs ?? 120_000);
    const stop = () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      });
    child.stdout?.on('data', (c: Buffer) => {
      if (done) return;
      out += c.toString();
      const m = ready.exec(out);
      if (m) {
        done = true;
        clearTimeout(timer);
        // Keep draining, so a chatty child never blocks on a full pipe.
        child.stdout?.resume();
        resolve({ child, match: m, stop });
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.length > 20_000) err = err.slice(-10_000);
    });
    child.on('exit', (code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited with ${code} before it was ready:\n${out}${err}`.slice(-3000)));
    });
  });
}

/**
 * Runs a benchmark's `--child` half (the same module) with one model's function environment, as
 * Lambda would set it, and resolves with the rounds the child sends back. The child's stdout (the
 * handler's logs and EMF lines) goes to /dev/null.
 */
export function runHandlerChild<T>(
  moduleUrl: string,
  model: string,
  env: Record<string, string>,
  id: string,
): Promise<T> {
  const root = new URL('../..', import.meta.url).pathname;
  const child = fork(new URL(moduleUrl).pathname, ['--child'], {
    cwd: root,
    env: {
      ...process.env,
      MODELS_DIR: join(root, 'models'),
      MODEL_NAMES: model,
      POWERTOOLS_SERVICE_NAME: `infera-${model}`,
      POWERTOOLS_METRICS_NAMESPACE: 'infera',
      AWS_REGION: 'us-east-1',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise<T>((resolve, reject) => {
    child.on('message', (m: { rounds: T }) => resolve(m.rounds));
    child.on('exit', (code) => reject(new Error(`the ${id} process exited with ${code} before reporting`)));
  });
}
