import autocannon from 'autocannon';
import type { Figure } from './report.ts';
import { quantile, sortNumbers, summarize } from './stats.ts';

export interface LoadResult {
  /** Successful (2xx) responses per second. */
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly failed: number;
}

/**
 * Closed-loop load over 127.0.0.1 keep-alive connections with autocannon: `connections` clients
 * each send the next body as soon as the previous answer arrives, for `seconds`. Latencies are
 * kept at full resolution (autocannon's own histogram rounds to whole milliseconds).
 */
export async function load(opts: {
  url: string;
  bodies: readonly string[];
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const u = new URL(opts.url);
  if (u.hostname !== '127.0.0.1') throw new Error(`benchmarks only talk to 127.0.0.1, not ${u.hostname}`);
  const latencies: number[] = [];
  let failed = 0;
  // With no callback autocannon returns an emitter that is also a promise of its result.
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: opts.bodies.map((body) => ({ method: 'POST', body })),
  }) as unknown as autocannon.Instance & Promise<autocannon.Result>;
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
    else failed++;
  });
  const result = await instance;
  failed += result.errors + result.timeouts;
  const sorted = sortNumbers(latencies);
  return {
    rps: latencies.length / result.duration,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    ok: latencies.length,
    failed,
  };
}

/** One round of each side at the same concurrency. */
export interface Paired {
  readonly platform: LoadResult;
  readonly baseline: LoadResult;
}

/**
 * Alternating rounds, baseline first, after a discarded warm-up of each, so drift hits both
 * alike. Any failed request fails the benchmark: a figure over errors would mean nothing.
 */
export async function compareUnderLoad(opts: {
  name: string;
  platform: string;
  baseline: string;
  bodies: readonly string[];
  connections: number;
  rounds: number;
  seconds: number;
  warmup: number;
}): Promise<Paired[]> {
  const run = (url: string, seconds: number) =>
    load({ url, bodies: opts.bodies, connections: opts.connections, seconds });
  await run(opts.baseline, opts.warmup);
  await run(opts.platform, opts.warmup);
  const got: Paired[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const baseline = await run(opts.baseline, opts.seconds);
    const platform = await run(opts.platform, opts.seconds);
    got.push({ platform, baseline });
  }
  const failed = got.reduce((n, g) => n + g.platform.failed + g.baseline.failed, 0);
  if (failed > 0) throw new Error(`${opts.name}: ${failed} request(s) failed under load at ${opts.connections} connection(s)`);
  return got;
}

/** Throughput and p99 of the platform over its baseline; targets are ≥ throughput× and ≤ p99×. */
export function loadFigures(
  got: readonly Paired[],
  what: string,
  targets?: { readonly throughput: number; readonly p99?: number },
): Figure[] {
  const tput = summarize(got.map((g) => g.platform.rps / g.baseline.rps));
  const p99 = summarize(got.map((g) => g.platform.p99 / g.baseline.p99));
  return [
    {
      label: `throughput, ${what}`,
      unit: 'req/s',
      platform: summarize(got.map((g) => g.platform.rps)),
      baseline: summarize(got.map((g) => g.baseline.rps)),
      compare: 'ratio',
      value: tput,
      ...(targets ? { target: { text: `≥ ${targets.throughput}×`, met: tput.median >= targets.throughput } } : {}),
    },
    {
      label: `p99 latency, ${what}`,
      unit: 'ms',
      platform: summarize(got.map((g) => g.platform.p99)),
      baseline: summarize(got.map((g) => g.baseline.p99)),
      compare: 'ratio',
      value: p99,
      ...(targets?.p99 !== undefined
        ? { target: { text: `≤ ${targets.p99}×`, met: p99.median <= targets.p99 } }
        : {}),
    },
  ];
}
