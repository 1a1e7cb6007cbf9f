#!/usr/bin/env node
/**
 * A traffic generator for the monitoring demo: sends rows drawn from a model's own training
 * statistics (so a stable feature looks exactly like training), and optionally drifts one
 * feature. It prints which versions answered, so a canary split is visible too.
 *
 *   npm run traffic                               clean fraud-detector traffic for 60 s
 *   npm run traffic -- --drift amount             amount x3 from the first request
 *   npm run traffic -- --model iris --rate 50 --duration 20
 *   npm run traffic -- --labels --drift amount --factor 10 --drift-after 60 --duration 120
 */
import { readFileSync } from 'node:fs';
import type { Feature, Manifest } from '#core/model/manifest.ts';
import { numericBins } from '#core/monitoring/drift.ts';
import { numberFlag, parseCommand, runMain } from '../cli/args.ts';
import { readSample, type Sample } from '../cli/init-sample.ts';
import { TRANSACTION_COLUMNS, type Transaction } from './lib/fraud-data.ts';
import { LabelledTraffic } from './lib/labelled-traffic.ts';
import { rng } from './lib/ml.ts';
import { tensorRequestSampler, tensorTrafficProblem } from './lib/tensor-traffic.ts';

const HELP = `Usage: npm run traffic -- [options]

Sends scoring requests to a running platform (npm start), with rows sampled from the model's
trainingStats, and optionally one drifted feature. Stops by itself after --duration.
Tabular models get v1 rows drawn from trainingStats.features; tensor and image models get v2
requests whose inputs are drawn from trainingStats.inputs (infera init --sample records both).

Options:
  --url <url>            platform (default: $INFERA_URL or http://127.0.0.1:3000)
  --model <name>         model to call (default: fraud-detector)
  --rate <n>             requests per second (default: 20)
  --batch <n>            instances per request (default: 10)
  --duration <s>         seconds to run (default: 60)
  --drift <feature>      drift this feature: numbers x --factor, categories and booleans
                         moved to the rarest training value for --share of rows; for a
                         tensor model, an input name: its values x --factor
  --factor <x>           multiplier for a drifted number (default: 3)
  --share <p>            share of rows changed for a drifted category/boolean (default: 0.5)
  --users <n>            send x-infera-routing-key from n callers, for sticky routing (default: none)
  --sample <path>        send real instances drawn from this file or folder instead (the
                         forms infera init --sample reads: .csv, .jsonl, images, texts);
                         keeps the features' joint distribution, which independent draws lose
  --seed <n>             random seed (default: 1)
  --labels               fraud-detector: send real card transactions (each with a
                         transaction_id and a known truth), and later the labels of a share
                         of them to POST .../feedback, as chargebacks arrive; with --drift the
                         model sees the drifted value while the truth stays the real one, so
                         labelled accuracy falls (see infera quality and the dashboard)
  --label-share <p>      share of transactions that get a label (default: 0.5)
  --label-delay <s>      seconds from a prediction to its label (default: 10)
  --drift-after <s>      start the drift this many seconds in (default: 0)
  -h, --help             show this help
`;

interface Options {
  url: string;
  model: string;
  rate: number;
  batch: number;
  duration: number;
  drift?: string;
  sample?: string;
  factor: number;
  share: number;
  users: number;
  seed: number;
  labels: boolean;
  labelShare: number;
  labelDelay: number;
  driftAfter: number;
}

const COMMAND = 'npm run traffic --';

