/**
 * A model's record in the store: its published versions (each a package digest) and its traffic
 * policy, in the same format as a local aliases.json. One record per model, changed only by a
 * conditional write on its revision, so two releases of one model cannot interleave, and a
 * release of one model never touches another's record.
 */
import * as z from 'zod';
import { formatIssues } from '../../protocol/issues.ts';
import { MODEL_NAME, VERSION } from '../manifest/names.ts';
import { type AliasesFile, aliasesFileSchema, targetVersions } from '../traffic.ts';
import { DIGEST } from './package.ts';

/**
 * How many versions one record keeps: a DynamoDB item is at most 400 KB (AWS rule
 * dynamodb-item-size); 1,000 versions of about 75 bytes and the reason stay under 100 KB.
 */
export const MAX_RECORD_VERSIONS = 1000;

export const modelRecordSchema = z
  .object({
    model: z.string().regex(MODEL_NAME),
    /** 1 for the first write, one more for each write after. */
    revision: z.number().int().min(1),
    versions: z
      .record(z.string().regex(VERSION, 'must name a version, e.g. "2"'), z.string().regex(DIGEST))
      .refine((v) => Object.keys(v).length <= MAX_RECORD_VERSIONS, {
        message: `at most ${MAX_RECORD_VERSIONS} versions per model`,
      }),
    aliases: aliasesFileSchema,
    /** Who wrote it and why: infera's audit trail (also kept per revision, see ModelStore.history). */
    updatedAt: z.string(),
    reason: z.string().max(500),
  })
  .superRefine((r, ctx) => {
    for (const [alias, target] of Object.entries(r.aliases)) {
      for (const v of targetVersions(target)) {
        if (!(v in r.versions))
          ctx.addIssue({
            code: 'custom',
            path: ['aliases', alias],
            message: `names version ${v}, which is not published (published: ${Object.keys(r.versions).join(', ') || 'none'})`,
          });
      }
    }
  });

export type ModelRecord = z.infer<typeof modelRecordSchema>;

/** A stored record checked against the schema; the problems name the model and the field. */
export function parseRecord(json: unknown, where: string): { record?: ModelRecord; problems: string[] } {
  const parsed = modelRecordSchema.safeParse(json);
  if (parsed.success) return { record: parsed.data, problems: [] };
  return { problems: formatIssues(parsed.error).map((l) => `${where}: ${l}`) };
}

/** The record after a change: the next revision, stamped with when and why. */
export function nextRecord(
  before: ModelRecord | undefined,
  model: string,
  change: { versions?: Record<string, string>; aliases?: AliasesFile },
  reason: string,
  now: Date = new Date(),
): ModelRecord {
  return {
    model,
    revision: (before?.revision ?? 0) + 1,
    versions: change.versions ?? before?.versions ?? {},
    aliases: change.aliases ?? before?.aliases ?? {},
    updatedAt: now.toISOString(),
    reason: reason.slice(0, 500),
  };
}

/** Versions in numeric order. */
export function versionsOf(record: ModelRecord): string[] {
  return Object.keys(record.versions).sort((a, b) => Number(a) - Number(b));
}
