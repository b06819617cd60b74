/**
 * The LM-EMD score and its gradient in the token rows, for training a token head through
 * optimal transport.
 *
 * Forward (as the lm-emd ranker of `@crossrank/rankers`): C_ij = 1 − cos(q_i, d_j) between the
 * query's n and the document's m token rows (`cosineCost`), P the entropic (Sinkhorn) plan with
 * uniform marginals and regularisation γ, distance = <C, P> = Σ C⊙P (the ranker's score is
 * −distance; the LM-EMD study's training score is 1 − distance).
 *
 * Backward, by default (`gradient: "envelope"`) with the plan held fixed:
 *
 *     ∂distance/∂C ≈ P                         (`sinkhornCostGradient`, envelope theorem)
 *     ∂distance/∂q_i, ∂distance/∂d_j           (`cosineCostBackward` with G = P)
 *
 * It needs no backpropagation through the iterations (one solve per pair, O(n·m·d) backward).
 * What this gradient is, exactly:
 *  1. the exact gradient of <C(x), P̄> with P̄ = P treated as a constant (stop-gradient on the plan);
 *  2. at convergence, the exact gradient of the entropic OT value
 *     W_γ(C) = min_{P∈U(a,b)} <C, P> + γ Σ P (log P − 1)  (= `regularizedDistance`; Danskin / envelope
 *     theorem: ∂W_γ/∂C = P*, Peyré & Cuturi 2019, ch. 9); its error is of the order of the
 *     marginal error, so solve tightly (small `tol`, enough iterations) when training;
 *  3. not the derivative of the transport cost <C, P(C)> with the plan's own dependence on C (what
 *     autograd through the unrolled Sinkhorn iterations computes, as the LM-EMD study does through
 *     500 iterations): that adds <C, ∂P / ∂C>, which the envelope gradient leaves out. The gap is
 *     not small at the γ values in use: on a random 4×5 cosine problem (test/emd.test.ts) the two
 *     gradients differ by 43% (γ 0.5) and 35% (γ 0.05) in relative norm. The envelope gradient is
 *     the exact gradient of a different objective (W_γ), not an approximation of autograd's.
 *     POT offers the same choice as `ot.solve(M, a, b, reg, grad="envelope")` vs `grad="autodiff"`.
 * `gradient: "unrolled"` gives the study's gradient instead: reverse-mode differentiation through
 * exactly `iterations` kernel-domain Sinkhorn iterations (the derivative autograd would compute),
 * O(iterations·(n + m)) memory and about twice the forward's time.
 */
import { cosineCost, cosineCostBackward, linearProblem, type Matrix, sinkhorn, sinkhornCostGradient } from "@crossrank/ot";
import { checkCount, checkFloats, checkPositive, checkScalar, type Floats } from "./math.js";

/** Options of {@link emdScoreAndGrad}. */
export interface EmdOptions {
  /** Entropic regularisation γ > 0 in cost units (cosine costs lie in [0, 2]). Default 0.1 (the LM-EMD study's; it sweeps 0.1, 1, 10). */
  gamma?: number;
  /** Most Sinkhorn iterations. Default 100 (the lm-emd ranker's default preset; 500 under its faithful preset). */
  iterations?: number;
  /** Sinkhorn iteration (`@crossrank/ot`'s `sinkhorn`): "auto" (default), "kernel" or "log". */
  method?: "auto" | "kernel" | "log";
  /**
   * Stop once the marginal error is below this. Default 0: every iteration runs, as the ranker (no
   * early stop), so the training score is the score the ranker computes. A small positive tol
   * (e.g. 1e-9) stops early once converged.
   */
  tol?: number;
  /** Query token weights (n, ≥ 0; normalised). Default uniform, as LM-EMD. */
  queryWeights?: ArrayLike<number>;
  /** Document token weights (m, ≥ 0; normalised). Default uniform. */
  docWeights?: ArrayLike<number>;
  /**
   * Which gradient: "envelope" (default; the plan held fixed — exact for the entropic value W_γ at
   * convergence) or "unrolled" (reverse mode through exactly `iterations` kernel-domain iterations:
   * the exact derivative of the returned `distance`, what the LM-EMD study's autograd computes;
   * needs `tol` 0 and method "auto" or "kernel").
   */
  gradient?: "envelope" | "unrolled";
}

