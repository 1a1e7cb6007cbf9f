import * as z from 'zod';

/**
 * The model manifest (`models/<name>/<version>/model.json`) is the single source of truth for a
 * model: its input schema, how outputs become predictions, where it runs, and the statistics
 * that monitoring compares live traffic against. It is strict: an unknown key is an error,
 * because a misspelt `requried` silently ignored is worse than a failed start.
 */

export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const VERSION = /^[1-9][0-9]{0,5}$/;
export const FEATURE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const TASKS = [
  'binary-classification',
  'multiclass-classification',
  'regression',
  'embedding',
  'tensor',
] as const;
export type Task = (typeof TASKS)[number];

/** Open Inference Protocol datatypes this platform can feed to and read from ONNX Runtime. */
/** Open Inference Protocol tensor datatypes: every element type onnxruntime-node runs. */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'INT8',
  'UINT16',
  'INT16',
  'UINT32',
  'INT32',
  'UINT64',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

const quantile = z.strictObject({ q: z.number().min(0).max(1), value: z.number() });

const numericStats = z.strictObject({
  mean: z.number(),
  std: z.number().min(0),
  min: z.number(),
  max: z.number(),
  quantiles: z
    .array(quantile)
    .min(2)
    .describe('Ascending quantiles of the training data, used as drift bins.'),
  bins: z
    .array(z.number().min(0).max(1))
    .optional()
    .describe(
      'Training fraction in each drift bin between the distinct quantile values: (-inf, v1], (v1, v2], ..., (vk, +inf). Exact where many rows share a value (integer features); derived from the quantiles when absent.',
    ),
  missingRate: z.number().min(0).max(1),
});

const categoricalStats = z.strictObject({
  frequencies: z.record(z.string(), z.number().min(0).max(1)),
  missingRate: z.number().min(0).max(1),
});

const featureBase = {
  name: z.string().regex(FEATURE_NAME, 'must start with a letter or _ and hold only letters, digits and _'),
  description: z.string().optional(),
  required: z.boolean().default(true),
};

const numberFeature = z.strictObject({
  ...featureBase,
  type: z.literal('number'),
  min: z.number().optional(),
  max: z.number().optional(),
  unit: z.string().optional(),
  default: z.number().optional(),
});
const integerFeature = z.strictObject({
  ...featureBase,
  type: z.literal('integer'),
  min: z.number().int().optional(),
  max: z.number().int().optional(),
  unit: z.string().optional(),
  default: z.number().int().optional(),
});
const booleanFeature = z.strictObject({
  ...featureBase,
  type: z.literal('boolean'),
  default: z.boolean().optional(),
});
const categoricalFeature = z.strictObject({
  ...featureBase,
  type: z.literal('categorical'),
  values: z
    .array(z.string().min(1))
    .min(1)
    .describe('Allowed values. The model receives the index into this list.'),
  default: z.string().optional(),
});

export const featureSchema = z.discriminatedUnion('type', [
  numberFeature,
  integerFeature,
  booleanFeature,
  categoricalFeature,
]);
export type Feature = z.infer<typeof featureSchema>;

export const tensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  datatype: z.enum(DATATYPES),
  shape: z
    .array(z.number().int().min(-1))
    .min(1)
    .describe('Dimensions; -1 marks a dynamic one. The first is the batch dimension.'),
  description: z.string().optional(),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema> & {
  readonly image?: ImageSpec;
  readonly tokens?: 'ids' | 'mask' | 'type_ids';
};

