/**
 * JSON bodies, read the same way by every transport (the Lambda edge, the serving container):
 * parsing that refuses what this API never takes (a "__proto__" key, nesting past
 * MAX_JSON_DEPTH), and messages that say where the JSON goes wrong without quoting it.
 */
import { invalid, ValidationError } from '../errors.ts';

/** How deep a request body's arrays and objects may nest: a rank-8 tensor in v2 needs about 12. */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses a parsed body nested deeper than `limit`, walking it without recursion: one check at the
 * edge for every route, so no later step (a copy, JSON.stringify for an endpoint call) meets a
 * depth it cannot handle. A "__proto__" key is refused while parsing (functions/http/body.ts).
 */
export function checkJsonDepth(value: unknown, limit = MAX_JSON_DEPTH): void {
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, depth] = top;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) {
      invalid(
        `Body nests arrays or objects more than ${limit} levels deep; no field of this API needs that. Flatten it.`,
      );
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
}

/**
 * Where a body stops being JSON, without quoting it: V8's messages include an excerpt of the
 * body, and these messages go to the caller and the logs, where payload values must not.
 */
export function jsonErrorWhere(err: Error, text: string): string {
  const at = /position (\d+)/.exec(err.message)?.[1];
  const where = at !== undefined ? ` at byte ${at}` : '';
  if (/end of (JSON )?input|Unterminated/i.test(err.message))
    return `it ends before the JSON is complete; ${text.length} bytes`;
  return `a character JSON does not allow${where}, e.g. NaN, a single quote or a form-encoded body; ${text.length} bytes`;
}

/** middy's http-json-body-parser refuses "__proto__" keys this way: as a key, never as a value. */
function refuseProto(key: string, value: unknown): unknown {
  if (key === '__proto__')
    throw new ValidationError(
      'Body has a field named "__proto__"; no field of this API has that name. Remove it.',
    );
  return value;
}

/**
 * Only a body that spells "__proto__" (or escapes a character, which could) pays for the reviver.
 * Two substring searches, not a regex: on a 2.9 MB tensor body 0.15 ms against 0.64 ms.
 */
const mayHoldProto = (text: string) => text.includes('__proto__') || text.includes('\\u');

/**
 * Parses a JSON body: refuses a "__proto__" key with a JSON reviver (JSON.parse keeps it as an own
 * key, but any copy turns it into a prototype), nesting past MAX_JSON_DEPTH, and names where
 * invalid JSON goes wrong without quoting it. `what` names the text in messages.
 */
export function parseJson(text: string, what = 'Body', hint = ''): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, mayHoldProto(text) ? refuseProto : undefined);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`${what} is not valid JSON (${jsonErrorWhere(errorOf(err), text)}).${hint}`);
  }
  checkJsonDepth(parsed);
  return parsed;
}

function errorOf(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * JSON.stringify's replacer for instances that carry file bytes (a raw image body stays bytes
 * until its decoder): each becomes `{"b64": ...}`, as a JSON client sends a file. It reads the
 * holder's own value, since a Buffer's toJSON has already run by the time `value` arrives.
 */
export function filesAsBase64(this: unknown, key: string, value: unknown): unknown {
  const original = typeof this === 'object' && this !== null ? Reflect.get(this, key) : undefined;
  return original instanceof Uint8Array
    ? { b64: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') }
    : value;
}