function parse(argv: string[]): Options | undefined {
  const parsed = parseCommand(
    {
      name: COMMAND,
      help: HELP,
      options: {
        url: { type: 'string' },
        model: { type: 'string', default: 'fraud-detector' },
        rate: { type: 'string', default: '20' },
        batch: { type: 'string', default: '10' },
        duration: { type: 'string', default: '60' },
        drift: { type: 'string' },
        factor: { type: 'string', default: '3' },
        share: { type: 'string', default: '0.5' },
        users: { type: 'string', default: '0' },
        seed: { type: 'string', default: '1' },
        sample: { type: 'string' },
        labels: { type: 'boolean', default: false },
        'label-share': { type: 'string', default: '0.5' },
        'label-delay': { type: 'string', default: '10' },
        'drift-after': { type: 'string', default: '0' },
      },
    },
    argv,
  );
  if (!parsed) return undefined;
  const { values } = parsed;
  const num = (flag: keyof typeof values & string, min: number, max: number) =>
    numberFlag(COMMAND, flag, values[flag] as string, { min, max }) as number;
  return {
    url: (values.url ?? process.env.INFERA_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''),
    model: values.model,
    rate: num('rate', 0.1, 10_000),
    batch: Math.round(num('batch', 1, 1000)),
    duration: num('duration', 1, 86_400),
    ...(values.drift ? { drift: values.drift } : {}),
    ...(values.sample ? { sample: values.sample } : {}),
    factor: num('factor', 0, 1e6),
    share: num('share', 0, 1),
    users: Math.round(num('users', 0, 1e9)),
    seed: Math.round(num('seed', 0, 2 ** 31)),
    labels: values.labels === true,
    labelShare: num('label-share', 0, 1),
    labelDelay: num('label-delay', 0, 86_400),
    driftAfter: num('drift-after', 0, 86_400),
  };
}

/** Draws one value of a feature so that its drift bins match training. */
export function sampler(f: Feature, manifest: Manifest, rand: () => number): () => unknown {
  const stats = manifest.trainingStats?.features[f.name];
  const missing = f.required ? 0 : (stats?.missingRate ?? 0);
  let draw: () => unknown;
  if (stats && 'frequencies' in stats) {
    const entries = Object.entries(stats.frequencies);
    draw = () => {
      let u = rand() * entries.reduce((a, [, p]) => a + p, 0);
      for (const [value, p] of entries) {
        u -= p;
        if (u <= 0) return f.type === 'boolean' ? value === 'true' : value;
      }
      const last = entries.at(-1)?.[0];
      return f.type === 'boolean' ? last === 'true' : last;
    };
  } else if (stats && 'quantiles' in stats) {
    const { edges, expected } = numericBins(stats);
    draw = () => {
      let u = rand();
      let i = 0;
      while (i < expected.length - 1 && u > (expected[i] as number)) u -= expected[i++] as number;
      const hi = edges[Math.min(i, edges.length - 1)] as number;
      const lo = i === 0 ? hi : (edges[i - 1] as number);
      if (f.type === 'integer') {
        // (lo, hi] in whole numbers; the first bin is the point mass at the lowest edge.
        return i === 0
          ? Math.round(hi)
          : Math.floor(lo) + 1 + Math.floor(rand() * Math.max(1, Math.round(hi - lo)));
      }
      return i === 0 ? hi : lo + (hi - lo) * rand();
    };
  } else if (f.type === 'categorical') {
    draw = () => f.values[Math.floor(rand() * f.values.length)];
  } else if (f.type === 'boolean') {
    draw = () => rand() < 0.5;
  } else {
    const lo = f.min ?? 0;
    const hi = f.max ?? lo + 1;
    draw = () => (f.type === 'integer' ? Math.round(lo + (hi - lo) * rand()) : lo + (hi - lo) * rand());
  }
  return () => (missing > 0 && rand() < missing ? null : draw());
}

/** Shifts one feature's values: numbers scaled (kept within the manifest bounds), others moved. */
export function drifter(f: Feature, manifest: Manifest, factor: number, share: number, rand: () => number) {
  if (f.type === 'number' || f.type === 'integer') {
    return (v: unknown) => {
      if (typeof v !== 'number') return v;
      let x = v * factor;
      if (f.max !== undefined) x = Math.min(x, f.max);
      if (f.min !== undefined) x = Math.max(x, f.min);
      return f.type === 'integer' ? Math.round(x) : Math.round(x * 100) / 100;
    };
  }
  const stats = manifest.trainingStats?.features[f.name];
  const freq = stats && 'frequencies' in stats ? stats.frequencies : {};
  const rarest = Object.entries(freq).sort((a, b) => a[1] - b[1])[0]?.[0];
  const target =
    f.type === 'boolean'
      ? rarest === 'true'
      : (rarest ?? (f.type === 'categorical' ? f.values.at(-1) : undefined));
  return (v: unknown) => (rand() < share ? target : v);
}

/**
 * One row generator for a tabular model: every feature drawn from training (`sampler`), with
 * `drift.feature` shifted (`drifter`). Missing values are left out of the row.
 */
