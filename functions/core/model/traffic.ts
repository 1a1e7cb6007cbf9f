import * as z from 'zod';
import { nth } from '../checked.ts';
import { VERSION } from './manifest/names.ts';

/**
 * Traffic policies: which version answers a request. A model's `aliases.json` holds them:
 *
 *   {"live": "1"}                               every request to version 1
 *   {"live": {"1": 0.8, "2": 0.2}}              a weighted split of two versions (a canary)
 *   {"live": "1", "shadow": "2"}                version 2 also scores every live request, unseen
 *   {"live": "2", "previous": "1"}              any other key is a plain alias (what rollback uses)
 *
 * This mirrors a Lambda alias: one primary version plus additional version weights.
 */

export const ALIAS_NAME = /^[a-z][a-z0-9-]{0,31}$/;
export const LIVE = 'live';
export const SHADOW = 'shadow';
export const PREVIOUS = 'previous';

const version = z.string().regex(VERSION, 'must name a version, e.g. "2"');
const weight = z.number().gt(0, 'a weight must be above 0').lt(1, 'a weight must be below 1');

const split = z
  .record(version, weight)
  .refine((s) => Object.keys(s).length === 2, {
    message: 'a split names exactly two versions, e.g. {"1": 0.9, "2": 0.1}',
  })
  .refine((s) => Math.abs(Object.values(s).reduce((a, b) => a + b, 0) - 1) < 1e-6, {
    message: 'the weights of a split must add up to 1, e.g. {"1": 0.9, "2": 0.1}',
  });

/** `models/<name>/aliases.json`. */
export const aliasesFileSchema = z
  .record(
    z.string().regex(ALIAS_NAME, 'alias names are lowercase words such as "live" or "staging"'),
    z.union([version, split]),
  )
  .superRefine((file, ctx) => {
    for (const [alias, target] of Object.entries(file)) {
      if (typeof target !== 'string' && alias !== LIVE) {
        ctx.addIssue({
          code: 'custom',
          path: [alias],
          message: `only "live" may be a weighted split; "${alias}" must name one version`,
        });
      }
    }
  });
export type AliasesFile = z.infer<typeof aliasesFileSchema>;

/** The versions one alias names: its version, or both sides of a split. */
export function targetVersions(target: AliasesFile[string]): string[] {
  return typeof target === 'string' ? [target] : Object.keys(target);
}

/** Every version an aliases file names, in its order (a version may repeat). */
export function namedVersions(file: AliasesFile): string[] {
  return Object.values(file).flatMap(targetVersions);
}

export interface WeightedVersion {
  readonly version: string;
  readonly weight: number;
}

/** A model's traffic policy, parsed. `live` is in ascending version order. */
export interface TrafficPolicy {
  /** One version at weight 1, or two that share the traffic. */
  readonly live: readonly WeightedVersion[];
  readonly shadow?: string;
}

/** The policy of a parsed aliases file (live defaults to `fallbackLive`, the newest version). */
export function policyOf(file: AliasesFile, fallbackLive: string | undefined): TrafficPolicy {
  const live = file[LIVE] ?? fallbackLive;
  const weighted: WeightedVersion[] =
    live === undefined
      ? []
      : typeof live === 'string'
        ? [{ version: live, weight: 1 }]
        : Object.entries(live)
            .map(([v, w]) => ({ version: v, weight: w }))
            .sort((a, b) => Number(a.version) - Number(b.version));
  const shadow = file[SHADOW];
  return { live: weighted, ...(typeof shadow === 'string' ? { shadow } : {}) };
}

/**
 * The primary version of a policy: the one that takes the larger share (the lower version on a
 * tie). It is what `live` resolves to where one version must be named: the model list, batch
 * jobs, the deployed function's description.
 */
export function primaryOf(policy: TrafficPolicy): string | undefined {
  let best: WeightedVersion | undefined;
  for (const w of policy.live) if (!best || w.weight > best.weight) best = w;
  return best?.version;
}

/** Plain aliases (name -> one version), with `live` as the primary version. */
export function plainAliases(file: AliasesFile, policy: TrafficPolicy): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alias, target] of Object.entries(file)) if (typeof target === 'string') out[alias] = target;
  const primary = primaryOf(policy);
  if (primary) out[LIVE] = primary;
  return out;
}

/** The aliases file a model's plain aliases and policy came from: what the CLI rewrites. */
export function aliasesFileOf(aliases: Readonly<Record<string, string>>, policy: TrafficPolicy): AliasesFile {
  const live =
    policy.live.length === 1
      ? nth(policy.live, 0).version
      : Object.fromEntries(policy.live.map((w) => [w.version, w.weight]));
  const { [LIVE]: _primary, ...rest } = aliases;
  return { [LIVE]: live, ...rest };
}

/**
 * Picks a version for a point `u` in [0, 1): the split's versions take consecutive slices in
 * ascending order, so raising a newer version's weight only moves callers onto it, never off it.
 */
export function pick(policy: TrafficPolicy, u: number): string {
  let edge = 0;
  for (const w of policy.live) {
    edge += w.weight;
    if (u < edge) return w.version;
  }
  return policy.live.at(-1)?.version ?? '';
}

/**
 * A caller's fixed point in [0, 1), from its routing key: FNV-1a over model and key. The same
 * caller always lands on the same slice, so it sees one version for as long as the split stands.
 */
