/**
 * Pairwise ranking losses on score pairs (s⁺_i, s⁻_i): the relevant item should score higher.
 */
import { checkCount, checkFloats, checkScalar, type Floats, sigmoid, softplus, toF32 } from "../math.js";
import { type LossOutput, type Reduction, reductionScale } from "./types.js";

/**
 * Margin ranking (hinge) loss, PyTorch's `MarginRankingLoss(margin)` with target y = 1:
 *
 *     L = (1/n) Σ_i max(0, margin − (s⁺_i − s⁻_i))          (reduction "sum": without 1/n)
 *
 * Gradients: for an active pair (margin − (s⁺_i − s⁻_i) > 0), ∂L/∂s⁺_i = −1/n and ∂L/∂s⁻_i = +1/n;
 * 0 otherwise (at the kink the subgradient 0, as PyTorch's `clamp_min`).
 *
 * The LM-EMD study trains with margin 0 on groups of 5 documents, the relevant one first: pair the
 * relevant document's score with each of the 4 others (s⁺ repeated), scores being 1 − distance.
 *
 * @param scorePos s⁺, one score per pair
 * @param scoreNeg s⁻, same length
 * @param margin the required gap (≥ 0 in practice; any finite number is accepted)
 * @returns loss and grads [∂L/∂scorePos, ∂L/∂scoreNeg]
 *
 * References: PyTorch `torch.nn.MarginRankingLoss`; Herbrich et al., "Large margin rank boundaries
 * for ordinal regression" (2000).
 */
export function pairwiseHingeLoss(scorePos: Floats, scoreNeg: Floats, margin: number, reduction: Reduction = "mean"): LossOutput {
  const fn = "pairwiseHingeLoss";
  const n = scorePos.length;
  checkFloats(scorePos, n, "scorePos", fn);
  checkFloats(scoreNeg, n, "scoreNeg", fn);
  checkScalar(margin, "margin", fn);
  const scale = reductionScale(reduction, n, fn);
  const gPos = new Float32Array(n);
  const gNeg = new Float32Array(n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const h = margin - (scorePos[i]! - scoreNeg[i]!);
    if (h > 0) {
      loss += h;
      gPos[i] = -scale;
      gNeg[i] = scale;
    }
  }
  return { loss: loss * scale, grads: [gPos, gNeg] };
}

/**
 * Softplus (logistic) pairwise loss, RankNet's cross-entropy with target P(i ≻ j) = 1:
 *
 *     L = (1/n) Σ_i log(1 + exp(−(s⁺_i − s⁻_i))) = (1/n) Σ_i softplus(−Δ_i),   Δ_i = s⁺_i − s⁻_i
 *
 * Gradients: ∂L/∂s⁺_i = −σ(−Δ_i)/n, ∂L/∂s⁻_i = +σ(−Δ_i)/n. softplus and σ are evaluated so that
 * neither overflows for any |Δ| (log1p(e^−|z|) + max(z, 0)).
 *
 * @returns loss and grads [∂L/∂scorePos, ∂L/∂scoreNeg]
 *
 * Reference: Burges et al., "Learning to rank using gradient descent" (RankNet, ICML 2005).
 */
export function pairwiseSoftplusLoss(scorePos: Floats, scoreNeg: Floats, reduction: Reduction = "mean"): LossOutput {
  const fn = "pairwiseSoftplusLoss";
  const n = scorePos.length;
  checkCount(n, "n", fn);
  checkFloats(scorePos, n, "scorePos", fn);
  checkFloats(scoreNeg, n, "scoreNeg", fn);
  const scale = reductionScale(reduction, n, fn);
  const gPos = new Float64Array(n);
  const gNeg = new Float64Array(n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const z = -(scorePos[i]! - scoreNeg[i]!);
    loss += softplus(z);
    const s = sigmoid(z) * scale;
    gPos[i] = -s;
    gNeg[i] = s;
  }
  return { loss: loss * scale, grads: [toF32(gPos), toF32(gNeg)] };
}
