/**
 * Ragged pair problems: many queries and documents given once each (unpadded), and a list of
 * (query, document) pairs to solve — LM-EMD re-ranking's shape, where a few hundred queries each
 * have their own ~100 candidates and a candidate may serve several queries. Pairs are sorted by
 * length (query, then document) and cut into batches that are padded only to their own longest
 * members, so one long document no longer pads a whole query's candidates, and the pairs of
 * several queries fill the backend's runs.
 */
import type { Prepared } from "./prepare.js";
import type { TokenItem, TokenPairs } from "./types.js";

/** One item after checking: its length, vectors, normalised marginal and (with normalisation) inverse norms. */
export interface ItemInfo {
  len: number;
  /** The vectors, [len, dim] (items given by `embeddings`)… */
  data: Float32Array | undefined;
  /** …or rows of a table (items given by `table` + `rows`). */
  table: Float32Array | undefined;
  rows: Int32Array | undefined;
  /** Marginal over the len tokens, sum 1 (exactly as `prepare` computes it from a `tokenBatch`). */
  a: Float32Array;
  /** Inverse token norms (as `prepare` computes them from `tokenBatch`'s norms); only with normalisation. */
  inv: Float32Array | undefined;
}

/** The checked items of a ragged problem. */
export interface CheckedPairs {
  pairs: number;
  dim: number;
  query: Int32Array;
  document: Int32Array;
  /** Per item, undefined for items no pair uses (never read, never checked). */
  queries: (ItemInfo | undefined)[];
  documents: (ItemInfo | undefined)[];
}

/**
 * Checks the pairs and the items they use: each item once, however many pairs use it (and each
 * table once, whole). Marginals and inverse norms are computed in float32 exactly as
 * `tokenBatch` + `prepare` would, so a pair solved here gets the inputs it would get alone in a batch.
 */
export function checkPairs(input: TokenPairs, normalize: boolean): CheckedPairs {
  if (input === null || typeof input !== "object") throw new Error("batchedSinkhornPairs: pairs are required ({ queries, documents, query, document, dim })");
  const { dim, queries, documents } = input;
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`batchedSinkhornPairs: dim must be a positive integer, got ${dim}`);
  if (!Array.isArray(queries) || !Array.isArray(documents)) throw new Error("batchedSinkhornPairs: queries and documents must be arrays of items");
  const query = Int32Array.from(input.query);
  const document = Int32Array.from(input.document);
  if (query.length !== document.length) throw new Error(`batchedSinkhornPairs: ${query.length} query indices for ${document.length} document indices`);
  const qInfo = new Array<ItemInfo | undefined>(queries.length).fill(undefined);
  const dInfo = new Array<ItemInfo | undefined>(documents.length).fill(undefined);
  const tables = new Set<Float32Array>();
  for (let k = 0; k < query.length; k++) {
    const q = query[k]!;
    const d = document[k]!;
    if (!(q >= 0 && q < queries.length) || input.query[k] !== q) throw new Error(`batchedSinkhornPairs: pair ${k}: query index ${String(input.query[k])} is outside [0, ${queries.length})`);
    if (!(d >= 0 && d < documents.length) || input.document[k] !== d) throw new Error(`batchedSinkhornPairs: pair ${k}: document index ${String(input.document[k])} is outside [0, ${documents.length})`);
    qInfo[q] ??= itemInfo(queries[q]!, `query ${q}`, dim, normalize, tables);
    dInfo[d] ??= itemInfo(documents[d]!, `document ${d}`, dim, normalize, tables);
  }
  return { pairs: query.length, dim, query, document, queries: qInfo, documents: dInfo };
}

