import autocannon from 'autocannon';
import { quantile, sortNumbers } from './stats.ts';

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
