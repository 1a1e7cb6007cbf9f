/**
 * What a golden fixture expects a classifier to answer, from the float64 probabilities the
 * training code computes: the same label, score and probabilities the platform's post-processing
 * gives (functions/core/tensor/postprocess.ts), so the graph is checked against its training.
 */

/** A binary classifier: `fraud` at or above the threshold, `legit` below. */
export function expectedBinary(p: number, threshold: number) {
  return {
    label: p >= threshold ? 'fraud' : 'legit',
    score: p,
    probabilities: { legit: 1 - p, fraud: p },
  };
}

/** A multiclass classifier: the most probable label (the first on a tie) and every probability. */
export function expectedMulticlass(labels: readonly string[], p: readonly number[]) {
  const best = p.indexOf(Math.max(...p));
  return {
    label: labels[best],
    score: p[best],
    probabilities: Object.fromEntries(labels.map((l, c) => [l, p[c]])),
  };
}
