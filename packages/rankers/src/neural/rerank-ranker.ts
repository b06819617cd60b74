/**
 * Two-stage retrieval: a cheap first stage picks a few candidates per query, an expensive second
 * stage (LM-EMD by default) scores only those, and the final score interpolates the two stages.
 */
import type { Run } from "@crossrank/metrics";
import { documentPositions } from "../collection-parts.js";
import { fuseScores, topKScores } from "../fusion.js";
import type { Ranker, RankingInput, RankOptions } from "../ranker.js";
import { type CandidateRanker, candidateUnion, checkInput, twoPartProgress } from "./common.js";
import { LmEmdRanker } from "./lm-emd-ranker.js";
import { MaxSimRanker } from "./maxsim-ranker.js";
import { documentText, type NeuralPreset } from "./settings.js";

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
  /**
   * A query with fewer tokens than lengthGate × the median token count of its candidates keeps
   * the first stage's order: the second stage does not score it. 0 turns the gate off. Needs a
   * second stage that counts tokens (LM-EMD, MaxSim). Default {@link LM_EMD_LENGTH_GATE} with an
   * LM-EMD second stage, else 0; 0 under preset "faithful".
   */
  lengthGate?: number;
  /** Only chooses firstWeight's and lengthGate's defaults ("faithful": 0, the LM-EMD study's reranking). Default "default". */
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
 * The first stage's weight with an LM-EMD second stage (with {@link LM_EMD_LENGTH_GATE}), chosen
 * on dev data: re-ranking the shipped model's bi-encoder top 100 on datasets/everyday (200 queries
 * a language), datasets/everyday-dev (400) and DDTP dev (a) and (b) (100), weights 0.3–0.7 (the
 * README has the table). 0.5 is the smallest weight that lowers no language of any of the four:
 * mean R@1 everyday 0.720 → 0.787, everyday-dev 0.601 → 0.740, (b) 0.936 → 0.968; (a) is left to
 * the gate (0.568 → 0.569). 0.3 is higher on everyday-dev (0.761) and (b) (0.977) but lowers 4 of
 * 14 everyday languages.
 */
export const LM_EMD_FIRST_WEIGHT = 0.5;

/**
 * The length gate of an LM-EMD second stage. Balanced transport moves all of the query's mass onto
 * all of the document's, so a short query against long documents (a DDTP title against
 * descriptions: median ratio 0.13) is spread over every document token, and the cost measures the
 * document's spread more than the match: on DDTP dev (a) every first-stage weight from 0.2 to
 * 0.95 lowered R@1 in 3 to 13 of 14 languages. Chosen on the dev data above among 0.15–0.6: with
 * 0.4 no language of the everyday sets (median ratio 1.0) or (a) or (b) goes down, and 0.35
 * already lowers one (a) language. MaxSim, which matches each query token to its best document token,
 * has no such bias and no gate.
 */
export const LM_EMD_LENGTH_GATE = 0.4;

/**
 * The first stage's weight with a MaxSim second stage, chosen on the same dev data: 0.6 lowers no
 * everyday-dev or DDTP (a) language (means 0.601 → 0.657 and 0.568 → 0.620) and one of 14 on (b)
 * (0.936 → 0.947 on average).
 */
export const MAXSIM_FIRST_WEIGHT = 0.6;

/** The default `lengthGate` for a second stage (preset "default"). */
export function defaultLengthGate(second: CandidateRanker): number {
  return second instanceof LmEmdRanker ? LM_EMD_LENGTH_GATE : 0;
}

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
 * stage's order, as does the length gate for a query much shorter than its candidates.
 */
export class RerankRanker implements Ranker {
  readonly name: string;
  readonly depth: number;
  readonly firstWeight: number;
  readonly lengthGate: number;
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
    this.lengthGate = options.lengthGate ?? (preset === "faithful" ? 0 : defaultLengthGate(options.second));
    if (typeof this.lengthGate !== "number" || !(this.lengthGate >= 0 && Number.isFinite(this.lengthGate))) {
      throw new Error(`ranker rerank: lengthGate must be a number >= 0, got ${String(this.lengthGate)}`);
    }
    if (this.lengthGate > 0 && options.second.tokenCounts === undefined) {
      throw new Error(`ranker rerank: lengthGate needs a second stage that counts tokens (lm-emd, maxsim); ${options.second.name} does not`);
    }
    this.first = options.first;
    this.second = options.second;
    // firstWeight and lengthGate only when not 0, so the faithful configuration keeps its report label.
    const weight = this.firstWeight === 0 ? "" : `,firstWeight=${this.firstWeight}`;
    const gate = this.lengthGate === 0 ? "" : `,lengthGate=${this.lengthGate}`;
    this.name = `rerank(first=${this.first.name},depth=${this.depth},second=${this.second.name}${weight}${gate})`;
  }

  async rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    // The first stage reports into the first half of the progress, the second stage into the second.
    const progress = twoPartProgress(options.onProgress);
    const firstRun = await this.first.rank(input, { k: this.depth, ...progress.part(0) });
    const index = documentPositions(input.documents);
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
    const gated = this.lengthGate > 0 ? await this.gatedQueries(input, candidates) : new Set<string>();
    for (const qid of gated) candidates.delete(qid);
    const w = this.firstWeight;
    // With w = 0 the second stage's own top k, untouched; otherwise every candidate's score
    // (k = depth keeps them all) for the interpolation.
    const secondRun = await this.second.rankCandidates(input, candidates, { k: w === 0 ? Math.min(k, this.depth) : this.depth, ...progress.part(1) });
    const run: Run = new Map();
    const empty = new Map<string, number>();
    for (const q of input.queries) {
      const firstHits = firstRun.get(q.id) ?? empty;
      // A gated query: w = 1, the first stage's min–max normalised scores.
      if (gated.has(q.id)) run.set(q.id, topKScores(fuseScores(firstHits, empty, { method: "interpolate", weight: 1 }), Math.min(k, this.depth)));
      else if (w === 0) run.set(q.id, secondRun.get(q.id) ?? empty);
      else run.set(q.id, topKScores(fuseScores(firstHits, secondRun.get(q.id) ?? empty, { method: "interpolate", weight: w }), Math.min(k, this.depth)));
    }
    progress.done();
    return run;
  }

  /** The queries with fewer tokens than lengthGate × the median token count of their candidates. */
  private async gatedQueries(input: RankingInput, candidates: Map<string, Int32Array>): Promise<Set<string>> {
    const union = candidateUnion(input.documents.length, candidates);
    const count = this.second.tokenCounts!;
    const docCounts = await count.call(this.second, Array.from(union, (d) => documentText(input.documents[d]!)));
    const docCount = new Map<number, number>();
    union.forEach((d, i) => docCount.set(d, docCounts[i]!));
    const queryCounts = await count.call(this.second, input.queries.map((q) => q.text));
    const gated = new Set<string>();
    input.queries.forEach((q, i) => {
      const docs = candidates.get(q.id);
      if (docs === undefined || docs.length === 0) return;
      const lengths = Float64Array.from(docs, (d) => docCount.get(d)!).sort();
      const median = lengths.length % 2 === 1 ? lengths[lengths.length >> 1]! : (lengths[lengths.length / 2 - 1]! + lengths[lengths.length / 2]!) / 2;
      if (queryCounts[i]! < this.lengthGate * median) gated.add(q.id);
    });
    return gated;
  }
}
