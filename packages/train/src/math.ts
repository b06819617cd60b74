/**
 * Small numeric helpers shared by the losses, the EMD gradient path and the trainable heads.
 *
 * Inputs are any array of numbers (Float32Array in training, Float64Array in gradient checks);
 * every sum accumulates in float64, and gradients are handed back as Float32Array.
 */

// The same erf as @crossrank/encode's GELU, so a trained head's forward here matches the encoder's bit for bit.
import { erf } from "@crossrank/encode";

/** A read-only array of numbers: Float32Array in training, Float64Array in finite-difference checks. */
export type Floats = ArrayLike<number>;

/** Throws unless `n` is an integer ≥ 0 (`what` names it). */
export function checkCount(n: number, what: string, fn: string): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${fn}: ${what} must be an integer >= 0, got ${String(n)}`);
}

/** Throws unless `n` is an integer ≥ 1. */
export function checkPositive(n: number, what: string, fn: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${fn}: ${what} must be an integer >= 1, got ${String(n)}`);
}

/** Throws unless `values` has exactly `length` entries, all finite. */
export function checkFloats(values: Floats, length: number, what: string, fn: string): void {
  if (values.length !== length) throw new Error(`${fn}: ${what} has ${values.length} values, expected ${length}`);
  for (let k = 0; k < length; k++) {
    const v = values[k]!;
    if (!Number.isFinite(v)) throw new Error(`${fn}: ${what}[${k}] is ${String(v)}, expected a finite number`);
  }
}

/** Throws unless `value` is a finite number (`positive`: and > 0; `nonNegative`: and ≥ 0). */
export function checkScalar(value: number, what: string, fn: string, sign: "any" | "positive" | "nonNegative" = "any"): void {
  const ok = typeof value === "number" && Number.isFinite(value) && (sign === "any" || (sign === "positive" ? value > 0 : value >= 0));
  if (!ok) throw new Error(`${fn}: ${what} must be a finite number${sign === "positive" ? " > 0" : sign === "nonNegative" ? " >= 0" : ""}, got ${String(value)}`);
}

/** Float32 copy of a float64 accumulator (what the losses hand back as gradients). */
export function toF32(values: Floats): Float32Array {
  return Float32Array.from(values);
}

/**
 * log Σ_{k<count} exp(values[offset + k]) without overflow: the maximum is factored out, so the
 * largest term is exp(0) = 1 (−Infinity for count 0).
 */
export function logSumExp(values: Floats, offset: number, count: number): number {
  let max = -Infinity;
  for (let k = 0; k < count; k++) max = Math.max(max, values[offset + k]!);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let k = 0; k < count; k++) sum += Math.exp(values[offset + k]! - max);
  return max + Math.log(sum);
}

/** softplus(z) = log(1 + e^z), computed as max(z, 0) + log1p(e^−|z|): exact for any z, never overflows. */
export function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

/** The logistic sigmoid 1/(1 + e^−z) (= d softplus/dz), evaluated on the side where exp cannot overflow. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** GELU, torch.nn.GELU's default (erf) form: x Φ(x) = ½ x (1 + erf(x/√2)). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** d GELU/dx = Φ(x) + x φ(x), with φ the standard normal density (Φ via the same erf as {@link gelu}). */
export function geluDerivative(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** Rows of a [rows, d] matrix divided by their Euclidean norms (float64), and the norms; zero rows stay zero. */
export function unitRows(x: Floats, rows: number, d: number): { unit: Float64Array; norms: Float64Array } {
  const unit = new Float64Array(rows * d);
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = i * d; k < (i + 1) * d; k++) s += x[k]! * x[k]!;
    const norm = Math.sqrt(s);
    norms[i] = norm;
    if (norm === 0) continue;
    for (let k = i * d; k < (i + 1) * d; k++) unit[k] = x[k]! / norm;
  }
  return { unit, norms };
}

