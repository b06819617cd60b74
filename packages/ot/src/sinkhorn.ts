/**
 * Entropic-regularized optimal transport by Sinkhorn's algorithm: the solver and its output, the
 * last stages of geometry → problem → solver → output.
 *
 * For a {@link Problem} (cost C, marginals a, b summing to 1) and `reg` = ε > 0 the solvers compute
 *
 *     P* = argmin_P  <P, C> + ε Σ_ij P_ij (log P_ij − 1)   s.t.  P 1 = a,  Pᵀ 1 = b,
 *
 * whose solution has the form P*_ij = exp((f_i + g_j − C_ij)/ε) for dual potentials f, g.
 * Sinkhorn alternates the two marginal projections (Cuturi 2013; Peyré & Cuturi 2019, §4.2):
 * `sinkhornKernel` on the scalings u = e^{f/ε}, v = e^{g/ε} (fast, can under/overflow for small ε),
 * `sinkhornLog` on the potentials with log-sum-exp (stable for any ε), `sinkhorn` picks one.
 * Iterates, stopping rule and defaults follow POT's `ot.bregman.sinkhorn_knopp` / `sinkhorn_log`.
 */
import { sinkhornKernel, tryKernel } from "./sinkhorn-kernel.js";
import { sinkhornLog, solveLog } from "./sinkhorn-log.js";
import { type SolverSettings, resolveOptions } from "./sinkhorn-output.js";
import type { Matrix } from "./matrix.js";
import { type Problem, checkProblem } from "./problem.js";

export { sinkhornKernel } from "./sinkhorn-kernel.js";
export { sinkhornLog } from "./sinkhorn-log.js";

/** Options of every Sinkhorn solver. */
export interface SinkhornOptions {
  /** Entropic regularization ε > 0, in cost units (cosine costs lie in [0, 2]). */
  reg: number;
  /** Most iterations (one iteration = update g, then f); default 1000, as POT. */
  maxIter?: number;
  /**
   * Stop once the marginal error (see {@link SinkhornOutput.marginalError}) is `< tol`; default
   * 1e-9, as POT's `stopThr`. `tol: 0` never stops early: exactly `maxIter` iterations run.
   */
  tol?: number;
  /**
   * Which iteration: `"kernel"` ({@link sinkhornKernel}), `"log"` ({@link sinkhornLog}) or
   * `"auto"` (default): kernel when the cost range is at most {@link KERNEL_SAFE_RANGE}·reg,
   * restarting in log domain if it breaks down anyway; log otherwise.
   */
  method?: "auto" | "kernel" | "log";
  /** Test convergence every this many iterations (and after the last); default 10, as POT. */
  checkEvery?: number;
}

/** What a Sinkhorn solver returns. */
export interface SinkhornOutput {
  /** The transport plan P (n×m): P_ij = exp((f_i + g_j − C_ij)/reg), P 1 ≈ a, Pᵀ 1 ≈ b. */
  plan: Matrix;
  /** The transport cost <P, C> = Σ P_ij C_ij (what POT's `sinkhorn2` returns, and the LM-EMD score). */
  cost: number;
  /**
   * The regularized objective at P: <P, C> + reg Σ P_ij (log P_ij − 1), with 0 log 0 = 0 (OTT's
   * and Peyré & Cuturi's convention, = <P, C> − reg·H(P)). POT's docstrings write the entropy term
   * as Σ P log P; with Σ P = 1 the two differ by the constant reg. At convergence it equals the
   * dual value <f, a> + <g, b> − reg, and its gradient in C is P (see `sinkhornCostGradient`).
   */
  regularizedCost: number;
  /**
   * Dual potentials, in cost units, with P_ij = exp((f_i + g_j − C_ij)/reg) (POT's log_u·reg,
   * OTT's f, g). They are unique up to (f + t, g − t); the solvers start from f = 0, so kernel
   * and log runs report the same pair. A point of zero weight has potential −Infinity.
   */
  f: Float64Array;
  g: Float64Array;
  /** Iterations run (each updates g, then f). */
  iterations: number;
  /**
   * ‖P 1 − a‖₁ + ‖Pᵀ 1 − b‖₁ for the returned plan. After the f update the row sums are exact
   * up to rounding, so in practice this is the L1 error of the column sums; POT tests the L2 norm
   * of the same column error, which is never larger, so a given `tol` is at least as strict here.
   */
  marginalError: number;
  /** Whether `marginalError < tol` was reached within `maxIter` iterations. */
  converged: boolean;
  /** The iteration that produced this output (after any fallback of `"auto"`). */
  method: "kernel" | "log";
}

/**
 * `method: "auto"` runs the kernel iteration when max(C) − min(C) ≤ KERNEL_SAFE_RANGE · reg.
 * The kernel is computed as exp(−(C − min C)/reg), so its entries then lie in [e^−500, 1]: all
 * normal doubles (e^−500 ≈ 7e−218; underflow starts below e^−708), leaving the scalings u, v,
 * which grow up to about 1/min K, some 1e90 of headroom for small weights before overflow at
 * 1.8e308. Beyond that the log-domain iteration runs (same iterates, exact for any reg, but
 * 4–7× slower per iteration on a 32×300 problem under Node 20: one exp per entry).
 */
export const KERNEL_SAFE_RANGE = 500;

/**
 * Solves the entropic OT problem with the iteration named by `options.method` (default
 * `"auto"`). Auto never returns NaN or ±Infinity in the plan, costs or error: it runs the kernel
 * iteration only when the cost range is at most {@link KERNEL_SAFE_RANGE}·reg and, should the
 * kernel iteration still produce a zero, NaN or infinite scaling, restarts from scratch in log
 * domain (`method: "log"` in the output, `iterations` counting the log run only).
 *
 * @throws Error for an invalid problem or options (reg ≤ 0, maxIter < 1, tol < 0…), or, for
 *   `method: "kernel"`, a numerical breakdown of the kernel iteration.
 */
export function sinkhorn(problem: Problem, options: SinkhornOptions): SinkhornOutput {
  const method = options.method ?? "auto";
  if (method === "kernel") return sinkhornKernel(problem, options);
  if (method === "log") return sinkhornLog(problem, options);
  if (method !== "auto") {
    throw new Error(`sinkhorn: method must be "auto", "kernel" or "log", got ${JSON.stringify(method)}`);
  }
  checkProblem(problem);
  const settings: SolverSettings = resolveOptions(options);
  if (costRange(problem.cost) <= KERNEL_SAFE_RANGE * settings.reg) {
    const result = tryKernel(problem, settings);
    if ("plan" in result) return result;
  }
  return solveLog(problem, settings);
}

/** max(C) − min(C). */
export function costRange(cost: Matrix): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < cost.data.length; k++) {
    const c = cost.data[k]!;
    if (c < lo) lo = c;
    if (c > hi) hi = c;
  }
  return hi - lo;
}
