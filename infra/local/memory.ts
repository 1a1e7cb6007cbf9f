/**
 * Memory settings for the long-running local processes (npm start and its serving containers).
 *
 * Big request bodies used to leave 200 to 300 MB resident that was never given back, although
 * the JavaScript heap went back to its size before them (`npm run bench --
 * --only B9` measures it). Two allocators kept it:
 * - V8's young generation grew to its largest size under the churn and stayed there. It is capped
 *   at 8 MB per semi-space (`--max-semi-space-size`).
 * - glibc's malloc raised its mmap threshold after the first large buffer was freed, so later
 *   request bodies came from the main heap, which it trims only from the top. Fixed thresholds of
 *   1 MiB make each large buffer its own mapping, returned when freed, and two arenas bound the
 *   per-thread pools (ONNX Runtime and libuv threads).
 *
 * glibc reads its settings only at process start, so the process replaces itself once with them
 * (`process.execve`: same pid, same stdio, same arguments). Variables or flags the user set win.
 * `INFERA_MEMORY_TUNING=off` skips all of it.
 */

import { MALLOC_ENV } from '../lib/malloc.ts';

export const SEMI_SPACE_FLAG = '--max-semi-space-size=8';

const MARK = 'INFERA_MEMORY_TUNED';

/**
 * What a Node process should be started with: the malloc variables not set yet, and the
 * semi-space flag unless NODE_OPTIONS or the process's own flags (`execArgv`) already set one.
 */
export function childMemorySettings(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = [],
): {
  env: Record<string, string>;
  execArgv: string[];
} {
  if (env.INFERA_MEMORY_TUNING === 'off') return { env: {}, execArgv: [] };
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(MALLOC_ENV)) if (env[k] === undefined) extra[k] = v;
  const userSet = [env.NODE_OPTIONS ?? '', ...execArgv].some((a) => a.includes('--max-semi-space-size'));
  return { env: extra, execArgv: userSet ? [] : [SEMI_SPACE_FLAG] };
}

/**
 * Restarts this process once with the memory settings, when it runs on Linux without them.
 * Returns only when nothing is to be done (otherwise the process image is replaced).
 */
export function tuneProcessMemory(): void {
  const env = process.env;
  if (env[MARK] === '1' || env.INFERA_MEMORY_TUNING === 'off') return;
  if (process.platform !== 'linux' || typeof process.execve !== 'function') return;
  const { env: extra, execArgv: flags } = childMemorySettings(env, process.execArgv);
  process.execve(
    process.execPath,
    [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)],
    {
      ...env,
      ...extra,
      [MARK]: '1',
    },
  );
}