/** What {@link emdScoreAndGrad} returns. */
export interface EmdScoreGrad {
  /** <C, P> = Σ C⊙P, the LM-EMD distance (score = −distance, or 1 − distance in the study's training). */
  distance: number;
  /** <C, P> + γ Σ P (log P − 1): the entropic OT value W_γ, whose exact gradient (at convergence) {@link gradQuery}/{@link gradDoc} are. */
  regularizedDistance: number;
  /** The plan P, [n, m] row-major float64 (sums to 1). */
  plan: Float64Array;
  /**
   * [n, d]. "envelope": ∂<C(q, d), P̄>/∂q with the plan P̄ held fixed (= ∂W_γ/∂q at convergence);
   * "unrolled": ∂distance/∂q through every iteration.
   */
  gradQuery: Float32Array;
  /** [m, d], the same for the document rows. */
  gradDoc: Float32Array;
  /** Sinkhorn iterations run. */
  iterations: number;
  /** ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ of the returned plan. */
  marginalError: number;
  /** Whether the marginal error fell below `tol` (never with tol 0, the default, nor with "unrolled"). */
  converged: boolean;
  /** The iteration that produced the plan ("unrolled" always runs "kernel"). */
  method: "kernel" | "log";
}

/** Options after defaults. */
interface ResolvedEmd {
  gamma: number;
  iterations: number;
  method: "auto" | "kernel" | "log";
  tol: number;
  gradient: "envelope" | "unrolled";
}

function resolve(opts: EmdOptions, fn: string): ResolvedEmd {
  const gamma = opts.gamma ?? 0.1;
  const iterations = opts.iterations ?? 100;
  const method = opts.method ?? "auto";
  const tol = opts.tol ?? 0;
  checkScalar(gamma, "gamma", fn, "positive");
  checkPositive(iterations, "iterations", fn);
  checkScalar(tol, "tol", fn, "nonNegative");
  if (method !== "auto" && method !== "kernel" && method !== "log") throw new Error(`${fn}: method must be "auto", "kernel" or "log", got ${JSON.stringify(method)}`);
  const gradient = opts.gradient ?? "envelope";
  if (gradient !== "envelope" && gradient !== "unrolled") throw new Error(`${fn}: gradient must be "envelope" or "unrolled", got ${JSON.stringify(gradient)}`);
  if (gradient === "unrolled" && method === "log") throw new Error(`${fn}: gradient "unrolled" differentiates the kernel-domain iteration; use method "auto" or "kernel"`);
  if (gradient === "unrolled" && tol !== 0) throw new Error(`${fn}: gradient "unrolled" runs exactly \`iterations\` iterations; tol must be 0`);
  return { gamma, iterations, method, tol, gradient };
}

/**
 * The LM-EMD distance between one query's and one document's token rows, with its gradient in
 * both (plan held fixed by default, or through the iterations with `gradient: "unrolled"`; see the
 * module comment for what each gradient is exactly).
 *
 *     distance = Σ_ij C_ij P_ij,   C_ij = 1 − cos(q_i, d_j),   P = Sinkhorn_γ(C, a, b)
 *     envelope: ∂/∂q_i = −(1/|q_i|) ( Σ_j P_ij d̂_j − (Σ_j P_ij cos_ij) q̂_i )      (and symmetrically for d_j)
 *     unrolled: the same chain with G = ∂distance/∂C through the iterations in place of P
 *
 * A zero row has cosine 0 with everything (cost 1) and gradient 0 (`cosineCost`'s convention).
 *
 * @param queryRows [n, d] row-major (e.g. the token head's output on the query tokens)
 * @param docRows [m, d] row-major
 * @throws Error for empty sides, mismatched lengths, non-finite values or invalid options
 */
