/**
 * CSV, one record per line (RFC 4180 quoting within the line: `"a, b"`, `"say ""hi"""`).
 * A quoted field that spans lines is not supported by byte-range chunking; it is reported as
 * broken quoting on the line where it starts.
 */
export type CsvParse = { ok: true; fields: string[] } | { ok: false; error: string };

export function parseCsvLine(line: string, delimiter = ','): CsvParse {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  if (n === 0) return { ok: true, fields: [''] };
  while (i <= n) {
    if (line[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q === -1) {
          return {
            ok: false,
            error: `broken quoting: the quoted field starting at character ${i + 1} is never closed (a field cannot span lines)`,
          };
        }
        value += line.slice(j, q);
        if (line[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      if (j < n && line[j] !== delimiter) {
        return {
          ok: false,
          error: `broken quoting: unexpected character after the closing quote at character ${j + 1}`,
        };
      }
      fields.push(value);
      i = j + 1;
    } else {
      const d = line.indexOf(delimiter, i);
      const end = d === -1 ? n : d;
      const value = line.slice(i, end);
      if (value.includes('"')) {
        return {
          ok: false,
          error: `broken quoting: a quote inside the unquoted field at character ${i + 1}; quote the whole field and double inner quotes`,
        };
      }
      fields.push(value);
      i = end + 1;
    }
    if (i === n && line[n - 1] === delimiter) {
      fields.push('');
      break;
    }
  }
  return { ok: true, fields };
}

/** Quotes a value for CSV output when it needs it. */
export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
