/**
 * The running platforms' info files: which models folder each `npm start` serves and where. The
 * CLI's local commands (release, promote, shadow, rollback, deployments, init, cost) read them, so
 * they act on the folder the platform serves even when it was started with --models. One file per
 * platform, `.infera/platforms/<pid>.json`, written at start and removed at stop; a reader ignores
 * the file of a process that is gone, so a platform killed without its stop leaves nothing wrong.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CliError } from '../../cli/common.ts';

/** The folder of the info files, unless INFERA_INFO_DIR names another (each test process has its own). */
export const infoDir = (): string => resolve(process.env.INFERA_INFO_DIR ?? join('.infera', 'platforms'));

const infoSchema = z.object({
  pid: z.number().int(),
  url: z.string(),
  modelsDir: z.string(),
  /** The S3 + SQS emulator, and the bucket ground-truth files go to (infera feedback submit). */
  awsEndpoint: z.string().optional(),
  qualityBucket: z.string().optional(),
});
export type PlatformInfo = z.infer<typeof infoSchema>;

/** Writes this platform's info file atomically (a reader never sees half of it). */
export function writeInfoFile(info: PlatformInfo, dir = infoDir()): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${info.pid}.json`);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Removes this process's info file. */
export function removeInfoFile(dir = infoDir()): void {
  rmSync(join(dir, `${process.pid}.json`), { force: true });
}

/** The platforms running now, from their info files (a bad file or a dead process is skipped). */
export function runningPlatforms(dir = infoDir()): PlatformInfo[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const out: PlatformInfo[] = [];
  for (const name of names) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    } catch {
      continue;
    }
    const info = infoSchema.safeParse(parsed).data;
    if (info && `${info.pid}.json` === name && alive(info.pid)) out.push(info);
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The models folder a local command acts on: --models or $MODELS_DIR when given, else the folder
 * the platforms running from this working folder serve, else ./models. `servedBy` is the
 * platform's URL when a running platform chose it. Platforms serving different folders are
 * ambiguous: the command is refused, listing them, rather than guessing.
 */
export function localModelsDir(flag: string | undefined): { dir: string; servedBy?: string } {
  const named = flag ?? process.env.MODELS_DIR;
  if (named !== undefined) return { dir: named };
  const running = runningPlatforms();
  const folders = [...new Set(running.map((p) => p.modelsDir))];
  if (folders.length > 1)
    throw new CliError(
      `${running.length} platforms run from this folder, serving different models folders:`,
      [...running.map((p) => `${p.url} serves ${p.modelsDir}`), 'Say which with --models <dir>.'],
      2,
    );
  const first = running[0];
  if (first) return { dir: first.modelsDir, servedBy: first.url };
  return { dir: 'models' };
}