export function emdScoreAndGrad(queryRows: Floats, n: number, docRows: Floats, m: number, d: number, opts: EmdOptions = {}): EmdScoreGrad {
  const fn = "emdScoreAndGrad";
  const o = resolve(opts, fn);
  return solveOne(fn, o, queryRows, n, docRows, m, d, opts.queryWeights, opts.docWeights);
}

function solveOne(fn: string, o: ResolvedEmd, queryRows: Floats, n: number, docRows: Floats, m: number, d: number, a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): EmdScoreGrad {
  checkPositive(n, "n (query rows)", fn);
  checkPositive(m, "m (document rows)", fn);
  checkPositive(d, "d", fn);
  checkFloats(queryRows, n * d, "queryRows", fn);
  checkFloats(docRows, m * d, "docRows", fn);
  const x: Matrix = { rows: n, cols: d, data: Float64Array.from(queryRows) };
  const y: Matrix = { rows: m, cols: d, data: Float64Array.from(docRows) };
  const problem = linearProblem(cosineCost(x, y), a, b);
  if (o.gradient === "unrolled") {
    const u = unrolledSinkhorn(fn, problem, o.gamma, o.iterations);
    const back = cosineCostBackward(x, y, { rows: n, cols: m, data: u.gradCost });
    return {
      distance: u.distance,
      regularizedDistance: u.regularized,
      plan: u.plan,
      gradQuery: Float32Array.from(back.x.data),
      gradDoc: Float32Array.from(back.y.data),
      iterations: o.iterations,
      marginalError: u.marginalError,
      converged: false,
      method: "kernel",
    };
  }
  const out = sinkhorn(problem, { reg: o.gamma, maxIter: o.iterations, tol: o.tol, method: o.method, checkEvery: o.tol === 0 ? o.iterations : 10 });
  const back = cosineCostBackward(x, y, sinkhornCostGradient(out));
  return {
    distance: out.cost,
    regularizedDistance: out.regularizedCost,
    plan: out.plan.data,
    gradQuery: Float32Array.from(back.x.data),
    gradDoc: Float32Array.from(back.y.data),
    iterations: out.iterations,
    marginalError: out.marginalError,
    converged: out.converged,
    method: out.method,
  };
}

/** One candidate document's token rows, [length, d] row-major. */
export interface EmdDocument {
  rows: Floats;
  length: number;
  /** Token weights (length, ≥ 0); default uniform. */
  weights?: ArrayLike<number>;
}

/** What {@link emdCandidatesAndGrad} returns. */
export interface EmdCandidates {
  /** distances[c] = the LM-EMD distance between the query and candidate c. */
  distances: Float64Array;
  /** Each candidate's full result (plan, per-pair gradients, diagnostics). */
  items: EmdScoreGrad[];
  /**
   * Chains a loss's gradient in the distances (dDistances[c] = ∂L/∂distance_c) to the rows:
   * gradQuery = Σ_c dDistances[c]·gradQuery_c ([n, d]), gradDocs[c] = dDistances[c]·gradDoc_c
   * ([length_c, d]). For a loss on scores s_c = 1 − distance_c (the LM-EMD study's), pass −∂L/∂s.
   */
  backward(dDistances: Floats): { gradQuery: Float32Array; gradDocs: Float32Array[] };
}

/**
 * The LM-EMD distances between one query and each of its candidate documents, with the pieces to
 * chain a loss over the candidates (pairwise, cross-entropy over 1 − distance…) back to the token
 * rows. One Sinkhorn solve per candidate in float64 (`@crossrank/ot`'s reference solver: training
 * groups are small — the LM-EMD study trains on groups of 5).
 *
 * @param queryRows [n, d] row-major
 * @param docs the candidates' rows
 */
