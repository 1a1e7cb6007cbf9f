/** A manifest's outputs: how the graph's outputs become predictions. */
import * as z from 'zod';
import { tensorSpecSchema } from './inputs.ts';

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
