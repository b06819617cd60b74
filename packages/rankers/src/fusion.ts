/**
 * Combining two result lists of one query into one: per-query min–max normalisation, linear
 * interpolation of normalised scores, and (weighted) reciprocal rank fusion. Pure functions on
 * `document id → score` maps, shared by `rerank` (interpolating its two stages) and `hybrid`
 * (fusing a lexical and a dense list), so the arithmetic is tested once on hand-made lists.
 */
import type { Run } from "@crossrank/metrics";
import { topK } from "./top-k.js";

/** How two lists are fused: see {@link fuseScores}. */
export type FusionMethod = "rrf" | "interpolate";

/** Options of {@link fuseScores} and {@link fuseRuns}. */
export interface FusionOptions {
  /** "interpolate": weighted sum of min–max normalised scores; "rrf": weighted reciprocal rank fusion. */
  method: FusionMethod;
  /** Weight w ∈ [0, 1] of the first list; the second list gets 1 − w. */
  weight: number;
  /** RRF's rank offset k ≥ 0 (score Σ 1/(k + rank)); default {@link DEFAULT_RRF_K}. Unused by "interpolate". */
  rrfK?: number;
}

/** Cormack, Clarke & Büttcher (2009)'s k, which they found robust across collections. */
export const DEFAULT_RRF_K = 60;

/**
 * Min–max normalisation of one query's scores: (s − min) / (max − min) over the list, so the best
 * document gets 1 and the worst 0; when all scores are equal (one document included) every
 * document gets 0 — the list then says nothing about which document is better. Scores of
 * different rankers (BM25 in [0, ∞), cosines in [−1, 1], negated transport costs) become
 * comparable this way without knowing their scales.
 */
export function minMaxNormalize(scores: ReadonlyMap<string, number>): Map<string, number> {
  let min = Infinity;
  let max = -Infinity;
  for (const [id, s] of scores) {
    if (!Number.isFinite(s)) throw new Error(`fusion: score of document ${JSON.stringify(id)} is ${s}`);
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const range = max - min;
  const out = new Map<string, number>();
  for (const [id, s] of scores) out.set(id, range > 0 ? (s - min) / range : 0);
  return out;
}

/**
 * The 1-based rank of every document of a list in trec_eval order (score descending, ties by id
 * descending), whatever the map's insertion order: what trec_eval would rank the list as.
 */
export function trecRanks(scores: ReadonlyMap<string, number>): Map<string, number> {
  const entries = [...scores];
  entries.sort(([ia, sa], [ib, sb]) => (sa !== sb ? sb - sa : ia < ib ? 1 : ia > ib ? -1 : 0));
  return new Map(entries.map(([id], i) => [id, i + 1]));
}

/** Throws a one-line Error unless the options are usable. */
export function checkFusionOptions(options: FusionOptions, ranker = "fusion"): void {
  const { method, weight, rrfK } = options;
  if (method !== "rrf" && method !== "interpolate") throw new Error(`${ranker}: fusion must be "rrf" or "interpolate", got ${JSON.stringify(method)}`);
  if (typeof weight !== "number" || !(weight >= 0 && weight <= 1)) throw new Error(`${ranker}: the fusion weight must be a number in [0, 1], got ${String(weight)}`);
  if (rrfK !== undefined && (typeof rrfK !== "number" || !Number.isFinite(rrfK) || rrfK < 0)) throw new Error(`${ranker}: rrfK must be a number >= 0, got ${String(rrfK)}`);
}

/**
 * One query's fused scores over the union of two lists (first list's documents first, then the
 * second's others), with w = `weight`:
 *
 * - "interpolate": w · n(first) + (1 − w) · n(second), n = {@link minMaxNormalize} over that list;
 *   a document missing from a list gets 0 from it (as much as that list's worst document).
 * - "rrf": w / (k + rank_first) + (1 − w) / (k + rank_second), ranks 1-based in trec_eval order
 *   ({@link trecRanks}); a document missing from a list gets 0 from it. w = 0.5 is Cormack et
 *   al.'s plain RRF, Σ 1/(k + rank), halved: the same order.
 *
 * Scores must be finite (a one-line Error otherwise).
 */
export function fuseScores(first: ReadonlyMap<string, number>, second: ReadonlyMap<string, number>, options: FusionOptions): Map<string, number> {
  checkFusionOptions(options);
  const w = options.weight;
  const a = options.method === "rrf" ? reciprocalRanks(first, options.rrfK ?? DEFAULT_RRF_K) : minMaxNormalize(first);
  const b = options.method === "rrf" ? reciprocalRanks(second, options.rrfK ?? DEFAULT_RRF_K) : minMaxNormalize(second);
  const out = new Map<string, number>();
  for (const [id, x] of a) out.set(id, w * x + (1 - w) * (b.get(id) ?? 0));
  for (const [id, y] of b) if (!a.has(id)) out.set(id, (1 - w) * y);
  return out;
}

/** 1 / (k + rank) per document of the list. */
function reciprocalRanks(scores: ReadonlyMap<string, number>, k: number): Map<string, number> {
  for (const [id, s] of scores) if (!Number.isFinite(s)) throw new Error(`fusion: score of document ${JSON.stringify(id)} is ${s}`);
  const out = new Map<string, number>();
  for (const [id, rank] of trecRanks(scores)) out.set(id, 1 / (k + rank));
  return out;
}

/** The `k` best entries of `scores`, best first, in trec_eval order (score descending, then id descending). */
export function topKScores(scores: ReadonlyMap<string, number>, k: number): Map<string, number> {
  const ids = [...scores.keys()];
  const values = Float64Array.from(scores.values());
  const all = Int32Array.from({ length: ids.length }, (_, i) => i);
  const out = new Map<string, number>();
  for (const i of topK(values, ids, k, all, all.length)) out.set(ids[i]!, values[i]!);
  return out;
}

/**
 * Two runs fused query by query ({@link fuseScores}), each query's top `k` in trec_eval order.
 * Queries come in the first run's order, then the second run's others; a query missing from one
 * run is fused with an empty list.
 */
export function fuseRuns(first: Run, second: Run, options: FusionOptions & { k: number }): Run {
  const { k } = options;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${String(k)}`);
  const empty = new Map<string, number>();
  const out: Run = new Map();
  for (const qid of new Set([...first.keys(), ...second.keys()])) {
    out.set(qid, topKScores(fuseScores(first.get(qid) ?? empty, second.get(qid) ?? empty, options), k));
  }
  return out;
}
