/**
 * What the Sinkhorn iterations share: option defaults and checks, the POT-style stopping loop,
 * the marginal error, and the assembly of a {@link SinkhornOutput} from a plan and potentials.
 */
import type { Problem } from "./problem.js";
import type { SinkhornOptions, SinkhornOutput } from "./sinkhorn.js";

/** Options with defaults applied and checked. */
export interface SolverSettings {
  reg: number;
  maxIter: number;
  tol: number;
  checkEvery: number;
}

/**
 * Applies the defaults (maxIter 1000, tol 1e-9, checkEvery 10, all as POT) and checks ranges.
 *
 * @throws Error for reg not finite and > 0, maxIter or checkEvery not an integer ≥ 1, tol not ≥ 0.
 */
export function resolveOptions(options: SinkhornOptions): SolverSettings {
  const { reg, maxIter = 1000, tol = 1e-9, checkEvery = 10 } = options;
  if (typeof reg !== "number" || !Number.isFinite(reg) || reg <= 0) {
    throw new Error(`sinkhorn: reg must be a finite number > 0, got ${String(reg)}`);
  }
  if (!Number.isInteger(maxIter) || maxIter < 1) {
    throw new Error(`sinkhorn: maxIter must be an integer >= 1, got ${String(maxIter)}`);
  }
  if (typeof tol !== "number" || Number.isNaN(tol) || tol < 0) {
    throw new Error(`sinkhorn: tol must be a number >= 0, got ${String(tol)}`);
  }
  if (!Number.isInteger(checkEvery) || checkEvery < 1) {
    throw new Error(`sinkhorn: checkEvery must be an integer >= 1, got ${String(checkEvery)}`);
  }
  return { reg, maxIter, tol, checkEvery };
}

/** How an iteration loop ended. */
export interface LoopEnd {
  iterations: number;
  converged: boolean;
  /** The error of the last check, which always follows the last iteration. */
  error: number;
}

/**
 * POT's stopping rule: after iteration k (1-based) with k a multiple of `checkEvery`, and after
 * the last one, `check()` measures the marginal error; the loop stops as soon as it is `< tol`.
 * `step()` runs one iteration. With `tol: 0` exactly `maxIter` iterations run.
 */
export function iterate(settings: SolverSettings, step: () => void, check: () => number): LoopEnd {
  let error = Infinity;
  for (let k = 1; k <= settings.maxIter; k++) {
    step();
    if (k % settings.checkEvery === 0 || k === settings.maxIter) {
      error = check();
      if (error < settings.tol) return { iterations: k, converged: true, error };
    }
  }
  return { iterations: settings.maxIter, converged: false, error };
}

/** ‖P 1 − a‖₁ + ‖Pᵀ 1 − b‖₁ of an n×m row-major plan; `colSums` (length m) is scratch space. */
export function marginalError(plan: Float64Array, a: Float64Array, b: Float64Array, colSums: Float64Array): number {
  const n = a.length;
  const m = b.length;
  colSums.fill(0);
  let error = 0;
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    const row = i * m;
    for (let j = 0; j < m; j++) {
      const p = plan[row + j]!;
      rowSum += p;
      colSums[j] = colSums[j]! + p;
    }
    error += Math.abs(rowSum - a[i]!);
  }
  for (let j = 0; j < m; j++) error += Math.abs(colSums[j]! - b[j]!);
  return error;
}

/**
 * The output for a final `plan` and potentials: transport cost <P, C> and regularized cost
 * <P, C> + reg Σ P (log P − 1) (0 log 0 = 0) computed from the plan itself.
 */
export function finish(
  problem: Problem,
  reg: number,
  plan: Float64Array,
  potentials: { f: Float64Array; g: Float64Array },
  end: LoopEnd,
  method: "kernel" | "log",
): SinkhornOutput {
  const c = problem.cost.data;
  let cost = 0;
  let entropy = 0;
  for (let k = 0; k < plan.length; k++) {
    const p = plan[k]!;
    if (p > 0) {
      cost += p * c[k]!;
      entropy += p * (Math.log(p) - 1);
    }
  }
  return {
    plan: { rows: problem.cost.rows, cols: problem.cost.cols, data: plan },
    cost,
    regularizedCost: cost + reg * entropy,
    f: potentials.f,
    g: potentials.g,
    iterations: end.iterations,
    marginalError: end.error,
    converged: end.converged,
    method,
  };
}