export function emdCandidatesAndGrad(queryRows: Floats, n: number, docs: readonly EmdDocument[], d: number, opts: EmdOptions = {}): EmdCandidates {
  const fn = "emdCandidatesAndGrad";
  const o = resolve(opts, fn);
  checkCount(docs.length, "the number of documents", fn);
  const items = docs.map((doc, c) => {
    try {
      return solveOne(fn, o, queryRows, n, doc.rows, doc.length, d, opts.queryWeights, doc.weights);
    } catch (e) {
      throw new Error(`${(e as Error).message} (candidate ${c})`);
    }
  });
  const distances = Float64Array.from(items, (item) => item.distance);
  return {
    distances,
    items,
    backward(dDistances: Floats) {
      checkFloats(dDistances, items.length, "dDistances", `${fn}.backward`);
      const gq = new Float64Array(n * d);
      const gradDocs = items.map((item, c) => {
        const w = dDistances[c]!;
        for (let k = 0; k < gq.length; k++) gq[k] = gq[k]! + w * item.gradQuery[k]!;
        const gd = new Float32Array(item.gradDoc.length);
        for (let k = 0; k < gd.length; k++) gd[k] = w * item.gradDoc[k]!;
        return gd;
      });
      return { gradQuery: Float32Array.from(gq), gradDocs };
    },
  };
}

/**
 * Kernel-domain Sinkhorn with exactly `iterations` iterations — the same iterates as `@crossrank/ot`'s
 * `sinkhornKernel` (K = exp(−(C − min C)/γ), u = 1, then v ← b ⊘ Kᵀu, u ← a ⊘ K v) — and the
 * reverse-mode derivative of the transport cost D = Σ C ⊙ P, P = diag(u) K diag(v), in C through
 * every iteration (what autograd through the unrolled loop gives):
 *
 *     C̄ = P + K̄ ⊙ (−K/γ),   K̄ = (C ⊙ u vᵀ) + Σ_k ( s̄_k v_kᵀ + u_{k−1} t̄_kᵀ )
 *     with, from the last iteration back, ū ← Σ_j C K v (final), v̄ ← Σ_i C u K (final),
 *     s̄_k = −ū ⊙ u_k ⊘ s_k,  v̄ += Kᵀ s̄_k,  t̄_k = −v̄ ⊙ v_k ⊘ t_k,  ū = K t̄_k,  v̄ = 0
 *
 * where s_k = K v_k and t_k = Kᵀ u_{k−1}. The shift min C is treated as a constant: it changes
 * only the gauge of u, v, and P does not depend on it after any number of iterations.
 */
