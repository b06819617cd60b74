/**
 * Token batches and the checked, backend-neutral form of a batched problem.
 */
import type { BatchedSinkhornOptions, TokenBatch } from "./types.js";

/**
 * Packs token sequences into a zero-padded {@link TokenBatch}. Each item's `embeddings` holds
 * `len × dim` floats (len ≥ 1); `weights` (optional, `len` non-negative numbers with a positive
 * sum) become the item's marginal. When no item has weights the batch has none (uniform). The
 * token norms are computed on the way (`norms`).
 *
 * @throws Error for a bad `dim`, an empty item, an embedding length that is not a multiple of
 *   `dim`, non-finite values, or weights of the wrong length / negative / summing to 0.
 */
export function tokenBatch(items: readonly { embeddings: Float32Array; weights?: ArrayLike<number> }[], dim: number): TokenBatch {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`tokenBatch: dim must be a positive integer, got ${dim}`);
  const lengths = new Int32Array(items.length);
  let maxLength = 0;
  items.forEach((item, i) => {
    const e = item.embeddings;
    if (!(e instanceof Float32Array)) throw new Error(`tokenBatch: item ${i}: embeddings must be a Float32Array`);
    if (e.length === 0 || e.length % dim !== 0) {
      throw new Error(`tokenBatch: item ${i}: ${e.length} embedding values is not a positive multiple of dim ${dim}`);
    }
    const len = e.length / dim;
    lengths[i] = len;
    maxLength = Math.max(maxLength, len);
  });
  const data = new Float32Array(items.length * maxLength * dim);
  const norms = new Float32Array(items.length * maxLength);
  const hasWeights = items.some((item) => item.weights !== undefined);
  const weights = hasWeights ? new Float32Array(items.length * maxLength) : undefined;
  items.forEach((item, i) => {
    const len = lengths[i]!;
    const e = item.embeddings;
    for (let t = 0; t < len; t++) {
      let sum = 0;
      for (let k = t * dim; k < (t + 1) * dim; k++) {
        const x = e[k]!;
        if (!Number.isFinite(x)) throw new Error(`tokenBatch: item ${i}: embedding value ${k} is ${x}`);
        sum += x * x;
      }
      norms[i * maxLength + t] = Math.sqrt(sum);
    }
    data.set(e, i * maxLength * dim);
    if (weights !== undefined) {
      const w = item.weights;
      if (w === undefined) {
        weights.fill(1, i * maxLength, i * maxLength + len);
      } else {
        if (w.length !== len) throw new Error(`tokenBatch: item ${i}: ${w.length} weights for ${len} tokens`);
        let sum = 0;
        for (let t = 0; t < len; t++) {
          const x = w[t]!;
          if (!Number.isFinite(x) || x < 0) throw new Error(`tokenBatch: item ${i}: weight ${t} is ${x} (must be finite and ≥ 0)`);
          weights[i * maxLength + t] = x;
          sum += x;
        }
        if (!(sum > 0)) throw new Error(`tokenBatch: item ${i}: the weights sum to 0`);
      }
    }
  });
  return weights === undefined ? { data, lengths, maxLength, dim, norms } : { data, lengths, maxLength, dim, weights, norms };
}

/** A checked batched problem, the form every backend solves. */
export interface Prepared {
  /** Number of pairs (= documents). */
  pairs: number;
  /** Query rows per item (the queries' maxLength), document rows per item, vector dimension. */
  n: number;
  m: number;
  d: number;
  /** Query batch data [qCount, n, d] and document batch data [pairs, m, d]. */
  X: Float32Array;
  Y: Float32Array;
  /** 1 (one query broadcast against every document) or `pairs`. */
  qCount: number;
  qLen: Int32Array;
  dLen: Int32Array;
  /** Marginals [qCount, n] and [pairs, m]: each item's sums to 1, 0 on padding. */
  a: Float32Array;
  b: Float32Array;
  /**
   * Inverse L2 norms [qCount, n] and [pairs, m] (0 for zero vectors), from the batches' `norms`;
   * undefined when a batch has none (the backend computes them) or `normalize` is false.
   */
  ix: Float32Array | undefined;
  iy: Float32Array | undefined;
  reg: number;
  iterations: number;
  normalize: boolean;
  returnPlans: boolean;
}

