/**
 * Two-stage retrieval: a cheap first stage picks a few candidates per query, an expensive second
 * stage (LM-EMD by default) scores only those, and the final score interpolates the two stages.
 */
import type { Run } from "@crossrank/metrics";
import { fuseScores, topKScores } from "../fusion.js";
import type { Ranker, RankingInput, RankOptions } from "../ranker.js";
import { type CandidateRanker, checkInput, twoPartProgress } from "./common.js";
import { LmEmdRanker } from "./lm-emd-ranker.js";
import { MaxSimRanker } from "./maxsim-ranker.js";
import type { NeuralPreset } from "./settings.js";

/** Options of {@link RerankRanker}. */
export interface RerankRankerOptions {
  /** The first stage, e.g. BM25 or a bi-encoder: its top `depth` documents are the candidates. */
  first: Ranker;
  /** The second stage, which scores only the candidates. */
  second: CandidateRanker;
  /** Candidates per query, default 20. */
  depth?: number;
  /**
   * Weight w ∈ [0, 1] of the first stage in the final score w · n(first) + (1 − w) · n(second),
   * n = per-query min–max normalisation over the candidates. 0 keeps the second stage's raw
   * scores. Default {@link defaultFirstWeight} of the second stage; 0 under preset "faithful".
   */
  firstWeight?: number;
  /** Only chooses firstWeight's default ("faithful": 0, the LM-EMD study's reranking). Default "default". */
  preset?: NeuralPreset;
}

export const DEFAULT_DEPTH = 20;

/**
 * The first stage's weight under preset "default" for a second stage other than LM-EMD and
 * MaxSim. A first stage that found a document is evidence the second stage does not see (BM25's
 * exact term matches, a bi-encoder trained for retrieval), so the final score keeps part of it.
 */
export const DEFAULT_RERANK_FIRST_WEIGHT = 0.5;

/**
 * The first stage's weight with an LM-EMD second stage, chosen on dev data: re-ranking the shipped
 * model's bi-encoder top 100 on datasets/everyday-dev (400 queries a language) and DDTP dev
 * (a) and (b) (100 a language), weights 0–0.8 (the README has the table). On everyday-dev 0.3 is
 * best (mean R@1 0.601 → 0.761); on DDTP (a), a short title against long descriptions, every
 * weight up to 0.8 lowers some language, and 0.7 lowers the fewest while keeping most of the rest
 * (everyday-dev 0.687, 16 of 16 languages up; (a) 0.568 → 0.571, 5 of 14 down by 0.01–0.03;
 * (b) 0.936 → 0.960, none down).
 */
export const LM_EMD_FIRST_WEIGHT = 0.7;

/**
 * The first stage's weight with a MaxSim second stage, chosen on the same dev data: 0.6 lowers no
 * everyday-dev or DDTP (a) language (means 0.601 → 0.657 and 0.568 → 0.620) and one of 14 on (b)
 * (0.936 → 0.947 on average).
 */
export const MAXSIM_FIRST_WEIGHT = 0.6;

/** The default `firstWeight` for a second stage (preset "default"). */
export function defaultFirstWeight(second: CandidateRanker): number {
  if (second instanceof LmEmdRanker) return LM_EMD_FIRST_WEIGHT;
  if (second instanceof MaxSimRanker) return MAXSIM_FIRST_WEIGHT;
  return DEFAULT_RERANK_FIRST_WEIGHT;
}

/**
 * Reranking: the first stage's top `depth` documents of each query are scored by the second stage,
 * and the run holds those candidates only (top `min(k, depth)`; a query for which the first stage
 * found nothing gets an empty result). The second stage encodes only the candidates where it works
 * per text (LM-EMD, MaxSim), so neither the encoder nor the transport solver need touch every
 * document.
 *
 * Score: with `firstWeight` w = 0 the second stage's scores as they are (the LM-EMD study's
 * reranking, preset "faithful"); otherwise w · n(first) + (1 − w) · n(second), each stage's
 * scores min–max normalised over the query's candidates (all equal → 0), since the two stages'
 * scales (BM25 in [0, ∞), cosines, negated transport costs) are unrelated. w = 1 keeps the first
 * stage's order.
 */
export class RerankRanker implements Ranker {
  readonly name: string;
  readonly depth: number;
  readonly firstWeight: number;
  private readonly first: Ranker;
  private readonly second: CandidateRanker;

  constructor(options: RerankRankerOptions) {
    this.depth = options.depth ?? DEFAULT_DEPTH;
    if (!Number.isInteger(this.depth) || this.depth < 1) throw new Error(`ranker rerank: depth must be a whole number >= 1, got ${String(this.depth)}`);
    const { preset } = options;
    if (preset !== undefined && preset !== "default" && preset !== "faithful") {
      throw new Error(`ranker rerank: preset must be "default" or "faithful", got ${JSON.stringify(preset)}`);
    }
    this.firstWeight = options.firstWeight ?? (preset === "faithful" ? 0 : defaultFirstWeight(options.second));
    if (typeof this.firstWeight !== "number" || !(this.firstWeight >= 0 && this.firstWeight <= 1)) {
      throw new Error(`ranker rerank: firstWeight must be a number in [0, 1], got ${String(this.firstWeight)}`);
    }
    this.first = options.first;
    this.second = options.second;
    // firstWeight only when it is not 0, so the faithful configuration keeps its report label.
    const weight = this.firstWeight === 0 ? "" : `,firstWeight=${this.firstWeight}`;
    this.name = `rerank(first=${this.first.name},depth=${this.depth},second=${this.second.name}${weight})`;
  }

  async rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    // The first stage reports into the first half of the progress, the second stage into the second.
    const progress = twoPartProgress(options.onProgress);
    const firstRun = await this.first.rank(input, { k: this.depth, ...progress.part(0) });
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
    const w = this.firstWeight;
    if (w === 0) {
      // The second stage's own top k, untouched.
      const run = await this.second.rankCandidates(input, candidates, { k: Math.min(k, this.depth), ...progress.part(1) });
      progress.done();
      return run;
    }
    // Every candidate's second-stage score (k = depth keeps them all), then the interpolation.
    const secondRun = await this.second.rankCandidates(input, candidates, { k: this.depth, ...progress.part(1) });
    const run: Run = new Map();
    const empty = new Map<string, number>();
    for (const q of input.queries) {
      const firstHits = firstRun.get(q.id) ?? empty;
      const fused = fuseScores(firstHits, secondRun.get(q.id) ?? empty, { method: "interpolate", weight: w });
      run.set(q.id, topKScores(fused, Math.min(k, this.depth)));
    }
    progress.done();
    return run;
  }
}
