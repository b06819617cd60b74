/**
 * The `js` backend: plain TypeScript over typed arrays, one pair at a time, always available.
 * Float32 inputs; the cost product accumulates in float64 with a 4-row register block (each
 * document vector is read once per 4 query rows); kernel and iterations are float64, so the kernel
 * domain here only breaks down for reg far smaller than on the float32 backends.
 */
import { type Prepared, inverseNorms, queryOf, SCALING_LIMITS } from "./prepare.js";

export interface PairSolution {
  cost: number;
  /** [qLen, dLen] row-major (when plans were asked for). */
  plan?: Float32Array;
  /** False when the kernel-domain result is unreliable (see SinkhornDomain "auto"). */
  healthy: boolean;
}

/** Cosine (or 1 − dot) cost of one pair, [qLen, dLen] float64, row-major. */
export function pairCost(p: Prepared, pair: number, ix: Float32Array, iy: Float32Array): Float64Array {
  const q = queryOf(p, pair);
  const nq = p.qLen[q]!;
  const md = p.dLen[pair]!;
  const d = p.d;
  const X = p.X;
  const Y = p.Y;
  const C = new Float64Array(nq * md);
  const xBase = q * p.n * d;
  const yBase = pair * p.m * d;
  let i = 0;
  for (; i + 4 <= nq; i += 4) {
    const x0 = xBase + i * d;
    const x1 = x0 + d;
    const x2 = x1 + d;
    const x3 = x2 + d;
    for (let j = 0; j < md; j++) {
      const y = yBase + j * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < d; k++) {
        const yk = Y[y + k]!;
        s0 += X[x0 + k]! * yk;
        s1 += X[x1 + k]! * yk;
        s2 += X[x2 + k]! * yk;
        s3 += X[x3 + k]! * yk;
      }
      const iyj = iy[pair * p.m + j]!;
      C[i * md + j] = 1 - s0 * ix[q * p.n + i]! * iyj;
      C[(i + 1) * md + j] = 1 - s1 * ix[q * p.n + i + 1]! * iyj;
      C[(i + 2) * md + j] = 1 - s2 * ix[q * p.n + i + 2]! * iyj;
      C[(i + 3) * md + j] = 1 - s3 * ix[q * p.n + i + 3]! * iyj;
    }
  }
  for (; i < nq; i++) {
    const x0 = xBase + i * d;
    for (let j = 0; j < md; j++) {
      const y = yBase + j * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += X[x0 + k]! * Y[y + k]!;
      C[i * md + j] = 1 - s * ix[q * p.n + i]! * iy[pair * p.m + j]!;
    }
  }
  return C;
}

/**
 * Kernel-domain Sinkhorn (POT order: v = b/Kᵀu then u = a/Kv, from u = 1) on a cost of n×m with
 * marginals a, b (0 entries take no mass), K shifted by column minima.
 */
export function kernelSolve(C: Float64Array, n: number, m: number, a: ArrayLike<number>, b: ArrayLike<number>, reg: number, iterations: number, wantPlan: boolean): PairSolution {
  // γ_j = min_i C_ij: K_ij = exp(−(C_ij − γ_j)/reg) has a 1 in every column and gives exactly
  // POT's iterates (the shift only rescales v). Zero-weight tokens keep their kernel entries, as in
  // POT (they count in the first Kᵀu, from u = 1, and get u_i = 0 after it).
  const gamma = new Float64Array(m).fill(Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) gamma[j] = Math.min(gamma[j]!, C[i * m + j]!);
  }
  const K = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) K[i * m + j] = Math.exp(-(C[i * m + j]! - gamma[j]!) / reg);
  }
  const u = new Float64Array(n).fill(1);
  const v = new Float64Array(m);
  const ktu = new Float64Array(m);
  for (let it = 0; it < iterations; it++) {
    ktu.fill(0);
    for (let i = 0; i < n; i++) {
      const ui = u[i]!;
      if (ui === 0) continue;
      const row = i * m;
      for (let j = 0; j < m; j++) ktu[j] = ktu[j]! + K[row + j]! * ui;
    }
    for (let j = 0; j < m; j++) v[j] = b[j]! === 0 ? 0 : b[j]! / ktu[j]!;
    for (let i = 0; i < n; i++) {
      const row = i * m;
      let kv = 0;
      for (let j = 0; j < m; j++) kv += K[row + j]! * v[j]!;
      u[i] = a[i]! === 0 ? 0 : a[i]! / kv;
    }
  }
  let cost = 0;
  let mass = 0;
  let healthy = true;
  const plan = wantPlan ? new Float32Array(n * m) : undefined;
  for (let i = 0; i < n; i++) {
    const ui = u[i]!;
    if (a[i]! > 0 && !(ui >= SCALING_LIMITS.min && ui <= SCALING_LIMITS.max)) healthy = false;
    for (let j = 0; j < m; j++) {
      const pij = ui * K[i * m + j]! * v[j]!;
      cost += pij * C[i * m + j]!;
      mass += pij;
      if (plan !== undefined) plan[i * m + j] = pij;
    }
  }
  for (let j = 0; j < m; j++) if (b[j]! > 0 && !(v[j]! >= SCALING_LIMITS.min && v[j]! <= SCALING_LIMITS.max)) healthy = false;
  if (!Number.isFinite(cost) || !(Math.abs(mass - 1) < 1e-3)) healthy = false;
  return plan === undefined ? { cost, healthy } : { cost, plan, healthy };
}