export function rowSampler(
  manifest: Manifest,
  rand: () => number,
  drift?: { readonly feature: Feature; readonly factor: number; readonly share: number },
): () => Record<string, unknown> {
  const features = manifest.inputs.kind === 'tabular' ? manifest.inputs.features : [];
  const draws = features.map((f) => sampler(f, manifest, rand));
  const shift = drift ? drifter(drift.feature, manifest, drift.factor, drift.share, rand) : undefined;
  return () => {
    const r: Record<string, unknown> = {};
    features.forEach((f, i) => {
      let v = (draws[i] as () => unknown)();
      if (shift && f === drift?.feature) v = shift(v);
      if (v !== null) r[f.name] = v;
    });
    return r;
  };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (!o) return;
  let manifest: Manifest;
  try {
    const res = await fetch(`${o.url}/v1/models/${encodeURIComponent(o.model)}`);
    const body = (await res.json()) as Manifest & { error?: string };
    if (!res.ok) {
      console.error(`${o.url}: ${res.status} ${body.error ?? ''}`);
      process.exit(1);
    }
    manifest = body;
  } catch (err) {
    console.error(
      `Cannot reach ${o.url} (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}). Start the platform: npm start`,
    );
    process.exit(1);
  }
  if (o.labels) return labelledTraffic(o, manifest);
  if (o.sample) return sampleTraffic(o, manifest, o.sample);
  if (manifest.inputs.kind === 'tensors') return tensorTraffic(o, manifest);
  if (!manifest.trainingStats) {
    console.error(
      `${o.model}'s manifest has no trainingStats, so there is no training distribution to sample. Record it from training data: npx infera init <model.onnx> --sample <rows.csv> (a new version with trainingStats and golden fixtures), or add "trainingStats" to its model.json by hand (docs/models.md describes the field). Monitoring compares live traffic against it too.`,
    );
    process.exit(2);
  }
  const features = manifest.inputs.features;
  const drifted = o.drift ? features.find((f) => f.name === o.drift) : undefined;
  if (o.drift && !drifted) {
    console.error(
      `${o.model} has no feature '${o.drift}'. Features: ${features.map((f) => f.name).join(', ')}.`,
    );
    process.exit(2);
  }
  if (manifest.trainingStats.score)
    console.log(
      'Rows are drawn feature by feature from trainingStats, so correlations between features are lost and the score may drift from training where the model relies on them. Pass --sample <rows.csv> to send real rows.',
    );
  const rand = rng(o.seed);
  const row = rowSampler(
    manifest,
    rand,
    drifted ? { feature: drifted, factor: o.factor, share: o.share } : undefined,
  );
  await sendFor(o, rand, `/v1/models/${encodeURIComponent(o.model)}/predict`, drifted?.name, () => ({
    instances: Array.from({ length: o.batch }, row),
  }));
}

