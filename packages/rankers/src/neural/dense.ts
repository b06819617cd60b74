/**
 * Brute-force dense scoring: dot products of query vectors with document vectors (cosine when both
 * are unit vectors), four queries at a time so that each document row is read once per four queries.
 */
import type { PooledMatrix } from "./memo.js";

/**
 * Scores of queries `first … first + count − 1` (count ≤ 4) of `queries` against documents
 * `docs` of `documents`, written to `out[q][doc]` (float64; other entries untouched).
 */
export function denseScoreBlock(queries: PooledMatrix, first: number, count: number, documents: PooledMatrix, docs: Int32Array, out: Float64Array[]): void {
  const dim = queries.dim;
  if (documents.dim !== dim) throw new Error(`query vectors have dim ${dim}, document vectors ${documents.dim}`);
  if (count < 1 || count > 4) throw new RangeError(`denseScoreBlock: count must be 1…4, got ${count}`);
  const Q = queries.data;
  const D = documents.data;
  // Missing queries of a short block repeat the last one (computed, not stored).
  const q0 = first * dim;
  const q1 = (first + Math.min(1, count - 1)) * dim;
  const q2 = (first + Math.min(2, count - 1)) * dim;
  const q3 = (first + Math.min(3, count - 1)) * dim;
  for (let c = 0; c < docs.length; c++) {
    const doc = docs[c]!;
    const d0 = doc * dim;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < dim; k++) {
      const x = D[d0 + k]!;
      s0 += Q[q0 + k]! * x;
      s1 += Q[q1 + k]! * x;
      s2 += Q[q2 + k]! * x;
      s3 += Q[q3 + k]! * x;
    }
    out[0]![doc] = s0;
    if (count > 1) out[1]![doc] = s1;
    if (count > 2) out[2]![doc] = s2;
    if (count > 3) out[3]![doc] = s3;
  }
}
