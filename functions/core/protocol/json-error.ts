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
