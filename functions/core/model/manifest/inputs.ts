/**
 * A manifest's inputs: tabular features (each with its type, range and default) or named tensors,
 * with image pre-processing per input and text tokenization for token inputs.
 */
import * as z from 'zod';
import { DATATYPES, FEATURE_NAME } from './names.ts';

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
    .describe(
      'Dimensions; -1 marks a dynamic one. The first is the batch dimension; [] is a scalar (rank 0), which v2 requests send.',
    ),
  description: z.string().optional(),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema> & {
  readonly image?: ImageSpec | undefined;
  readonly tokens?: 'ids' | 'mask' | 'type_ids' | undefined;
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
  nonFinite: z
    .enum(['accept', 'refuse'])
    .default('accept')
    .describe(
      'NaN and infinities in float inputs (FP16, FP32, FP64): accepted and passed to the model, as Triton does (binary data, or the JSON strings "NaN", "Infinity", "-Infinity"), or refused with a 400 naming the element.',
    ),
});
export const inputsSchema = z.discriminatedUnion('kind', [tabularInputs, tensorInputs]);
export type Inputs = z.infer<typeof inputsSchema>;
export type TabularInputs = z.infer<typeof tabularInputs>;

export { soleImageInput } from './image-input.ts';
