import { invalid } from '../errors.ts';

/** How deep a request body's arrays and objects may nest: a rank-8 tensor in v2 needs about 12. */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses a parsed body nested deeper than `limit`, or with a field named "__proto__", walking it
 * without recursion: one check at the edge for every route, so no later step (a copy,
 * JSON.stringify for an endpoint call) meets a depth it cannot handle. JSON.parse keeps
 * "__proto__" as an own key, but copying the object (as validation does) turns it into a
 * prototype and the field vanishes, so it is refused by name. As a value it is only text.
 */
export function checkJsonDepth(value: unknown, limit = MAX_JSON_DEPTH): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) {
      invalid(
        `Body nests arrays or objects more than ${limit} levels deep; no field of this API needs that. Flatten it.`,
      );
    }
    if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) {
      invalid('Body has a field named "__proto__"; no field of this API has that name. Remove it.');
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
}
