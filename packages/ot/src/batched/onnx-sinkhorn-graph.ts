/**
 * The batched Sinkhorn computation as one ONNX graph (built with @crossrank/onnx), so that a
 * whole batch — cosine cost, kernel, all iterations, costs and plans — is one onnxruntime run.
 *
 * Inputs (B pairs; Bx is B, or 1 to broadcast one query against every document):
 *   X   float [Bx, n, d]  query tokens, zero-padded
 *   Y   float [B,  m, d]  document tokens, zero-padded
 *   a   float [Bx, n]     query marginals (sum 1; 0 on padding)
 *   b   float [B,  m]     document marginals (sum 1; 0 on padding)
 *   mx  float [Bx, n], my float [B, m]  1 on real tokens, 0 on padding
 *   reg float []          entropic regularisation
 *   iterations int64 []   Sinkhorn iterations (≥ 1; "loop" graphs only)
 *   ix float [Bx, n], iy float [B, m]  inverse token norms (normalize "inputs" only)
 * Outputs:
 *   cost float [B]        <P, C> with C = 1 − cos (the unshifted cost)
 *   mass float [B]        Σ P (1 when nothing under/overflowed)
 *   plan float [B, n, m]  P (only when built with `plans: true`)
 *   scaleMin, scaleMax float [B]  range of the real scalings u, v (kernel domain only)
 *
 * Iterations follow POT's `sinkhorn_knopp`: from u = 1, each iteration sets v = b / Kᵀu, then
 * u = a / K v; P = diag(u) K diag(v). A real token of weight 0 is part of the problem as in POT
 * (its kernel row counts in the first Kᵀu, from u = 1); padding is not.
 *
 * Padding: K is 1 wherever the row or the column is padding and u starts at 0 on padded rows, so
 * no denominator Kv, Kᵀu of a padded token is 0 and the padded u, v stay 0 (0 / positive): padding
 * takes no mass and never enters a real row's or column's sum. (Log domain: padded entries get
 * −BIG/reg.)
 *
 * Kernel domain ("kernel"): K = exp(−(C_ij − γ_j)/reg) with γ_j = min_i C_ij over real rows. The
 * column shift only rescales v (v' = e^{−γ/reg} v), so the plans of all iterates are exactly POT's
 * (a row shift would not be: it would change the starting u = 1), and every real column of K holds
 * an entry 1, so Kᵀu never underflows. A row of K can still underflow to all zeros when each of its
 * costs exceeds the column's best by more than ~87·reg (float32 exp range; impossible for
 * reg ≥ 0.023 as cosine costs lie in [0, 2]), and u, v can leave the float32 range for small reg;
 * such pairs show as a non-finite cost, a mass ≠ 1 or scalings outside [1e-30, 1e30], which the
 * caller checks to recompute them in the log domain.
 *
 * Log domain ("log"): potentials F = log u, G = log v with F_i = log a_i − LSE_j(G_j − C_ij/reg)
 * etc. Never under/overflows but costs an exp per entry per half-iteration (several × slower).
 */
import { attr, encodeModel, GraphBuilder } from "@crossrank/onnx";

export type SinkhornDomain = "kernel" | "log";

export interface SinkhornGraphConfig {
  domain: SinkhornDomain;
  /**
   * "graph": L2 norms computed in the graph (one extra pass over X and Y); "inputs": inverse norms
   * given as inputs `ix` [Bx, n], `iy` [B, m]; "none": X·Yᵀ is taken as the cosine.
   */
  normalize: "graph" | "inputs" | "none";
  /** Also output the plans. */
  plans: boolean;
  /**
   * "loop": an ONNX Loop whose trip count is the `iterations` input; a number: the iterations
   * unrolled into the graph (no `iterations` input).
   */
  iterations: "loop" | number;
}

/** Exponent penalty that makes padded entries of K exactly zero (exp(−BIG/reg) = 0). */
const BIG = 1e4;
/** Smallest normal float32 (guards the norms and logs of zero). */
const FLT_MIN = 1.1754943508222875e-38;

