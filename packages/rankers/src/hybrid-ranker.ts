/**
 * Hybrid retrieval: a lexical list (BM25, or BM25 with dictionary translations) fused with a dense
 * one (a bi-encoder, or a bi-encoder reranked), so that exact term matches — names, numbers, rare
 * words a dictionary knows — and semantic matches both count.
 */
import { installedDictionaries, iso639_3 } from "@crossrank/lexicon";
import type { Run } from "@crossrank/metrics";
import { Bm25PsqRanker } from "./bm25-psq-ranker.js";
import { Bm25Ranker } from "./bm25-ranker.js";
import { checkFusionOptions, DEFAULT_RRF_K, type FusionMethod, fuseRuns } from "./fusion.js";
import { checkInput, twoPartProgress } from "./neural/common.js";
import type { Ranker, RankingInput, RankOptions } from "./ranker.js";

/** Which lexical ranker: "auto" chooses per language pair (see {@link HybridRanker.lexicalFor}). */
export type LexicalChoice = "auto" | "bm25" | "bm25-psq";

/** Options of {@link HybridRanker}. */
export interface HybridRankerOptions {
  /** Default "auto": bm25-psq where a dictionary for queryLang → docLang is installed, else bm25 (both with their default parameters). */
  lexical?: LexicalChoice;
  /** The dense ranker, e.g. a bi-encoder, or a `RerankRanker` over one. */
  dense: Ranker;
  /** The lexical rankers, default `Bm25Ranker` and `Bm25PsqRanker` with their defaults (a store may give its own). */
  bm25?: Ranker;
  psq?: Ranker;
  /** Documents taken from each list per query, default {@link DEFAULT_HYBRID_DEPTH}. */
  depth?: number;
  /** Default "interpolate". */
  fusion?: FusionMethod;
  /** RRF's rank offset k ≥ 0 (fusion "rrf" only), default 60. */
  rrfK?: number;
  /**
   * Weight w ∈ [0, 1] of the lexical list, 1 − w the dense one's. Default
   * {@link DEFAULT_HYBRID_LEXICAL_WEIGHT} with fusion "interpolate", {@link DEFAULT_RRF_LEXICAL_WEIGHT}
   * (plain RRF) with "rrf".
   */
  lexicalWeight?: number;
}

/** Candidates taken from each list by default. */
export const DEFAULT_HYBRID_DEPTH = 100;

/**
 * The lexical weight of fusion "interpolate", chosen on dev data with the default dense list (the
 * bi-encoder's top 100 re-ranked by MaxSim): among RRF and interpolation, lexical weights
 * 0.2–0.6, dense lists bi-encoder / LM-EMD / MaxSim re-ranking at first-stage weights 0–0.8,
 * interpolation at 0.3 over MaxSim re-ranking at 0.6 was among those at least as good as the
 * better of its two parts in the most languages (40 of 44 across datasets/everyday-dev and DDTP
 * dev (a) and (b)); see the README's table.
 */
export const DEFAULT_HYBRID_LEXICAL_WEIGHT = 0.3;

/** The lexical weight of fusion "rrf": 0.5 weighs both lists alike, Cormack et al.'s RRF (halved). */
export const DEFAULT_RRF_LEXICAL_WEIGHT = 0.5;

/**
 * Fusion of a lexical and a dense ranking. Both rankers see the same input and return their top
 * `depth` per query; the run holds the top k of the union by fused score, in trec_eval order (ties
 * by document id, descending), with w = `lexicalWeight`:
 *
 * - "interpolate" (default): w · n(lexical) + (1 − w) · n(dense), n = min–max normalisation over
 *   that list for the query (all equal → 0);
 * - "rrf": w / (rrfK + rank_lexical) + (1 − w) / (rrfK + rank_dense), ranks 1-based;
 *
 * a document missing from a list gets 0 from it. With `lexical: "auto"` the lexical ranker is
 * chosen per call from the input's languages ({@link lexicalFor}).
 */
export class HybridRanker implements Ranker {
  readonly name: string;
  readonly lexical: LexicalChoice;
  readonly depth: number;
  readonly fusion: FusionMethod;
  readonly rrfK: number;
  readonly lexicalWeight: number;
  private readonly dense: Ranker;
  private readonly bm25: Ranker;
  private readonly psq: Ranker;

