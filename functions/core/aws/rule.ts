/** One AWS rule, as AWS_RULES (rules.ts) holds it; the constants the rule tables share. */

export interface AwsRule {
  /** What AWS enforces, in one sentence. */
  readonly rule: string;
  /** The number, in `unit`, where the rule is a limit. */
  readonly limit?: number;
  readonly unit?: 'bytes' | 'MB' | 'seconds' | 'ms' | 'count' | 'executions';
  /** What infera does about it, and what a user changes when it bites. */
  readonly infera: string;
  /** The AWS page the rule comes from. */
  readonly source: { readonly title: string; readonly url: string };
  /** When the page was read (YYYY-MM-DD). */
  readonly read: string;
}

export const MIB = 1024 * 1024;
export const READ = '2026-12-06';
/** When the accelerator and image-build rules were read. */
export const READ_ACCELERATORS = '2026-12-07';
