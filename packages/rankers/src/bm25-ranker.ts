import type { Document } from "@crossrank/datasets";
import type { Run } from "@crossrank/metrics";
import { type Analyzer, createAnalyzer, type AnalyzerOptions } from "./analyzer.js";
import { bm25PartBuilder, type CollectionPart, type CollectionPartBuilder, collectionParts } from "./collection-parts.js";
import { Bm25Index, checkBm25Parameters, checkK3, DEFAULT_B, DEFAULT_K1, queryTermWeight } from "./bm25.js";
import type { Ranker, RankingInput, RankOptions } from "./ranker.js";
import { runQueries } from "./run-queries.js";

/** Options of `Bm25Ranker`. */
export interface Bm25RankerOptions {
  /** Default 1.2 (see `bm25.ts`). */
  k1?: number;
  /** Default 0.75 (see `bm25.ts`). */
  b?: number;
  /**
   * Query-term saturation (see `queryTermWeight`): default Infinity, a repeated query term counts
   * once per occurrence as in Lucene; 0 counts each distinct term once (suits long queries).
   */
  k3?: number;
  /** Analyzer settings shared by documents and queries; the language comes from the input. */
  analyzer?: Omit<AnalyzerOptions, "lang">;
}

const DEFAULT_K = 100;

/**
 * BM25 as a `Ranker`: indexes the input's documents (analyzer locale = `docLang`, title prepended
 * to the text when present), analyzes each query with locale `queryLang`, and keeps the top k per
 * query. Every query gets an entry in the run, empty when none of its terms occurs in the
 * collection. Progress counts documents indexed plus queries ranked.
 */
export class Bm25Ranker implements Ranker {
  readonly name: string;
  private readonly k1: number;
  private readonly b: number;
  /** Query-term saturation (see `queryTermWeight`). */
  readonly k3: number;
  private readonly analyzerOptions: Omit<AnalyzerOptions, "lang">;

  constructor(options: Bm25RankerOptions = {}) {
    this.k1 = options.k1 ?? DEFAULT_K1;
    this.b = options.b ?? DEFAULT_B;
    this.k3 = options.k3 ?? Infinity;
    checkBm25Parameters(this.k1, this.b);
    checkK3(this.k3);
    this.analyzerOptions = options.analyzer ?? {};
    // Validate the analyzer options now rather than at the first rank() call.
    createAnalyzer(this.analyzerOptions);
    this.name = `bm25(k1=${this.k1},b=${this.b}${this.k3 === Infinity ? "" : `,k3=${this.k3}`})`;
  }

  async rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    const k = options.k ?? DEFAULT_K;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${String(k)}`);
    const { onProgress } = options;
    const documentCount = input.documents.length;
    const total = documentCount + input.queries.length;

    const index =
      collectionParts(input.documents)?.bm25.get(this.partKey(input.docLang)) ??
      this.buildIndex(input.documents, input.docLang, onProgress ? (done: number) => onProgress(done, total) : undefined);
    const queryAnalyzer = this.queryAnalyzer(input.queryLang);

    return runQueries(input.queries, (query) => index.searchTerms(queryAnalyzer.analyze(query.text), k, this.k3), {
      done: documentCount,
      total,
      ...(onProgress ? { onProgress } : {}),
    });
  }

  /**
   * Each query's terms with their weights, as `rank` scores them (each distinct analysed term's
   * occurrences, saturated by k3): for a store that computes BM25 elsewhere (SQL).
   */
  queryWeights(texts: readonly string[], queryLang: string | undefined): Map<string, number>[] {
    const analyzer = this.queryAnalyzer(queryLang);
    return texts.map((text) => {
      const weights = new Map<string, number>();
      for (const term of analyzer.analyze(text)) weights.set(term, (weights.get(term) ?? 0) + 1);
      if (this.k3 !== Infinity) for (const [term, qtf] of weights) weights.set(term, queryTermWeight(qtf, this.k3));
      return weights;
    });
  }

  private queryAnalyzer(queryLang: string | undefined): Analyzer {
    return createAnalyzer({ ...this.analyzerOptions, ...langOption(queryLang) });
  }

  /** The key of this ranker's index among a collection's prebuilt parts: everything the index depends on (k3 is query-side). */
  partKey(docLang: string | undefined): string {
    return JSON.stringify(["bm25", this.k1, this.b, { ...this.analyzerOptions, ...langOption(docLang) }]);
  }

  /** The BM25 index `rank` would build, as a part to keep with the collection (`attachCollectionParts`). */
  prebuild(documents: readonly Document[], docLang: string | undefined, onProgress?: (done: number, total: number) => void): Promise<CollectionPart> {
    return Promise.resolve({ kind: "bm25", key: this.partKey(docLang), index: this.buildIndex(documents, docLang, onProgress) });
  }

  /** `prebuild` for documents given in chunks (see `CollectionPartBuilder`). */
  partBuilder(docLang: string | undefined): Promise<CollectionPartBuilder> {
    return Promise.resolve(bm25PartBuilder(this.partKey(docLang), Bm25Index.builder({ k1: this.k1, b: this.b, analyzer: createAnalyzer({ ...this.analyzerOptions, ...langOption(docLang) }) })));
  }

  /** The analyzer of the documents (the one `prebuild`'s index needs back when it is loaded). */
  documentAnalyzer(docLang: string | undefined): Promise<Analyzer> {
    return Promise.resolve(createAnalyzer({ ...this.analyzerOptions, ...langOption(docLang) }));
  }

  private buildIndex(documents: readonly Document[], docLang: string | undefined, onProgress: ((done: number, total: number) => void) | undefined): Bm25Index {
    return Bm25Index.build(documents, {
      k1: this.k1,
      b: this.b,
      analyzer: createAnalyzer({ ...this.analyzerOptions, ...langOption(docLang) }),
      ...(onProgress ? { onProgress } : {}),
    });
  }
}

function langOption(lang: string | undefined): { lang?: string } {
  return lang === undefined ? {} : { lang };
}