/** Image pre-processing for one input: what a PNG or JPEG becomes before the model sees it. */
export const imageSpecSchema = z
  .strictObject({
    colorOrder: z
      .enum(['RGB', 'BGR', 'GRAY'])
      .default('RGB')
      .describe('Channel order the model was trained on; BGR for models fed by cv2.imread.'),
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    resize: z
      .enum(['stretch', 'letterbox', 'fit-height'])
      .default('stretch')
      .describe(
        'stretch: to exactly H x W. letterbox: keep the ratio, fit inside H x W, pad right and bottom. fit-height: height H, width ceil(H*w/h) capped at W (stretched beyond), pad right, as PaddleOCR does.',
      ),
    scale: z
      .number()
      .positive()
      .optional()
      .describe(
        'Each 0..255 sample is multiplied by this first. Default 1/255 for float inputs, 1 for integer.',
      ),
    mean: z.array(z.number()).min(1).max(3).optional().describe('Subtracted per channel after scaling.'),
    std: z
      .array(z.number().positive())
      .min(1)
      .max(3)
      .optional()
      .describe('Divides per channel after the mean.'),
    padValue: z.number().default(0).describe('The value of padded elements, after normalization.'),
  })
  .describe('Accept PNG and JPEG files for this input and pre-process them as declared.');
export type ImageSpec = z.infer<typeof imageSpecSchema>;

export const inputTensorSchema = tensorSpecSchema.extend({
  image: imageSpecSchema.optional(),
  tokens: z
    .enum(['ids', 'mask', 'type_ids'])
    .optional()
    .describe(
      'With inputs.text: which tokenizer output fills this input (input_ids, attention_mask, token_type_ids).',
    ),
});

/** Text pre-processing: a Hugging Face tokenizer.json beside model.json fills the token inputs. */
export const textSpecSchema = z
  .strictObject({
    field: z
      .string()
      .regex(FEATURE_NAME, 'must start with a letter or _ and hold only letters, digits and _')
      .default('text')
      .describe('The name callers send the text under: {"text": "..."} in v1, a BYTES input in v2.'),
    tokenizer: z
      .string()
      .regex(/^[A-Za-z0-9._-]+\.json$/, 'must be a .json file name beside model.json, e.g. "tokenizer.json"')
      .default('tokenizer.json'),
    maxLength: z
      .number()
      .int()
      .min(1)
      .max(8192)
      .describe('Tokens per text, special tokens included; longer texts are truncated.'),
    padding: z
      .enum(['longest', 'max_length'])
      .default('longest')
      .describe(
        'Pad to the longest text in the request, or always to maxLength (for graphs with a fixed length).',
      ),
    padId: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Defaults to the tokenizer's padding, [PAD] or <pad>."),
  })
  .describe('Accept text for this model and tokenize it into the inputs that declare "tokens".');
export type TextSpec = z.infer<typeof textSpecSchema>;

const tabularInputs = z.strictObject({
  kind: z.literal('tabular'),
  tensor: z
    .string()
    .min(1)
    .default('input')
    .describe('Name of the ONNX input that receives the [N, features] FP32 matrix.'),
  features: z.array(featureSchema).min(1),
});
const tensorInputs = z.strictObject({
  kind: z.literal('tensors'),
  tensors: z.array(inputTensorSchema).min(1),
  text: textSpecSchema.optional(),
});
export const inputsSchema = z.discriminatedUnion('kind', [tabularInputs, tensorInputs]);
export type Inputs = z.infer<typeof inputsSchema>;
export type TabularInputs = z.infer<typeof tabularInputs>;

export const outputsSchema = z.strictObject({
  tensor: z
    .string()
    .min(1)
    .optional()
    .describe('ONNX output holding probabilities (classification) or values (regression).'),
  labels: z.array(z.string().min(1)).min(2).optional(),
  threshold: z
    .number()
    .gt(0)
    .lt(1)
    .optional()
    .describe('Binary classification: score at or above which the positive label is chosen.'),
  unit: z.string().optional(),
  tensors: z.array(tensorSpecSchema).min(1).optional().describe('Task "tensor": the raw outputs to return.'),
  labelsFile: z
    .string()
    .regex(/^[A-Za-z0-9._-]+\.txt$/, 'must be a .txt file name beside model.json, e.g. "labels.txt"')
    .optional()
    .describe(
      'Labels one per line, in output order, instead of listing them in "labels" (e.g. 1000 ImageNet classes).',
    ),
  activation: z
    .enum(['softmax', 'sigmoid'])
    .optional()
    .describe('Applied to outputs.tensor first, for graphs that end in logits.'),
  topK: z
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .describe('Multiclass: each prediction also lists the k most probable labels, best first, as "top".'),
  pooling: z
    .enum(['mean', 'cls', 'none'])
    .optional()
    .describe('Embedding: [N, L, D] token states to [N, D], by the attention-mask mean or the first token.'),
  normalize: z.boolean().optional().describe('Embedding: L2-normalize each vector.'),
});
export type Outputs = z.infer<typeof outputsSchema>;

