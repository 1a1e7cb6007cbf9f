/**
 * What the quality join reads: one line per prediction and one per label, flat JSON, in folders
 * partitioned by model and hour (predictions) or model and day (labels), the layout Athena's
 * partition projection and DuckDB's hive partitioning both read. Nothing here does I/O.
 */
import * as z from 'zod';
import { isRecord } from '../checked.ts';
import type { Prediction } from '../protocol/schemas.ts';
import { MAX_ROW_ID_LENGTH } from '../tensor/features.ts';

/** Where a prediction came from: a live answer (or a canary's), a shadow's, or a batch row's. */
export type QualityTraffic = 'live' | 'canary' | 'shadow' | 'pinned' | 'batch';

/** One scored row, as the join reads it. Feature values are never here; the id and outputs are. */
export interface PredictionLine {
  readonly id: string;
  readonly request: string;
  readonly version: string;
  /** Epoch milliseconds when it was scored. */
  readonly ts: number;
  readonly traffic: QualityTraffic;
  /** Classification: the chosen label. */
  readonly label?: string;
  /** Binary: the probability of the positive label. */
  readonly score?: number;
  /** Classification: the probability of the chosen label (for calibration). */
  readonly confidence?: number;
  /** Regression: the predicted value (the first, for multi-output regression). */
  readonly value?: number;
}

/** One label, as stored: normalised from the API or a file. */
export interface LabelLine {
  readonly id: string;
  readonly label?: string;
  readonly value?: number;
  /** When the truth was known (the caller's `at`, else when it was received): the later one wins. */
  readonly at_ms: number;
  readonly received_ms: number;
  readonly source: 'api' | 'file' | 'batch';
}

/** Labels one request or one file line may carry; the API refuses more per request. */
export const MAX_LABELS_PER_REQUEST = 1000;
export const MAX_LABEL_LENGTH = 200;

const labelValue = z.string().min(1).max(MAX_LABEL_LENGTH);

/** One label as a caller sends it: `{id, label}` (classification) or `{id, value}` (regression). */
export const feedbackItemSchema = z
  .strictObject({
    id: z
      .union([z.string().min(1).max(MAX_ROW_ID_LENGTH), z.number().int()])
      .describe(
        "The prediction's request id (x-request-id), `<request id>#<row>` for a row of a larger request, or the row's quality.idField.",
      ),
    label: labelValue.optional().describe('Classification: the true label.'),
    value: z.number().finite().optional().describe('Regression: the true value.'),
    at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        'When the truth was known (ISO 8601). A later label for the same id replaces an earlier one.',
      ),
  })
  .refine((v) => (v.label === undefined) !== (v.value === undefined), {
    message: 'give exactly one of "label" (classification) or "value" (regression)',
  })
  .meta({ id: 'FeedbackItem' });
export type FeedbackItem = z.infer<typeof feedbackItemSchema>;

export const feedbackRequestSchema = z
  .array(feedbackItemSchema)
  .min(1, 'send at least one label')
  .max(
    MAX_LABELS_PER_REQUEST,
    `at most ${MAX_LABELS_PER_REQUEST} labels per request; send more in several, or upload a file`,
  )
  .meta({ id: 'FeedbackRequest' });

export const feedbackResponseSchema = z
  .object({
    model: z.string(),
    accepted: z.number().int().describe('Labels stored. Sending the same ones again changes nothing.'),
    duplicates: z
      .number()
      .int()
      .describe('Labels in this request for an id listed earlier in it: the later one counts.'),
    quality: z.string().describe('Where the joined figures appear.'),
  })
  .meta({ id: 'FeedbackResponse' });

/** A label's time: the caller's `at` if it is not in the future, else now. */
export function labelLineOf(item: FeedbackItem, receivedMs: number, source: LabelLine['source']): LabelLine {
  const at = item.at === undefined ? receivedMs : Math.min(Date.parse(item.at), receivedMs);
  return {
    id: String(item.id),
    ...(item.label !== undefined ? { label: item.label } : {}),
    ...(item.value !== undefined ? { value: item.value } : {}),
    at_ms: at,
    received_ms: receivedMs,
    source,
  };
}

/**
 * The ids of a request's rows: the caller's own (quality.idField) where a row carries one, else
 * the request id for a one-row request and `<request id>#<row>` for row `row` of a larger one.
 */
export function rowIds(
  requestId: string,
  rows: number,
  own?: readonly unknown[],
  idField?: string,
): string[] {
  const ids = new Array<string>(rows);
  for (let i = 0; i < rows; i++) {
    const row = own?.[i];
    const mine = idField && isRecord(row) ? row[idField] : undefined;
    ids[i] =
      typeof mine === 'string' || typeof mine === 'number'
        ? String(mine)
        : rows === 1
          ? requestId
          : `${requestId}#${i}`;
  }
  return ids;
}

/** What the join needs of a prediction: the chosen label and its score, or the value. */
export function outputsOf(
  p: Prediction,
  positiveLabel: string | undefined,
): Pick<PredictionLine, 'label' | 'score' | 'confidence' | 'value'> {
  const out: { label?: string; score?: number; confidence?: number; value?: number } = {};
  if (typeof p.label === 'string') out.label = p.label;
  const probs = p.probabilities;
  const positive = positiveLabel === undefined ? undefined : probs?.[positiveLabel];
  if (typeof positive === 'number') out.score = positive;
  const chosen = out.label === undefined ? undefined : probs?.[out.label];
  if (typeof chosen === 'number') out.confidence = chosen;
  else if (typeof p.score === 'number' && out.label !== undefined) out.confidence = p.score;
  const v = Array.isArray(p.value) ? p.value[0] : p.value;
  if (typeof v === 'number' && Number.isFinite(v)) out.value = v;
  return out;
}

/** `2026-12-07-15`: the hour partition of an epoch time (UTC). */
export function hourOf(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}`;
}

/** `2026-12-07`: the day partition of an epoch time (UTC). */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The folder (key prefix) of a model's predictions in one hour. */
export function predictionsFolder(model: string, ms: number): string {
  return `predictions/model=${model}/hour=${hourOf(ms)}`;
}

/** The folder (key prefix) of a model's labels received on one day. */
export function labelsFolder(model: string, ms: number): string {
  return `labels/model=${model}/day=${dayOf(ms)}`;
}

/** JSON Lines of some records. */
export function jsonLines(records: readonly object[]): string {
  let out = '';
  for (const r of records) out += `${JSON.stringify(r)}\n`;
  return out;
}
