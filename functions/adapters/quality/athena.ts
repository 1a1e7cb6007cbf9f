/**
 * The quality engine on AWS: Athena runs the quality SQL over the partitioned JSON Lines in S3,
 * in the stack's workgroup (its result location, encryption and bytes-scanned cap). Parameters
 * go as execution parameters, strings quoted as Athena requires, never spliced into the SQL.
 */
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { qualityLimitOf } from '#core/aws/quality-rules.ts';
import type { QualityEngine } from '#core/ports.ts';
import type { QualityRow } from '#core/quality/sql.ts';

/** Rows GetQueryResults returns per page at most (AWS rule athena-results-page). */
const PAGE = qualityLimitOf('athena-results-page');
/** An execution parameter's longest text (AWS rule athena-execution-parameter). */
const MAX_PARAMETER = qualityLimitOf('athena-execution-parameter');
/** The most result rows read back; the aggregates stay far below it (sql.ts). */
const MAX_ROWS = 2_000_000;

export class AthenaQualityEngine implements QualityEngine {
  readonly name = 'athena' as const;
  readonly #client: AthenaClient;
  readonly #workgroup: string;
  readonly #database: string;
  readonly #pollMs: number;
  readonly #deadline: () => number;

  constructor(o: {
    client: AthenaClient;
    workgroup: string;
    database: string;
    pollMs?: number;
    /** Epoch ms by which the query must have finished (the invocation's deadline). */
    deadline: () => number;
  }) {
    this.#client = o.client;
    this.#workgroup = o.workgroup;
    this.#database = o.database;
    this.#pollMs = o.pollMs ?? 1000;
    this.#deadline = o.deadline;
  }

  async query(sql: string, params: readonly (string | number)[]): Promise<readonly QualityRow[]> {
    const values = params.map(athenaParameter);
    const started = await this.#client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: this.#workgroup,
        QueryExecutionContext: { Database: this.#database },
        ExecutionParameters: values,
      }),
    );
    const id = started.QueryExecutionId;
    if (!id) throw new Error('Athena started no query');
    for (;;) {
      const { QueryExecution: q } = await this.#client.send(
        new GetQueryExecutionCommand({ QueryExecutionId: id }),
      );
      const state = q?.Status?.State;
      if (state === 'SUCCEEDED') break;
      if (state === 'FAILED' || state === 'CANCELLED')
        throw new Error(
          `Athena query ${id} ${state.toLowerCase()}: ${q?.Status?.StateChangeReason ?? 'no reason given'}`,
        );
      if (Date.now() + this.#pollMs > this.#deadline())
        throw new Error(`Athena query ${id} was still ${state ?? 'queued'} at the function's deadline`);
      await new Promise((r) => setTimeout(r, this.#pollMs));
    }
    const rows: QualityRow[] = [];
    let token: string | undefined;
    let names: string[] | undefined;
    do {
      const page = await this.#client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: PAGE, NextToken: token }),
      );
      names ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      const data = page.ResultSet?.Rows ?? [];
      // The first row of the first page is the header.
      for (const [i, r] of data.entries()) {
        if (token === undefined && i === 0) continue;
        const v: Record<string, string | undefined> = {};
        (r.Data ?? []).forEach((d, j) => {
          v[names?.[j] ?? ''] = d.VarCharValue;
        });
        rows.push(rowOf(v));
      }
      if (rows.length > MAX_ROWS) throw new Error(`Athena query ${id} returned more than ${MAX_ROWS} rows`);
      token = page.NextToken;
    } while (token);
    return rows;
  }
}

/** A parameter as Athena takes it: a number as written, a string quoted (AWS rule athena-execution-parameter). */
export function athenaParameter(p: string | number): string {
  const text = typeof p === 'number' ? String(p) : `'${p.replace(/'/g, "''")}'`;
  if (text.length > MAX_PARAMETER)
    throw new RangeError(
      `an Athena execution parameter is at most ${MAX_PARAMETER} characters; this one is ${text.length}`,
    );
  return text;
}

const num = (s: string | undefined) => (s === undefined || s === '' ? null : Number(s));

function rowOf(v: Record<string, string | undefined>): QualityRow {
  return {
    kind: (v.kind ?? '') as QualityRow['kind'],
    version: v.version ?? null,
    k1: v.k1 ?? null,
    k2: v.k2 ?? null,
    n: Number(v.n ?? 0),
    x: num(v.x),
    s1: num(v.s1),
    s2: num(v.s2),
  };
}
