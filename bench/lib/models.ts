import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goldenSchema } from '#core/model/golden.ts';
import { ModelRegistry, type ModelVersion } from '#core/model/registry.ts';

export const MODELS = new URL('../../models', import.meta.url).pathname;

/** A model's live version, resolved by the registry the functions use (aliases.json and all). */
export async function liveVersion(model: string): Promise<ModelVersion> {
  return (await ModelRegistry.load(MODELS, { only: [model] })).resolve(model);
}

/** The stored inputs of a version's golden fixture: the rows every benchmark sends. */
export function goldenInstances(versionDir: string): Record<string, unknown>[] {
  const raw = JSON.parse(readFileSync(join(versionDir, 'fixtures', 'golden.json'), 'utf8'));
  return goldenSchema.parse(raw).instances as Record<string, unknown>[];
}