function itemInfo(item: TokenItem, what: string, dim: number, normalize: boolean, tables: Set<Float32Array>): ItemInfo {
  if (item === null || typeof item !== "object") throw new Error(`batchedSinkhornPairs: ${what}: not an item`);
  let len: number;
  let data: Float32Array | undefined;
  let table: Float32Array | undefined;
  let rows: Int32Array | undefined;
  if ("table" in item) {
    table = item.table;
    if (!(table instanceof Float32Array) || table.length % dim !== 0) throw new Error(`batchedSinkhornPairs: ${what}: table must be a Float32Array of rows of dim ${dim}`);
    rows = Int32Array.from(item.rows);
    len = rows.length;
    if (len === 0) throw new Error(`batchedSinkhornPairs: ${what}: no rows`);
    const count = table.length / dim;
    for (let t = 0; t < len; t++) {
      if (!(rows[t]! >= 0 && rows[t]! < count) || rows[t] !== item.rows[t]) throw new Error(`batchedSinkhornPairs: ${what}: row ${String(item.rows[t])} is outside the table's [0, ${count})`);
    }
    if (!tables.has(table)) {
      checkFinite(table, 0, table.length, `${what}: its table`);
      tables.add(table);
    }
  } else {
    data = item.embeddings;
    if (!(data instanceof Float32Array)) throw new Error(`batchedSinkhornPairs: ${what}: embeddings must be a Float32Array`);
    if (data.length === 0 || data.length % dim !== 0) throw new Error(`batchedSinkhornPairs: ${what}: ${data.length} embedding values is not a positive multiple of dim ${dim}`);
    len = data.length / dim;
    if (!normalize) checkFinite(data, 0, data.length, what);
  }
  let inv: Float32Array | undefined;
  if (normalize) {
    // The norms as tokenBatch computes them (which also finds non-finite values).
    const src = (data ?? table)!;
    inv = new Float32Array(len);
    for (let t = 0; t < len; t++) {
      const o = (rows === undefined ? t : rows[t]!) * dim;
      let sum = 0;
      for (let k = o; k < o + dim; k++) sum += src[k]! * src[k]!;
      if (!Number.isFinite(sum)) throw new Error(`batchedSinkhornPairs: ${what}: token ${t} has a non-finite value`);
      const norm = Math.fround(Math.sqrt(sum));
      inv[t] = norm > 0 ? 1 / norm : 0;
    }
  }
  const a = new Float32Array(len);
  const w = item.weights;
  if (w === undefined) {
    a.fill(1 / len);
  } else {
    if (w.length !== len) throw new Error(`batchedSinkhornPairs: ${what}: ${w.length} weights for ${len} tokens`);
    // As tokenBatch (weights stored as float32) then prepare (normalised by their float64 sum).
    let sum = 0;
    for (let t = 0; t < len; t++) {
      const x = w[t]!;
      if (!Number.isFinite(x) || x < 0) throw new Error(`batchedSinkhornPairs: ${what}: weight ${t} is ${x} (must be finite and ≥ 0)`);
      a[t] = x;
      sum += a[t]!;
    }
    if (!(sum > 0)) throw new Error(`batchedSinkhornPairs: ${what}: the weights sum to 0`);
    for (let t = 0; t < len; t++) a[t] = a[t]! / sum;
  }
  return { len, data, table, rows, a, inv };
}

/** Throws unless x[from, to) are all finite (one pass: a float64 sum of finite float32 values is finite; NaN and ±∞ propagate). */
function checkFinite(x: Float32Array, from: number, to: number, what: string): void {
  let sum = 0;
  for (let k = from; k < to; k++) sum += x[k]!;
  if (!Number.isFinite(sum)) throw new Error(`batchedSinkhornPairs: ${what}: an embedding value is not finite`);
}

/** Writes an item's vectors at `out[offset …]`. */
function putVectors(info: ItemInfo, out: Float32Array, offset: number, dim: number): void {
  if (info.data !== undefined) {
    out.set(info.data, offset);
    return;
  }
  const { table, rows } = info;
  for (let t = 0; t < info.len; t++) {
    const o = rows![t]! * dim;
    out.set(table!.subarray(o, o + dim), offset + t * dim);
  }
}

/**
 * The pairs in batch order: ascending query length, then document length, then query and
 * document index (so that equal shapes of one query stay together), then pair index. Query
 * lengths take few values (LM-EMD: short queries), so this keeps both padded sides tight.
 */
export function pairOrder(c: CheckedPairs, pairs: ArrayLike<number>): Int32Array {
  const order = Int32Array.from(pairs);
  const dLen = (k: number): number => c.documents[c.document[k]!]!.len;
  const qLen = (k: number): number => c.queries[c.query[k]!]!.len;
  order.sort((x, y) => qLen(x) - qLen(y) || dLen(x) - dLen(y) || c.query[x]! - c.query[y]! || c.document[x]! - c.document[y]! || x - y);
  return order;
}

/**
 * Padded work a batch may carry beyond its pairs' own: a batch grows while
 * count · n_max · m_max ≤ (1 + PAD_SLACK) · Σ n·m. On DDTP re-ranking (200 queries × 100
 * candidates, static model) this pads 1.14× the exact work in ~240 runs, against 1.7× for batches
 * of 128 consecutive pairs in this order, 1.9× sorted by document length alone and 3.6× for one
 * batch per query.
 */
export const PAD_SLACK = 0.25;

/**
 * Cuts `order` (from {@link pairOrder}) into batches of consecutive pairs: at most `maxPairs`, at
 * most `size(n, m)` for the batch's padded shape (n: its longest query, m: its longest document),
 * and padded within {@link PAD_SLACK} of the pairs' own work.
 */
