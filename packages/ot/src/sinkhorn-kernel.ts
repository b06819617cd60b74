/**
 * Kernel-domain Sinkhorn (Sinkhorn–Knopp matrix scaling; Cuturi 2013, "Sinkhorn Distances:
 * Lightspeed Computation of Optimal Transport", NeurIPS; POT's `ot.bregman.sinkhorn_knopp`;
 * Peyré & Cuturi 2019, §4.2): multiply-adds only, the fastest iteration, but for small
 * reg the kernel e^{−C/reg} underflows and the scalings overflow.
 */
import { type Problem, checkProblem } from "./problem.js";
import { type LoopEnd, type SolverSettings, finish, iterate, marginalError, resolveOptions } from "./sinkhorn-output.js";
import type { SinkhornOptions, SinkhornOutput } from "./sinkhorn.js";

/**
 * Solves the entropic OT problem by Sinkhorn's matrix scaling. With the kernel
 * K_ij = exp(−(C_ij − c₀)/reg), c₀ = min C (a shift that changes only the gauge of the scalings,
 * not the plan, and keeps max K = 1), starting from u = 1, each iteration is
 *
 *     v ← b ⊘ Kᵀu,   u ← a ⊘ K v
 *
 * (column marginal first, as POT). The plan is P = diag(u) K diag(v); the potentials are
 * f = reg log u, g = reg log v + c₀, the same pair the log-domain iteration reports.
 * Stopping as {@link SinkhornOptions}.
 *
 * @throws Error for an invalid problem or options, and when the iteration breaks down — a
 *   denominator Kᵀu or Kv that is 0 or infinite, or a scaling that under/overflows, as happens when
 *   reg is small relative to the cost range — advising `method: "log"` or `"auto"` rather than
 *   returning NaN.
 */
export function sinkhornKernel(problem: Problem, options: SinkhornOptions): SinkhornOutput {
  checkProblem(problem);
  const settings = resolveOptions(options);
  const result = tryKernel(problem, settings);
  if ("plan" in result) return result;
  throw new Error(
    `sinkhornKernel: numerical breakdown at iteration ${result.iteration} (${result.reason}) with reg ${settings.reg}: ` +
      `the kernel exp(-C/reg) under/overflows for this cost range; use method "log" or "auto"`,
  );
}

/** Where and why the kernel iteration broke down. */
export interface KernelBreakdown {
  iteration: number;
  reason: string;
}

/** {@link sinkhornKernel} on a checked problem and settings, reporting a breakdown instead of throwing. */
export function tryKernel(problem: Problem, settings: SolverSettings): SinkhornOutput | KernelBreakdown {
  const { cost, a, b } = problem;
  const n = cost.rows;
  const m = cost.cols;
  const reg = settings.reg;
  let c0 = Infinity;
  for (let k = 0; k < cost.data.length; k++) c0 = Math.min(c0, cost.data[k]!);
  const K = new Float64Array(n * m);
  for (let k = 0; k < K.length; k++) K[k] = Math.exp(-(cost.data[k]! - c0) / reg);
  const u = new Float64Array(n).fill(1);
  const v = new Float64Array(m);
  const ktu = new Float64Array(m);
  const plan = new Float64Array(n * m);
  let iteration = 0;

  const step = (): void => {
    iteration++;
    // v = b ⊘ Kᵀu, accumulated row by row.
    ktu.fill(0);
    for (let i = 0; i < n; i++) {
      const ui = u[i]!;
      if (ui === 0) continue;
      const row = i * m;
      for (let j = 0; j < m; j++) ktu[j] = ktu[j]! + K[row + j]! * ui;
    }
    for (let j = 0; j < m; j++) v[j] = scale(b[j]!, ktu[j]!, "(Kᵀu)", j);
    // u = a ⊘ K v, along the contiguous rows.
    for (let i = 0; i < n; i++) {
      const row = i * m;
      let kv = 0;
      for (let j = 0; j < m; j++) kv += K[row + j]! * v[j]!;
      u[i] = scale(a[i]!, kv, "(Kv)", i);
    }
  };

  /** weight / denominator; throws a Breakdown when either is not a usable number. */
  const scale = (weight: number, denominator: number, what: string, index: number): number => {
    const s = weight / denominator;
    if (!(denominator > 0) || !Number.isFinite(denominator)) throw new Breakdown(`${what}[${index}] = ${denominator}`);
    if (!Number.isFinite(s) || (s === 0 && weight > 0)) throw new Breakdown(`scaling ${weight}/${what}[${index}] = ${s}`);
    return s;
  };

  const check = (): number => {
    for (let i = 0; i < n; i++) {
      const row = i * m;
      const ui = u[i]!;
      for (let j = 0; j < m; j++) plan[row + j] = ui * K[row + j]! * v[j]!;
    }
    const error = marginalError(plan, a, b, ktu);
    if (!Number.isFinite(error)) throw new Breakdown(`marginal error ${error}`);
    return error;
  };

  let end: LoopEnd;
  try {
    end = iterate(settings, step, check);
  } catch (error) {
    if (error instanceof Breakdown) return { iteration, reason: error.message };
    throw error;
  }
  const f = u.map((x) => reg * Math.log(x));
  const g = v.map((x) => reg * Math.log(x) + c0);
  return finish(problem, reg, plan, { f, g }, end, "kernel");
}

/** Thrown inside the iteration to stop it at the first unusable number. */
class Breakdown extends Error {}