const lambdaTarget = z.strictObject({
  type: z.literal('lambda'),
  memoryMb: z.number().int().min(128).max(10240).optional(),
  timeoutSeconds: z.number().int().min(1).max(900).optional(),
});
export const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const endpointName = z
  .string()
  .regex(ENDPOINT_NAME, 'must be 1-63 letters, digits and single hyphens, as SageMaker names endpoints');
const instanceType = z
  .string()
  .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as "ml.g5.xlarge"');

/** SageMaker Serverless Inference: CPU, scales to zero, billed per request. */
export const serverlessSchema = z
  .strictObject({
    memoryMb: z
      .number()
      .int()
      .refine((v) => v >= 1024 && v <= 6144 && v % 1024 === 0, {
        message: 'must be 1024, 2048, 3072, 4096, 5120 or 6144 (SageMaker Serverless memory sizes)',
      })
      .default(2048),
    maxConcurrency: z.number().int().min(1).max(200).default(5),
  })
  .describe(
    'Serve from a SageMaker Serverless endpoint (CPU, no idle cost, cold starts) instead of instances.',
  );
export type ServerlessConfig = z.infer<typeof serverlessSchema>;

const sagemakerTarget = z.strictObject({
  type: z.literal('sagemaker'),
  serverless: serverlessSchema.optional(),
  endpointName: endpointName
    .optional()
    .describe('Defaults to infera-<model>-<version>, the name the CDK stack gives the endpoint.'),
  instanceType: instanceType
    .optional()
    .describe('Defaults to ml.g5.xlarge (ml.inf2.xlarge for Inferentia); not with serverless.'),
  instanceCount: z.number().int().min(1).max(100).optional(),
  variant: endpointName.optional().describe('Production variant; defaults to AllTraffic.'),
  accelerator: z.enum(['none', 'gpu', 'inferentia']).optional(),
  image: z
    .string()
    .min(1)
    .optional()
    .describe(
      'A container image URI to serve this model instead of the infera ONNX container, e.g. a Neuron image for Inferentia.',
    ),
  modelDataUrl: z
    .string()
    .regex(/^s3:\/\/[^/]+\/.+/, 'must be an s3://bucket/key URL of a model.tar.gz')
    .optional()
    .describe('Model artifacts for a user-supplied image (e.g. a Neuron-compiled model).'),
});
const autoTarget = z.strictObject({
  type: z.literal('auto'),
  sizeThresholdMb: z.number().positive().optional(),
  accelerator: z.enum(['none', 'gpu', 'inferentia']).optional(),
  latencyBudgetMs: z.number().positive().optional(),
  serverless: serverlessSchema.optional(),
  endpointName: endpointName.optional(),
  instanceType: instanceType.optional(),
  instanceCount: z.number().int().min(1).max(100).optional(),
  variant: endpointName.optional(),
});
export const targetSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { type: v } : v),
  z.discriminatedUnion('type', [lambdaTarget, sagemakerTarget, autoTarget]),
);
export type Target = z.infer<typeof targetSchema>;

export const lineageSchema = z.strictObject({
  trainingDataHash: z.string().min(1).describe('Hash of the exact training data, e.g. sha256:<hex>.'),
  trainingCode: z.string().min(1).describe('Where the training code lives: a path, commit or URL.'),
  createdAt: z.iso.datetime({ offset: true }),
  algorithm: z.string().optional(),
  holdoutMetrics: z.record(z.string(), z.number()).default({}),
  notes: z.string().optional(),
});