/** Log-domain Sinkhorn, same iterates as {@link kernelSolve} (F = log u, G = log v), float64. */
export function logSolve(C: Float64Array, n: number, m: number, a: ArrayLike<number>, b: ArrayLike<number>, reg: number, iterations: number, wantPlan: boolean): PairSolution {
  const M = new Float64Array(n * m);
  for (let k = 0; k < n * m; k++) M[k] = -C[k]! / reg;
  const logA = Float64Array.from({ length: n }, (_, i) => (a[i]! > 0 ? Math.log(a[i]!) : -Infinity));
  const logB = Float64Array.from({ length: m }, (_, j) => (b[j]! > 0 ? Math.log(b[j]!) : -Infinity));
  const F = new Float64Array(n);
  const G = new Float64Array(m);
  const mx = new Float64Array(m);
  const sum = new Float64Array(m);
  for (let it = 0; it < iterations; it++) {
    // G_j = log b_j − LSE_i(M_ij + F_i), over rows with a_i > 0 (F_i = −∞ otherwise after it 1).
    mx.fill(-Infinity);
    for (let i = 0; i < n; i++) {
      const fi = F[i]!;
      if (fi === -Infinity) continue;
      for (let j = 0; j < m; j++) mx[j] = Math.max(mx[j]!, M[i * m + j]! + fi);
    }
    sum.fill(0);
    for (let i = 0; i < n; i++) {
      const fi = F[i]!;
      if (fi === -Infinity) continue;
      for (let j = 0; j < m; j++) sum[j] = sum[j]! + Math.exp(M[i * m + j]! + fi - mx[j]!);
    }
    for (let j = 0; j < m; j++) G[j] = logB[j] === -Infinity ? -Infinity : logB[j]! - (mx[j]! + Math.log(sum[j]!));
    for (let i = 0; i < n; i++) {
      if (logA[i] === -Infinity) {
        F[i] = -Infinity;
        continue;
      }
      let hi = -Infinity;
      for (let j = 0; j < m; j++) if (G[j] !== -Infinity) hi = Math.max(hi, M[i * m + j]! + G[j]!);
      let s = 0;
      for (let j = 0; j < m; j++) if (G[j] !== -Infinity) s += Math.exp(M[i * m + j]! + G[j]! - hi);
      F[i] = logA[i]! - (hi + Math.log(s));
    }
  }
  let cost = 0;
  const plan = wantPlan ? new Float32Array(n * m) : undefined;
  for (let i = 0; i < n; i++) {
    if (F[i] === -Infinity) continue;
    for (let j = 0; j < m; j++) {
      if (G[j] === -Infinity) continue;
      const pij = Math.exp(M[i * m + j]! + F[i]! + G[j]!);
      cost += pij * C[i * m + j]!;
      if (plan !== undefined) plan[i * m + j] = pij;
    }
  }
  return plan === undefined ? { cost, healthy: true } : { cost, plan, healthy: true };
}

/** Solves every pair of `p` on the js backend. */
export function solveJs(p: Prepared, domain: "kernel" | "log"): PairSolution[] {
  const ix = p.ix ?? inverseNorms(p.X, p.qCount * p.n, p.d, p.normalize);
  const iy = p.iy ?? inverseNorms(p.Y, p.pairs * p.m, p.d, p.normalize);
  const out: PairSolution[] = [];
  for (let pair = 0; pair < p.pairs; pair++) {
    const q = queryOf(p, pair);
    const nq = p.qLen[q]!;
    const md = p.dLen[pair]!;
    const C = pairCost(p, pair, ix, iy);
    const a = p.a.subarray(q * p.n, q * p.n + nq);
    const b = p.b.subarray(pair * p.m, pair * p.m + md);
    out.push((domain === "log" ? logSolve : kernelSolve)(C, nq, md, a, b, p.reg, p.iterations, p.returnPlans));
  }
  return out;
}
