/**
 * The model manifest (`models/<name>/<version>/model.json`) is the single source of truth for a
 * model: its input schema, how outputs become predictions, where it runs, and the statistics
 * that monitoring compares live traffic against. It is strict: an unknown key is an error,
 * because a misspelt `requried` silently ignored is worse than a failed start. The parts live
 * beside this file; this one joins them and checks the rules across parts.
 */
import * as z from 'zod';
import { checkFeatures, checkTensors, checkText } from './input-checks.ts';
import { inputsSchema, type TensorSpec } from './inputs.ts';
import { MODEL_NAME, TASKS, type Task, VERSION } from './names.ts';
import { type Outputs, outputsSchema } from './outputs.ts';
import { qualitySchema } from './quality.ts';
import { lineageSchema, trainingStatsSchema } from './stats.ts';
import { targetSchema } from './target.ts';

const manifestFields = z
  .strictObject({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(
        MODEL_NAME,
        'must be lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
      ),
    version: z.string().regex(VERSION, 'must be a positive integer written as a string, e.g. "1"'),
    description: z.string().default(''),
    task: z.enum(TASKS),
    inputs: inputsSchema,
    outputs: outputsSchema,
    target: targetSchema.default({ type: 'lambda' }),
    fallback: z
      .preprocess(
        (v) => (typeof v === 'string' ? { model: v } : v),
        z.strictObject({
          model: z.string().regex(MODEL_NAME, 'must name a model in models/'),
          version: z.string().min(1).default('live').describe('A version or alias of that model.'),
        }),
      )
      .optional()
      .describe(
        'A light (Lambda) model with the same inputs that answers while the SageMaker endpoint circuit is open.',
      ),
    sha256: z
      .string()
      .regex(/^[a-f0-9]{64}$/, 'must be the lowercase hex sha256 of model.onnx (run: sha256sum model.onnx)'),
    processor: z
      .strictObject({
        file: z
          .string()
          .regex(
            /^[A-Za-z0-9._-]+\.(ts|mts|js|mjs)$/,
            'must be a .ts or .mjs file name beside model.json, e.g. "processor.ts"',
          )
          .default('processor.ts'),
        sha256: z
          .string()
          .regex(
            /^[a-f0-9]{64}$/,
            'must be the lowercase hex sha256 of the processor file (run: sha256sum processor.ts)',
          ),
        files: z
          .array(
            z.strictObject({
              file: z
                .string()
                .regex(/^[A-Za-z0-9._-]+$/, 'must be a file name beside model.json, e.g. "keys.txt"'),
              sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be the lowercase hex sha256 of the file'),
            }),
          )
          .default([])
          .describe(
            'Files the processor reads beside it (new URL("keys.txt", import.meta.url)), pinned by hash and shipped with it on every route.',
          ),
      })
      .optional()
      .describe('TypeScript preprocess/postprocess hooks beside model.json, pinned by hash like model.onnx.'),
    lineage: lineageSchema.optional(),
    trainingStats: trainingStatsSchema.optional(),
    quality: qualitySchema.optional(),
  })
  .superRefine((m, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    if (m.task === 'tensor') {
      if (!m.outputs.tensors)
        issue(['outputs', 'tensors'], 'task "tensor" needs outputs.tensors: the ONNX outputs to return');
    } else if (!m.outputs.tensor) {
      issue(
        ['outputs', 'tensor'],
        `task "${m.task}" needs outputs.tensor: the name of the ONNX output holding the scores`,
      );
    }
    if (m.task === 'binary-classification' && m.outputs.labels?.length !== 2) {
      issue(['outputs', 'labels'], 'binary-classification needs exactly 2 labels: [negative, positive]');
    }
    if (m.task === 'multiclass-classification' && !m.outputs.labels && !m.outputs.labelsFile) {
      issue(
        ['outputs', 'labels'],
        'multiclass-classification needs outputs.labels (or outputs.labelsFile), one per class in output order',
      );
    }
    if (m.outputs.labels && m.outputs.labelsFile)
      issue(
        ['outputs', 'labelsFile'],
        'give the labels once: outputs.labels or outputs.labelsFile, not both',
      );
    if (m.outputs.topK !== undefined && m.task !== 'multiclass-classification')
      issue(['outputs', 'topK'], 'topK applies to multiclass-classification; remove it');
    if ((m.outputs.pooling !== undefined || m.outputs.normalize !== undefined) && m.task !== 'embedding')
      issue(
        ['outputs', m.outputs.pooling !== undefined ? 'pooling' : 'normalize'],
        'pooling and normalize apply to task "embedding"; remove them',
      );
    if (m.outputs.activation && (m.task === 'tensor' || m.task === 'regression'))
      issue(
        ['outputs', 'activation'],
        `an activation applies to classification and embedding outputs, not task "${m.task}"`,
      );
    if (m.outputs.threshold !== undefined && m.task !== 'binary-classification') {
      issue(
        ['outputs', 'threshold'],
        'a decision threshold only applies to binary-classification; remove it',
      );
    }
    if (m.fallback && m.target.type === 'lambda') {
      issue(
        ['fallback'],
        'a fallback only applies to models served by SageMaker; remove it or change target',
      );
    }
    if (m.fallback?.model === m.name) issue(['fallback', 'model'], 'a model cannot be its own fallback');
    if (m.target.type !== 'lambda' && m.target.serverless) {
      const t = m.target;
      for (const field of ['instanceType', 'instanceCount'] as const) {
        if (t[field] !== undefined)
          issue(['target', field], `a serverless endpoint has no instances; remove ${field} or serverless`);
      }
      if (t.accelerator === 'gpu' || t.accelerator === 'inferentia')
        issue(
          ['target', 'accelerator'],
          `SageMaker Serverless is CPU only; remove serverless to get a ${t.accelerator} instance, or set accelerator "none"`,
        );
    }
    if (m.target.type === 'sagemaker' && m.target.modelDataUrl && !m.target.image) {
      issue(['target', 'image'], 'modelDataUrl is for a user-supplied image; set target.image too');
    }
    if (m.quality) checkQuality(m, issue);
    if (m.inputs.kind === 'tabular') checkFeatures(m.inputs.features, issue);
    else {
      checkTensors(m.inputs.tensors, issue);
      checkText(m.inputs.tensors, m.inputs.text, issue);
    }
  });