function unrolledSinkhorn(fn: string, problem: { cost: Matrix; a: Float64Array; b: Float64Array }, gamma: number, iterations: number): { distance: number; regularized: number; plan: Float64Array; gradCost: Float64Array; marginalError: number } {
  const { cost, a, b } = problem;
  const n = cost.rows;
  const m = cost.cols;
  const C = cost.data;
  let c0 = Infinity;
  for (let k = 0; k < C.length; k++) c0 = Math.min(c0, C[k]!);
  const K = new Float64Array(n * m);
  for (let k = 0; k < K.length; k++) K[k] = Math.exp(-(C[k]! - c0) / gamma);
  // History: U[k] = u_k (k = 0..T), V[k−1] = v_k, S[k−1] = K v_k, Tt[k−1] = Kᵀ u_{k−1} (k = 1..T).
  const T = iterations;
  const U = new Float64Array((T + 1) * n);
  const V = new Float64Array(T * m);
  const S = new Float64Array(T * n);
  const Tt = new Float64Array(T * m);
  U.fill(1, 0, n);
  const breakdown = (what: string, k: number): never => {
    throw new Error(`${fn}: the kernel-domain iteration broke down at iteration ${k} (${what}) with gamma ${gamma}; use a larger gamma or gradient "envelope"`);
  };
  for (let k = 1; k <= T; k++) {
    const uPrev = (k - 1) * n;
    const vk = (k - 1) * m;
    for (let i = 0; i < n; i++) {
      const ui = U[uPrev + i]!;
      if (ui === 0) continue;
      for (let j = 0; j < m; j++) Tt[vk + j] = Tt[vk + j]! + K[i * m + j]! * ui;
    }
    for (let j = 0; j < m; j++) {
      const t = Tt[vk + j]!;
      if (!(t > 0) || !Number.isFinite(t)) breakdown(`(Kᵀu)[${j}] = ${t}`, k);
      V[vk + j] = b[j]! / t;
    }
    const uk = k * n;
    const sk = (k - 1) * n;
    for (let i = 0; i < n; i++) {
      let kv = 0;
      for (let j = 0; j < m; j++) kv += K[i * m + j]! * V[vk + j]!;
      if (!(kv > 0) || !Number.isFinite(kv)) breakdown(`(Kv)[${i}] = ${kv}`, k);
      S[sk + i] = kv;
      U[uk + i] = a[i]! / kv;
    }
  }
  const uT = T * n;
  const vT = (T - 1) * m;
  const plan = new Float64Array(n * m);
  const gradCost = new Float64Array(n * m);
  const kBar = new Float64Array(n * m);
  let uBar = new Float64Array(n);
  let vBar = new Float64Array(m);
  let distance = 0;
  let entropy = 0;
  const colSums = new Float64Array(m);
  let marginalError = 0;
  for (let i = 0; i < n; i++) {
    const ui = U[uT + i]!;
    let rowSum = 0;
    for (let j = 0; j < m; j++) {
      const k = i * m + j;
      const vj = V[vT + j]!;
      const p = ui * K[k]! * vj;
      plan[k] = p;
      rowSum += p;
      colSums[j] = colSums[j]! + p;
      distance += C[k]! * p;
      if (p > 0) entropy += p * (Math.log(p) - 1);
      gradCost[k] = p;
      kBar[k] = C[k]! * ui * vj;
      uBar[i] = uBar[i]! + C[k]! * K[k]! * vj;
      vBar[j] = vBar[j]! + C[k]! * ui * K[k]!;
    }
    marginalError += Math.abs(rowSum - a[i]!);
  }
  for (let j = 0; j < m; j++) marginalError += Math.abs(colSums[j]! - b[j]!);
  const sBar = new Float64Array(n);
  const tBar = new Float64Array(m);
  for (let k = T; k >= 1; k--) {
    const uk = k * n;
    const uPrev = (k - 1) * n;
    const vk = (k - 1) * m;
    const sk = (k - 1) * n;
    // u_k = a ⊘ s_k, s_k = K v_k.
    for (let i = 0; i < n; i++) sBar[i] = (-uBar[i]! * U[uk + i]!) / S[sk + i]!;
    for (let i = 0; i < n; i++) {
      const g = sBar[i]!;
      if (g === 0) continue;
      for (let j = 0; j < m; j++) {
        kBar[i * m + j] = kBar[i * m + j]! + g * V[vk + j]!;
        vBar[j] = vBar[j]! + K[i * m + j]! * g;
      }
    }
    // v_k = b ⊘ t_k, t_k = Kᵀ u_{k−1}.
    for (let j = 0; j < m; j++) tBar[j] = (-vBar[j]! * V[vk + j]!) / Tt[vk + j]!;
    const nextU = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const ui = U[uPrev + i]!;
      let acc = 0;
      for (let j = 0; j < m; j++) {
        kBar[i * m + j] = kBar[i * m + j]! + ui * tBar[j]!;
        acc += K[i * m + j]! * tBar[j]!;
      }
      nextU[i] = acc;
    }
    uBar = nextU;
    vBar = new Float64Array(m);
  }
  for (let k = 0; k < gradCost.length; k++) gradCost[k] = gradCost[k]! - (kBar[k]! * K[k]!) / gamma;
  return { distance, regularized: distance + gamma * entropy, plan, gradCost, marginalError };
}
