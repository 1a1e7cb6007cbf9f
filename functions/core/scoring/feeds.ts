/**
 * Request → feeds: a v1 instance list or a v2 request, checked against the manifest and turned
 * into the tensors one `session.run` takes. Pure: the same checks run whether the model then runs
 * here or on its endpoint, so a bad request is a 400 naming the field and never costs a call.
 */
import type * as z from 'zod';
import { invalid as fail, InferaError } from '../errors.ts';
import { inlineImageWork } from '../image/work.ts';
import type { ModelVersion } from '../model/registry.ts';
import { type InputMoments, inputMoments } from '../monitoring/inputs.ts';
import type { HostTensor, ImageWork } from '../ports.ts';
import { stackTensorInstances, tabularFeeds } from '../protocol/decode-v1.ts';
import { columnsToRows, tensorFeeds } from '../protocol/decode-v2.ts';
import { v2OutputMetadata } from '../protocol/encode.ts';
import type { InferRequest } from '../protocol/schemas.ts';
import { instanceEncoder } from '../tensor/feature-checks.ts';
import { validateInstances } from '../tensor/features.ts';
import { DEFAULT_SHAPE_LIMITS, type ShapeLimits } from '../tensor/shapes.ts';
import type { TextInput } from '../text/load.ts';
import { resolveImages } from './images.ts';
import type { ScoreOptions } from './types.ts';

type Schema = z.ZodType<Record<string, unknown>>;

/** The shape limits of one request: a v2 request may carry at most `maxRows` rows. */
export function limitsFor(opts: ScoreOptions): ShapeLimits {
  return opts.maxRows ? { ...DEFAULT_SHAPE_LIMITS, maxBatch: opts.maxRows } : DEFAULT_SHAPE_LIMITS;
}

/** v1 instances as feeds: validated rows for a tabular model, stacked tensors otherwise. */
export function feedsV1(
  mv: ModelVersion,
  instances: readonly unknown[],
  schema: Schema | undefined,
  text: TextInput | undefined,
): { feeds: Record<string, HostTensor>; rows?: Record<string, unknown>[] } {
  const m = mv.manifest;
  if (m.inputs.kind === 'tabular' && schema) {
    // Instances the schema certainly takes go straight into the matrix; any doubt, and zod judges
    // them all, with its exact messages (feature-checks.ts; a property test ties the two).
    const fast = instanceEncoder(m.inputs.features)(instances);
    if (fast) {
      const rows = instances as Record<string, unknown>[];
      const dims = [rows.length, m.inputs.features.length];
      return { feeds: { [m.inputs.tensor]: { type: 'float32', data: fast, dims } }, rows };
    }
    const rows = validateInstances(schema, instances);
    return { feeds: tabularFeeds(m.inputs.tensor, m.inputs.features, rows), rows };
  }
  if (m.inputs.kind === 'tabular') throw new InferaError(`Model '${mv.name}' has no instance schema.`);
  const feeds = stackTensorInstances(
    m.inputs.tensors,
    instances as readonly Record<string, unknown>[],
    DEFAULT_SHAPE_LIMITS,
    text,
    m.inputs.nonFinite,
  );
  return { feeds };
}

/**
 * Validates v1 instances exactly as in-process scoring would, without running anything (image
 * files decoded with `images`); returns a tensor model's input statistics for monitoring.
 */
export async function checkInstances(
  mv: ModelVersion,
  instances: readonly unknown[],
  schema: Schema | undefined,
  text: TextInput | undefined,
  images: ImageWork = inlineImageWork,
  opts: Pick<ScoreOptions, 'signal' | 'deadline'> = {},
): Promise<InputMoments[] | undefined> {
  const m = mv.manifest;
  if (m.inputs.kind === 'tabular') {
    if (schema) validateInstances(schema, instances);
    return undefined;
  }
  const { feeds } = feedsV1(mv, instances, schema, text);
  await resolveImages(feeds, images, opts);
  return inputMoments(m, feeds);
}

/** Validates a v2 request against the manifest and builds its feeds. */
export function feedsV2(
  mv: ModelVersion,
  req: InferRequest,
  schema: Schema | undefined,
  opts: ScoreOptions,
  text: TextInput | undefined,
): { feeds: Record<string, HostTensor>; n: number; rows?: Record<string, unknown>[] } {
  const m = mv.manifest;
  const names = new Set<string>();
  req.inputs.forEach((input, i) => {
    if (names.has(input.name)) fail(`inputs[${i}].name: input '${input.name}' is given twice`);
    names.add(input.name);
  });
  let feeds: Record<string, HostTensor>;
  let n: number;
  let rows: Record<string, unknown>[] | undefined;
  if (m.inputs.kind === 'tabular' && schema) {
    rows = columnsToRows(m.inputs.features, req, limitsFor(opts));
    const valid = validateInstances(schema, rows, 'rows');
    feeds = tabularFeeds(m.inputs.tensor, m.inputs.features, valid);
    n = valid.length;
  } else if (m.inputs.kind === 'tensors') {
    feeds = tensorFeeds(m.inputs.tensors, req, limitsFor(opts), text, m.inputs.nonFinite);
    n = (feeds[m.inputs.tensors[0]?.name ?? '']?.dims[0] as number | undefined) ?? 1;
  } else {
    throw new InferaError(`Model '${mv.name}' has no instance schema.`);
  }
  // A processor's postprocess may add outputs of its own: those are known once it has run.
  if (req.outputs && !m.processor)
    checkRequestedOutputs(
      req,
      v2OutputMetadata(m).map((o) => o.name),
    );
  return { feeds, n, ...(rows ? { rows } : {}) };
}

/**
 * A tabular v2 request's rows as v1 instances, without validating their values: what monitoring
 * counts for a request that was rejected (its out-of-range and missing values are the signal).
 * Undefined when the request is not even shaped as feature columns.
 */
export function tabularRows(
  mv: ModelVersion,
  req: InferRequest,
  opts: ScoreOptions = {},
): Record<string, unknown>[] | undefined {
  const m = mv.manifest;
  if (m.inputs.kind !== 'tabular') return undefined;
  try {
    return columnsToRows(m.inputs.features, req, limitsFor(opts));
  } catch {
    return undefined;
  }
}

/** Every output a v2 request names must be one the model returns, before (or after) it runs. */
export function checkRequestedOutputs(req: InferRequest, available: readonly string[]): void {
  req.outputs?.forEach((o, i) => {
    if (!available.includes(o.name)) {
      fail(`outputs[${i}].name: unknown output '${o.name}'; this model returns: ${available.join(', ')}`);
    }
  });
}
