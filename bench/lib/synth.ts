import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferaStack } from '../../infra/stacks/infera-stack.ts';

let synth: Promise<{ stack: InferaStack; outdir: string }> | undefined;

/**
 * The deployable app, synthesized once per bench run into a temporary folder, exactly as
 * `cdk synth` builds it: B5 weighs its bundles and layer, and B4 cold-starts them.
 */
export function synthesized(): Promise<{ stack: InferaStack; outdir: string }> {
  synth ??= (async () => {
    const { buildApp } = await import('../../infra/app.ts');
    const outdir = mkdtempSync(join(tmpdir(), 'infera-bench-synth-'));
    const { app, stack } = await buildApp({ outdir });
    app.synth();
    return { stack, outdir };
  })();
  return synth;
}

/** Removes the synthesized app, if one was made. */
export async function cleanSynth(): Promise<void> {
  if (!synth) return;
  const { outdir } = await synth.catch(() => ({ outdir: undefined }));
  if (outdir) rmSync(outdir, { recursive: true, force: true });
}