/** <x_i, y_j> of row i of x and row j of y (both width d), accumulated in float64. */
export function rowDot(x: Floats, i: number, y: Floats, j: number, d: number): number {
  let s = 0;
  const xi = i * d;
  const yj = j * d;
  for (let k = 0; k < d; k++) s += x[xi + k]! * y[yj + k]!;
  return s;
}

/**
 * The similarity matrix S (n×m, float64) between the rows of `a` ([n, d]) and `b` ([m, d]):
 * `"dot"`: S_ij = <a_i, b_j>; `"cosine"`: S_ij = <a_i, b_j>/(|a_i||b_j|), 0 when either row is
 * zero (a constant, so such a row gets gradient 0 — `cosineCost`'s convention in `@crossrank/ot`).
 */
export function similarityMatrix(a: Floats, n: number, b: Floats, m: number, d: number, similarity: "cosine" | "dot"): SimilarityForward {
  const s = new Float64Array(n * m);
  if (similarity === "dot") {
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) s[i * m + j] = rowDot(a, i, b, j, d);
    return { s, similarity, a, b, n, m, d };
  }
  const ua = unitRows(a, n, d);
  const ub = unitRows(b, m, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) s[i * m + j] = rowDot(ua.unit, i, ub.unit, j, d);
  return { s, similarity, a, b, n, m, d, ua, ub };
}

/** What {@link similarityMatrix} computed, kept for {@link similarityBackward}. */
export interface SimilarityForward {
  s: Float64Array;
  similarity: "cosine" | "dot";
  a: Floats;
  b: Floats;
  n: number;
  m: number;
  d: number;
  ua?: { unit: Float64Array; norms: Float64Array };
  ub?: { unit: Float64Array; norms: Float64Array };
}

/**
 * Backward pass of {@link similarityMatrix}: given G = ∂L/∂S (n×m), the gradients in the rows,
 *
 *     dot:     ∂L/∂a_i = Σ_j G_ij b_j,   ∂L/∂b_j = Σ_i G_ij a_i
 *     cosine:  ∂L/∂a_i = (Σ_j G_ij b̂_j − (Σ_j G_ij S_ij) â_i) / |a_i|   (and symmetrically for b_j)
 *
 * (the cosine's gradient is orthogonal to its vector; 0 for a zero row). Float64 results.
 */
export function similarityBackward(fwd: SimilarityForward, g: Floats): { ga: Float64Array; gb: Float64Array } {
  const { n, m, d } = fwd;
  const ga = new Float64Array(n * d);
  const gb = new Float64Array(m * d);
  const cosine = fwd.similarity === "cosine";
  const a = cosine ? fwd.ua!.unit : fwd.a;
  const b = cosine ? fwd.ub!.unit : fwd.b;
  const sa = new Float64Array(n);
  const sb = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const w = g[i * m + j]!;
      if (w === 0) continue;
      if (cosine) {
        const c = fwd.s[i * m + j]!;
        sa[i] = sa[i]! + w * c;
        sb[j] = sb[j]! + w * c;
      }
      for (let k = 0; k < d; k++) {
        ga[i * d + k] = ga[i * d + k]! + w * b[j * d + k]!;
        gb[j * d + k] = gb[j * d + k]! + w * a[i * d + k]!;
      }
    }
  }
  if (cosine) {
    finishCosineRows(ga, fwd.ua!.unit, fwd.ua!.norms, sa, d);
    finishCosineRows(gb, fwd.ub!.unit, fwd.ub!.norms, sb, d);
  }
  return { ga, gb };
}

/** grad_i ← (grad_i − s_i·unit_i)/norm_i, and 0 for zero rows. */
function finishCosineRows(grad: Float64Array, unit: Float64Array, norms: Float64Array, s: Float64Array, d: number): void {
  for (let i = 0; i < norms.length; i++) {
    const norm = norms[i]!;
    for (let k = i * d; k < (i + 1) * d; k++) grad[k] = norm === 0 ? 0 : (grad[k]! - s[i]! * unit[k]!) / norm;
  }
}
