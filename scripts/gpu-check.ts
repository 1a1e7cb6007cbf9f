#!/usr/bin/env node
/**
 * `npm run test:gpu`: infera's GPU serving path, checked on a machine with an NVIDIA GPU. Not part
 * of `npm test`; see HELP and docs/heavy-models.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { goldenSchema } from '#core/model/golden.ts';
import { type Proc, startProcess } from '../bench/lib/proc.ts';
import { numberFlag, parseCommand, runMain, usageError } from '../cli/args.ts';
import { CliError } from '../cli/common.ts';
import {
  compareAnswers,
  cudaShare,
  findGpu,
  GPU_REPORT,
  type GpuReport,
  type Latency,
  latencyOf,
} from './lib/gpu-check.ts';
import { ensureHeavyModel } from './make-heavy-model.ts';

const COMMAND = 'npm run test:gpu --';
const ROOT = new URL('..', import.meta.url).pathname;
const CUDA_PROVIDER_LIB = join(
  ROOT,
  'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so',
);
const IMAGE_TAG = 'infera-onnx-serving:cuda';

const HELP = `Usage: ${COMMAND} [options]

Checks infera's GPU serving path on a machine with an NVIDIA GPU. It starts the serving container
with INFERA_EXECUTION_PROVIDER=cuda (which serves on the GPU or not at all) next to a CPU one,
scores the model's golden fixtures on both, and fails unless ONNX Runtime ran graph nodes on the
CUDA provider (its own profile of the first request says where each node ran) and the CUDA
answers equal the CPU answers and the fixtures within the fixtures' tolerance. It then times
sequential calls of 1 and 64 rows on each and writes a report that \`infera cost\` uses to price
GPU routes at GPU time. Without a GPU it says so and exits 1. Not part of npm test.

Options:
  --image              check the cuda image SageMaker runs: docker build --target cuda, then
                       docker run --gpus all (needs Docker and the NVIDIA Container Toolkit).
                       Default: run the container with this machine's Node, after fetching
                       onnxruntime-node's CUDA 12 provider from NuGet into node_modules (needs
                       CUDA 12 and cuDNN 9 libraries, as on the AWS Deep Learning AMIs)
  --model <dir>        model version folder with model.json, model.onnx and fixtures/golden.json
                       (default: models/fraud-detector-xl/1)
  --calls <n>          timed calls per container and batch size (default: 200)
  --out <file>         report file (default: ${GPU_REPORT})
  --provider <p>       cuda (default) or cpu: cpu runs every step with two CPU containers, to
                       check this script on a machine without a GPU; its report says cpu
  --timeout <s>        give up, stopping everything, after this long (default: 300)
`;

interface Server {
  readonly url: string;
  stop(): Promise<void>;
}

function probeGpu() {
  const smi = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return {
    nvidiaSmi: smi.status === 0 ? smi.stdout : undefined,
    device: existsSync('/dev/nvidia0'),
  };
}

/** onnxruntime-node's CUDA 12 provider, fetched by its own install script when missing. */
function ensureCudaProvider(): void {
  if (existsSync(CUDA_PROVIDER_LIB)) return;
  console.log(
    "Fetching onnxruntime-node's CUDA 12 provider (Microsoft.ML.OnnxRuntime.Gpu.Linux, from NuGet)...",
  );
  const r = spawnSync(process.execPath, ['script/install'], {
    cwd: join(ROOT, 'node_modules/onnxruntime-node'),
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
    stdio: 'inherit',
    timeout: 240_000,
  });
  if (r.status !== 0 || !existsSync(CUDA_PROVIDER_LIB)) {
    throw new CliError('Could not fetch the CUDA provider of onnxruntime-node.', [
      'It downloads from api.nuget.org; check the network, or use --image to build the cuda image instead.',
    ]);
  }
}

/** The serving container as a process of this machine's Node, ready when it says "serving". */
async function hostServer(modelDir: string, provider: 'cpu' | 'cuda', timeoutMs: number): Promise<Server> {
  let proc: Proc;
  try {
    proc = await startProcess(
      [join(ROOT, 'functions/container/serve.ts'), 'serve'],
      /"message":"serving".*?"port":(\d+)/,
      {
        name: `the ${provider} container`,
        cwd: ROOT,
        timeoutMs,
        env: {
          ...process.env,
          SM_MODEL_DIR: modelDir,
          SAGEMAKER_BIND_TO_PORT: '0',
          INFERA_HOST: '127.0.0.1',
          INFERA_EXECUTION_PROVIDER: provider,
          INFERA_MICROBATCH: 'false',
        },
      },
    );
  } catch (err) {
    throw new CliError(`The ${provider} container did not start.`, [(err as Error).message]);
  }
  return { url: `http://127.0.0.1:${proc.match[1]}`, stop: proc.stop };
}

