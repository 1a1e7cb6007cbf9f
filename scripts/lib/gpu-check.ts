/**
 * The pure parts of `npm run test:gpu` (scripts/gpu-check.ts): finding a GPU, comparing the CUDA
 * container's answers with the CPU container's, summarising latency, and the report `infera cost`
 * reads. No processes and no network here, so each part is tested on a machine without a GPU.
 */
import * as z from 'zod';
import { diffWithin } from '#core/model/golden.ts';
import { quantile, sortNumbers } from '../../bench/lib/stats.ts';

/** Where test:gpu writes its report, and where `infera cost` looks for it. */
export const GPU_REPORT = '.infera/gpu-check.json';

/** What the machine shows of an NVIDIA GPU. */
export interface GpuProbe {
  /** `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader` output, or undefined if it failed. */
  readonly nvidiaSmi: string | undefined;
  /** Whether /dev/nvidia0 exists. */
  readonly device: boolean;
}

export type GpuFound =
  | { readonly found: true; readonly name: string }
  | { readonly found: false; readonly why: string };

/** A GPU this process can use, from what the machine shows; the reason when there is none. */
export function findGpu(probe: GpuProbe): GpuFound {
  const first = probe.nvidiaSmi
    ?.split('\n')
    .map((l) => l.trim())
    .find(Boolean);
  if (first) return { found: true, name: first.replace(/,\s*/, ', driver ') };
  if (probe.device) return { found: true, name: 'NVIDIA GPU (/dev/nvidia0; nvidia-smi did not answer)' };
  return {
    found: false,
    why: 'No NVIDIA GPU is visible here: nvidia-smi is missing or failed, and there is no /dev/nvidia0. test:gpu checks the CUDA serving path, so it needs a GPU machine with the NVIDIA driver (for example an EC2 g5.xlarge with the Deep Learning AMI); run it there. To check the script itself on this machine: npm run test:gpu -- --provider cpu',
  };
}

/** The predictions of both containers for the same rows, compared within the fixtures' tolerance. */
export function compareAnswers(
  cpu: unknown,
  gpu: unknown,
  expected: unknown,
  tolerance: number,
): { readonly problems: string[]; readonly maxAbsDiff: number } {
  const problems = [
    ...diffWithin(cpu, gpu, tolerance, 'cuda vs cpu: predictions').slice(0, 5),
    ...diffWithin(expected, gpu, tolerance, 'cuda vs golden: predictions').slice(0, 5),
  ];
  return { problems, maxAbsDiff: maxAbsDiff(cpu, gpu) };
}

/** The largest difference between two answers' numbers, position by position. */
export function maxAbsDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.reduce((m: number, x, i) => Math.max(m, maxAbsDiff(x, b[i])), 0);
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    return Object.entries(a).reduce(
      (m: number, [k, x]) => Math.max(m, maxAbsDiff(x, (b as Record<string, unknown>)[k])),
      0,
    );
  }
  return 0;
}

const latencySchema = z.object({
  calls: z.number(),
  p50Ms: z.number().positive(),
  p99Ms: z.number().positive(),
});
export type Latency = z.infer<typeof latencySchema>;

export function latencyOf(ms: readonly number[]): Latency {
  const sorted = sortNumbers(ms);
  return {
    calls: ms.length,
    p50Ms: +quantile(sorted, 0.5).toFixed(3),
    p99Ms: +quantile(sorted, 0.99).toFixed(3),
  };
}

/** test:gpu's result, kept in GPU_REPORT for `infera cost`: written here, read by cli/cost-gpu.ts. */
export const gpuReportSchema = z.object({
  model: z.string(),
  version: z.string(),
  gpu: z.string(),
  /** The provider the checked container ran: cuda on a GPU, cpu with --provider cpu. */
  provider: z.enum(['cuda', 'cpu']),
  /** How the CUDA side ran: this machine's Node, or the cuda image under Docker. */
  mode: z.enum(['host', 'image']),
  /** Nodes per execution provider in the checked container's first request (ONNX Runtime's profile). */
  placement: z.record(z.string(), z.number()),
  tolerance: z.number(),
  maxAbsDiff: z.number(),
  /** Timed sequential calls, per container and rows per call. */
  latency: z.object({
    cpu: z.record(z.string(), latencySchema),
    checked: z.record(z.string(), latencySchema),
  }),
  measuredAt: z.string(),
  command: z.string(),
});
export type GpuReport = z.infer<typeof gpuReportSchema>;

/** Whether a placement shows the CUDA provider running nodes, and the share it ran. */
export function cudaShare(placement: Readonly<Record<string, number>>): { nodes: number; share: number } {
  const total = Object.values(placement).reduce((a, b) => a + b, 0);
  const nodes = placement.CUDAExecutionProvider ?? 0;
  return { nodes, share: total === 0 ? 0 : nodes / total };
}
