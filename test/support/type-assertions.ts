/**
 * The type assertions (`x as T`, not `as const`, not import or export renames) in a TypeScript
 * source, found in its code alone: comments and string or template text are blanked first, so
 * a message that says "as JSON" is not counted. A lexer, not a parser: TypeScript 7 has no
 * JavaScript API to walk its syntax tree, and this agrees with one on functions/.
 */

/** The source with comments removed and string and template text blanked to "". */
export function codeOnly(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  const templates: number[] = [];
  let braces = 0;
  while (i < n) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      i++;
      while (i < n && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i++;
      out += '""';
      continue;
    }
    if (c === '`' || (c === '}' && templates.length > 0 && templates.at(-1) === braces)) {
      if (c === '}') templates.pop();
      i++;
      while (i < n && text[i] !== '`') {
        if (text[i] === '\\') {
          i += 2;
          continue;
        }
        if (text[i] === '$' && text[i + 1] === '{') {
          templates.push(braces);
          i += 2;
          break;
        }
        i++;
      }
      if (text[i] === '`') i++;
      out += '""';
      continue;
    }
    if (c === '{') braces++;
    if (c === '}') braces--;
    out += c;
    i++;
  }
  return out;
}

/** Each assertion as `as T…` (the target's first characters), in source order. */
export function typeAssertions(text: string): string[] {
  const code = codeOnly(text);
  const target =
    /[\w)\]>"]\s+as\s+(?!const\b)([\w.$]+(?:<[^>\n]*>)?(?:\[\])*|\{[^}\n]*\}|\[[^\]\n]*\]|\([^)\n]*\))/g;
  return [...code.matchAll(target)]
    .filter((m) => {
      const from = Math.max(code.lastIndexOf('\n', m.index), code.lastIndexOf(';', m.index)) + 1;
      return !/^(import|export)\b/.test(code.slice(from, m.index).trim());
    })
    .map((m) => `as ${m[1] ?? ''}`);
}