/** The query index of pair `p`. */
export function queryOf(p: Prepared, pair: number): number {
  return p.qCount === 1 ? 0 : pair;
}

function checkBatch(batch: TokenBatch, what: string): void {
  const { data, lengths, maxLength, dim, weights } = batch;
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`batchedSinkhorn: ${what}.dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`batchedSinkhorn: ${what}.maxLength must be a positive integer, got ${maxLength}`);
  if (!(data instanceof Float32Array)) throw new Error(`batchedSinkhorn: ${what}.data must be a Float32Array`);
  if (!(lengths instanceof Int32Array)) throw new Error(`batchedSinkhorn: ${what}.lengths must be an Int32Array`);
  const count = lengths.length;
  if (data.length !== count * maxLength * dim) {
    throw new Error(`batchedSinkhorn: ${what}.data has ${data.length} floats; [count ${count}, maxLength ${maxLength}, dim ${dim}] needs ${count * maxLength * dim}`);
  }
  for (let i = 0; i < count; i++) {
    const len = lengths[i]!;
    if (len < 1 || len > maxLength) throw new Error(`batchedSinkhorn: ${what}.lengths[${i}] = ${len} is outside [1, maxLength ${maxLength}]`);
  }
  if (weights !== undefined) {
    if (!(weights instanceof Float32Array) || weights.length !== count * maxLength) {
      throw new Error(`batchedSinkhorn: ${what}.weights must be a Float32Array of [count ${count}, maxLength ${maxLength}] = ${count * maxLength} values`);
    }
  }
  if (batch.norms !== undefined) {
    if (!(batch.norms instanceof Float32Array) || batch.norms.length !== count * maxLength) {
      throw new Error(`batchedSinkhorn: ${what}.norms must be a Float32Array of [count ${count}, maxLength ${maxLength}] = ${count * maxLength} values`);
    }
  }
}

/** Inverse norms from a batch's `norms` (0 for a zero vector), or undefined. */
function inverseFromNorms(batch: TokenBatch, normalize: boolean): Float32Array | undefined {
  if (!normalize || batch.norms === undefined) return undefined;
  const out = new Float32Array(batch.norms.length);
  for (let k = 0; k < out.length; k++) {
    const x = batch.norms[k]!;
    if (!Number.isFinite(x) || x < 0) throw new Error(`batchedSinkhorn: norms[${k}] = ${x}`);
    out[k] = x > 0 ? 1 / x : 0;
  }
  return out;
}

/** Marginals of a batch: weights (or uniform) over the first lengths[i] tokens, normalised; 0 on padding. */
function marginals(batch: TokenBatch, what: string): Float32Array {
  const { lengths, maxLength, weights } = batch;
  const out = new Float32Array(lengths.length * maxLength);
  for (let i = 0; i < lengths.length; i++) {
    const len = lengths[i]!;
    const base = i * maxLength;
    if (weights === undefined) {
      out.fill(1 / len, base, base + len);
      continue;
    }
    let sum = 0;
    for (let t = 0; t < len; t++) {
      const w = weights[base + t]!;
      if (!Number.isFinite(w) || w < 0) throw new Error(`batchedSinkhorn: ${what}.weights[${i}][${t}] = ${w} (must be finite and ≥ 0)`);
      sum += w;
    }
    if (!(sum > 0)) throw new Error(`batchedSinkhorn: ${what} item ${i}: its weights sum to 0`);
    for (let t = 0; t < len; t++) out[base + t] = weights[base + t]! / sum;
  }
  return out;
}

/** Checks the numeric solver options (reg, iterations, batchSize); `caller` prefixes the messages. */
export function checkOptions(options: BatchedSinkhornOptions, caller: string): void {
  if (options === null || typeof options !== "object") throw new Error(`${caller}: options are required ({ reg, iterations })`);
  const { reg, iterations } = options;
  if (typeof reg !== "number" || !Number.isFinite(reg) || reg <= 0) throw new Error(`${caller}: reg must be a finite number > 0, got ${reg}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`${caller}: iterations must be an integer ≥ 1, got ${iterations}`);
  if (options.batchSize !== undefined && (!Number.isInteger(options.batchSize) || options.batchSize < 1)) {
    throw new Error(`${caller}: batchSize must be a positive integer, got ${options.batchSize}`);
  }
}

