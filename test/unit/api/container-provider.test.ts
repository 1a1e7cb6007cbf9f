/**
 * Where the serving container's work runs: ONNX Runtime's own profile of the first request says
 * which execution provider ran each node, and a container told to use CUDA never serves on CPU.
 * This machine has no GPU, so the CUDA side is checked as its refusal; `npm run test:gpu` checks
 * it on a GPU.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gpuVisible, OnnxRuntimeEngine, type Placement, placementOf } from '#adapters/onnxruntime.ts';
import { ROOT, writeEchoModel } from '../../helpers.ts';

let root: string;
let modelDir: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'infera-provider-'));
  modelDir = await writeEchoModel(root);
});
after(() => rm(root, { recursive: true, force: true }));

const placementDirs = async () =>
  (await readdir(tmpdir())).filter((f) => f.startsWith('infera-placement-')).sort();

describe('execution placement', () => {
  it('counts each node once under the provider its kernel events name', () => {
    const profile = [
      { cat: 'Session', name: 'model_loading_array', args: {} },
      { cat: 'Node', name: 'MatMul_0_fence_before', args: { provider: 'CUDAExecutionProvider' } },
      { cat: 'Node', name: 'MatMul_0_kernel_time', args: { provider: 'CUDAExecutionProvider' } },
      { cat: 'Node', name: 'MatMul_0_fence_after', args: { provider: 'CUDAExecutionProvider' } },
      { cat: 'Node', name: 'Relu_1_kernel_time', args: { provider: 'CUDAExecutionProvider' } },
      { cat: 'Node', name: 'ZipMap_2_kernel_time', args: { provider: 'CPUExecutionProvider' } },
      { cat: 'Node', name: 'no_provider', args: {} },
    ];
    assert.deepEqual(placementOf(profile), { CUDAExecutionProvider: 2, CPUExecutionProvider: 1 });
    assert.deepEqual(placementOf({ not: 'a trace' }), {});
  });

  it("reports where the first run's nodes ran, once, and leaves no profile behind", async () => {
    const before = await placementDirs();
    const reports: Placement[] = [];
    const engine = new OnnxRuntimeEngine({ providers: 'cpu', reportPlacement: (p) => reports.push(p) });
    const model = await engine.load(new Uint8Array(await readFile(join(modelDir, 'model.onnx'))), {
      intraOpThreads: 1,
      interOpThreads: 1,
    });
    const feeds = {
      image: { type: 'float32' as const, data: new Float32Array(3), dims: [1, 3, 1, 1] },
      f64: { type: 'float64' as const, data: new Float64Array(2), dims: [1, 2] },
      i32: { type: 'int32' as const, data: new Int32Array(1), dims: [1] },
      i64: { type: 'int64' as const, data: new BigInt64Array(1), dims: [1] },
      flag: { type: 'bool' as const, data: new Uint8Array([1]), dims: [1] },
    };
    assert.equal(engine.placement, undefined, 'nothing is known before a run');
    const out = await model.run(feeds);
    assert.deepEqual(Array.from(out.flag_not?.data as Uint8Array), [0]);
    await model.run(feeds);
    assert.equal(reports.length, 1, 'one report, after the first run');
    assert.deepEqual(reports[0], { CPUExecutionProvider: 5 });
    assert.deepEqual(engine.placement, { CPUExecutionProvider: 5 });
    await model.release();
    assert.deepEqual(await placementDirs(), before, 'the profile folder is removed');
  });
});

/** Starts the real container entry point and collects its output until it exits or `until` holds. */
function container(env: Record<string, string>, until: (out: string) => boolean, ms = 30_000) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = spawn(process.execPath, ['functions/container/serve.ts', 'serve'], {
      cwd: ROOT,
      env: {
        ...process.env,
        SM_MODEL_DIR: modelDir,
        SAGEMAKER_BIND_TO_PORT: '0',
        INFERA_HOST: '127.0.0.1',
        ...env,
      },
    });
    let out = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    const collect = (d: Buffer) => {
      out += d.toString();
      if (until(out)) p.kill('SIGTERM');
    };
    p.stdout.on('data', collect);
    p.stderr.on('data', collect);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('a container told to use CUDA', () => {
  it('fails to start, naming the way out, where no CUDA session can be made, instead of serving on CPU', async (t) => {
    if (gpuVisible()) return t.skip('this machine has a GPU: npm run test:gpu checks the CUDA path');
    const r = await container({ INFERA_EXECUTION_PROVIDER: 'cuda' }, (out) => out.includes('"serving"'));
    assert.equal(r.code, 1, r.out);
    assert.doesNotMatch(r.out, /"message":"serving"/, 'it never reported serving');
    assert.match(r.out, /INFERA_EXECUTION_PROVIDER=cuda, and it will not serve on CPU/);
    assert.match(r.out, /no GPU is visible/);
    assert.match(r.out, /--target cuda/);
  });

  it('serves on CPU with auto here, and says so in its start-up log', async () => {
    const r = await container({ INFERA_EXECUTION_PROVIDER: 'auto' }, (out) => out.includes('"serving"'));
    const line = r.out.split('\n').find((l) => l.includes('"serving"'));
    assert.ok(line, r.out);
    const record = JSON.parse(line) as { provider: string; requested: string };
    assert.equal(record.requested, 'auto');
    assert.equal(record.provider, gpuVisible() ? record.provider : 'cpu');
  });
});
