/**
 * Log-domain Sinkhorn (POT's `ot.bregman.sinkhorn_log`; Peyré & Cuturi 2019, §4.4;
 * Schmitzer 2019): Sinkhorn's iteration carried out on the potentials with log-sum-exp, so no
 * kernel entry e^{−C/reg} ever under- or overflows. Exact for any reg > 0 (tested to 0.001 on
 * costs in [0, 2], where e^{−C/reg} underflows to 0), at one exp per entry per half-iteration.
 */
import { type Problem, checkProblem } from "./problem.js";
import { type LoopEnd, type SolverSettings, finish, iterate, marginalError, resolveOptions } from "./sinkhorn-output.js";
import type { SinkhornOptions, SinkhornOutput } from "./sinkhorn.js";

/**
 * Solves the entropic OT problem by Sinkhorn iterations in log domain. With F = f/reg,
 * G = g/reg (POT's `log_u`, `log_v`) and M = −C/reg, starting from F = 0, each iteration is
 *
 *     G_j ← log b_j − logsumexp_i (M_ij + F_i)
 *     F_i ← log a_i − logsumexp_j (M_ij + G_j)
 *
 * (the same order as POT: the column marginal first, so after each iteration the row sums are
 * exact and the error is on the columns), each log-sum-exp shifted by its maximum. These are the
 * kernel updates v = b / Kᵀu, u = a / Kv in logarithms, so both methods follow the same iterates.
 * The plan is P_ij = exp(M_ij + F_i + G_j). A zero weight a_i gives F_i = −∞ (its row is skipped).
 * Stopping as {@link SinkhornOptions}; never throws for numerical reasons and never yields NaN.
 *
 * @throws Error for an invalid problem or options.
 */
export function sinkhornLog(problem: Problem, options: SinkhornOptions): SinkhornOutput {
  checkProblem(problem);
  return solveLog(problem, resolveOptions(options));
}

/** {@link sinkhornLog} on an already checked problem and settings. */
export function solveLog(problem: Problem, settings: SolverSettings): SinkhornOutput {
  const { cost, a, b } = problem;
  const n = cost.rows;
  const m = cost.cols;
  const reg = settings.reg;
  const mr = new Float64Array(n * m);
  for (let k = 0; k < mr.length; k++) mr[k] = -cost.data[k]! / reg;
  const logA = a.map(Math.log);
  const logB = b.map(Math.log);
  const F = new Float64Array(n);
  const G = new Float64Array(m);
  const colMax = new Float64Array(m);
  const colSum = new Float64Array(m);
  const plan = new Float64Array(n * m);

  const step = (): void => {
    // G_j = log b_j − logsumexp_i(M_ij + F_i): two row-major passes (column maxima, then sums).
    colMax.fill(-Infinity);
    for (let i = 0; i < n; i++) {
      const fi = F[i]!;
      if (fi === -Infinity) continue;
      const row = i * m;
      for (let j = 0; j < m; j++) {
        const t = mr[row + j]! + fi;
        if (t > colMax[j]!) colMax[j] = t;
      }
    }
    colSum.fill(0);
    for (let i = 0; i < n; i++) {
      const fi = F[i]!;
      if (fi === -Infinity) continue;
      const row = i * m;
      for (let j = 0; j < m; j++) colSum[j] = colSum[j]! + Math.exp(mr[row + j]! + fi - colMax[j]!);
    }
    for (let j = 0; j < m; j++) G[j] = logB[j]! - (colMax[j]! + Math.log(colSum[j]!));
    // F_i = log a_i − logsumexp_j(M_ij + G_j), along the contiguous row.
    for (let i = 0; i < n; i++) {
      if (logA[i] === -Infinity) {
        F[i] = -Infinity;
        continue;
      }
      const row = i * m;
      let max = -Infinity;
      for (let j = 0; j < m; j++) {
        const t = mr[row + j]! + G[j]!;
        if (t > max) max = t;
      }
      let sum = 0;
      for (let j = 0; j < m; j++) sum += Math.exp(mr[row + j]! + G[j]! - max);
      F[i] = logA[i]! - (max + Math.log(sum));
    }
  };

  const check = (): number => {
    for (let i = 0; i < n; i++) {
      const fi = F[i]!;
      const row = i * m;
      for (let j = 0; j < m; j++) plan[row + j] = fi === -Infinity ? 0 : Math.exp(mr[row + j]! + fi + G[j]!);
    }
    return marginalError(plan, a, b, colSum);
  };

  const end: LoopEnd = iterate(settings, step, check);
  const f = F.map((x) => x * reg);
  const g = G.map((x) => x * reg);
  return finish(problem, reg, plan, { f, g }, end, "log");
}