/** Checks a problem and its options; returns the backend-neutral form. */
export function prepare(queries: TokenBatch, documents: TokenBatch, options: BatchedSinkhornOptions): Prepared {
  checkOptions(options, "batchedSinkhorn");
  const { reg, iterations } = options;
  checkBatch(queries, "queries");
  checkBatch(documents, "documents");
  if (queries.dim !== documents.dim) throw new Error(`batchedSinkhorn: queries have dim ${queries.dim}, documents ${documents.dim}`);
  const qCount = queries.lengths.length;
  const pairs = documents.lengths.length;
  if (qCount !== 1 && qCount !== pairs) {
    throw new Error(`batchedSinkhorn: ${qCount} queries for ${pairs} documents (need 1 query, broadcast, or one per document)`);
  }
  return {
    pairs,
    n: queries.maxLength,
    m: documents.maxLength,
    d: queries.dim,
    X: queries.data,
    Y: documents.data,
    qCount,
    qLen: queries.lengths,
    dLen: documents.lengths,
    a: marginals(queries, "queries"),
    b: marginals(documents, "documents"),
    ix: inverseFromNorms(queries, options.normalize ?? true),
    iy: inverseFromNorms(documents, options.normalize ?? true),
    reg,
    iterations,
    normalize: options.normalize ?? true,
    returnPlans: options.returnPlans ?? false,
  };
}

/**
 * The sub-problem of the given pairs, compacted to their own padding (`n`, `m` shrink to the
 * largest lengths among them). Copies the data.
 */
export function subset(p: Prepared, pairs: ArrayLike<number>): Prepared {
  const count = pairs.length;
  const broadcast = p.qCount === 1;
  let n = 1;
  let m = 1;
  for (let k = 0; k < count; k++) {
    const pair = pairs[k]!;
    n = Math.max(n, p.qLen[queryOf(p, pair)]!);
    m = Math.max(m, p.dLen[pair]!);
  }
  const qCount = broadcast ? 1 : count;
  const d = p.d;
  const X = new Float32Array(qCount * n * d);
  const a = new Float32Array(qCount * n);
  const qLen = new Int32Array(qCount);
  const Y = new Float32Array(count * m * d);
  const b = new Float32Array(count * m);
  const dLen = new Int32Array(count);
  const ix = p.ix === undefined ? undefined : new Float32Array(qCount * n);
  const iy = p.iy === undefined ? undefined : new Float32Array(count * m);
  const copyQuery = (dst: number, src: number): void => {
    const len = p.qLen[src]!;
    qLen[dst] = len;
    X.set(p.X.subarray(src * p.n * d, (src * p.n + len) * d), dst * n * d);
    a.set(p.a.subarray(src * p.n, src * p.n + len), dst * n);
    ix?.set(p.ix!.subarray(src * p.n, src * p.n + len), dst * n);
  };
  if (broadcast) copyQuery(0, 0);
  for (let k = 0; k < count; k++) {
    const pair = pairs[k]!;
    if (!broadcast) copyQuery(k, pair);
    const len = p.dLen[pair]!;
    dLen[k] = len;
    Y.set(p.Y.subarray(pair * p.m * d, (pair * p.m + len) * d), k * m * d);
    b.set(p.b.subarray(pair * p.m, pair * p.m + len), k * m);
    iy?.set(p.iy!.subarray(pair * p.m, pair * p.m + len), k * m);
  }
  return { ...p, pairs: count, n, m, X, Y, qCount, qLen, dLen, a, b, ix, iy };
}

