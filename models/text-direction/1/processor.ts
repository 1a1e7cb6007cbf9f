/**
 * text-direction's post-processing, as PaddleOCR's own pipeline decides it: a crop is turned
 * upright only when the classifier says "180" with at least cls_thresh (0.9) confidence
 * (tools/infer/predict_cls.py). Runs wherever the model runs; hash-pinned in model.json.
 */
import type { Postprocess } from '../../../functions/core/processor.ts';

/** PaddleOCR's default --cls_thresh. */
const CLS_THRESH = 0.9;

export const postprocess: Postprocess = (prediction) => ({
  ...prediction,
  rotate: prediction.label === '180' && (prediction.score ?? 0) >= CLS_THRESH,
});