export function stickyPoint(model: string, key: string): number {
  let h = 0x811c9dc5;
  const s = `${model}\u0000${key}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche so that keys differing in their last character spread over [0, 1).
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 2 ** 32;
}

// ---------------------------------------------------------------- transitions (the CLI commands)

/** A change the lifecycle commands make, or the reason they cannot. */
export type Transition =
  | { readonly ok: true; readonly file: AliasesFile; readonly summary: string }
  | { readonly ok: false; readonly reason: string; readonly fix?: string };

const pct = (w: number) => `${Math.round(w * 1000) / 10}%`;

export function describeLive(policy: TrafficPolicy): string {
  if (policy.live.length === 1) return `version ${policy.live[0]?.version}`;
  return policy.live.map((w) => `${w.version} (${pct(w.weight)})`).join(' + ');
}

function withoutUndefined(file: Record<string, unknown>): AliasesFile {
  return Object.fromEntries(Object.entries(file).filter(([, v]) => v !== undefined)) as AliasesFile;
}

/**
 * `infera release <model> <version> [--canary <percent>]`: send `percent` of live traffic to
 * `version` (all of it without --canary). The current primary is kept as `previous`.
 */
export function release(
  file: AliasesFile,
  policy: TrafficPolicy,
  target: string,
  percent: number | undefined,
): Transition {
  const primary = primaryOf(policy);
  if (percent !== undefined && !(percent > 0 && percent < 100)) {
    return { ok: false, reason: `--canary must be a percentage above 0 and below 100, got ${percent}.` };
  }
  const stable =
    policy.live.length === 2 ? (policy.live.find((w) => w.version !== target)?.version ?? primary) : primary;
  if (percent === undefined || stable === undefined || stable === target) {
    if (policy.live.length === 1 && primary === target) {
      return { ok: false, reason: `live is already version ${target}; nothing changed.` };
    }
    const next = withoutUndefined({
      ...file,
      [LIVE]: target,
      [PREVIOUS]: stable === target ? file[PREVIOUS] : stable,
    });
    return { ok: true, file: next, summary: `live -> version ${target} (all traffic)` };
  }
  const w = Math.round(percent * 100) / 10_000;
  const next = withoutUndefined({
    ...file,
    [LIVE]: { [stable]: Math.round((1 - w) * 10_000) / 10_000, [target]: w },
    [PREVIOUS]: stable,
  });
  return {
    ok: true,
    file: next,
    summary: `live -> ${stable} (${pct(1 - w)}) + ${target} (${pct(w)}, canary)`,
  };
}

/** `infera promote <model>`: the canary (or else the shadow) version takes all live traffic. */
export function promote(file: AliasesFile, policy: TrafficPolicy): Transition {
  if (policy.live.length === 2) {
    const stable = typeof file[PREVIOUS] === 'string' ? file[PREVIOUS] : primaryOf(policy);
    const canary = nth(
      policy.live,
      policy.live.findIndex((w) => w.version !== stable),
    ).version;
    const next = withoutUndefined({ ...file, [LIVE]: canary, [PREVIOUS]: stable });
    return { ok: true, file: next, summary: `live -> version ${canary} (promoted from canary)` };
  }
  if (policy.shadow) {
    const next = withoutUndefined({
      ...file,
      [LIVE]: policy.shadow,
      [PREVIOUS]: primaryOf(policy),
      [SHADOW]: undefined,
    });
    return { ok: true, file: next, summary: `live -> version ${policy.shadow} (promoted from shadow)` };
  }
  return {
    ok: false,
    reason: `live is ${describeLive(policy)} with no canary and no shadow; there is nothing to promote.`,
    fix: 'Start one with: infera release <model> <version> --canary 10',
  };
}

/**
 * `infera rollback <model> [--to <version>]`: all live traffic back to one version at once.
 * From a split, that is the stable side; otherwise `previous`, or else the next lower version.
 * Like every transition it may name any version: the caller checks the result's versions exist.
 */
export function rollback(
  file: AliasesFile,
  policy: TrafficPolicy,
  known: readonly string[],
  to?: string,
): Transition {
  const primary = primaryOf(policy);
  const previous = typeof file[PREVIOUS] === 'string' ? file[PREVIOUS] : undefined;
  let target = to;
  if (!target && policy.live.length === 2) {
    target = previous && policy.live.some((w) => w.version === previous) ? previous : primary;
  }
  if (!target && previous && previous !== primary) target = previous;
  if (!target) target = [...known].reverse().find((v) => Number(v) < Number(primary));
  if (!target) {
    return { ok: false, reason: `live is version ${primary}, the oldest; there is nothing to roll back to.` };
  }
  if (policy.live.length === 1 && primary === target) {
    return { ok: false, reason: `live is already version ${target}; nothing changed.` };
  }
  const next = withoutUndefined({ ...file, [LIVE]: target, [PREVIOUS]: undefined });
  return { ok: true, file: next, summary: `live ${describeLive(policy)} -> version ${target}` };
}

/** `infera shadow <model> <version>` (or `--off`). */
export function setShadow(file: AliasesFile, policy: TrafficPolicy, target: string | undefined): Transition {
  if (target === undefined) {
    if (!policy.shadow) return { ok: false, reason: 'no shadow version is set; nothing changed.' };
    return {
      ok: true,
      file: withoutUndefined({ ...file, [SHADOW]: undefined }),
      summary: `shadow ${policy.shadow} removed`,
    };
  }
  if (policy.live.some((w) => w.version === target)) {
    return {
      ok: false,
      reason: `version ${target} already serves live traffic; a shadow must be another version.`,
    };
  }
  return {
    ok: true,
    file: { ...file, [SHADOW]: target },
    summary: `shadow -> version ${target} (scores every live request; never answers)`,
  };
}