export const trainingStatsSchema = z.strictObject({
  rows: z.number().int().min(1),
  features: z.record(z.string(), z.union([numericStats, categoricalStats])),
  score: numericStats
    .partial({ missingRate: true })
    .optional()
    .describe('Distribution of the model score on holdout data.'),
  inputs: z
    .record(
      z.string(),
      z.strictObject({ mean: z.number(), std: z.number().min(0), min: z.number(), max: z.number() }),
    )
    .optional()
    .describe(
      'Tensor inputs on training data, after pre-processing: by input name, "name[c]" for an image channel, or the text field for tokens per text. The dashboard shows live values against them.',
    ),
});
export type TrainingStats = z.infer<typeof trainingStatsSchema>;

export const manifestSchema = z
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
      })
      .optional()
      .describe('TypeScript preprocess/postprocess hooks beside model.json, pinned by hash like model.onnx.'),
    lineage: lineageSchema.optional(),
    trainingStats: trainingStatsSchema.optional(),
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
    if (m.inputs.kind === 'tabular') checkFeatures(m.inputs.features, issue);
    else {
      checkTensors(m.inputs.tensors, issue);
      checkText(m.inputs.tensors, m.inputs.text, issue);
    }
  });

export type Manifest = z.infer<typeof manifestSchema>;

function checkFeatures(
  features: Feature[],
  issue: (path: (string | number)[], message: string) => void,
): void {
  const seen = new Set<string>();
  features.forEach((f, i) => {
    const at = ['inputs', 'features', i];
    if (seen.has(f.name))
      issue([...at, 'name'], `duplicate feature name "${f.name}"; feature names must be unique`);
    seen.add(f.name);
    if (
      (f.type === 'number' || f.type === 'integer') &&
      f.min !== undefined &&
      f.max !== undefined &&
      f.min > f.max
    ) {
      issue([...at, 'min'], `min (${f.min}) is greater than max (${f.max}); swap them`);
    }
    if (f.type === 'categorical' && new Set(f.values).size !== f.values.length) {
      issue([...at, 'values'], 'categorical values must be unique');
    }
    if (!f.required && f.default === undefined) {
      issue(
        [...at, 'default'],
        `feature "${f.name}" is optional (required: false) but has no default; add "default" so a missing value can be imputed`,
      );
    }
    if (f.type === 'categorical' && f.default !== undefined && !f.values.includes(f.default)) {
      issue([...at, 'default'], `default "${f.default}" is not one of the feature's values`);
    }
  });
}