function docker(args: string[], timeoutMs: number) {
  return spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs });
}

/** The cuda image, built here and run with the GPU, as SageMaker runs it. */
async function imageServer(modelDir: string, timeoutMs: number): Promise<Server> {
  console.log(`Building ${IMAGE_TAG} (docker build --target cuda)...`);
  const build = spawnSync(
    'docker',
    ['build', '-f', 'functions/container/Dockerfile', '--target', 'cuda', '-t', IMAGE_TAG, '.'],
    { cwd: ROOT, stdio: 'inherit', timeout: timeoutMs },
  );
  if (build.status !== 0) throw new CliError('docker build of the cuda image failed (see above).');
  const run = docker(
    [
      'run',
      '-d',
      '--rm',
      '--gpus',
      'all',
      '-p',
      '127.0.0.1::8080',
      '-v',
      `${modelDir}:/opt/ml/model:ro`,
      IMAGE_TAG,
      'serve',
    ],
    60_000,
  );
  const id = run.stdout.trim();
  if (run.status !== 0 || !id) {
    throw new CliError('docker run --gpus all failed.', [
      run.stderr.trim(),
      'Is the NVIDIA Container Toolkit installed?',
    ]);
  }
  const stop = async () => {
    docker(['rm', '-f', id], 30_000);
  };
  const port = docker(['port', id, '8080/tcp'], 10_000).stdout.trim().split(':').pop();
  const server = { url: `http://127.0.0.1:${port}`, stop };
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ping = await fetch(`${server.url}/ping`).catch(() => undefined);
    if (ping?.status === 200) return server;
    const state = docker(['inspect', '-f', '{{.State.Running}}', id], 10_000).stdout.trim();
    if (state !== 'true' || Date.now() > until) {
      const logs = docker(['logs', '--tail', '40', id], 10_000).stdout;
      await stop();
      throw new CliError('The cuda container did not become healthy.', [logs.trim().slice(-3000)]);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function invoke(url: string, instances: unknown[]): Promise<{ predictions: unknown }> {
  const res = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
  });
  const body = (await res.json()) as { predictions?: unknown; error?: string };
  if (res.status !== 200)
    throw new CliError(`${url}/invocations answered ${res.status}: ${body.error ?? ''}`);
  return { predictions: body.predictions };
}

async function timeCalls(url: string, rows: unknown[], calls: number): Promise<Latency> {
  const ms: number[] = [];
  await invoke(url, rows); // warm
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await invoke(url, rows);
    ms.push(performance.now() - t);
  }
  return latencyOf(ms);
}

