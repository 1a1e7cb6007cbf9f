/**
 * Client-controlled text in the local platform's plain-text log lines ([gateway], [s3]): escaped,
 * so a key or a path cannot forge a line or hide in control characters, and shortened; a query
 * string keeps its parameter names and never its values.
 */

/** Control characters, DEL, and the Unicode line and paragraph separators, as \u escapes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** `text` with unprintable characters escaped, and cut to `max` characters. */
export function printable(text: string, max = 200): string {
  const escaped = text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}…(${escaped.length} chars)` : escaped;
}

/** A request's path for the log: escaped, with the query's names only (`?model=…&version=…`). */
export function loggedUrl(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  if (q < 0) return printable(path);
  const names = raw
    .slice(q + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=')[0] ?? ''}=…`);
  return `${printable(path)}?${printable(names.join('&'), 100)}`;
}
