/**
 * Triplet loss on (anchor, positive, negative) rows.
 */
import { checkCount, checkFloats, checkScalar, type Floats } from "../math.js";
import { type LossOutput, type Reduction, reductionScale } from "./types.js";

/** Distance between two rows used by {@link tripletLoss}. */
export type TripletDistance = "cosine" | "euclidean" | "dot";

/** Options of {@link tripletLoss}. */
export interface TripletOptions {
  /** The margin m: a triplet is satisfied once D(a, n) ≥ D(a, p) + m. CL-ReLKT: 0.24 (XQuAD), 0.27 (XORQA), 0.13 (MLQA). */
  margin: number;
  /**
   * D(a, x): `"dot"` 1 − a·x on the raw vectors (CL-ReLKT; for unit vectors it is the cosine
   * distance), `"cosine"` 1 − a·x/(|a||x|) (0 cosine, so distance 1 and gradient 0, for a zero row),
   * `"euclidean"` |a − x|₂ (sentence-transformers' `TripletDistanceMetric.EUCLIDEAN`; the gradient
   * at a = x is taken as 0).
   */
  distance: TripletDistance;
  /** Default "mean" (PyTorch, sentence-transformers); CL-ReLKT sums over the batch. */
  reduction?: Reduction;
}

/**
 * Triplet margin loss
 *
 *     L = (1/n) Σ_i max(0, D(a_i, p_i) − D(a_i, n_i) + m)          (reduction "sum": without 1/n)
 *
 * Gradients of an active triplet (the hinge > 0; 0 at and beyond the kink), with D's partials:
 *
 *     ∂L/∂a_i = (∂_a D(a_i, p_i) − ∂_a D(a_i, n_i)) / n,   ∂L/∂p_i = ∂_x D(a_i, p_i) / n,   ∂L/∂n_i = −∂_x D(a_i, n_i) / n
 *
 *     dot:        ∂_a D = −x,                      ∂_x D = −a
 *     cosine:     ∂_a D = −(x̂ − cos·â)/|a|,        ∂_x D = −(â − cos·x̂)/|x|
 *     euclidean:  ∂_a D = (a − x)/|a − x|,         ∂_x D = −(a − x)/|a − x|
 *
 * CL-ReLKT's preset (read from its code): distance "dot", reduction "sum", margin 0.24 on XQuAD.
 *
 * @param anchor [n, d] row-major; `positive`, `negative` likewise
 * @returns loss, grads [∂L/∂anchor, ∂L/∂positive, ∂L/∂negative], parts.active (number of triplets with a positive hinge)
 *
 * References: Schroff, Kalenichenko & Philbin, "FaceNet" (CVPR 2015); sentence-transformers
 * `losses.TripletLoss`; PyTorch `torch.nn.TripletMarginLoss`; Limkonchotiwat et al., "CL-ReLKT:
 * Cross-lingual Language Knowledge Transfer for Multilingual Retrieval Question Answering" (NAACL
 * Findings 2022).
 */
export function tripletLoss(anchor: Floats, positive: Floats, negative: Floats, n: number, d: number, opts: TripletOptions): LossOutput {
  const fn = "tripletLoss";
  checkCount(n, "n", fn);
  checkCount(d, "d", fn);
  checkFloats(anchor, n * d, "anchor", fn);
  checkFloats(positive, n * d, "positive", fn);
  checkFloats(negative, n * d, "negative", fn);
  checkScalar(opts.margin, "margin", fn);
  const distance = opts.distance;
  if (distance !== "cosine" && distance !== "euclidean" && distance !== "dot") {
    throw new Error(`${fn}: distance must be "cosine", "euclidean" or "dot", got ${JSON.stringify(distance)}`);
  }
  const scale = reductionScale(opts.reduction ?? "mean", n, fn);
  const ga = new Float64Array(n * d);
  const gp = new Float64Array(n * d);
  const gn = new Float64Array(n * d);
  // Scratch for one pair's partials.
  const da = new Float64Array(d);
  const dx = new Float64Array(d);
  let loss = 0;
  let active = 0;
  for (let i = 0; i < n; i++) {
    const off = i * d;
    const dPos = pairDistance(distance, anchor, positive, off, d, null, null);
    const dNeg = pairDistance(distance, anchor, negative, off, d, null, null);
    const h = dPos - dNeg + opts.margin;
    if (!(h > 0)) continue;
    loss += h;
    active++;
    pairDistance(distance, anchor, positive, off, d, da, dx);
    for (let k = 0; k < d; k++) {
      ga[off + k] = ga[off + k]! + da[k]! * scale;
      gp[off + k] = dx[k]! * scale;
    }
    pairDistance(distance, anchor, negative, off, d, da, dx);
    for (let k = 0; k < d; k++) {
      ga[off + k] = ga[off + k]! - da[k]! * scale;
      gn[off + k] = -dx[k]! * scale;
    }
  }
  return { loss: loss * scale, grads: [Float32Array.from(ga), Float32Array.from(gp), Float32Array.from(gn)], parts: { active } };
}

/**
 * D(a, x) for the rows at offset `off`; with `da`, `dx` also writes ∂D/∂a and ∂D/∂x into them.
 */
function pairDistance(distance: TripletDistance, a: Floats, x: Floats, off: number, d: number, da: Float64Array | null, dx: Float64Array | null): number {
  if (distance === "dot") {
    let dot = 0;
    for (let k = 0; k < d; k++) dot += a[off + k]! * x[off + k]!;
    if (da !== null && dx !== null) {
      for (let k = 0; k < d; k++) {
        da[k] = -x[off + k]!;
        dx[k] = -a[off + k]!;
      }
    }
    return 1 - dot;
  }
  if (distance === "euclidean") {
    let s = 0;
    for (let k = 0; k < d; k++) {
      const diff = a[off + k]! - x[off + k]!;
      s += diff * diff;
    }
    const dist = Math.sqrt(s);
    if (da !== null && dx !== null) {
      for (let k = 0; k < d; k++) {
        const g = dist === 0 ? 0 : (a[off + k]! - x[off + k]!) / dist;
        da[k] = g;
        dx[k] = -g;
      }
    }
    return dist;
  }
  let dot = 0;
  let na = 0;
  let nx = 0;
  for (let k = 0; k < d; k++) {
    const ak = a[off + k]!;
    const xk = x[off + k]!;
    dot += ak * xk;
    na += ak * ak;
    nx += xk * xk;
  }
  na = Math.sqrt(na);
  nx = Math.sqrt(nx);
  const zero = na === 0 || nx === 0;
  const cos = zero ? 0 : dot / (na * nx);
  if (da !== null && dx !== null) {
    for (let k = 0; k < d; k++) {
      if (zero) {
        da[k] = 0;
        dx[k] = 0;
        continue;
      }
      const ah = a[off + k]! / na;
      const xh = x[off + k]! / nx;
      da[k] = -(xh - cos * ah) / na;
      dx[k] = -(ah - cos * xh) / nx;
    }
  }
  return 1 - cos;
}