/** A contiguous range [start, end) of pairs, without copying (same padding). */
export function slice(p: Prepared, start: number, end: number): Prepared {
  const broadcast = p.qCount === 1;
  const { n, m, d } = p;
  return {
    ...p,
    pairs: end - start,
    X: broadcast ? p.X : p.X.subarray(start * n * d, end * n * d),
    a: broadcast ? p.a : p.a.subarray(start * n, end * n),
    qLen: broadcast ? p.qLen : p.qLen.subarray(start, end),
    qCount: broadcast ? 1 : end - start,
    Y: p.Y.subarray(start * m * d, end * m * d),
    b: p.b.subarray(start * m, end * m),
    ix: broadcast ? p.ix : p.ix?.subarray(start * n, end * n),
    iy: p.iy?.subarray(start * m, end * m),
    dLen: p.dLen.subarray(start, end),
  };
}

/**
 * Splits the pairs into batches of at most `batchSize`. When sorting pairs by length saves at
 * least a quarter of the padded work, batches are formed over the length-sorted order and compacted
 * (copied); otherwise they are contiguous views of the input (no copy).
 */
export function plan(p: Prepared, batchSize: number): { batch: Prepared; pairs: Int32Array }[] {
  const out: { batch: Prepared; pairs: Int32Array }[] = [];
  const qLenOf = (pair: number): number => p.qLen[queryOf(p, pair)]!;
  const work = (order: ArrayLike<number>): number => {
    let total = 0;
    for (let s = 0; s < order.length; s += batchSize) {
      let n = 1;
      let m = 1;
      const e = Math.min(order.length, s + batchSize);
      for (let k = s; k < e; k++) {
        n = Math.max(n, qLenOf(order[k]!));
        m = Math.max(m, p.dLen[order[k]!]!);
      }
      total += (e - s) * n * m;
    }
    return total;
  };
  const identity = Int32Array.from({ length: p.pairs }, (_, i) => i);
  const contiguousWork = p.pairs * p.n * p.m;
  const sorted = Int32Array.from(identity).sort((x, y) => p.dLen[x]! * qLenOf(x) - p.dLen[y]! * qLenOf(y));
  if (work(sorted) <= 0.75 * contiguousWork) {
    for (let s = 0; s < p.pairs; s += batchSize) {
      const pairs = sorted.subarray(s, Math.min(p.pairs, s + batchSize));
      out.push({ batch: subset(p, pairs), pairs });
    }
    return out;
  }
  for (let s = 0; s < p.pairs; s += batchSize) {
    const e = Math.min(p.pairs, s + batchSize);
    out.push({ batch: slice(p, s, e), pairs: identity.subarray(s, e) });
  }
  return out;
}

/** Inverse L2 norms of `count` rows of `d` floats (0 for a zero row); all 1 when `normalize` is false. */
export function inverseNorms(data: Float32Array, count: number, d: number, normalize: boolean): Float32Array {
  const out = new Float32Array(count).fill(1);
  if (!normalize) return out;
  for (let r = 0; r < count; r++) {
    let s0 = 0;
    let s1 = 0;
    const o = r * d;
    let k = 0;
    for (; k + 1 < d; k += 2) {
      const x0 = data[o + k]!;
      const x1 = data[o + k + 1]!;
      s0 += x0 * x0;
      s1 += x1 * x1;
    }
    if (k < d) s0 += data[o + k]! * data[o + k]!;
    const s = s0 + s1;
    out[r] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  return out;
}

/** [lengths.length, width] float mask: 1 on the first lengths[i] entries of each row, 0 after. */
export function lengthMask(lengths: Int32Array, width: number): Float32Array {
  const out = new Float32Array(lengths.length * width);
  for (let i = 0; i < lengths.length; i++) out.fill(1, i * width, i * width + lengths[i]!);
  return out;
}

/** Row/column health of scalings: whether all real u, v lie in [1e-30, 1e30] (float32-safe). */
export const SCALING_LIMITS = { min: 1e-30, max: 1e30 } as const;

/** Copies pair `k`'s plan out of a padded [.., n, m] block, trimmed to [qLen, dLen]. */
export function trimPlan(block: ArrayLike<number>, offset: number, m: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[i * cols + j] = block[offset + i * m + j]!;
  }
  return out;
}