async function main(argv: string[]): Promise<number | undefined> {
  const parsed = parseCommand(
    {
      name: COMMAND,
      help: HELP,
      options: {
        image: { type: 'boolean', default: false },
        model: { type: 'string', default: join(ROOT, 'models/fraud-detector-xl/1') },
        calls: { type: 'string', default: '200' },
        out: { type: 'string', default: join(ROOT, GPU_REPORT) },
        provider: { type: 'string', default: 'cuda' },
        timeout: { type: 'string', default: '300' },
      },
    },
    argv,
  );
  if (!parsed) return 0;
  const o = parsed.values;
  // The default model's model.onnx is not in git: built on first need.
  await ensureHeavyModel(join(ROOT, 'models'), { log: (line) => console.error(line) });
  const calls = numberFlag(COMMAND, 'calls', o.calls, { min: 1, max: 100_000, integer: true }) as number;
  const timeoutS = numberFlag(COMMAND, 'timeout', o.timeout, { min: 10, max: 3600 }) as number;
  if (o.provider !== 'cuda' && o.provider !== 'cpu') {
    throw usageError(COMMAND, `--provider must be cuda or cpu, got '${o.provider}'.`);
  }
  const provider = o.provider;
  if (provider === 'cpu' && o.image)
    throw usageError(COMMAND, '--image checks the cuda image; leave out --provider cpu.');
  const modelDir = resolve(o.model);
  const goldenFile = join(modelDir, 'fixtures', 'golden.json');
  if (!existsSync(join(modelDir, 'model.json')) || !existsSync(goldenFile)) {
    throw usageError(COMMAND, `--model ${modelDir} needs model.json, model.onnx and fixtures/golden.json.`);
  }
  const golden = goldenSchema.parse(JSON.parse(readFileSync(goldenFile, 'utf8')));
  const manifest = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as {
    name: string;
    version: string;
  };

  const gpu =
    provider === 'cuda' ? findGpu(probeGpu()) : ({ found: true, name: 'none (--provider cpu)' } as const);
  if (!gpu.found) {
    console.error(`error: ${gpu.why}`);
    return 1;
  }
  console.log(`GPU: ${gpu.name}`);

  const servers: Server[] = [];
  const stopAll = () => Promise.all(servers.map((s) => s.stop()));
  const deadline = setTimeout(() => {
    console.error(`error: test:gpu did not finish within ${timeoutS} s (--timeout); stopping.`);
    void stopAll().then(() => process.exit(1));
  }, timeoutS * 1000);
  deadline.unref();
  try {
    if (provider === 'cuda' && !o.image) ensureCudaProvider();
    const startMs = Math.min(240_000, timeoutS * 1000);
    const cpu = await hostServer(modelDir, 'cpu', startMs);
    servers.push(cpu);
    const checked = o.image
      ? await imageServer(modelDir, startMs)
      : await hostServer(modelDir, provider, startMs);
    servers.push(checked);

    const instances = golden.instances;
    const [cpuAnswer, checkedAnswer] = [
      await invoke(cpu.url, instances),
      await invoke(checked.url, instances),
    ];
    const stats = (await (await fetch(`${checked.url}/stats`)).json()) as {
      provider: string;
      placement: Record<string, number> | null;
    };
    const placement = stats.placement ?? {};
    const failures: string[] = [];
    const share = cudaShare(placement);
    if (provider === 'cuda') {
      if (stats.provider !== 'cuda')
        failures.push(`the container reports provider ${stats.provider}, not cuda`);
      if (share.nodes === 0) {
        failures.push(`ONNX Runtime ran no node on the CUDA provider: ${JSON.stringify(placement)}`);
      }
    }
    const compared = compareAnswers(
      cpuAnswer.predictions,
      checkedAnswer.predictions,
      golden.expected,
      golden.tolerance,
    );
    failures.push(...compared.problems);

    const batch = Array.from({ length: 64 }, (_, i) => instances[i % instances.length]);
    const latency = {
      cpu: {
        '1': await timeCalls(cpu.url, instances.slice(0, 1), calls),
        '64': await timeCalls(cpu.url, batch, calls),
      },
      checked: {
        '1': await timeCalls(checked.url, instances.slice(0, 1), calls),
        '64': await timeCalls(checked.url, batch, calls),
      },
    };
    const report: GpuReport = {
      model: manifest.name,
      version: manifest.version,
      gpu: gpu.name,
      provider,
      mode: o.image ? 'image' : 'host',
      placement,
      tolerance: golden.tolerance,
      maxAbsDiff: compared.maxAbsDiff,
      latency,
      measuredAt: new Date().toISOString(),
      command: `${COMMAND} ${argv.join(' ')}`.trim(),
    };
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);

    const row = (name: string, l: Record<string, Latency>) =>
      `  ${name.padEnd(8)} 1 row: p50 ${l['1']?.p50Ms} ms, p99 ${l['1']?.p99Ms} ms   64 rows: p50 ${l['64']?.p50Ms} ms, p99 ${l['64']?.p99Ms} ms`;
    console.log(
      `${manifest.name} v${manifest.version}, ${instances.length} golden rows, ${calls} timed calls each:`,
    );
    console.log(
      `  placement: ${JSON.stringify(placement)} (${Math.round(share.share * 100)}% of nodes on CUDA)`,
    );
    console.log(
      `  largest difference from CPU: ${compared.maxAbsDiff.toExponential(2)} (tolerance ${golden.tolerance})`,
    );
    console.log(row('cpu', latency.cpu));
    console.log(row(`${provider}*`, latency.checked));
    console.log(`  (* the container checked${o.image ? `: the ${IMAGE_TAG} image` : ''})`);
    console.log(`Report: ${o.out}`);
    if (failures.length > 0) {
      console.error(`error: the ${provider} path failed its check:\n  ${failures.join('\n  ')}`);
      return 1;
    }
    console.log(`ok: the ${provider} path ran the model and matched CPU within ${golden.tolerance}.`);
    return 0;
  } finally {
    clearTimeout(deadline);
    await stopAll();
  }
}

if (import.meta.main) await runMain(() => main(process.argv.slice(2)));
