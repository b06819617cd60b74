/**
 * Gradients for training through LM-EMD: the derivative of the Sinkhorn value in the cost matrix
 * (envelope theorem), and the chain rule of the cosine cost back to the token embeddings.
 * Together: ∂W/∂x = cosineCostBackward(x, y, sinkhornCostGradient(sinkhorn(problem, options))).x
 */
import { rowNorms } from "./geometry.js";
import { type Matrix, checkMatrix } from "./matrix.js";
import type { SinkhornOutput } from "./sinkhorn.js";

/**
 * Gradient in the cost matrix C of the regularized OT value
 *
 *     W_reg(C) = min_{P 1 = a, Pᵀ1 = b}  <P, C> + reg Σ P (log P − 1)   (= output.regularizedCost)
 *
 * which is ∂W_reg/∂C = P*, the optimal plan (envelope / Danskin's theorem: the constraint set does
 * not depend on C, and the minimizer is unique, so the derivative of the value is the partial
 * derivative of the objective at P*; Peyré & Cuturi 2019, ch. 9). No backpropagation through
 * the iterations is needed. It is exact only at convergence: its error is of the order of
 * `marginalError` (times the size of the potentials), so solve tightly when training.
 *
 * Not the gradient of the unregularized transport cost <P*(C), C> (`output.cost`) evaluated at the
 * regularized optimum: that one is P* + <∂P* / ∂C, C>, and the second term, of order reg, is ignored.
 * P* is a good approximation of it only for small reg.
 *
 * Returns a copy of the plan.
 */
export function sinkhornCostGradient(output: SinkhornOutput): Matrix {
  const { rows, cols, data } = output.plan;
  return { rows, cols, data: Float64Array.from(data) };
}

/**
 * Backward pass of C_ij = 1 − cos(x_i, y_j) (see `cosineCost`): given G = ∂L/∂C (n×m), the
 * gradients of L in the embeddings, by the chain rule with x̂ = x/|x|:
 *
 *     ∂L/∂x_i = −(1/|x_i|) ( Σ_j G_ij ŷ_j − (Σ_j G_ij cos_ij) x̂_i )
 *     ∂L/∂y_j = −(1/|y_j|) ( Σ_i G_ij x̂_i − (Σ_i G_ij cos_ij) ŷ_j )
 *
 * (each gradient is orthogonal to its vector: the cosine is scale invariant). Zero vectors follow
 * `cosineCost`'s convention, cos = 0 as a constant, so their gradient is 0 and they contribute
 * nothing to the others' gradients. The clamp of the cosine to [−1, 1] is ignored (it only acts
 * at rounding level). O(n·m·d).
 *
 * @throws Error when dimensions disagree (x n×d, y m×d, gradCost n×m) or an input is not finite.
 */
export function cosineCostBackward(x: Matrix, y: Matrix, gradCost: Matrix): { x: Matrix; y: Matrix } {
  checkMatrix(x, "x", true);
  checkMatrix(y, "y", true);
  checkMatrix(gradCost, "gradCost", true);
  if (x.cols !== y.cols) {
    throw new Error(`cosineCostBackward: x has points of dimension ${x.cols}, y of dimension ${y.cols}`);
  }
  if (gradCost.rows !== x.rows || gradCost.cols !== y.rows) {
    throw new Error(`cosineCostBackward: gradCost is ${gradCost.rows}×${gradCost.cols}, expected ${x.rows}×${y.rows}`);
  }
  const n = x.rows;
  const m = y.rows;
  const d = x.cols;
  const xNorm = rowNorms(x);
  const yNorm = rowNorms(y);
  const xHat = normalized(x, xNorm);
  const yHat = normalized(y, yNorm);
  const gx = new Float64Array(n * d);
  const gy = new Float64Array(m * d);
  // Per pair: w = G_ij; accumulate Σ_j w ŷ_j into gx_i and Σ_i w x̂_i into gy_j, and the
  // Σ w cos sums, then finish each row as −(1/|·|)(Σ − s·(unit vector)).
  const sx = new Float64Array(n);
  const sy = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const w = gradCost.data[i * m + j]!;
      if (w === 0) continue;
      let cos = 0;
      for (let k = 0; k < d; k++) cos += xHat[i * d + k]! * yHat[j * d + k]!;
      sx[i] = sx[i]! + w * cos;
      sy[j] = sy[j]! + w * cos;
      for (let k = 0; k < d; k++) {
        gx[i * d + k] = gx[i * d + k]! + w * yHat[j * d + k]!;
        gy[j * d + k] = gy[j * d + k]! + w * xHat[i * d + k]!;
      }
    }
  }
  finishRows(gx, xHat, xNorm, sx, d);
  finishRows(gy, yHat, yNorm, sy, d);
  return { x: { rows: n, cols: d, data: gx }, y: { rows: m, cols: d, data: gy } };
}

/** Rows divided by their norms; zero rows stay zero. */
function normalized(m: Matrix, norms: Float64Array): Float64Array {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const norm = norms[i]!;
    if (norm === 0) continue;
    for (let k = i * m.cols; k < (i + 1) * m.cols; k++) out[k] = m.data[k]! / norm;
  }
  return out;
}

/** grad_i ← −(grad_i − s_i·unit_i)/norm_i, and 0 for zero vectors. */
function finishRows(grad: Float64Array, unit: Float64Array, norms: Float64Array, s: Float64Array, d: number): void {
  for (let i = 0; i < norms.length; i++) {
    const norm = norms[i]!;
    for (let k = i * d; k < (i + 1) * d; k++) grad[k] = norm === 0 ? 0 : -(grad[k]! - s[i]! * unit[k]!) / norm;
  }
}