export function cutBatches(c: CheckedPairs, order: Int32Array, maxPairs: number, size: (n: number, m: number) => number): Int32Array[] {
  const out: Int32Array[] = [];
  const qLen = (k: number): number => c.queries[c.query[k]!]!.len;
  const dLen = (k: number): number => c.documents[c.document[k]!]!.len;
  let s = 0;
  while (s < order.length) {
    let n = qLen(order[s]!);
    let m = dLen(order[s]!);
    let exact = n * m;
    let e = s + 1;
    while (e < order.length && e - s < maxPairs) {
      const qn = qLen(order[e]!);
      const dm = dLen(order[e]!);
      const n2 = Math.max(n, qn);
      const m2 = Math.max(m, dm);
      const exact2 = exact + qn * dm;
      const count = e - s + 1;
      if (count * n2 * m2 > (1 + PAD_SLACK) * exact2 || count > Math.max(1, size(n2, m2))) break;
      n = n2;
      m = m2;
      exact = exact2;
      e++;
    }
    out.push(order.subarray(s, e));
    s = e;
  }
  return out;
}

/**
 * Reusable buffers for {@link packBatch}: batches of one call are packed and solved one after the
 * other, so their padded tensors can share memory (a re-ranking call packs a few GB otherwise).
 */
export class PackScratch {
  private buffers = new Map<string, Float32Array>();

  /** A view of `length` floats of buffer `name` (grown as needed), holding whatever it held. */
  take(name: string, length: number): Float32Array {
    let buf = this.buffers.get(name);
    if (buf === undefined || buf.length < length) {
      buf = new Float32Array(Math.max(length, Math.ceil((buf?.length ?? 0) * 1.5)));
      this.buffers.set(name, buf);
    }
    return buf.subarray(0, length);
  }
}

/**
 * The padded problem of one batch (pairs in the given order): one query broadcast when all pairs
 * share it, else one query row block per pair; documents padded to the batch's longest, padding
 * zero as `tokenBatch` leaves it. With `scratch` the float tensors are views of its buffers, valid
 * until the next `packBatch` on it.
 */
export function packBatch(
  c: CheckedPairs,
  batch: Int32Array,
  options: { reg: number; iterations: number; normalize: boolean; returnPlans: boolean },
  scratch?: PackScratch,
): Prepared {
  const count = batch.length;
  const d = c.dim;
  const firstQuery = c.query[batch[0]!]!;
  let broadcast = true;
  let n = 1;
  let m = 1;
  for (let k = 0; k < count; k++) {
    const pair = batch[k]!;
    if (c.query[pair] !== firstQuery) broadcast = false;
    n = Math.max(n, c.queries[c.query[pair]!]!.len);
    m = Math.max(m, c.documents[c.document[pair]!]!.len);
  }
  const qCount = broadcast ? 1 : count;
  const floats = (name: string, length: number): Float32Array => (scratch === undefined ? new Float32Array(length) : scratch.take(name, length));
  const X = floats("X", qCount * n * d);
  const a = floats("a", qCount * n);
  const qLen = new Int32Array(qCount);
  const Y = floats("Y", count * m * d);
  const b = floats("b", count * m);
  const dLen = new Int32Array(count);
  const ix = options.normalize ? floats("ix", qCount * n) : undefined;
  const iy = options.normalize ? floats("iy", count * m) : undefined;
  // Each item's rows, then zeros to its slot's end (scratch buffers hold the last batch's values).
  const put = (info: ItemInfo, slot: number, width: number, vectors: Float32Array, marginal: Float32Array, inverse: Float32Array | undefined): void => {
    putVectors(info, vectors, slot * width * d, d);
    vectors.fill(0, (slot * width + info.len) * d, (slot + 1) * width * d);
    marginal.set(info.a, slot * width);
    marginal.fill(0, slot * width + info.len, (slot + 1) * width);
    if (inverse !== undefined) {
      inverse.set(info.inv!, slot * width);
      inverse.fill(0, slot * width + info.len, (slot + 1) * width);
    }
  };
  if (broadcast) {
    qLen[0] = c.queries[firstQuery]!.len;
    put(c.queries[firstQuery]!, 0, n, X, a, ix);
  }
  for (let k = 0; k < count; k++) {
    const pair = batch[k]!;
    if (!broadcast) {
      const q = c.queries[c.query[pair]!]!;
      qLen[k] = q.len;
      put(q, k, n, X, a, ix);
    }
    const info = c.documents[c.document[pair]!]!;
    dLen[k] = info.len;
    put(info, k, m, Y, b, iy);
  }
  return { pairs: count, n, m, d, X, Y, qCount, qLen, dLen, a, b, ix, iy, reg: options.reg, iterations: options.iterations, normalize: options.normalize, returnPlans: options.returnPlans };
}
