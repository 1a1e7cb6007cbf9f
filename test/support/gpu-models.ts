import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyModelsSync } from '../helpers.ts';

/**
 * A copy of the shipped models plus gpu-scorer: fraud-detector-xl's graph and fixtures, declared
 * for a GPU (`"accelerator": "gpu"`, so ml.g5.xlarge). The caller removes the folder.
 */
export function modelsWithGpuScorer(): string {
  const dir = copyModelsSync();
  cpSync(join(dir, 'fraud-detector-xl'), join(dir, 'gpu-scorer'), { recursive: true });
  const file = join(dir, 'gpu-scorer', '1', 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.name = 'gpu-scorer';
  manifest.target = { type: 'sagemaker', accelerator: 'gpu' };
  writeFileSync(file, JSON.stringify(manifest));
  return dir;
}
