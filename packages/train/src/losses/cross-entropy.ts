/**
 * Listwise losses: softmax cross-entropy over a row of candidate scores.
 */
import { checkCount, checkFloats, type Floats, logSumExp } from "../math.js";
import { type LossOutput, type Reduction, reductionScale } from "./types.js";

/**
 * Cross-entropy over candidates, PyTorch's `CrossEntropyLoss` on logits `scores` [n, c]:
 *
 *     L = (1/n) Σ_i −log softmax(s_i)[t_i] = (1/n) Σ_i ( logsumexp_j s_ij − s_{i,t_i} )
 *
 * Gradient: ∂L/∂s_ij = (softmax(s_i)_j − [j = t_i]) / n. The log-sum-exp factors out the row
 * maximum, so any finite scores are safe (no overflow, no log 0).
 *
 * The LM-EMD study applies it to raw scores 1 − distance (no temperature) of each query's group of
 * candidates: ∂L/∂distance = −∂L/∂score.
 *
 * @param scores [n, c] row-major logits
 * @param target [n] the index of the correct candidate in each row, 0 ≤ t_i < c
 * @returns loss and grads [∂L/∂scores]
 *
 * Reference: PyTorch `torch.nn.CrossEntropyLoss` (mean reduction).
 */
export function candidateCrossEntropyLoss(scores: Floats, n: number, c: number, target: ArrayLike<number>, reduction: Reduction = "mean"): LossOutput {
  return softmaxCrossEntropy("candidateCrossEntropyLoss", scores, n, c, target, reduction);
}

/**
 * The relevance-ranking (RR) objective of Pretraining-CLIR (Yu, Fei & Li, "Cross-lingual Language
 * Model Pretraining for Retrieval", WWW 2021): each query's relevant passage competes with k sampled
 * negatives under a softmax,
 *
 *     L = (1/n) Σ_i −log( exp(s_i0) / Σ_{j<k+1} exp(s_ij) )
 *
 * with column 0 the relevant passage — {@link candidateCrossEntropyLoss} with every target 0.
 *
 * @param scores [n, k1] row-major, k1 = 1 + k columns, column 0 the relevant passage
 * @param k1 the number of columns (relevant + k negatives)
 * @returns loss and grads [∂L/∂scores]: (softmax(s_i)_j − [j = 0]) / n
 */
export function relevanceRankingLoss(scores: Floats, n: number, k1: number, reduction: Reduction = "mean"): LossOutput {
  checkCount(n, "n", "relevanceRankingLoss");
  return softmaxCrossEntropy("relevanceRankingLoss", scores, n, k1, new Int32Array(n), reduction);
}

function softmaxCrossEntropy(fn: string, scores: Floats, n: number, c: number, target: ArrayLike<number>, reduction: Reduction): LossOutput {
  checkCount(n, "n", fn);
  checkCount(c, "the number of candidates", fn);
  if (n > 0 && c < 1) throw new Error(`${fn}: each row needs at least one candidate, got c = ${c}`);
  checkFloats(scores, n * c, "scores", fn);
  if (target.length !== n) throw new Error(`${fn}: target has ${target.length} entries, expected ${n}`);
  const scale = reductionScale(reduction, n, fn);
  const grad = new Float32Array(n * c);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= c) throw new Error(`${fn}: target[${i}] is ${String(t)}, expected an integer in [0, ${c})`);
    const row = i * c;
    const lse = logSumExp(scores, row, c);
    loss += lse - scores[row + t]!;
    for (let j = 0; j < c; j++) grad[row + j] = (Math.exp(scores[row + j]! - lse) - (j === t ? 1 : 0)) * scale;
  }
  return { loss: loss * scale, grads: [grad] };
}
