import { fieldOf, InferaError, ModelPackageError, messageOf } from './errors.ts';
import type { Manifest } from './model/manifest.ts';
import type { Prediction } from './protocol/schemas.ts';

/**
 * The typed escape hatch: a `processor.ts` beside `model.json`, declared in the manifest with its
 * sha256, whose `preprocess` and `postprocess` run around the manifest's own pipeline wherever the
 * model runs (the Lambda function, the serving container, batch, npm start). Node 24 runs the
 * TypeScript as it is (type stripping), so what is hashed is what runs. A processor may import
 * node: built-ins and files beside it; it cannot import npm packages the function does not carry.
 *
 *   import type { Postprocess, Preprocess } from '<path to infera>/functions/core/processor.ts';
 *   export const preprocess: Preprocess = (instance) => ({ text: `${instance.subject}. ${instance.body}` });
 *   export const postprocess: Postprocess = (p) => ({ ...p, queue: `team-${p.label}` });
 *
 * A throw becomes the caller's answer: an error with a numeric `status` from 400 to 599 keeps that
 * status and its message (e.g. a 422 for a field the processor cannot use); any other throw is a
 * 500 whose message is logged, not returned.
 */

export interface ProcessorContext {
  readonly model: string;
  readonly version: string;
  readonly manifest: Manifest;
}

export type Preprocess = (
  instance: Record<string, unknown>,
  ctx: ProcessorContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export type Postprocess = (
  prediction: Prediction,
  instance: Record<string, unknown>,
  ctx: ProcessorContext,
) => Prediction | Promise<Prediction>;

export interface Processor {
  readonly preprocess?: Preprocess;
  readonly postprocess?: Postprocess;
}

/** Checks what an imported processor module exports; `where` names its file in messages. */
export function asProcessor(mod: Record<string, unknown>, where: string): Processor {
  const problems: string[] = [];
  for (const name of ['preprocess', 'postprocess'] as const) {
    if (mod[name] !== undefined && typeof mod[name] !== 'function')
      problems.push(`${where}: export "${name}" must be a function`);
  }
  if (mod.preprocess === undefined && mod.postprocess === undefined)
    problems.push(`${where}: exports neither preprocess nor postprocess; export at least one`);
  if (problems.length > 0) throw new ModelPackageError(problems);
  return mod as Processor;
}

/** Runs one processor step, turning what it throws into the answer the caller gets. */
export async function runStep<T>(
  step: () => T | Promise<T>,
  ctx: ProcessorContext,
  what: string,
  at: string,
): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const status = fieldOf(err, 'status');
    const message = messageOf(err);
    if (typeof status === 'number' && status >= 400 && status <= 599) {
      throw new InferaError(`${at}: model '${ctx.model}' ${what} rejected it: ${message}`, {
        status,
        code: 'processor_error',
        expose: status < 500,
      });
    }
    throw new InferaError(`${at}: model '${ctx.model}' ${what} failed: ${message}`, {
      status: 500,
      code: 'processor_failed',
      expose: false,
    });
  }
}
