import { type Summary, summarize } from './stats.ts';

/** How the suite runs: `quick` is the CI smoke mode (tiny sizes, no judgement of timings). */
export interface BenchOptions {
  readonly quick: boolean;
  /** One line of progress on stderr. */
  readonly progress: (line: string) => void;
}

/** One measured figure, compared with its baseline from the same run. */
export interface Figure {
  /** e.g. "added latency p50, batch 1". */
  readonly label: string;
  readonly unit: string;
  readonly platform: Summary;
  readonly baseline?: Summary;
  /** What the target is about: platform/baseline, platform−baseline, or the platform figure alone. */
  readonly compare: 'ratio' | 'difference' | 'absolute';
  /** The compared value (a ratio, a difference in `unit`, or the platform figure). */
  readonly value: Summary;
  readonly target?: { readonly text: string; readonly met: boolean };
}

export interface BenchResult {
  readonly id: string;
  readonly title: string;
  readonly baseline: string;
  readonly target: string;
  readonly figures: readonly Figure[];
  /** How the figures were taken. */
  readonly notes: readonly string[];
  /** What limits this benchmark's missed targets, from profiles; shown only when one is missed. */
  readonly limits?: readonly string[];
  readonly seconds: number;
}

export type Bench = (opts: BenchOptions) => Promise<Omit<BenchResult, 'seconds'>>;

/** A figure measured once and reported as it is (no baseline), with its target if it has one. */
export function absolute(label: string, unit: string, x: number, target?: Figure['target']): Figure {
  return {
    label,
    unit,
    platform: summarize([x]),
    compare: 'absolute',
    value: summarize([x]),
    ...(target ? { target } : {}),
  };
}
