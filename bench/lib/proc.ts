import { type ChildProcess, spawn } from 'node:child_process';

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
