/**
 * What the neural rankers share: the candidate-scoring contract the two-stage ranker drives, input
 * checks, progress accounting and the top-k step.
 */
import type { Run } from "@crossrank/metrics";
import { collectionParts } from "../collection-parts.js";
import type { Ranker, RankingInput, RankOptions } from "../ranker.js";
import { topK } from "../top-k.js";

/** Per query id, the documents to score (indices into `input.documents`). */
export type CandidateMap = ReadonlyMap<string, Int32Array>;

/**
 * A ranker that can also score only given candidates per query: the second stage of `rerank`.
 * `rank(input)` is `rankCandidates(input, undefined)`, every document a candidate of every query.
 */
export interface CandidateRanker extends Ranker {
  /**
   * Like `rank`, but each query is scored against its candidates only (a query missing from
   * `candidates` gets an empty result); only the candidates' embeddings are computed where the
   * ranker works per text (token embeddings), so the work scales with the candidates.
   */
  rankCandidates(input: RankingInput, candidates: CandidateMap | undefined, options?: RankOptions): Promise<Run>;
  /** Tokens per text as this ranker sees them (rankers that work on token embeddings); what `rerank`'s lengthGate compares. */
  tokenCounts?(texts: readonly string[]): Promise<number[]>;
}

/** Whether a ranker supports candidate scoring. */
export function isCandidateRanker(r: Ranker): r is CandidateRanker {
  return typeof (r as Partial<CandidateRanker>).rankCandidates === "function";
}

export const DEFAULT_K = 100;

/** Checks `k`, unique query and document ids (a collection with prebuilt parts was checked when they were built); returns k. */
export function checkInput(input: RankingInput, options: RankOptions): number {
  const k = options.k ?? DEFAULT_K;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${String(k)}`);
  const seenQ = new Set<string>();
  for (const q of input.queries) {
    if (seenQ.has(q.id)) throw new Error(`duplicate query id ${JSON.stringify(q.id)}`);
    seenQ.add(q.id);
  }
  if (collectionParts(input.documents) !== undefined) return k;
  const seenD = new Set<string>();
  for (const d of input.documents) {
    if (seenD.has(d.id)) throw new Error(`duplicate document id ${JSON.stringify(d.id)}`);
    seenD.add(d.id);
  }
  return k;
}

/** 0, 1, …, n − 1 (a plain loop: `Int32Array.from({ length }, f)` calls f per element, ~50× slower over a million documents). */
export function positions(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** The sorted union of all candidate lists (every document when `candidates` is undefined). */
export function candidateUnion(documentCount: number, candidates: CandidateMap | undefined): Int32Array {
  if (candidates === undefined) return positions(documentCount);
  const seen = new Uint8Array(documentCount);
  for (const list of candidates.values()) {
    for (const d of list) {
      if (!(d >= 0 && d < documentCount)) throw new RangeError(`candidate document index ${d} is outside [0, ${documentCount})`);
      seen[d] = 1;
    }
  }
  const out: number[] = [];
  for (let d = 0; d < documentCount; d++) if (seen[d] === 1) out.push(d);
  return Int32Array.from(out);
}

/**
 * Progress of a neural ranker over one call, in units: documents to encode, then queries to
 * encode, then queries to score (so `total` is fixed from the start). Sub-steps that report their
 * own (done, total) are scaled into their span.
 */
export class Progress {
  readonly total: number;
  constructor(
    private readonly onProgress: ((done: number, total: number) => void) | undefined,
    private readonly docs: number,
    private readonly queries: number,
  ) {
    this.total = docs + 2 * queries;
  }

  /** A (done, total) callback for document encoding, or undefined without a listener. */
  get encodeDocs(): ((done: number, total: number) => void) | undefined {
    return this.scaled(0, this.docs);
  }

  get encodeQueries(): ((done: number, total: number) => void) | undefined {
    return this.scaled(this.docs, this.queries);
  }

  /** `scored` queries done. */
  score(scored: number): void {
    this.onProgress?.(this.docs + this.queries + scored, this.total);
  }

  private scaled(offset: number, span: number): ((done: number, total: number) => void) | undefined {
    const f = this.onProgress;
    if (f === undefined) return undefined;
    return (done, total) => f(offset + (total > 0 ? Math.round((done / total) * span) : span), this.total);
  }
}

/** Lets other work run (and progress bars redraw) between queries. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The top `k` of the scored candidates as a run entry, in trec_eval order (score descending, then
 * id descending). `scores` is indexed by document; only `candidates[0 … count)` are read.
 */
export function topKEntry(scores: Float64Array, ids: readonly string[], k: number, candidates: Int32Array, count = candidates.length): Map<string, number> {
  const best = topK(scores, ids, k, candidates, count);
  const out = new Map<string, number>();
  for (const doc of best) out.set(ids[doc]!, scores[doc]!);
  return out;
}

/** Throws unless `score` is finite: a NaN would silently sort anywhere in a run. */
export function checkScore(score: number, ranker: string, queryId: string, docId: string, hint = ""): void {
  if (!Number.isFinite(score)) {
    throw new Error(`${ranker}: score of document ${JSON.stringify(docId)} for query ${JSON.stringify(queryId)} is ${score}${hint}`);
  }
}

/** Progress units of one call of a two-part ranker (rerank, hybrid): [0, 500] for the first part, [500, 1000] for the second. */
const TWO_PART_TOTAL = 1000;

/**
 * Progress of a ranker that runs two rankers one after the other: `part(0)` and `part(1)` are the
 * RankOptions spreads (an `onProgress` scaled into that half, or nothing without a listener), and
 * `done()` reports the end.
 */
export function twoPartProgress(onProgress: ((done: number, total: number) => void) | undefined): {
  part: (index: 0 | 1) => Pick<RankOptions, "onProgress">;
  done: () => void;
} {
  const half = TWO_PART_TOTAL / 2;
  return {
    part: (index) =>
      onProgress === undefined
        ? {}
        : { onProgress: (done: number, total: number) => onProgress(index * half + (total > 0 ? Math.round((done / total) * half) : half), TWO_PART_TOTAL) },
    done: () => onProgress?.(TWO_PART_TOTAL, TWO_PART_TOTAL),
  };
}

/**
 * The value of `key` in `cache`, made by `load()` on first use and shared by later callers (the
 * models the neural rankers load once per process); a failed load is forgotten, so a later call
 * retries.
 */
export function loadOnce<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (value === undefined) {
    const made = load();
    cache.set(key, made);
    made.catch(() => {
      if (cache.get(key) === made) cache.delete(key);
    });
    value = made;
  }
  return value;
}
