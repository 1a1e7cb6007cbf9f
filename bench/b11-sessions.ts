/**
 * B11's child process: one warm function serving `count` models from a folder, its sessions loaded
 * on demand into the session cache with a budget of `budgetMb` (0: unbounded), as the shared model
 * function runs. Prints one JSON line: the first request to each model (its file read, session
 * creation and graph check: a cold load), the next request to the same model (warm), and the
 * resident memory after rounds of requests over every model in turn (the LRU's worst case).
 *
 *   node --expose-gc bench/b11-sessions.ts <models dir> <count> <budgetMb> <rounds> [start|use]
 *
 * The last argument is when model files are hashed: at the registry's load (npm start), or when a
 * session first reads them (the shared model function). Memory is read after a garbage collection.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxRuntimeEngine } from '#adapters/onnxruntime.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { Scorer } from '#core/scoring/scorer.ts';

const [dir, countArg, budgetArg, roundsArg, hashesArg] = process.argv.slice(2);
const hashes = hashesArg === 'use' ? 'use' : 'start';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const count = Number(countArg);
const budgetMb = Number(budgetArg);
const rounds = Number(roundsArg);
const rssMb = () => {
  gc();
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
};

const loadStarted = performance.now();
const registry = await ModelRegistry.load(dir as string, { hashes });
// Every manifest parsed and checked, and every model file hashed unless hashes are checked on use.
const registryMs = performance.now() - loadStarted;
const names = registry
  .list()
  .map((m) => m.name)
  .slice(0, count);
const scorer = new Scorer(
  registry,
  new OnnxRuntimeEngine(),
  { intraOpThreads: 1, interOpThreads: 1 },
  { sessions: { lazy: true, ...(budgetMb > 0 ? { maxBytes: budgetMb * 1024 * 1024 } : {}) } },
);
// Each model's first golden instance: a request it answers.
const rows = new Map(
  names.map((name) => {
    const mv = registry.resolve(name);
    const golden = JSON.parse(readFileSync(join(mv.dir, 'fixtures', 'golden.json'), 'utf8')) as { instances: unknown[] };
    return [name, golden.instances[0]] as const;
  }),
);
const rssStart = rssMb();
const cold: number[] = [];
const warm: number[] = [];
const time = async (name: string) => {
  const t = performance.now();
  await scorer.predict(registry.resolve(name), [rows.get(name)]);
  return performance.now() - t;
};
for (const name of names) {
  cold.push(await time(name));
  warm.push(await time(name));
}
let peak = rssMb();
for (let r = 0; r < rounds; r++) {
  for (const name of names) await time(name);
  peak = Math.max(peak, rssMb());
}
console.log(
  JSON.stringify({ registryMs, registryModels: registry.list().length, cold, warm, rssStart, rssPeak: peak, rssEnd: rssMb(), stats: scorer.sessionStats(), models: names.length }),
);
