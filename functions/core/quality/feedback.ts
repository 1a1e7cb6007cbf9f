/**
 * Labels in: checked against the model's task and labels, one problem per item named by its
 * place, then normalised to label lines. The same checks for the API and for an uploaded file.
 */
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Manifest } from '../model/manifest.ts';
import { formatIssues } from '../protocol/issues.ts';
import { MAX_LISTED_PROBLEMS } from '../tensor/features.ts';
import { type FeedbackItem, feedbackItemSchema, type LabelLine, labelLineOf } from './records.ts';

/** What a model takes as truth: a label among its own, or a number. */
export interface Truth {
  readonly model: string;
  readonly kind: 'label' | 'value';
  readonly labels?: ReadonlySet<string>;
}

/** The truth a model with a quality section takes; a model without one takes no labels. */
export function truthOf(m: Manifest): Truth {
  if (!m.quality) throw noQualitySection(m);
  return truthFor(m.name, m.task, m.outputs.labels);
}

/** The answer for a model without a quality section: what to add to its model.json. */
export function noQualitySection(m: Pick<Manifest, 'name' | 'version'>): NotFoundError {
  return new NotFoundError(
    `Model '${m.name}' does not take labels: its model.json (version ${m.version}) has no "quality" section. Add one, e.g. "quality": {"minLabels": 100, "alarms": {"accuracy": 0.9}}, and its predictions are logged for the join.`,
  );
}

/** The truth a model of this task takes: a number for regression, else one of its labels. */
export function truthFor(model: string, task: string, labels: readonly string[] | undefined): Truth {
  if (task === 'regression') return { model, kind: 'value' };
  return { model, kind: 'label', ...(labels ? { labels: new Set(labels) } : {}) };
}

/** One item's problem against the model's truth, or undefined. */
export function truthProblem(t: Truth, item: FeedbackItem): string | undefined {
  if (t.kind === 'value' && item.value === undefined)
    return `"value" is required: '${t.model}' is a regression model; send {"id": ..., "value": <number>}`;
  if (t.kind === 'label' && item.label === undefined)
    return `"label" is required: '${t.model}' is a classifier; send {"id": ..., "label": "<one of its labels>"}`;
  if (item.label !== undefined && t.labels && !t.labels.has(item.label))
    return `"${item.label.slice(0, 40)}" is not a label of '${t.model}'; use one of ${[...t.labels].slice(0, 20).join(', ')}`;
  return undefined;
}

/**
 * An API request's labels as lines: every item checked (all problems listed, as instances are),
 * a repeated id kept once (the later item).
 */
export function feedbackLines(
  t: Truth,
  items: readonly FeedbackItem[],
  receivedMs: number,
): { lines: LabelLine[]; duplicates: number } {
  const problems: string[] = [];
  let total = 0;
  items.forEach((item, i) => {
    const p = truthProblem(t, item);
    if (!p) return;
    total++;
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push(`[${i}]: ${p}`);
  });
  if (total > 0) {
    if (total > problems.length) problems.push(`... and ${total - problems.length} more problem(s)`);
    throw new ValidationError(
      total === 1
        ? `Invalid label: ${problems[0]}`
        : `Invalid labels: ${total} problems, first: ${problems[0]}`,
      problems,
    );
  }
  const byId = new Map<string, LabelLine>();
  for (const item of items) byId.set(String(item.id), labelLineOf(item, receivedMs, 'api'));
  return { lines: [...byId.values()], duplicates: items.length - byId.size };
}

/** One line of an uploaded file (a JSON object, or CSV fields under a header) as a label, or why not. */
export function fileItem(
  t: Truth,
  record: Record<string, unknown>,
): { item: FeedbackItem } | { error: string } {
  const r = feedbackItemSchema.safeParse(record);
  if (!r.success) return { error: formatIssues(r.error).join('; ') };
  const p = truthProblem(t, r.data);
  return p ? { error: p } : { item: r.data };
}
