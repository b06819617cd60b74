/**
 * Pure pooling / post-processing math over a padded batch, exported so tests can check it by hand.
 * Everything accumulates in float64 and returns float32.
 */

/** How one vector per text is made from its token rows. */
export type Pooling = "cls" | "mean" | "max";

/** Shape of a padded batch: `hidden` is [batchSize, seqLength, dim], masks are [batchSize, seqLength]. */
export interface BatchShape {
  batchSize: number;
  seqLength: number;
  dim: number;
}

/** Which rows enter the pooled vector and how. */
export interface PoolOptions {
  pooling: Pooling;
  /**
   * Whether special-token rows (CLS/SEP) enter mean/max pooling. sentence-transformers averages
   * every attention-masked token, specials included, so `true` is what it does. `cls` pooling
   * always takes row 0.
   */
  includeSpecial?: boolean;
  /**
   * The LM-EMD study's quirks: every row that is not selected (padding, and excluded specials)
   * counts as a zero row of the padded length `seqLength` — `max` sees those zeros (a dimension
   * whose real values are all negative pools to 0 when the text is shorter than the batch) and
   * `mean` divides the sum of the selected rows by `seqLength`. The result therefore depends on
   * the longest text in the same batch.
   */
  paddedPooling?: boolean;
}

/**
 * Pools a padded batch to one row per item, [batchSize, dim].
 *
 * `mask` is the attention mask (1 = real token, 0 = padding; padding never enters unless
 * `paddedPooling` asks for its zeros), `special` flags special-token positions (1/true). An item
 * with no selected row pools to the zero vector, never NaN.
 */
export function poolBatch(
  hidden: Float32Array,
  mask: ArrayLike<number | bigint>,
  special: ArrayLike<number | boolean>,
  shape: BatchShape,
  options: PoolOptions,
): Float32Array {
  const { batchSize: B, seqLength: L, dim: D } = shape;
  if (hidden.length !== B * L * D) throw new Error(`poolBatch: hidden has ${hidden.length} values, expected ${B}×${L}×${D}`);
  if (mask.length !== B * L || special.length !== B * L) throw new Error(`poolBatch: mask and special need ${B}×${L} values (got ${mask.length}, ${special.length})`);
  const includeSpecial = options.includeSpecial ?? true;
  const padded = options.paddedPooling ?? false;
  const out = new Float32Array(B * D);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const base = b * L * D;
    if (options.pooling === "cls") {
      // The first token's last-layer vector (not BERT's pooler), padding-independent.
      out.set(hidden.subarray(base, base + D), b * D);
      continue;
    }
    let count = 0;
    if (options.pooling === "mean") acc.fill(0);
    else acc.fill(-Infinity);
    for (let t = 0; t < L; t++) {
      const k = b * L + t;
      if (Number(mask[k]) === 0) continue;
      if (!includeSpecial && Number(special[k]) !== 0) continue;
      count++;
      const row = base + t * D;
      if (options.pooling === "mean") for (let d = 0; d < D; d++) acc[d]! += hidden[row + d]!;
      else for (let d = 0; d < D; d++) if (hidden[row + d]! > acc[d]!) acc[d] = hidden[row + d]!;
    }
    if (count === 0) continue; // zero vector
    if (options.pooling === "mean") {
      const divisor = padded ? L : count;
      for (let d = 0; d < D; d++) out[b * D + d] = acc[d]! / divisor;
    } else {
      // With paddedPooling the unselected rows are zeros taking part in the max.
      const zerosEnter = padded && count < L;
      for (let d = 0; d < D; d++) out[b * D + d] = zerosEnter ? Math.max(acc[d]!, 0) : acc[d]!;
    }
  }
  return out;
}

/** Row-wise L2 normalization of a [rows, dim] matrix (a new array); zero rows stay zero. */
export function l2normalizeRows(data: Float32Array, dim: number): Float32Array {
  if (dim <= 0 || data.length % dim !== 0) throw new Error(`l2normalizeRows: ${data.length} values are not rows of width ${dim}`);
  const out = new Float32Array(data.length);
  for (let r = 0; r < data.length; r += dim) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += data[r + d]! * data[r + d]!;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let d = 0; d < dim; d++) out[r + d] = data[r + d]! * inv;
  }
  return out;
}

/** Activation after a sentence-transformers Dense layer. */
export type DenseActivation = "identity" | "tanh" | "relu" | "gelu" | "sigmoid" | "silu";

/** A sentence-transformers `Dense` module: y = activation(W x + b), W stored [outFeatures, inFeatures] as torch's nn.Linear. */
export interface DenseLayer {
  inFeatures: number;
  outFeatures: number;
  /** [outFeatures, inFeatures] row-major. */
  weight: Float32Array;
  /** [outFeatures], absent when the layer was trained without bias. */
  bias?: Float32Array;
  activation: DenseActivation;
}

/** The element-wise function of an activation (GELU in torch's exact, erf-based form). */
export function activationFunction(name: DenseActivation): (x: number) => number {
  const f = ACTIVATIONS[name];
  if (f === undefined) throw new Error(`unknown activation "${String(name)}" (${Object.keys(ACTIVATIONS).join(", ")})`);
  return f;
}

/** Applies a Dense layer to every row of a [rows, inFeatures] matrix, giving [rows, outFeatures]. */
export function applyDense(data: Float32Array, layer: DenseLayer): Float32Array {
  const { inFeatures: I, outFeatures: O, weight, bias } = layer;
  if (weight.length !== I * O) throw new Error(`applyDense: weight has ${weight.length} values, expected ${O}×${I}`);
  if (bias !== undefined && bias.length !== O) throw new Error(`applyDense: bias has ${bias.length} values, expected ${O}`);
  if (data.length % I !== 0) throw new Error(`applyDense: ${data.length} values are not rows of width ${I}`);
  const rows = data.length / I;
  const act = ACTIVATIONS[layer.activation];
  const out = new Float32Array(rows * O);
  for (let r = 0; r < rows; r++) {
    const x = r * I;
    for (let o = 0; o < O; o++) {
      let s = bias === undefined ? 0 : bias[o]!;
      const w = o * I;
      for (let i = 0; i < I; i++) s += weight[w + i]! * data[x + i]!;
      out[r * O + o] = act(s);
    }
  }
  return out;
}

/**
 * Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, so GELU stays within ~1.5e-7 relative of torch's
 * exact form (float32 resolution). Exported so code that must match this package's GELU bit for bit
 * (the fixture reference forward pass, `@crossrank/train`'s heads) uses this one function.
 */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return sign * y;
}

const ACTIVATIONS: Record<DenseActivation, (x: number) => number> = {
  identity: (x) => x,
  tanh: Math.tanh,
  relu: (x) => (x > 0 ? x : 0),
  // torch.nn.GELU's default (exact, erf-based) form.
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  silu: (x) => x / (1 + Math.exp(-x)),
};
