import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A copy of a staged function bundle that resolves onnxruntime-node from the layer's folder, as
 * Lambda does from /opt: import its index.mjs to run the handler as deployed. Returns the copy.
 */
export function lambdaLike(codeDir: string, layerDir: string, under: string = tmpdir()): string {
  const dir = mkdtempSync(join(under, 'infera-task-'));
  cpSync(codeDir, join(dir, 'task'), { recursive: true });
  symlinkSync(join(layerDir, 'nodejs', 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'task');
}

/** What a bundled handler reads besides its own settings: quiet Powertools, a region, test credentials. */
export const LAMBDA_TEST_ENV = {
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_TRACE_ENABLED: 'false',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
} as const;
