/**
 * A manifest checked at build time. The deployed bundle carries model.checked.json beside each
 * model.json (infra/lib/package-models.ts writes it): the manifest as the schema parsed it, with
 * the sha256 of the model.json bytes it came from. A start-up takes it only while those bytes
 * still hash the same, so a cold start reads an already-checked manifest without running the
 * schema (B4); anything else (npm start, an edited model.json, a bundle from before) parses
 * model.json as always.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../manifest/schema.ts';
import { sha256Hex } from '../package-checks.ts';

export const CHECKED_MANIFEST = 'model.checked.json';

const FORMAT = 1;

export interface CheckedManifest {
  readonly format: typeof FORMAT;
  /** sha256 of the model.json bytes the manifest was parsed from. */
  readonly source: string;
  readonly manifest: Manifest;
}

/** The compact form of a manifest the schema accepted, for the bytes of model.json it came from. */
export function checkedManifest(source: Uint8Array, manifest: Manifest): CheckedManifest {
  return { format: FORMAT, source: sha256Hex(source), manifest };
}

/** The build's checked manifest for these model.json bytes, or undefined (absent, stale, unreadable). */
export async function readCheckedManifest(dir: string, source: Uint8Array): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CHECKED_MANIFEST), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const c = JSON.parse(text) as Partial<CheckedManifest>;
    return c.format === FORMAT && c.source === sha256Hex(source) && c.manifest ? c.manifest : undefined;
  } catch {
    return undefined;
  }
}
