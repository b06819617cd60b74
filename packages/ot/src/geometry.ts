/**
 * Geometries: the ground cost C between the points of two clouds, the first stage of the
 * geometry → problem → solver → output pipeline (as OTT-JAX's `geometry.PointCloud`).
 *
 * Both clouds are matrices with one point per row (x: n×d, y: m×d); the cost is n×m with
 * C_ij = c(x_i, y_j).
 */
import { type Matrix, checkMatrix } from "./matrix.js";

/**
 * Cosine cost, the ground cost of LM-EMD / Word Mover's Distance on contextual embeddings:
 *
 *     C_ij = 1 − <x_i, y_j> / (|x_i| |y_j|)        ∈ [0, 2]
 *
 * Convention for a zero vector (padding, an all-zero embedding): its cosine with anything is 0, so
 * its costs are exactly 1 (the cost of orthogonal vectors) rather than NaN. The cosine is clamped
 * to [−1, 1], so rounding never makes a cost negative or above 2. O(n·m·d).
 *
 * @throws Error when the point dimensions differ or a coordinate is not finite.
 */
export function cosineCost(x: Matrix, y: Matrix): Matrix {
  checkClouds(x, y);
  const xn = rowNorms(x);
  const yn = rowNorms(y);
  const d = x.cols;
  const out = new Float64Array(x.rows * y.rows);
  for (let i = 0; i < x.rows; i++) {
    const xi = i * d;
    for (let j = 0; j < y.rows; j++) {
      const denominator = xn[i]! * yn[j]!;
      let cos = 0;
      if (denominator > 0) {
        const yj = j * d;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += x.data[xi + k]! * y.data[yj + k]!;
        cos = Math.min(1, Math.max(-1, dot / denominator));
      }
      out[i * y.rows + j] = 1 - cos;
    }
  }
  return { rows: x.rows, cols: y.rows, data: out };
}

/**
 * Squared Euclidean cost C_ij = |x_i − y_j|², summed coordinate by coordinate (not as
 * |x|² + |y|² − 2<x, y>, which cancels catastrophically for near points), so C_ii = 0 exactly for
 * equal points. Scale it (e.g. divide by its maximum, as POT's examples do) before choosing `reg`.
 *
 * @throws Error when the point dimensions differ or a coordinate is not finite.
 */
export function squaredEuclideanCost(x: Matrix, y: Matrix): Matrix {
  checkClouds(x, y);
  const d = x.cols;
  const out = new Float64Array(x.rows * y.rows);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < y.rows; j++) {
      let sum = 0;
      for (let k = 0; k < d; k++) {
        const diff = x.data[i * d + k]! - y.data[j * d + k]!;
        sum += diff * diff;
      }
      out[i * y.rows + j] = sum;
    }
  }
  return { rows: x.rows, cols: y.rows, data: out };
}

/**
 * A given cost matrix (any ground cost computed elsewhere), checked and copied: every entry must be
 * finite; negative costs are allowed (optimal transport is invariant to adding a constant).
 *
 * @throws Error naming the first non-finite entry, or for a malformed matrix.
 */
export function costMatrix(c: Matrix): Matrix {
  checkMatrix(c, "cost", true);
  return { rows: c.rows, cols: c.cols, data: Float64Array.from(c.data) };
}

/** Euclidean norm of each row. */
export function rowNorms(m: Matrix): Float64Array {
  const norms = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let sum = 0;
    for (let k = i * m.cols; k < (i + 1) * m.cols; k++) sum += m.data[k]! * m.data[k]!;
    norms[i] = Math.sqrt(sum);
  }
  return norms;
}

function checkClouds(x: Matrix, y: Matrix): void {
  checkMatrix(x, "x", true);
  checkMatrix(y, "y", true);
  if (x.cols !== y.cols) {
    throw new Error(`cost: x has points of dimension ${x.cols}, y of dimension ${y.cols}; they must match`);
  }
}
