/**
 * Linear (balanced) optimal-transport problems: a cost matrix and the two marginals, the second
 * stage of geometry → problem → solver → output (as OTT-JAX's `LinearProblem`).
 */
import { type Matrix, checkMatrix } from "./matrix.js";

/**
 * A balanced problem: transport `a` (n masses, one per cost row) onto `b` (m masses, one per cost
 * column) at cost `cost` (n×m). Built by {@link linearProblem}, `a` and `b` are non-negative and
 * each sums to 1.
 */
export interface Problem {
  cost: Matrix;
  a: Float64Array;
  b: Float64Array;
}

/**
 * The problem of moving `a` onto `b` at cost `cost`:
 *
 *     min_P <P, C>   s.t.   P ≥ 0,  P 1 = a,  Pᵀ 1 = b.
 *
 * Omitted marginals are uniform (1/n, 1/m). Given weights (token counts, idf, attention…) must be
 * finite, ≥ 0, with a positive sum, one per cost row (`a`) or column (`b`). Each is normalized to
 * sum 1: POT's solvers expect equal masses and leave that to the caller; here, as in Word Mover's
 * Distance and LM-EMD, weights are relative importances, so the distance compares normalized
 * histograms. Zero weights are allowed: the point takes no part (its plan row or column is 0).
 *
 * The cost is checked (finite entries) but not copied.
 *
 * @throws Error for a malformed or non-finite cost, an empty side, a length mismatch, a negative
 *   or non-finite weight, or weights summing to 0.
 */
export function linearProblem(cost: Matrix, a?: ArrayLike<number>, b?: ArrayLike<number>): Problem {
  checkMatrix(cost, "cost", true);
  if (cost.rows === 0 || cost.cols === 0) {
    throw new Error(`problem: the cost is ${cost.rows}×${cost.cols}; both sides need at least one point`);
  }
  return {
    cost,
    a: marginal(a, cost.rows, "a", "rows"),
    b: marginal(b, cost.cols, "b", "columns"),
  };
}

/**
 * Throws unless `problem` is usable by the solvers: a well-formed finite cost with at least one row
 * and column, marginals of matching lengths, finite and ≥ 0, with positive and equal sums
 * (relative difference ≤ 1e-9). O(n·m), cheap next to a solve; run by every solver, so hand-built
 * problems (not from {@link linearProblem}) are checked too.
 */
export function checkProblem(problem: Problem): void {
  const { cost, a, b } = problem;
  checkMatrix(cost, "cost", true);
  if (cost.rows === 0 || cost.cols === 0) {
    throw new Error(`problem: the cost is ${cost.rows}×${cost.cols}; both sides need at least one point`);
  }
  const sa = checkWeights(a, cost.rows, "a", "rows");
  const sb = checkWeights(b, cost.cols, "b", "columns");
  if (Math.abs(sa - sb) > 1e-9 * Math.max(sa, sb)) {
    throw new Error(`problem: a sums to ${sa} but b to ${sb}; balanced transport needs equal masses (use linearProblem)`);
  }
}

function marginal(weights: ArrayLike<number> | undefined, n: number, name: string, side: string): Float64Array {
  if (weights === undefined) return new Float64Array(n).fill(1 / n);
  const sum = checkWeights(weights, n, name, side);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = weights[i]! / sum;
  return out;
}

/** Checks length, finiteness, sign and a positive sum; returns the sum. */
function checkWeights(weights: ArrayLike<number>, n: number, name: string, side: string): number {
  if (weights.length !== n) {
    throw new Error(`problem: ${name} has ${weights.length} weights but the cost has ${n} ${side}`);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new Error(`problem: ${name}[${i}] is ${String(w)}; weights must be finite and >= 0`);
    }
    sum += w;
  }
  if (!(sum > 0)) throw new Error(`problem: the weights ${name} sum to 0; at least one must be positive`);
  if (!Number.isFinite(sum)) throw new Error(`problem: the weights ${name} sum to ${sum}; rescale them`);
  return sum;
}
