import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '#core/errors.ts';
import { formatIssues } from '#core/manifest.ts';

const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Every setting a handler reads, parsed once from process.env at cold start. */
export const configSchema = z.object({
  MODELS_DIR: z.string().min(1).default('models').describe('Folder holding <name>/<version>/model.json.'),
  MODEL_NAMES: z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    )
    .describe('Comma-separated models this function serves; all when unset.'),
  MAX_INSTANCES: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(1000)
    .describe('Instances per predict request.'),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(6 * 1024 * 1024)
    .default(5 * 1024 * 1024)
    .describe('Request body limit; leaves room for the event envelope inside Lambda 6 MB payload limit.'),
  ORT_INTRA_OP_THREADS: z.coerce.number().int().min(1).max(64).default(Math.min(availableParallelism(), 4)),
  ORT_INTER_OP_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  LOG_PAYLOADS: flag.describe('Log request instances. Off by default: payloads can be personal data.'),
});
export type Config = z.infer<typeof configSchema>;

let cached: Config | undefined;

/** Parses the environment once; a bad value fails the cold start naming the variable and the rule. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env === process.env && cached) return cached;
  const parsed = configSchema.safeParse(env, { reportInput: true });
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  if (env === process.env) cached = parsed.data;
  return parsed.data;
}
