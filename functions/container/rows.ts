/**
 * The rows SageMaker batch transform sends a container, as v1 instances: CSV (with or without a
 * header naming the features, read by the batch pipeline's row decoder) and JSON Lines.
 */
import { createRowDecoder } from '#core/batch/rows.ts';
import { ValidationError } from '#core/errors.ts';
import type { ModelVersion } from '#core/model/registry.ts';
import { parseJson } from '#core/protocol/json.ts';

/** The JSON Lines media types: SageMaker batch transform sends records this way (MULTI_RECORD). */
export const JSON_LINES = new Set([
  'application/jsonlines',
  'application/x-ndjson',
  'application/json-lines',
]);

/** CSV in: one row per line, feature order, with or without a header naming the features. */
export function csvInstances(mv: ModelVersion, text: string): Record<string, unknown>[] {
  const m = mv.manifest;
  if (m.inputs.kind !== 'tabular')
    throw new ValidationError(`Model '${mv.name}' takes tensors; send application/json.`);
  const names = m.inputs.features.map((f) => f.name);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = lines[0]?.replace(/^\uFEFF/, '');
  if (first === undefined) throw new ValidationError('Body is empty; send one CSV row per line.');
  const headed = first.split(',')[0]?.trim() === names[0];
  const columns = headed ? first.split(',').map((c) => c.trim()) : names;
  const decoder = createRowDecoder(m, 'csv', { columns });
  const rows: Record<string, unknown>[] = [];
  const problems: string[] = [];
  lines.slice(headed ? 1 : 0).forEach((line, i) => {
    const d = decoder.decode(line);
    if (d.ok) rows.push(d.instance);
    else problems.push(`line ${i + 1 + (headed ? 1 : 0)}: ${d.error}`);
  });
  if (problems.length > 0) {
    throw new ValidationError(
      `${problems.length} CSV row(s) are invalid; first: ${problems[0]}`,
      problems.slice(0, 100),
    );
  }
  return rows;
}

/**
 * A JSON Lines body as its rows, one instance object a line; undefined for a body that is one
 * JSON request ({"instances"} or {"inputs"}) sent with a JSON Lines type, which is read as JSON.
 */
export function jsonLines(body: Buffer): Record<string, unknown>[] | undefined {
  const lines = body
    .toString('utf8')
    .split(/\r?\n/)
    .map((l, i) => ({ line: l, n: i + 1 }))
    .filter(({ line }) => line.trim() !== '');
  if (lines.length === 0) throw new ValidationError('Body is empty; send one JSON object a line.');
  const rows = lines.map(({ line, n }) => {
    const row = parseJson(line, `Line ${n}`);
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new ValidationError(`Line ${n} is not a JSON object; send one instance object a line.`);
    return { ...row };
  });
  const only = rows.length === 1 ? rows[0] : undefined;
  if (only && ('instances' in only || 'inputs' in only)) return undefined;
  return rows;
}