  constructor(options: HybridRankerOptions) {
    this.lexical = options.lexical ?? "auto";
    if (!["auto", "bm25", "bm25-psq"].includes(this.lexical)) {
      throw new Error(`ranker hybrid: lexical must be "auto", "bm25" or "bm25-psq", got ${JSON.stringify(this.lexical)}`);
    }
    this.depth = options.depth ?? DEFAULT_HYBRID_DEPTH;
    if (!Number.isInteger(this.depth) || this.depth < 1) throw new Error(`ranker hybrid: depth must be a whole number >= 1, got ${String(this.depth)}`);
    this.fusion = options.fusion ?? "interpolate";
    if (this.fusion !== "rrf" && this.fusion !== "interpolate") throw new Error(`ranker hybrid: fusion must be "rrf" or "interpolate", got ${JSON.stringify(this.fusion)}`);
    if (options.rrfK !== undefined && this.fusion !== "rrf") throw new Error(`ranker hybrid: rrfK applies to fusion "rrf" only`);
    this.rrfK = options.rrfK ?? DEFAULT_RRF_K;
    if (typeof this.rrfK !== "number" || !Number.isFinite(this.rrfK) || this.rrfK < 0) throw new Error(`ranker hybrid: rrfK must be a number >= 0, got ${String(this.rrfK)}`);
    this.lexicalWeight = options.lexicalWeight ?? (this.fusion === "rrf" ? DEFAULT_RRF_LEXICAL_WEIGHT : DEFAULT_HYBRID_LEXICAL_WEIGHT);
    if (typeof this.lexicalWeight !== "number" || !(this.lexicalWeight >= 0 && this.lexicalWeight <= 1)) {
      throw new Error(`ranker hybrid: lexicalWeight must be a number in [0, 1], got ${String(this.lexicalWeight)}`);
    }
    this.dense = options.dense;
    this.bm25 = options.bm25 ?? new Bm25Ranker();
    this.psq = options.psq ?? new Bm25PsqRanker();
    const lexical = this.lexical === "auto" ? "auto" : (this.lexical === "bm25" ? this.bm25 : this.psq).name;
    const fusion = this.fusion === "rrf" ? `fusion=rrf,rrfK=${this.rrfK}` : "fusion=interpolate";
    this.name = `hybrid(lexical=${lexical},dense=${this.dense.name},depth=${this.depth},${fusion},lexicalWeight=${this.lexicalWeight})`;
  }

  /**
   * The lexical ranker used for a language pair: `lexical` itself unless it is "auto"; with
   * "auto", "bm25-psq" when both languages are known, differ, and a dictionary for the pair is
   * installed (a freedict dictionary of either direction, CC-CEDICT for Chinese–English: what
   * bm25-psq would load, found by `@crossrank/lexicon`'s `installedDictionaries`, which lists the
   * files without reading them), otherwise "bm25".
   */
  async lexicalFor(queryLang: string | undefined, docLang: string | undefined): Promise<"bm25" | "bm25-psq"> {
    if (this.lexical !== "auto") return this.lexical;
    if (queryLang === undefined || docLang === undefined) return "bm25";
    const from = iso639_3(queryLang);
    const to = iso639_3(docLang);
    if (from === to) return "bm25";
    const installed = await installedDictionaries({ languages: [queryLang, docLang] });
    const found = installed.some((d) => {
      const a = iso639_3(d.from);
      const b = iso639_3(d.to);
      return (a === from && b === to) || (a === to && b === from);
    });
    return found ? "bm25-psq" : "bm25";
  }

  async rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    // The lexical ranker reports into the first half of the progress, the dense one into the second.
    const progress = twoPartProgress(options.onProgress);
    const fusion = { method: this.fusion, weight: this.lexicalWeight, rrfK: this.rrfK };
    checkFusionOptions(fusion, "ranker hybrid");
    const lexical = (await this.lexicalFor(input.queryLang, input.docLang)) === "bm25" ? this.bm25 : this.psq;
    const lexicalRun = await lexical.rank(input, { k: this.depth, ...progress.part(0) });
    const denseRun = await this.dense.rank(input, { k: this.depth, ...progress.part(1) });
    const fused = fuseRuns(lexicalRun, denseRun, { ...fusion, k });
    // Every query of the input, in input order (a ranker may leave one out when it found nothing).
    const run: Run = new Map();
    for (const q of input.queries) run.set(q.id, fused.get(q.id) ?? new Map());
    progress.done();
    return run;
  }
}