function checkTensors(
  tensors: TensorSpec[],
  issue: (path: (string | number)[], message: string) => void,
): void {
  const seen = new Set<string>();
  tensors.forEach((t, i) => {
    if (seen.has(t.name)) issue(['inputs', 'tensors', i, 'name'], `duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    if (t.shape.some((d) => d === 0))
      issue(['inputs', 'tensors', i, 'shape'], 'dimensions must be -1 (dynamic) or >= 1');
    if (t.image)
      checkImage(t as TensorSpec & { image: ImageSpec }, (path, message) =>
        issue(['inputs', 'tensors', i, ...path], message),
      );
  });
}

function checkText(
  tensors: readonly TensorSpec[],
  text: TextSpec | undefined,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const roles = tensors.filter((t) => t.tokens);
  if (!text) {
    if (roles.length > 0)
      issue(
        ['inputs', 'text'],
        'inputs declare "tokens" but there is no inputs.text saying which tokenizer fills them',
      );
    return;
  }
  tensors.forEach((t, i) => {
    const at = ['inputs', 'tensors', i];
    if (!t.tokens) {
      issue(
        [...at, 'tokens'],
        `with inputs.text every input is filled by the tokenizer; say which output fills "${t.name}": ids, mask or type_ids`,
      );
      return;
    }
    if (t.image) issue([...at, 'image'], 'an input is either an image or tokens, not both');
    if (t.datatype !== 'INT64' && t.datatype !== 'INT32')
      issue([...at, 'datatype'], `token inputs are INT64 or INT32; is ${t.datatype}`);
    const [, len, ...rest] = t.shape;
    if (t.shape.length !== 2 || rest.length > 0) {
      issue(
        [...at, 'shape'],
        `token inputs have shape [N, length]; this one has ${t.shape.length} dimensions`,
      );
    } else if (len !== -1 && len !== text.maxLength) {
      issue(
        [...at, 'shape', 1],
        `is ${len} but inputs.text.maxLength is ${text.maxLength}; make them equal, or use -1`,
      );
    } else if (len !== -1 && text.padding !== 'max_length') {
      issue(
        ['inputs', 'text', 'padding'],
        `input "${t.name}" has a fixed length (${len}); set padding "max_length"`,
      );
    }
  });
  if (!roles.some((t) => t.tokens === 'ids'))
    issue(['inputs', 'tensors'], 'one input must take the token ids (tokens: "ids")');
  const seen = new Set<string>();
  for (const t of roles) {
    if (seen.has(t.tokens as string)) issue(['inputs', 'tensors'], `two inputs take tokens "${t.tokens}"`);
    seen.add(t.tokens as string);
  }
}

const IMAGE_DATATYPES: readonly Datatype[] = ['FP32', 'FP16', 'FP64', 'UINT8', 'INT8'];

function checkImage(
  t: TensorSpec & { image: ImageSpec },
  issue: (path: (string | number)[], message: string) => void,
): void {
  const img = t.image;
  if (!IMAGE_DATATYPES.includes(t.datatype))
    issue(['datatype'], `an image input must be ${IMAGE_DATATYPES.join(', ')}; is ${t.datatype}`);
  if (t.shape.length !== 4) {
    issue(
      ['shape'],
      `an image input has 4 dimensions, [N, C, H, W] (layout NCHW) or [N, H, W, C] (NHWC); this one has ${t.shape.length}`,
    );
    return;
  }
  const [, a, b, d] = t.shape as [number, number, number, number];
  const [c, h, w] = img.layout === 'NCHW' ? [a, b, d] : [d, a, b];
  const channels = img.colorOrder === 'GRAY' ? 1 : 3;
  const cAt = img.layout === 'NCHW' ? 1 : 3;
  if (c !== channels)
    issue(
      ['shape', cAt],
      `colorOrder ${img.colorOrder} gives ${channels} channel${channels === 1 ? '' : 's'}, so this dimension must be ${channels} (layout ${img.layout}); it is ${c}`,
    );
  if (h === -1) issue(['shape', img.layout === 'NCHW' ? 2 : 1], 'an image input needs a fixed height');
  if (w === -1 && img.resize !== 'fit-height')
    issue(
      ['shape', img.layout === 'NCHW' ? 3 : 2],
      `resize "${img.resize}" needs a fixed width; only "fit-height" takes a dynamic one`,
    );
  for (const key of ['mean', 'std'] as const) {
    const v = img[key];
    if (v && v.length !== channels)
      issue(['image', key], `has ${v.length} values; give one per channel (${channels})`);
  }
}

/**
 * The input of a model whose only input is an image: the one a raw image body, an image file in a
 * batch job or a folder of images fills. Undefined for every other model.
 */
export function soleImageInput(m: Manifest): (TensorSpec & { image: ImageSpec }) | undefined {
  if (m.inputs.kind !== 'tensors' || m.inputs.tensors.length !== 1) return undefined;
  const [t] = m.inputs.tensors;
  return t?.image ? (t as TensorSpec & { image: ImageSpec }) : undefined;
}

/** Alias name -> one version. `aliases.json` itself may also hold a weighted split (core/traffic.ts). */
export type Aliases = Record<string, string>;
