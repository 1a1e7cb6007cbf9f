import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * cdk.json's context (feature flags, default settings): what the CDK CLI gives the app, and what
 * `infera cost` reads to know how the stack was laid out. Free of CDK imports.
 */
export function cdkJsonContext(
  root: string = join(dirname(fileURLToPath(import.meta.url)), '..', '..'),
): Record<string, unknown> {
  const file = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return file.context ?? {};
}
