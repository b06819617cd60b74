/**
 * Two-stage retrieval: a cheap first stage picks a few candidates per query, an expensive second
 * stage (LM-EMD by default) scores only those.
 */
import type { Run } from "@crossrank/metrics";
import type { Ranker, RankingInput, RankOptions } from "../ranker.js";
import { type CandidateRanker, checkInput } from "./common.js";

/** Options of {@link RerankRanker}. */
export interface RerankRankerOptions {
  /** The first stage, e.g. BM25 or a bi-encoder: its top `depth` documents are the candidates. */
  first: Ranker;
  /** The second stage, which scores only the candidates. */
  second: CandidateRanker;
  /** Candidates per query, default 20. */
  depth?: number;
}

export const DEFAULT_DEPTH = 20;

/** Progress units of one call: the first stage reports into [0, 500], the second into [500, 1000]. */
const PROGRESS_TOTAL = 1000;

/**
 * Reranking: the first stage's top `depth` documents of each query are scored by the second stage,
 * and the run holds the second stage's scores of those candidates only (top `min(k, depth)`; a
 * query for which the first stage found nothing gets an empty result). The second stage encodes
 * only the candidates where it works per text (LM-EMD, MaxSim), so neither the encoder nor the
 * transport solver need touch every document.
 */
export class RerankRanker implements Ranker {
  readonly name: string;
  readonly depth: number;
  private readonly first: Ranker;
  private readonly second: CandidateRanker;

  constructor(options: RerankRankerOptions) {
    this.depth = options.depth ?? DEFAULT_DEPTH;
    if (!Number.isInteger(this.depth) || this.depth < 1) throw new Error(`ranker rerank: depth must be a whole number >= 1, got ${String(this.depth)}`);
    this.first = options.first;
    this.second = options.second;
    this.name = `rerank(first=${this.first.name},depth=${this.depth},second=${this.second.name})`;
  }

  async rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    const { onProgress } = options;
    const half = PROGRESS_TOTAL / 2;
    const scaled = (offset: number) =>
      onProgress === undefined ? {} : { onProgress: (done: number, total: number) => onProgress(offset + (total > 0 ? Math.round((done / total) * half) : half), PROGRESS_TOTAL) };
    const firstRun = await this.first.rank(input, { k: this.depth, ...scaled(0) });
    const index = new Map<string, number>();
    input.documents.forEach((d, i) => index.set(d.id, i));
    const candidates = new Map<string, Int32Array>();
    for (const [qid, hits] of firstRun) {
      candidates.set(
        qid,
        Int32Array.from(hits.keys(), (id) => {
          const doc = index.get(id);
          if (doc === undefined) throw new Error(`rerank: the first stage returned document ${JSON.stringify(id)}, which is not in the collection`);
          return doc;
        }),
      );
    }
    const run = await this.second.rankCandidates(input, candidates, { k: Math.min(k, this.depth), ...scaled(half) });
    onProgress?.(PROGRESS_TOTAL, PROGRESS_TOTAL);
    return run;
  }
}
