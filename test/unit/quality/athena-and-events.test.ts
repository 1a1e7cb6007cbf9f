/**
 * The AWS side of the join without AWS: the Athena adapter against a mocked client (how it passes
 * parameters, waits, pages and fails), the events a report's alarms raise, and a bake that rolls
 * a canary back on its labelled quality.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { AthenaQualityEngine, athenaParameter } from '#adapters/quality/athena.ts';
import { qualityTransitions } from '#core/quality/events.ts';
import type { QualityReport } from '#core/quality/report-schema.ts';
import { qualityParams, qualitySql, seriesBucketMs } from '#core/quality/sql.ts';
import { bake, type CanaryJudge, withQualityAlarm } from '../../../cli/bake.ts';
import { versionQuality } from '../../support/metrics.ts';

const cell = (v: string | undefined) => (v === undefined ? {} : { VarCharValue: v });
const COLUMNS = ['kind', 'version', 'k1', 'k2', 'n', 'x', 's1', 's2'].map((Name) => ({ Name }));

describe('the Athena quality engine', () => {
  it('passes strings quoted and numbers bare, waits for the query, and reads every page after the header', async () => {
    const athena = mockClient(AthenaClient);
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q1', NextToken: undefined })
      .resolves({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: COLUMNS as never },
          Rows: [
            { Data: COLUMNS.map((c) => cell(c.Name)) },
            { Data: ['confusion', '1', 'fraud', 'legit', '3', undefined, undefined, undefined].map(cell) },
          ],
        },
        NextToken: 'p2',
      })
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q1', NextToken: 'p2' })
      .resolves({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: COLUMNS as never },
          Rows: [{ Data: ['labels', undefined, undefined, undefined, '5', undefined, '4', '1'].map(cell) }],
        },
      });
    const engine = new AthenaQualityEngine({
      client: new AthenaClient({ region: 'us-east-1' }),
      workgroup: 'wg',
      database: 'db',
      pollMs: 1,
      deadline: () => Date.now() + 60_000,
    });
    const rows = await engine.query('SELECT ?', ["o'brien", 42]);
    const start = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input;
    assert.deepEqual(start?.ExecutionParameters, ["'o''brien'", '42']);
    assert.equal(start?.WorkGroup, 'wg');
    assert.deepEqual(start?.QueryExecutionContext, { Database: 'db' });
    assert.deepEqual(rows, [
      { kind: 'confusion', version: '1', k1: 'fraud', k2: 'legit', n: 3, x: null, s1: null, s2: null },
      { kind: 'labels', version: null, k1: null, k2: null, n: 5, x: null, s1: 4, s2: 1 },
    ]);
    athena.restore();
  });

  it("says why a query failed, and gives up at the function's deadline", async () => {
    const athena = mockClient(AthenaClient);
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q2' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'Bytes scanned limit was exceeded' } },
    });
    const engine = (deadline: number) =>
      new AthenaQualityEngine({
        client: new AthenaClient({ region: 'us-east-1' }),
        workgroup: 'wg',
        database: 'db',
        pollMs: 5,
        deadline: () => deadline,
      });
    await assert.rejects(
      engine(Date.now() + 60_000).query('x', []),
      /q2 failed: Bytes scanned limit was exceeded/,
    );
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'QUEUED' } } });
    await assert.rejects(engine(Date.now() + 20).query('x', []), /still QUEUED at the function's deadline/);
    athena.restore();
  });

  it("keeps to Athena's limits: a parameter of at most 1,024 characters, a statement far under 256 KB", () => {
    assert.throws(() => athenaParameter('x'.repeat(1023)), /at most 1024/);
    const sql = qualitySql(seriesBucketMs(0, 24 * 3_600_000));
    assert.ok(Buffer.byteLength(sql) < 8192);
    assert.equal((sql.match(/\?/g) ?? []).length, qualityParams({ model: 'm', fromMs: 0, toMs: 1 }).length);
    assert.throws(() => qualitySql(999), /at least 1000/);
    assert.equal(seriesBucketMs(0, 24 * 3_600_000), 12 * 60_000);
    assert.equal(seriesBucketMs(0, 15 * 60_000), 10_000);
  });
});

function report(
  version: string,
  state: 'ok' | 'alarm' | 'insufficient-labels',
  value: number | null,
): QualityReport {
  return {
    model: 'fraud-detector',
    task: 'binary-classification',
    positiveLabel: 'fraud',
    window: { from: '', to: '', hours: 24 },
    computedAt: '2026-12-07T12:00:00.000Z',
    seriesSeconds: 720,
    engine: 'duckdb',
    labels: { received: 0, ids: 0, replaced: 0, unmatched: 0 },
    minLabels: 10,
    versions: [
      versionQuality({
        version,
        predictions: 100,
        traffic: { canary: 100 },
        labelled: 50,
        accuracy: value,
        alarms: [{ figure: 'accuracy', threshold: 0.9, value, state }],
      }),
    ],
  };
}

describe('quality events and the bake', () => {
  it('raises an event once when a figure crosses its threshold, and once when it is back', () => {
    const alarm = report('2', 'alarm', 0.5);
    const first = qualityTransitions(undefined, alarm, 24);
    assert.deepEqual(
      first.map((e) => [e.state, e.version, e.figure, e.value, e.threshold]),
      [['alarm', '2', 'accuracy', 0.5, 0.9]],
    );
    assert.deepEqual(qualityTransitions(alarm, alarm, 24), [], 'not again while it stays');
    assert.deepEqual(
      qualityTransitions(alarm, report('2', 'ok', 0.95), 24).map((e) => e.state),
      ['ok'],
    );
    assert.deepEqual(qualityTransitions(undefined, report('2', 'insufficient-labels', null), 24), []);
  });

  it('rolls a canary back when its labelled quality alarms, with the figure in the reason', async () => {
    const quiet: CanaryJudge = {
      name: 'fraud-detector version 2',
      start: async () => {},
      alarm: async () => undefined,
      requests: async () => 1000,
      stop: async () => {},
    };
    let polls = 0;
    const judge = withQualityAlarm(quiet, '2', async () =>
      ++polls < 3 ? report('2', 'insufficient-labels', null) : report('2', 'alarm', 0.5),
    );
    const limits = { bakeMs: 60_000, pollMs: 1, minRequests: 10, maxErrorPct: 1, maxP99Ms: 1000 };
    const verdict = await bake(
      judge,
      limits,
      () => {},
      async () => {},
    );
    assert.deepEqual(verdict, {
      verdict: 'rollback',
      alarm: 'labelled accuracy 0.5 below 0.9 on 50 labelled predictions',
    });
    // Another version's alarm is not this canary's.
    const other = withQualityAlarm(quiet, '3', async () => report('2', 'alarm', 0.5));
    assert.equal(await other.alarm(), undefined);
  });
});
