#!/usr/bin/env node
/**
 * Micro-batching gain of the serving container: the same container process code, on the heavy
 * demo model, with micro-batching on and off, each under C concurrent clients sending one-row
 * requests for a fixed time over 127.0.0.1 keep-alive connections. Stops by itself.
 *
 *   npm run bench:microbatch [-- --clients 32 --seconds 10 --max-batch-rows 64 --max-delay-ms 2]
 */
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalSageMaker } from '../infra/local/sagemaker.ts';
import { ensureHeavyModel } from '../scripts/make-heavy-model.ts';
import { golden, MODELS } from '../test/helpers.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '10' },
    'max-batch-rows': { type: 'string', default: '64' },
    'max-delay-ms': { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run bench:microbatch [-- --clients 32 --seconds 10 --max-batch-rows 64 --max-delay-ms 2]\n\nThroughput and latency of the serving container with micro-batching on and off.',
  );
  process.exit(0);
}
const clients = Number(values.clients);
const seconds = Number(values.seconds);

await ensureHeavyModel(MODELS);
const { instances } = await golden('fraud-detector-xl', '1');
const bodies = instances.map((x) => JSON.stringify({ instances: [x] }));

interface Result {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  runs: number;
}

async function load(port: number, seconds: number): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const post = (body: string) =>
    new Promise<number>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/invocations', method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });
  const client = async (c: number) => {
    let i = c;
    while (performance.now() < deadline) {
      const t = performance.now();
      const status = await post(bodies[i++ % bodies.length] as string);
      if (status === 200) latencies.push(performance.now() - t);
      else errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { microbatch: { runs: number } | null };
  return {
    requests: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    runs: stats.microbatch?.runs ?? latencies.length,
  };
}

const results: Record<string, Result> = {};
for (const mode of ['off', 'on'] as const) {
  const sm = await startLocalSageMaker({
    port: 0,
    containerEnv: {
      INFERA_MICROBATCH: mode === 'on' ? 'true' : 'false',
      INFERA_MAX_BATCH_ROWS: String(values['max-batch-rows']),
      INFERA_MAX_DELAY_MS: String(values['max-delay-ms']),
    },
  });
  const c = sm.add({ name: `bench-${mode}`, variant: 'AllTraffic', modelDir: join(MODELS, 'fraud-detector-xl', '1') });
  await c.ready();
  process.stderr.write(`micro-batching ${mode}: ${clients} clients for ${seconds} s...\n`);
  await load(c.port as number, 1); // warm-up, discarded
  results[mode] = await load(c.port as number, seconds);
  await sm.close();
}

const off = results.off as Result;
const on = results.on as Result;
const row = (name: string, r: Result) =>
  `| ${name.padEnd(18)} | ${r.rps.toFixed(0).padStart(7)} | ${r.p50.toFixed(1).padStart(7)} | ${r.p99.toFixed(1).padStart(7)} | ${(r.requests / Math.max(r.runs, 1)).toFixed(1).padStart(13)} | ${String(r.errors).padStart(6)} |`;
console.log(`
fraud-detector-xl serving container, ${clients} concurrent clients, 1 row per request, ${seconds} s per mode
| micro-batching     |   req/s | p50 ms  | p99 ms  | rows per run  | errors |
|--------------------|---------|---------|---------|---------------|--------|
${row('off', off)}
${row(`on (${values['max-batch-rows']} rows, ${values['max-delay-ms']} ms)`, on)}

gain: ${(on.rps / off.rps).toFixed(2)}x throughput
`);
