/**
 * B2: `npm start` under HTTP load (autocannon on 127.0.0.1, keep-alive, closed loop) against a
 * bare node:http server around the same session. Both run as their own processes; rounds
 * alternate between them so drift hits both alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions, BenchResult, Figure } from './lib/report.ts';
import { load, type LoadResult } from './lib/load.ts';
import { type Proc, startProcess } from './lib/proc.ts';
import { summarize } from './lib/stats.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const MODEL = 'fraud-detector';

async function post(url: string, body: string): Promise<{ status: number; json: unknown }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: r.status, json: await r.json() };
}

export async function b2(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const levels = [1, 16, 64];
  const rounds = opts.quick ? 1 : 3;
  const seconds = opts.quick ? 1 : 10;
  const warmup = opts.quick ? 1 : 2;
  const live = (JSON.parse(readFileSync(join(ROOT, 'models', MODEL, 'aliases.json'), 'utf8')) as { live: string }).live;
  const dir = join(ROOT, 'models', MODEL, live);
  const golden = JSON.parse(readFileSync(join(dir, 'fixtures', 'golden.json'), 'utf8')) as { instances: unknown[] };
  const bodies = golden.instances.map((x) => JSON.stringify({ instances: [x] }));

  opts.progress('B2: starting npm start (the whole local platform) and the bare server');
  const procs: Proc[] = [];
  try {
    const platform = await startProcess(
      [join(ROOT, 'infra/local/start.ts'), '--port', '0', '--aws-port', '0', '--sagemaker-port', '0', '--quiet'],
      /infera is running at (http:\/\/\S+)/,
      { name: 'npm start', cwd: ROOT, env: { ...process.env, PORT: '' } },
    );
    procs.push(platform);
    const bare = await startProcess([join(ROOT, 'bench/baseline/http-server.ts'), dir], /listening (\d+)/, {
      name: 'the bare server',
      cwd: ROOT,
    });
    procs.push(bare);
    const urls = {
      platform: `${platform.match[1]}/v1/models/${MODEL}/predict`,
      baseline: `http://127.0.0.1:${bare.match[1]}/`,
    };
    // Same request, same answer, before any timing.
    const a = await post(urls.platform, bodies[0] as string);
    const b = await post(urls.baseline, bodies[0] as string);
    const sa = (a.json as { predictions: { score: number }[] }).predictions?.[0]?.score;
    const sb = (b.json as { predictions: { score: number }[] }).predictions?.[0]?.score;
    if (a.status !== 200 || b.status !== 200 || sa === undefined || sb === undefined || Math.abs(sa - sb) > 1e-6)
      throw new Error(`B2: the platform and the bare server disagree: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);

    const figures: Figure[] = [];
    let failures = 0;
    for (const c of levels) {
      opts.progress(`B2: ${c} connection(s): ${rounds} round(s) of ${seconds} s each side, after ${warmup} s warm-up`);
      await load({ url: urls.baseline, bodies, connections: c, seconds: warmup });
      await load({ url: urls.platform, bodies, connections: c, seconds: warmup });
      const got: { baseline: LoadResult; platform: LoadResult }[] = [];
      for (let r = 0; r < rounds; r++) {
        const baseline = await load({ url: urls.baseline, bodies, connections: c, seconds });
        const platformR = await load({ url: urls.platform, bodies, connections: c, seconds });
        failures += baseline.failed + platformR.failed;
        got.push({ baseline, platform: platformR });
      }
      const tput = summarize(got.map((g) => g.platform.rps / g.baseline.rps));
      const p99 = summarize(got.map((g) => g.platform.p99 / g.baseline.p99));
      figures.push({
        label: `throughput, ${c} connection${c > 1 ? 's' : ''}`,
        unit: 'req/s',
        platform: summarize(got.map((g) => g.platform.rps)),
        baseline: summarize(got.map((g) => g.baseline.rps)),
        compare: 'ratio',
        value: tput,
        target: { text: '≥ 0.85×', met: tput.median >= 0.85 },
      });
      figures.push({
        label: `p99 latency, ${c} connection${c > 1 ? 's' : ''}`,
        unit: 'ms',
        platform: summarize(got.map((g) => g.platform.p99)),
        baseline: summarize(got.map((g) => g.baseline.p99)),
        compare: 'ratio',
        value: p99,
        target: { text: '≤ 1.5×', met: p99.median <= 1.5 },
      });
    }
    if (failures > 0) throw new Error(`B2: ${failures} request(s) failed under load`);
    return {
      id: 'B2',
      title: '`npm start` over HTTP under load',
      baseline: 'bare node:http server: JSON.parse, session.run, JSON.stringify',
      target: 'throughput ≥ 85% of baseline; p99 ≤ 1.5× baseline',
      figures,
      notes: [
        `${MODEL} v${live}, one row per request, cycling through its ${bodies.length} golden rows. autocannon runs in the bench process and shares the 2 cores with the server under test. npm start runs with --quiet (no access log line per request); its S3/SQS emulator and serving containers stay up but idle.`,
        `${rounds} alternating rounds of ${seconds} s per side and level; every response was 2xx.`,
      ],
      limits: [
        'CPU per request decides throughput here: the load generator shares the 2 cores, and each server is saturated from 16 connections. The bare server spends about 45 µs of CPU a request. The platform adds the local API Gateway (the v2 event and context objects, two UUIDs, a timeout timer per request) and the handler\'s own overhead (B1: Powertools, validation, EMF). Reaching 85% would need all of that in under about 8 µs a request, less than Powertools alone costs (B1).',
        'At 1 connection latency, not CPU, limits both, so the ratio is closer to 1. The p99 ratio at 16 and 64 connections follows from the lower throughput: the same queue of requests drains more slowly.',
      ],
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}
