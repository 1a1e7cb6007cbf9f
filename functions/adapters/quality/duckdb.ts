/**
 * The quality engine of the local platform: DuckDB (@duckdb/node-api, its maintained Node package)
 * runs the quality SQL over the JSON Lines of a folder quality log, read in place with hive
 * partitioning. Queries run on DuckDB's own threads: the event loop that answers requests only
 * waits for the result. Never bundled into a Lambda function (infera-function.ts).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { QualityEngine } from '#core/ports.ts';
import type { QualityRow } from '#core/quality/sql.ts';

const PREDICTION_COLUMNS =
  "{id: 'VARCHAR', request: 'VARCHAR', version: 'VARCHAR', ts: 'BIGINT', traffic: 'VARCHAR', label: 'VARCHAR', score: 'DOUBLE', confidence: 'DOUBLE', value: 'DOUBLE'}";
const LABEL_COLUMNS =
  "{id: 'VARCHAR', label: 'VARCHAR', value: 'DOUBLE', at_ms: 'BIGINT', received_ms: 'BIGINT', source: 'VARCHAR'}";

const EMPTY_PREDICTIONS =
  'SELECT * FROM (VALUES (NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::BIGINT, NULL::VARCHAR, NULL::VARCHAR, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE)) t(model, hour, id, request, version, ts, traffic, label, score, confidence, value) WHERE false';
const EMPTY_LABELS =
  'SELECT * FROM (VALUES (NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::DOUBLE, NULL::BIGINT, NULL::BIGINT, NULL::VARCHAR)) t(model, day, id, label, value, at_ms, received_ms, source) WHERE false';

/** A SQL string literal. */
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

export class DuckDbQualityEngine implements QualityEngine {
  readonly name = 'duckdb' as const;
  readonly #root: string;
  #connection: Promise<DuckDBConnection> | undefined;
  /** Whether each view reads files yet (a view over no files cannot be made). */
  readonly #live = { predictions: false, labels: false };
  #queue: Promise<unknown> = Promise.resolve();

  constructor(root: string) {
    this.#root = root;
  }

  query(sql: string, params: readonly (string | number)[]): Promise<readonly QualityRow[]> {
    // One statement at a time on the one connection.
    const run = this.#queue.then(() => this.#run(sql, params));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #run(sql: string, params: readonly (string | number)[]): Promise<readonly QualityRow[]> {
    const c = await this.#connect();
    await this.#views(c);
    const reader = await c.runAndReadAll(sql, [...params]);
    return reader.getRowObjectsJS().map((r) => ({
      kind: String(r.kind) as QualityRow['kind'],
      version: r.version === null ? null : String(r.version),
      k1: r.k1 === null ? null : String(r.k1),
      k2: r.k2 === null ? null : String(r.k2),
      n: Number(r.n),
      x: r.x === null ? null : Number(r.x),
      s1: r.s1 === null ? null : Number(r.s1),
      s2: r.s2 === null ? null : Number(r.s2),
    }));
  }

  #connect(): Promise<DuckDBConnection> {
    this.#connection ??= (async () => {
      const { DuckDBInstance } = await import('@duckdb/node-api');
      // In memory: the data stays in the JSON Lines files; DuckDB keeps nothing of its own.
      const db = await DuckDBInstance.create(':memory:', { threads: '2' });
      const c = await db.connect();
      await c.run(`CREATE VIEW predictions AS ${EMPTY_PREDICTIONS}`);
      await c.run(`CREATE VIEW labels AS ${EMPTY_LABELS}`);
      return c;
    })();
    return this.#connection;
  }

  async #views(c: DuckDBConnection): Promise<void> {
    for (const [table, columns, partitions] of [
      ['predictions', PREDICTION_COLUMNS, "{'model': VARCHAR, 'hour': VARCHAR}"],
      ['labels', LABEL_COLUMNS, "{'model': VARCHAR, 'day': VARCHAR}"],
    ] as const) {
      if (this.#live[table] || !(await hasFiles(join(this.#root, table)))) continue;
      const glob = literal(join(this.#root, table, '*', '*', '*.jsonl'));
      await c.run(
        `CREATE OR REPLACE VIEW ${table} AS SELECT * FROM read_json(${glob}, format = 'newline_delimited', columns = ${columns}, hive_partitioning = true, hive_types = ${partitions}, ignore_errors = true)`,
      );
      this.#live[table] = true;
    }
  }
}

/** Whether a partitioned folder holds a .jsonl file two levels down. */
async function hasFiles(dir: string): Promise<boolean> {
  const level = async (d: string) => readdir(d, { withFileTypes: true }).catch(() => []);
  for (const a of await level(dir))
    if (a.isDirectory())
      for (const b of await level(join(dir, a.name)))
        if (
          b.isDirectory() &&
          (await level(join(dir, a.name, b.name))).some((f) => f.name.endsWith('.jsonl'))
        )
          return true;
  return false;
}