type Parsed = z.output<typeof manifestFields>;

/** The quality section against the task: labels it names exist, figures it watches apply. */
function checkQuality(
  m: Pick<Parsed, 'task' | 'outputs' | 'inputs' | 'quality'>,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const q = m.quality;
  if (!q) return;
  const classifier = m.task === 'binary-classification' || m.task === 'multiclass-classification';
  if (!classifier && m.task !== 'regression')
    issue(
      ['quality'],
      `labelled quality applies to classification and regression, not task "${m.task}"; remove quality`,
    );
  if (q.positiveLabel !== undefined) {
    if (m.task !== 'binary-classification')
      issue(['quality', 'positiveLabel'], 'positiveLabel applies to binary-classification; remove it');
    else if (!m.outputs.labels?.includes(q.positiveLabel))
      issue(
        ['quality', 'positiveLabel'],
        `must be one of outputs.labels: ${(m.outputs.labels ?? []).join(', ')}`,
      );
  }
  for (const k of ['accuracy', 'f1'] as const)
    if (q.alarms[k] !== undefined && !classifier)
      issue(['quality', 'alarms', k], `${k} applies to classification; for regression use mae or rmse`);
  if (q.alarms.auc !== undefined && m.task !== 'binary-classification')
    issue(['quality', 'alarms', 'auc'], 'auc applies to binary-classification; use accuracy or f1');
  for (const k of ['mae', 'rmse'] as const)
    if (q.alarms[k] !== undefined && m.task !== 'regression')
      issue(
        ['quality', 'alarms', k],
        `${k} applies to regression; for classification use accuracy, f1 or auc`,
      );
  if (q.idField && m.inputs.kind === 'tabular' && m.inputs.features.some((f) => f.name === q.idField))
    issue(['quality', 'idField'], `"${q.idField}" is a feature; name a field that is only an id`);
}

/** A scoring task's manifest: one output tensor holds its scores or values. */
export type ScoringManifest = Omit<Parsed, 'task' | 'outputs'> & {
  readonly task: Exclude<Task, 'tensor'>;
  outputs: Outputs & { readonly tensor: string };
};

/** Task "tensor": the named outputs are returned as they are. */
export type TensorManifest = Omit<Parsed, 'task' | 'outputs'> & {
  readonly task: 'tensor';
  outputs: Outputs & { readonly tensors: TensorSpec[] };
};

/** A manifest, discriminated by task: a scoring task has `outputs.tensor`, task "tensor" `outputs.tensors`. */
export type Manifest = ScoringManifest | TensorManifest;

/** The checked manifest as its task's type (the checks above guarantee the output it needs). */
function byTask(m: Parsed, ctx: z.RefinementCtx): Manifest {
  const { task, outputs } = m;
  if (task === 'tensor') {
    if (outputs.tensors) return { ...m, task, outputs: { ...outputs, tensors: outputs.tensors } };
  } else if (outputs.tensor !== undefined) {
    return { ...m, task, outputs: { ...outputs, tensor: outputs.tensor } };
  }
  ctx.addIssue({ code: 'custom', path: ['outputs'], message: `task "${task}" is missing its output` });
  return z.NEVER;
}

export const manifestSchema = manifestFields.transform(byTask);

/** Alias name -> one version. `aliases.json` itself may also hold a weighted split (core/traffic.ts). */
export type Aliases = Record<string, string>;