/** Builds the ONNX model bytes for one configuration. */
export function buildSinkhornModel(config: SinkhornGraphConfig): Uint8Array {
  const g = new GraphBuilder("batched_sinkhorn");
  g.docString = `Batched entropic OT (${config.domain} domain), POT sinkhorn_knopp iteration order.`;
  const X = g.input("X", "float32", ["Bx", "n", "d"]);
  const Y = g.input("Y", "float32", ["B", "m", "d"]);
  const a = g.input("a", "float32", ["Bx", "n"]);
  const b = g.input("b", "float32", ["B", "m"]);
  const mx = g.input("mx", "float32", ["Bx", "n"]);
  const my = g.input("my", "float32", ["B", "m"]);
  const reg = g.input("reg", "float32", []);
  const unrolled = config.iterations === "loop" ? 0 : config.iterations;
  if (config.iterations !== "loop" && !(Number.isInteger(unrolled) && unrolled >= 1)) throw new Error("buildSinkhornModel: iterations must be an integer ≥ 1");
  const iters = config.iterations === "loop" ? g.input("iterations", "int64", []) : undefined;

  const zero = g.scalar(0);
  const one = g.scalar(1);
  let tinyName: string | undefined;
  const tiny = (): string => (tinyName ??= g.scalar(FLT_MIN));
  const big = g.scalar(BIG);
  const ax1 = g.ints64([1]);
  const ax2 = g.ints64([2]);
  const ax12 = g.ints64([1, 2]);

  const aCol = g.op("Unsqueeze", [a, ax2]); // [Bx,n,1]
  const bRow = g.op("Unsqueeze", [b, ax1]); // [B,1,m]
  const maskX = g.op("Unsqueeze", [mx, ax2]); // [Bx,n,1], 1 on real tokens, 0 on padding
  const maskY = g.op("Unsqueeze", [my, ax1]); // [B,1,m]
  const penX = g.op("Mul", [g.op("Sub", [one, maskX]), big]);

  // Similarity S = X·Yᵀ (MatMul over a transposed Y: onnxruntime fuses this into one GEMM call).
  const Yt = g.op("Transpose", [Y], { perm: [0, 2, 1] }); // [B,d,m]
  let S = g.op("MatMul", [X, Yt]); // [B,n,m]
  if (config.normalize === "graph") {
    // Scale the product by the inverse norms instead of normalising the [.., d] tensors: an
    // n·m pass instead of an (n+m)·d write. Zero (padding) vectors get 0 similarity.
    const ix = g.op("Reciprocal", [g.op("Sqrt", [g.op("Max", [g.op("ReduceSumSquare", [X, ax2], { keepdims: 1 }), tiny()])])]); // [Bx,n,1]
    const iyCol = g.op("Reciprocal", [g.op("Sqrt", [g.op("Max", [g.op("ReduceSumSquare", [Y, ax2], { keepdims: 1 }), tiny()])])]); // [B,m,1]
    const iy = g.op("Transpose", [iyCol], { perm: [0, 2, 1] }); // [B,1,m]
    S = g.op("Mul", [g.op("Mul", [S, ix]), iy]);
  } else if (config.normalize === "inputs") {
    const ix = g.op("Unsqueeze", [g.input("ix", "float32", ["Bx", "n"]), ax2]); // [Bx,n,1]
    const iy = g.op("Unsqueeze", [g.input("iy", "float32", ["B", "m"]), ax1]); // [B,1,m]
    S = g.op("Mul", [g.op("Mul", [S, ix]), iy]);
  }
  const C = g.op("Sub", [one, S]); // [B,n,m]
  const negInvReg = g.op("Neg", [g.op("Reciprocal", [reg])]);

  const outputs: { cost: string; mass: string; plan?: string; scaleMin?: string; scaleMax?: string } = { cost: "", mass: "" };

  if (config.domain === "kernel") {
    const gamma = g.op("ReduceMin", [g.op("Add", [C, penX]), ax1], { keepdims: 1 }); // [B,1,m]
    // Shifted cost ≥ 0 on real entries, 0 (K = 1) wherever a row or column is padding.
    const E = g.op("Mul", [g.op("Mul", [g.op("Sub", [C, gamma]), maskX]), maskY]);
    const K = g.op("Exp", [g.op("Mul", [E, negInvReg])]); // [B,n,m]
    const Kt = g.op("Transpose", [K], { perm: [0, 2, 1] }); // [B,m,n]
    // u, v are kept as row vectors [B,1,n], [B,1,m]: vector × matrix products (M = 1) take
    // MLAS's streaming GEMV path, much faster than matrix × column vector (N = 1).
    const aRow = g.op("Unsqueeze", [a, ax1]); // [Bx,1,n]
    // u = 1 on real tokens (zero-weight ones included, as POT), 0 on padding: [Bx,1,n] expanded
    // to [B,1,n] (the shape of C reduced over its last two axes gives [B,1,1]).
    const u0Row = g.op("Expand", [g.op("Unsqueeze", [mx, ax1]), g.op("Shape", [g.op("ReduceMax", [C, ax12], { keepdims: 1 })])]);

    const step = (gb: GraphBuilder, u: string): { u: string; v: string } => {
      const v = gb.op("Div", [bRow, gb.op("MatMul", [u, K])]); // [B,1,m]
      const u2 = gb.op("Div", [aRow, gb.op("MatMul", [v, Kt])]); // [B,1,n]
      return { u: u2, v };
    };
    let u: string;
    let v: string;
    if (iters !== undefined) {
      const body = g.subgraph("sinkhorn_body");
      body.input(body.fresh("iter"), "int64", []);
      const condIn = body.input(body.fresh("cond_in"), "bool", []);
      const uIn = body.input(body.fresh("u_in"), "float32", [null, 1, null]);
      body.input(body.fresh("v_in"), "float32", [null, 1, null]);
      const r = step(body, uIn);
      body.output(body.op("Identity", [condIn]), "bool", []);
      body.output(r.u, "float32", [null, 1, null]);
      body.output(r.v, "float32", [null, 1, null]);
      const v0 = g.op("Expand", [bRow, g.op("Shape", [bRow])]);
      [u, v] = g.opMulti("Loop", [iters, "", u0Row, v0], { body: attr.graph(body) }, { outputs: 2 }) as [string, string];
    } else {
      u = u0Row;
      v = bRow;
      for (let i = 0; i < unrolled; i++) ({ u, v } = step(g, u));
    }
    // P = diag(u) K diag(v); cost = Σ_j v_j Σ_i u_i K_ij C_ij, mass = Σ_j v_j Σ_i u_i K_ij.
    const KC = g.op("Mul", [K, C]);
    outputs.cost = g.op("ReduceSum", [g.op("Mul", [v, g.op("MatMul", [u, KC])]), ax12], { keepdims: 0 });
    outputs.mass = g.op("ReduceSum", [g.op("Mul", [v, g.op("MatMul", [u, K])]), ax12], { keepdims: 0 });
    if (config.plans) outputs.plan = g.op("Mul", [g.op("Mul", [g.op("Transpose", [u], { perm: [0, 2, 1] }), K]), v]);
    // Range of the real scalings (padding excluded), for the caller's health check.
    const huge = g.scalar(3e38);
    const wX = g.op("Cast", [g.op("Greater", [aRow, zero])], { to: 1 }); // [Bx,1,n], tokens with mass
    const wY = g.op("Cast", [g.op("Greater", [bRow, zero])], { to: 1 }); // [B,1,m]
    const uMin = g.op("ReduceMin", [g.op("Add", [u, g.op("Mul", [g.op("Sub", [one, wX]), huge])]), ax12], { keepdims: 0 });
    const vMin = g.op("ReduceMin", [g.op("Add", [v, g.op("Mul", [g.op("Sub", [one, wY]), huge])]), ax12], { keepdims: 0 });
    const uMax = g.op("ReduceMax", [g.op("Mul", [u, wX]), ax12], { keepdims: 0 });
    const vMax = g.op("ReduceMax", [g.op("Mul", [v, wY]), ax12], { keepdims: 0 });
    outputs.scaleMin = g.op("Min", [uMin, vMin]);
    outputs.scaleMax = g.op("Max", [uMax, vMax]);
  } else {
    const penY = g.op("Mul", [g.op("Sub", [one, maskY]), big]);
    const M = g.op("Mul", [g.op("Add", [g.op("Add", [C, penX]), penY]), negInvReg]); // −C/reg, −BIG/reg on padding
    const logA = g.op("Log", [g.op("Max", [aCol, tiny()])]); // [Bx,n,1]
    const logB = g.op("Log", [g.op("Max", [bRow, tiny()])]); // [B,1,m]
    // [B,n,1] (X may be broadcast, Bx = 1, so the batch size comes from C).
    const F0 = g.op("Expand", [zero, g.op("Shape", [g.op("ReduceMax", [C, ax2], { keepdims: 1 })])]);
    const G0 = g.op("Expand", [zero, g.op("Shape", [bRow])]); // [B,1,m]
    const step = (gb: GraphBuilder, F: string): { F: string; G: string } => {
      const G = gb.op("Sub", [logB, gb.op("ReduceLogSumExp", [gb.op("Add", [M, F]), ax1], { keepdims: 1 })]);
      const F2 = gb.op("Sub", [logA, gb.op("ReduceLogSumExp", [gb.op("Add", [M, G]), ax2], { keepdims: 1 })]);
      return { F: F2, G };
    };
    let F: string;
    let G: string;
    if (iters !== undefined) {
      const body = g.subgraph("sinkhorn_log_body");
      body.input(body.fresh("iter"), "int64", []);
      const condIn = body.input(body.fresh("cond_in"), "bool", []);
      const fIn = body.input(body.fresh("f_in"), "float32", [null, null, 1]);
      body.input(body.fresh("g_in"), "float32", [null, 1, null]);
      const r = step(body, fIn);
      body.output(body.op("Identity", [condIn]), "bool", []);
      body.output(r.F, "float32", [null, null, 1]);
      body.output(r.G, "float32", [null, 1, null]);
      [F, G] = g.opMulti("Loop", [iters, "", F0, G0], { body: attr.graph(body) }, { outputs: 2 }) as [string, string];
    } else {
      F = F0;
      G = G0;
      for (let i = 0; i < unrolled; i++) ({ F, G } = step(g, F));
    }
    const P = g.op("Exp", [g.op("Add", [g.op("Add", [M, F]), G])]);
    outputs.cost = g.op("ReduceSum", [g.op("Mul", [P, C]), ax12], { keepdims: 0 });
    outputs.mass = g.op("ReduceSum", [P, ax12], { keepdims: 0 });
    if (config.plans) outputs.plan = P;
  }

  g.output(outputs.cost, "float32", ["B"], "cost");
  g.output(outputs.mass, "float32", ["B"], "mass");
  if (outputs.plan !== undefined) g.output(outputs.plan, "float32", ["B", "n", "m"], "plan");
  if (outputs.scaleMin !== undefined && outputs.scaleMax !== undefined) {
    g.output(outputs.scaleMin, "float32", ["B"], "scaleMin");
    g.output(outputs.scaleMax, "float32", ["B"], "scaleMax");
  }
  return encodeModel(g, { opset: 18 });
}
