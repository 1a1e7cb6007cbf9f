/**
 * GPU time for `infera cost`: the report `npm run test:gpu` writes, read and checked, and turned
 * into the times that price a version's GPU route.
 */
import { existsSync, readFileSync } from 'node:fs';
import type * as z from 'zod';
import type { AcceleratorTiming } from '#core/cost/estimate.ts';
import { GPU_REPORT, gpuReportSchema } from '../scripts/lib/gpu-check.ts';
import { CliError } from './common.ts';

export { GPU_REPORT };

/** What cost needs of the report (test:gpu writes the whole gpuReportSchema). */
const reportSchema = gpuReportSchema.pick({
  model: true,
  version: true,
  gpu: true,
  provider: true,
  mode: true,
  placement: true,
  latency: true,
  measuredAt: true,
});
export type GpuTimes = z.infer<typeof reportSchema>;

/**
 * The test:gpu report at `file`, or undefined when the default file does not exist. A file named
 * with --gpu-report must exist and be a report; a report of a CPU-only run is not GPU time.
 */
export function readGpuReport(file: string, named: boolean): GpuTimes | undefined {
  if (!existsSync(file)) {
    if (!named) return undefined;
    throw new CliError(`No test:gpu report at ${file}.`, [
      'Run npm run test:gpu on a GPU machine, then copy its .infera/gpu-check.json here.',
    ]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    raw = { notJson: (err as Error).message };
  }
  const parsed = reportSchema.safeParse(raw);
  if (!parsed.success && !named) {
    console.error(
      `warning: ${file} is not a test:gpu report; GPU routes are priced at CPU time. Run npm run test:gpu again, or delete it.`,
    );
    return undefined;
  }
  if (!parsed.success) {
    throw new CliError(`${file} is not a test:gpu report:`, [
      ...parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      'Write it with npm run test:gpu.',
    ]);
  }
  return parsed.data;
}

/** The GPU times of one version, at 1 row and at the report's batch, when the report is of it. */
export function gpuTimings(
  report: GpuTimes | undefined,
  model: string,
  version: string,
): { readonly single?: AcceleratorTiming; readonly batched?: AcceleratorTiming } {
  if (report?.provider !== 'cuda' || report.model !== model || report.version !== version) return {};
  const source = `test:gpu on ${report.gpu}, ${report.measuredAt.slice(0, 10)}`;
  const at = (rows: string): AcceleratorTiming | undefined => {
    const l = report.latency.checked[rows];
    return l ? { rows: Number(rows), p50Ms: l.p50Ms, p99Ms: l.p99Ms, source } : undefined;
  };
  const single = at('1');
  const batched = Object.keys(report.latency.checked)
    .filter((r) => r !== '1')
    .map(at)
    .find(Boolean);
  return { ...(single ? { single } : {}), ...(batched ? { batched } : {}) };
}
