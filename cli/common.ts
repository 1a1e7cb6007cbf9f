/** What every CLI command shares: errors, the HTTP call to the platform, tables. */

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** A failure to report to the user: message, optional detail lines, exit code. */
export class CliError extends Error {
  readonly details: readonly string[];
  readonly exitCode: number;
  constructor(message: string, details: readonly string[] = [], exitCode = 1) {
    super(message);
    this.details = details;
    this.exitCode = exitCode;
  }
}

export async function api(base: string, path: string, init: RequestInit = {}): Promise<unknown> {
  const url = `${base.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    const c = (err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (err as Error).message;
    throw new CliError(
      `Cannot reach ${base} (${cause}).`,
      base === DEFAULT_URL
        ? [
            'Is the platform running? Start it with: npm start',
            'Or point at a deployed API with --url <url>.',
          ]
        : ['Check --url.'],
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new CliError(
      `${res.status} ${res.statusText} from ${url}, and the body is not JSON: ${text.slice(0, 200)}`,
    );
  }
  if (!res.ok) {
    const e = body as { error?: string; details?: string[]; requestId?: string };
    throw new CliError(`${res.status}: ${e.error ?? res.statusText}`, [
      ...(e.details ?? []),
      ...(e.requestId && res.status >= 500 ? [`request id: ${e.requestId}`] : []),
    ]);
  }
  return body;
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
