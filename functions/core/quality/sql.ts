/**
 * The quality join as one SQL statement, in the subset of SQL that Athena (Trino) and DuckDB both
 * run the same way: window functions, GROUP BY, UNION ALL, positional `?` parameters. Locally
 * DuckDB runs it over the JSON Lines under .infera/state/quality; on AWS Athena runs it over the
 * same layout in S3. Both see two tables:
 *
 *   predictions(model, hour, id, request, version, ts, traffic, label, score, confidence, value)
 *   labels(model, day, id, label, value, at_ms, received_ms, source)
 *
 * The statement returns small aggregates, never rows: their size is bounded by versions × labels²
 * (the confusion matrix), versions × 10 (calibration), versions × 10^SCORE_DECIMALS + 1 (the ROC
 * curve), versions × hours (the series). Duplicates are removed here, not at ingest: a prediction
 * logged twice (a retried batch chunk) counts once; of several labels for an id the latest `at`
 * wins (then the latest received), and the ids whose labels disagree are counted as replaced.
 */

import { qualityLimitOf } from '../aws/quality-rules.ts';
import { dayOf, hourOf } from './records.ts';

/** Scores are grouped to this many decimals for the ROC curve: AUC within 10^-5 of the exact one. */
export const SCORE_DECIMALS = 5;

/** The one row shape of the result: every kind of aggregate in the same columns. */
export interface QualityRow {
  readonly kind:
    | 'confusion'
    | 'roc'
    | 'calibration'
    | 'regression'
    | 'delay'
    | 'series'
    | 'predictions'
    | 'labels'
    | 'unmatched';
  readonly version: string | null;
  readonly k1: string | null;
  readonly k2: string | null;
  readonly n: number;
  readonly x: number | null;
  readonly s1: number | null;
  readonly s2: number | null;
}

export interface QualityWindow {
  readonly model: string;
  /** Epoch ms, inclusive. */
  readonly fromMs: number;
  /** Epoch ms, exclusive. */
  readonly toMs: number;
  /** Binary classification: the label counted as positive for AUC (else any, and AUC is not computed). */
  readonly positiveLabel?: string | undefined;
}

const V = 'CAST(NULL AS varchar)';
const D = 'CAST(NULL AS double)';

/**
 * The statement for a window whose series has points `bucketMs` apart (a whole number of
 * milliseconds, checked here: it is the one value written into the text, not a parameter).
 */
export function qualitySql(bucketMs: number): string {
  if (!Number.isInteger(bucketMs) || bucketMs < 1000)
    throw new RangeError(`bucketMs must be a whole number of ms, at least 1000; got ${bucketMs}`);
  const sql = QUALITY_SQL.replaceAll('@BUCKET@', String(bucketMs));
  // Athena's limit on a query's text (AWS rule athena-query-string); DuckDB has none.
  if (Buffer.byteLength(sql) > qualityLimitOf('athena-query-string'))
    throw new RangeError('the quality statement is longer than Athena takes');
  return sql;
}

/** The series bucket of a window: about 120 points, of whole minutes, or of 10 s steps below a minute. */
export function seriesBucketMs(fromMs: number, toMs: number): number {
  const span = (toMs - fromMs) / 120;
  if (span <= 60_000) return Math.max(10, Math.ceil(span / 10_000) * 10) * 1000;
  return Math.ceil(span / 60_000) * 60_000;
}

const QUALITY_SQL = `WITH p_all AS (
  SELECT version, id, traffic, label, score, confidence, value, ts, hour,
         row_number() OVER (PARTITION BY version, id ORDER BY ts DESC, request DESC) AS k
  FROM predictions
  WHERE model = ? AND hour >= ? AND hour <= ? AND ts >= ? AND ts < ?
),
p AS (SELECT version, id, traffic, label, score, confidence, value, ts, hour FROM p_all WHERE k = 1),
l_all AS (
  SELECT id, label, value, at_ms, received_ms FROM labels WHERE model = ? AND day >= ?
),
l_ranked AS (
  SELECT id, label, value, received_ms,
         row_number() OVER (PARTITION BY id ORDER BY at_ms DESC, received_ms DESC, label DESC, value DESC) AS k
  FROM l_all
),
l AS (SELECT id, label AS truth, value AS truth_value, received_ms FROM l_ranked WHERE k = 1),
j AS (
  SELECT p.version, p.hour, p.label, p.score, p.confidence, p.value, p.ts,
         l.truth, l.truth_value, l.received_ms,
         CASE WHEN p.label = l.truth THEN 1 ELSE 0 END AS correct
  FROM p JOIN l ON p.id = l.id
)
SELECT 'confusion' AS kind, version, truth AS k1, label AS k2, count(*) AS n, ${D} AS x, ${D} AS s1, ${D} AS s2
  FROM j WHERE truth IS NOT NULL AND label IS NOT NULL GROUP BY version, truth, label
UNION ALL
SELECT 'roc', version, ${V}, ${V}, count(*), round(score, ${SCORE_DECIMALS}),
       CAST(sum(CASE WHEN truth = ? THEN 1 ELSE 0 END) AS double), ${D}
  FROM j WHERE truth IS NOT NULL AND score IS NOT NULL GROUP BY version, round(score, ${SCORE_DECIMALS})
UNION ALL
SELECT 'calibration', version, ${V}, ${V}, count(*), least(floor(confidence * 10), 9),
       CAST(sum(correct) AS double), sum(confidence)
  FROM j WHERE truth IS NOT NULL AND confidence IS NOT NULL GROUP BY version, least(floor(confidence * 10), 9)
UNION ALL
SELECT 'regression', version, ${V}, ${V}, count(*), ${D},
       sum(abs(value - truth_value)), sum((value - truth_value) * (value - truth_value))
  FROM j WHERE truth_value IS NOT NULL AND value IS NOT NULL GROUP BY version
UNION ALL
SELECT 'delay', version, ${V}, ${V}, count(*), ${D},
       CAST(sum(greatest(received_ms - ts, 0)) AS double), CAST(max(greatest(received_ms - ts, 0)) AS double)
  FROM j GROUP BY version
UNION ALL
SELECT 'series', version, ${V}, ${V}, count(*), CAST(floor(ts / @BUCKET@) * @BUCKET@ AS double),
       CAST(sum(correct) AS double), sum(abs(value - truth_value))
  FROM j GROUP BY version, floor(ts / @BUCKET@)
UNION ALL
SELECT 'predictions', version, traffic, ${V}, count(*), ${D}, ${D}, ${D} FROM p GROUP BY version, traffic
UNION ALL
SELECT 'labels', ${V}, ${V}, ${V}, count(*), ${D},
       CAST((SELECT count(*) FROM l) AS double),
       CAST((SELECT count(*) FROM (SELECT id FROM l_all GROUP BY id
             HAVING count(DISTINCT label) > 1 OR count(DISTINCT value) > 1) r) AS double)
  FROM l_all
UNION ALL
SELECT 'unmatched', ${V}, ${V}, ${V}, count(*), ${D}, ${D}, ${D}
  FROM l WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.id = l.id)`;

/** The statement's parameters, in the order of its `?`. */
export function qualityParams(w: QualityWindow): (string | number)[] {
  return [
    w.model,
    hourOf(w.fromMs),
    hourOf(w.toMs),
    w.fromMs,
    w.toMs,
    w.model,
    dayOf(w.fromMs),
    // No label equals the empty string (labels are at least one character): no positives, no AUC.
    w.positiveLabel ?? '',
  ];
}