/** Card transactions with known truth, and their labels sent later (scripts/lib/labelled-traffic.ts). */
async function labelledTraffic(o: Options, manifest: Manifest): Promise<void> {
  const features = manifest.inputs.kind === 'tabular' ? manifest.inputs.features.map((f) => f.name) : [];
  const needed = TRANSACTION_COLUMNS.filter((c) => !features.includes(c));
  if (needed.length > 0 || manifest.quality?.idField !== 'transaction_id') {
    console.error(
      `--labels sends card transactions whose truth the generator knows: it needs fraud-detector (a model with the features ${TRANSACTION_COLUMNS.join(', ')} and quality.idField "transaction_id"); ${o.model} ${needed.length > 0 ? `lacks ${needed.join(', ')}` : 'has another quality.idField'}.`,
    );
    process.exit(2);
  }
  const drift = o.drift as keyof Transaction | undefined;
  if (drift && !TRANSACTION_COLUMNS.includes(drift)) {
    console.error(
      `--drift with --labels scales a number the model sees: one of amount, distance_from_home_km, transactions_last_hour, account_age_days, hour.`,
    );
    process.exit(2);
  }
  const traffic = new LabelledTraffic({
    seed: o.seed,
    labelShare: o.labelShare,
    labelDelayS: o.labelDelay,
    ...(drift ? { drift: { feature: drift, factor: o.factor, afterS: o.driftAfter } } : {}),
  });
  let labelled = 0;
  let refused = 0;
  const post = async (all: boolean) => {
    for (let due = traffic.due(Date.now(), all); due.length > 0; due = due.slice(1000)) {
      const res = await fetch(`${o.url}/v1/models/${encodeURIComponent(o.model)}/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(due.slice(0, 1000).map((p) => ({ id: p.id, label: p.label }))),
        signal: AbortSignal.timeout(30_000),
      }).catch(() => undefined);
      if (res?.ok) labelled += Math.min(1000, due.length);
      else refused += Math.min(1000, due.length);
      await res?.arrayBuffer();
    }
  };
  let running = true;
  const labeller = (async () => {
    while (running) {
      await post(false);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  console.log(
    `Labels: ${Math.round(o.labelShare * 100)}% of the transactions, ${o.labelDelay} s after their predictions` +
      (drift
        ? `; ${drift} x${o.factor} from ${o.driftAfter} s (the truth stays the real transaction's)`
        : ''),
  );
  await sendFor(o, rng(o.seed), `/v1/models/${encodeURIComponent(o.model)}/predict`, drift, () => ({
    instances: traffic.instances(o.batch),
  }));
  // The last labels come due after the traffic stops: wait for them, then send them.
  const last = traffic.pending.at(-1)?.due;
  if (last && last > Date.now()) await new Promise((r) => setTimeout(r, last - Date.now()));
  running = false;
  await labeller;
  await post(true);
  console.log(
    `Labels sent: ${labelled}${refused ? `, ${refused} refused or not delivered` : ''}. See: npx infera quality ${o.model}`,
  );
  if (refused > 0) process.exitCode = 1;
}

/**
 * Instances drawn at random from a sample file or folder, sent over v1; a tabular model's drifted
 * feature shifted as in generated traffic.
 */
async function sampleTraffic(o: Options, manifest: Manifest, path: string): Promise<void> {
  let instances: Record<string, unknown>[];
  try {
    instances = sampleInstances(manifest, await readSample(path));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const features = manifest.inputs.kind === 'tabular' ? manifest.inputs.features : [];
  const drifted = o.drift ? features.find((f) => f.name === o.drift) : undefined;
  if (o.drift && !drifted) {
    console.error(
      manifest.inputs.kind === 'tabular'
        ? `${o.model} has no feature '${o.drift}'. Features: ${features.map((f) => f.name).join(', ')}.`
        : `--drift with --sample shifts a tabular feature; ${o.model} takes tensors: drop --sample to drift an input of generated tensors.`,
    );
    process.exit(2);
  }
  const rand = rng(o.seed);
  const shift = drifted ? drifter(drifted, manifest, o.factor, o.share, rand) : undefined;
  const pick = () => {
    const inst = { ...(instances[Math.floor(rand() * instances.length)] as Record<string, unknown>) };
    if (shift && drifted) inst[drifted.name] = shift(inst[drifted.name]);
    return inst;
  };
  await sendFor(o, rand, `/v1/models/${encodeURIComponent(o.model)}/predict`, drifted?.name, () => ({
    instances: Array.from({ length: o.batch }, pick),
  }));
}

/** A sample's records as the model's v1 instances: a tabular model's features only, files by input. */
export function sampleInstances(manifest: Manifest, sample: Sample): Record<string, unknown>[] {
  if (sample.kind === 'rows') {
    if (manifest.inputs.kind !== 'tabular') return sample.rows;
    const names = manifest.inputs.features.map((f) => f.name);
    const missing = names.filter((n) => !sample.columns.includes(n));
    if (missing.length > 0)
      throw new Error(
        `${sample.source} has no column for feature(s) ${missing.join(', ')} of ${manifest.name}.`,
      );
    return sample.rows.map((r) =>
      Object.fromEntries(names.filter((n) => r[n] != null).map((n) => [n, r[n]])),
    );
  }
  const tensors = manifest.inputs.kind === 'tensors' ? manifest.inputs.tensors : [];
  if (sample.kind === 'images') {
    const image = tensors.find((t) => t.image);
    if (!image) throw new Error(`${sample.source} holds images, and ${manifest.name} has no image input.`);
    return sample.files.map((f) => ({ [image.name]: { b64: readFileSync(f).toString('base64') } }));
  }
  const field =
    manifest.inputs.kind === 'tensors' && manifest.inputs.text
      ? manifest.inputs.text.field
      : tensors.find((t) => t.datatype === 'BYTES')?.name;
  if (!field) throw new Error(`${sample.source} holds texts, and ${manifest.name} takes no text.`);
  return sample.files.map((f) => ({ [field]: readFileSync(f, 'utf8').trim() }));
}

/** Tensor and image models: v2 requests drawn from trainingStats.inputs. */
async function tensorTraffic(o: Options, manifest: Manifest): Promise<void> {
  const problem = tensorTrafficProblem(manifest);
  if (problem) {
    console.error(problem);
    process.exit(2);
  }
  const names = manifest.inputs.kind === 'tensors' ? manifest.inputs.tensors.map((t) => t.name) : [];
  if (o.drift && !names.includes(o.drift)) {
    console.error(`${o.model} has no input '${o.drift}'. Inputs: ${names.join(', ')}.`);
    process.exit(2);
  }
  const rand = rng(o.seed);
  const request = tensorRequestSampler(
    manifest,
    o.batch,
    rand,
    o.drift ? { input: o.drift, factor: o.factor } : undefined,
  );
  await sendFor(o, rand, `/v2/models/${encodeURIComponent(o.model)}/infer`, o.drift, request);
}

/** Sends `body()` to `path` at the rate for the duration, printing the versions that answered. */
async function sendFor(
  o: Options,
  rand: () => number,
  path: string,
  drifted: string | undefined,
  body: () => unknown,
): Promise<void> {
  console.log(
    `Sending ${o.rate} req/s x ${o.batch} rows to ${o.url}${path} for ${o.duration} s` +
      (drifted ? `, drifting ${drifted}` : ', no drift') +
      (o.users ? `, ${o.users} sticky callers` : ''),
  );
  const served = new Map<string, number>();
  const statuses = new Map<number, number>();
  let sent = 0;
  let failed = 0;
  let inFlight = 0;
  const started = Date.now();
  const end = started + o.duration * 1000;
  const tty = process.stdout.isTTY;
  let lastPrint = 0;
  const line = () => {
    const total = [...served.values()].reduce((a, b) => a + b, 0) || 1;
    const split = [...served]
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([v, n]) => `v${v} ${((n / total) * 100).toFixed(1)}%`)
      .join(' ');
    const ok = [...statuses].filter(([s]) => s < 300).reduce((a, [, n]) => a + n, 0);
    const bad = [...statuses].filter(([s]) => s >= 300).reduce((a, [, n]) => a + n, 0) + failed;
    const elapsed = Math.min(o.duration, (Date.now() - started) / 1000);
    return `${elapsed.toFixed(0).padStart(4)}s/${o.duration}s  sent ${sent}  ok ${ok}  failed ${bad}  served ${split || '-'}`;
  };
  const send = async () => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (o.users) headers['x-infera-routing-key'] = `user-${Math.floor(rand() * o.users)}`;
    inFlight++;
    try {
      const res = await fetch(`${o.url}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body()),
        signal: AbortSignal.timeout(30_000),
      });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const v = res.headers.get('x-model-version');
      if (v && res.ok) served.set(v, (served.get(v) ?? 0) + 1);
    } catch {
      failed++;
    } finally {
      inFlight--;
    }
  };
  const interval = 1000 / o.rate;
  let next = Date.now();
  while (Date.now() < end) {
    if (inFlight < 64) {
      sent++;
      void send();
    }
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (Date.now() - lastPrint >= (tty ? 250 : 5000)) {
      lastPrint = Date.now();
      if (tty) process.stdout.write(`\r${line()}`);
      else console.log(line());
    }
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  if (tty) process.stdout.write(`\r${line()}\n`);
  else console.log(line());
  const codes = [...statuses].map(([s, n]) => `${s}: ${n}`).join(', ');
  console.log(`Done. Status codes: ${codes || 'none'}${failed ? `; ${failed} could not connect` : ''}.`);
  console.log(`See ${o.url}/dashboard, or: npx infera compare ${o.model} <a> <b>`);
  if (failed > 0 || [...statuses.keys()].some((s) => s >= 500)) process.exitCode = 1;
}

if (import.meta.main) await runMain(main);
