/** A model's aliases.json: read, checked against the versions present, turned into its policy. */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { codeOf, messageOf } from '../../errors.ts';
import { formatIssues } from '../../protocol/issues.ts';
import type { Aliases } from '../manifest.ts';
import { relPath as rel } from '../paths.ts';
import {
  type AliasesFile,
  aliasesFileSchema,
  plainAliases,
  policyOf,
  type TrafficPolicy,
  targetVersions,
} from '../traffic.ts';
import type { ModelEntry, ModelVersion } from '../types.ts';

/**
 * Re-reads one model's aliases.json. Returns the new aliases and policy when the file is valid,
 * and the problems when it is not (the caller keeps serving as before).
 */
export async function readAliases(
  root: string,
  entry: ModelEntry,
): Promise<{ loaded?: { aliases: Aliases; policy: TrafficPolicy }; problems: string[] }> {
  const problems: string[] = [];
  const loaded = await loadAliases(
    join(root, entry.name),
    entry.versions,
    entry.versions.map((v) => v.version),
    problems,
    rel,
  );
  return { ...(loaded ? { loaded } : {}), problems };
}

export async function loadAliases(
  dir: string,
  versions: readonly ModelVersion[],
  present: readonly string[],
  problems: string[],
  rel: (p: string) => string,
): Promise<{ aliases: Aliases; policy: TrafficPolicy } | undefined> {
  const path = join(dir, 'aliases.json');
  const latest = versions.at(-1)?.version;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    if (codeOf(err) === 'ENOENT') {
      // No aliases file: `live` follows the newest version, the least surprising default.
      if (!latest) return undefined;
      const policy = policyOf({}, latest);
      return { aliases: plainAliases({}, policy), policy };
    }
    problems.push(`${rel(path)}: not valid JSON (${messageOf(err)}); expected e.g. {"live": "1"}`);
    return undefined;
  }
  const parsed = aliasesFileSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const line of formatIssues(parsed.error)) problems.push(`${rel(path)}: ${line}`);
    return undefined;
  }
  return checkAliases(parsed.data, present, latest, problems, rel(path));
}

/**
 * A parsed aliases file checked against the versions present, as its policy: from aliases.json,
 * or from a model's record in the store. `where` names it in each problem.
 */
export function checkAliases(
  file: AliasesFile,
  present: readonly string[],
  latest: string | undefined,
  problems: string[],
  where: string,
): { aliases: Aliases; policy: TrafficPolicy } | undefined {
  const known = [...present].sort((a, b) => Number(a) - Number(b));
  const before = problems.length;
  for (const [alias, target] of Object.entries(file)) {
    for (const v of targetVersions(target)) {
      if (!known.includes(v)) {
        problems.push(
          `${where}: alias "${alias}" points to version "${v}", which does not exist (known: ${known.join(', ') || 'none'})`,
        );
      }
    }
  }
  if (problems.length > before) return undefined;
  const policy = policyOf(file, latest);
  return { aliases: plainAliases(file, policy), policy };
}
