import * as z from 'zod';
import { isRecord, nth } from '../checked.ts';
import { fieldOf, messageOf } from '../errors.ts';

/** fixtures/golden.json: stored inputs and the outputs a correct deployment must return. */
export const goldenSchema = z.object({
  description: z.string().optional(),
  tolerance: z.number().nonnegative().max(1),
  instances: z.array(z.unknown()).min(1),
  expected: z.array(z.unknown()).min(1),
});
export type Golden = z.infer<typeof goldenSchema>;

/** One model version's fixtures, as the pre-traffic hook carries them. */
export interface GoldenCase {
  readonly model: string;
  readonly version: string;
  readonly golden: Golden;
}

/** What the version under test answered for one case. */
export interface GoldenReply {
  readonly status: number;
  readonly body: unknown;
}

export interface GoldenResult {
  readonly model: string;
  readonly version: string;
  readonly ok: boolean;
  /** Paths and numbers only, never whole payloads: these go to the deployment's log. */
  readonly problems: readonly string[];
}

/**
 * Compares an answer with its expectation: numbers within `tolerance`, everything else exactly.
 * Keys the expectation does not mention are ignored, so a new response field is not a failure.
 */
export function diffWithin(expected: unknown, actual: unknown, tolerance: number, path = ''): string[] {
  const at = path || '(root)';
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return [`${at}: expected a number, got ${typeName(actual)}`];
    return Math.abs(expected - actual) <= tolerance
      ? []
      : [`${at}: ${actual} differs from ${expected} by more than ${tolerance}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected an array, got ${typeName(actual)}`];
    if (actual.length !== expected.length)
      return [`${at}: expected ${expected.length} items, got ${actual.length}`];
    return expected.flatMap((e, i) => diffWithin(e, actual[i], tolerance, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return [`${at}: expected an object, got ${typeName(actual)}`];
    return Object.entries(expected).flatMap(([k, e]) =>
      diffWithin(e, isRecord(actual) ? actual[k] : undefined, tolerance, path ? `${path}.${k}` : k),
    );
  }
  return Object.is(expected, actual) ? [] : [`${at}: expected ${String(expected)}, got ${String(actual)}`];
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** Checks one case's reply: a 200 whose predictions match the fixtures within tolerance. */
export function checkGolden(c: GoldenCase, reply: GoldenReply): GoldenResult {
  const problems: string[] = [];
  if (reply.status !== 200) {
    const error = fieldOf(reply.body, 'error');
    problems.push(`status ${reply.status}${typeof error === 'string' ? `: ${error}` : ''}`);
  } else {
    const version = fieldOf(reply.body, 'version');
    if (version !== c.version) problems.push(`answered by version ${String(version)}`);
    const fallback = fallbackOf(reply);
    if (fallback) problems.push(`answered by the fallback ${fallback}, not by the version's endpoint`);
    problems.push(
      ...diffWithin(c.golden.expected, fieldOf(reply.body, 'predictions'), c.golden.tolerance, 'predictions'),
    );
  }
  // A broken model tends to fail every row: the first few say enough.
  const shown = problems.slice(0, 5);
  if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
  return { model: c.model, version: c.version, ok: problems.length === 0, problems: shown };
}

/** The fallback model that answered instead of the version's endpoint, if one did. */
function fallbackOf(reply: GoldenReply): string | undefined {
  const fb = fieldOf(reply.body, 'fallback');
  return fb ? `${String(fieldOf(fb, 'model'))}@${String(fieldOf(fb, 'version'))}` : undefined;
}

/**
 * Whether a reply says the version's SageMaker endpoint is not serving yet: a serverless
 * endpoint's first calls cold-start, and the function answers 503 (circuit open), 504 (timed out)
 * or from its fallback meanwhile.
 */
export function endpointNotWarm(reply: GoldenReply): boolean {
  return (
    reply.status === 503 || reply.status === 504 || (reply.status === 200 && fallbackOf(reply) !== undefined)
  );
}

/**
 * Asks again, with growing pauses, while the endpoint is not warm and the deadline allows: the
 * golden check then judges the endpoint serving, not its cold start. The last reply is what is
 * checked, so an endpoint that never warms fails the check with its own status.
 */
export function untilWarm(
  ask: (c: GoldenCase) => Promise<GoldenReply>,
  opts: {
    readonly deadline: number;
    readonly now?: () => number;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly onWait?: (c: GoldenCase, reply: GoldenReply, waitMs: number) => void;
  },
): (c: GoldenCase) => Promise<GoldenReply> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return async (c) => {
    let pause = 1000;
    for (;;) {
      const reply = await ask(c);
      if (!endpointNotWarm(reply) || now() + pause >= opts.deadline) return reply;
      opts.onWait?.(c, reply, pause);
      await sleep(pause);
      pause = Math.min(pause * 2, 15_000);
    }
  };
}

/**
 * Runs every case through `ask` (one request per model version) and checks each answer, at most
 * `concurrency` at a time; the results come in the cases' order.
 */
export async function runGoldenChecks(
  cases: readonly GoldenCase[],
  ask: (c: GoldenCase) => Promise<GoldenReply>,
  concurrency = 1,
): Promise<GoldenResult[]> {
  const results: GoldenResult[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < cases.length; i = next++) {
      const c = nth(cases, i);
      try {
        results[i] = checkGolden(c, await ask(c));
      } catch (err) {
        results[i] = {
          model: c.model,
          version: c.version,
          ok: false,
          problems: [`could not call the new version: ${messageOf(err)}`],
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, cases.length)) }, worker));
  return results;
}
