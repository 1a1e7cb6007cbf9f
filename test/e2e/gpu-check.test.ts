/**
 * `npm run test:gpu` on a machine without a GPU: it refuses with its reason, and with
 * `--provider cpu` every step up to the CUDA call runs (containers, fixtures, placement from ONNX
 * Runtime's profile, the comparison, the timings, the report), against two CPU containers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  compareAnswers,
  cudaShare,
  findGpu,
  type GpuReport,
  maxAbsDiff,
} from '../../scripts/lib/gpu-check.ts';
import { copyModels, editJson, run } from '../helpers.ts';

let models: string;
let modelDir: string;
before(async () => {
  models = await copyModels();
  modelDir = join(models, 'fraud-detector-xl', '1');
});
after(() => rm(models, { recursive: true, force: true }));

const gpuCheck = (...args: string[]) => run(process.execPath, ['scripts/gpu-check.ts', ...args]);

describe('finding a GPU', () => {
  it('names the GPU nvidia-smi lists, accepts the device alone, and gives the way on when there is none', () => {
    assert.deepEqual(findGpu({ nvidiaSmi: 'NVIDIA A10G, 550.127.05\n', device: true }), {
      found: true,
      name: 'NVIDIA A10G, driver 550.127.05',
    });
    assert.equal(findGpu({ nvidiaSmi: undefined, device: true }).found, true);
    const none = findGpu({ nvidiaSmi: undefined, device: false });
    assert.equal(none.found, false);
    assert.match(none.found ? '' : none.why, /No NVIDIA GPU is visible here.*--provider cpu/);
  });
});

describe('comparing the CUDA answers', () => {
  it('passes answers within the tolerance and names the row and field beyond it', () => {
    const cpu = [{ label: 'legit', score: 0.1, probabilities: { legit: 0.9, fraud: 0.1 } }];
    const near = [{ label: 'legit', score: 0.1004, probabilities: { legit: 0.8996, fraud: 0.1004 } }];
    assert.deepEqual(compareAnswers(cpu, near, cpu, 0.001).problems, []);
    assert.ok(Math.abs(maxAbsDiff(cpu, near) - 0.0004) < 1e-12);
    const far = [{ label: 'fraud', score: 0.6, probabilities: { legit: 0.4, fraud: 0.6 } }];
    const { problems } = compareAnswers(cpu, far, cpu, 0.001);
    assert.ok(problems.some((p) => p.startsWith('cuda vs cpu: predictions[0].label')));
    assert.ok(problems.some((p) => p.startsWith('cuda vs golden: predictions[0].score')));
  });

  it('counts the share of nodes the CUDA provider ran', () => {
    assert.deepEqual(cudaShare({ CUDAExecutionProvider: 3, CPUExecutionProvider: 1 }), {
      nodes: 3,
      share: 0.75,
    });
    assert.deepEqual(cudaShare({}), { nodes: 0, share: 0 });
  });
});

describe('npm run test:gpu without a GPU', () => {
  it('exits 1 and says why, and how to check the script here', async (t) => {
    const smi = spawnSync('nvidia-smi', ['-L']);
    if (smi.status === 0 || existsSync('/dev/nvidia0')) return t.skip('this machine has a GPU');
    const r = await gpuCheck('--model', modelDir, '--out', join(models, 'never.json'));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /No NVIDIA GPU is visible here/);
    assert.match(r.stderr, /npm run test:gpu -- --provider cpu/);
  });

  it('runs every step against two CPU containers with --provider cpu and writes the report', async () => {
    const out = join(models, 'gpu-check.json');
    const r = await gpuCheck('--provider', 'cpu', '--calls', '3', '--model', modelDir, '--out', out);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok: the cpu path ran the model and matched CPU within 0.001/);
    const report = JSON.parse(await readFile(out, 'utf8')) as GpuReport;
    assert.equal(report.provider, 'cpu');
    assert.equal(report.model, 'fraud-detector-xl');
    assert.ok((report.placement.CPUExecutionProvider ?? 0) > 0, JSON.stringify(report.placement));
    assert.equal(report.maxAbsDiff, 0);
    for (const side of [report.latency.cpu, report.latency.checked]) {
      assert.deepEqual(Object.keys(side).sort(), ['1', '64']);
      assert.equal(side['1']?.calls, 3);
      assert.ok((side['64']?.p50Ms ?? 0) > 0);
    }
  });

  it('fails when the answers leave the fixtures, naming the field', async () => {
    await editJson(join(modelDir, 'fixtures', 'golden.json'), (g) => {
      const expected = g.expected as { score: number }[];
      (expected[0] as { score: number }).score += 0.5;
    });
    const r = await gpuCheck(
      '--provider',
      'cpu',
      '--calls',
      '1',
      '--model',
      modelDir,
      '--out',
      join(models, 'bad.json'),
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /the cpu path failed its check:\n\s+cuda vs golden: predictions\[0\]\.score/);
  });
});
