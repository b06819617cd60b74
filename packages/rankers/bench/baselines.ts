/**
 * Other JavaScript BM25 engines for `bm25-ddtp --compare`, fed the same documents and the same
 * analyzer (as their tokenizer) so that differences come from the engines, not from tokenization.
 * Both are devDependencies, loaded only when comparing.
 */
import type { Document } from "@crossrank/datasets";
import type { Analyzer } from "../src/index.js";
import { createAnalyzer } from "../src/index.js";

/** Ranks the documents for `text`, returning the ids of the best `k`, best first. */
export type Search = (text: string, k: number) => string[];
/** A search function for queries in language `lang` (BCP 47). */
export type SearcherFor = (lang: string) => Search;

export interface Engine {
  name: string;
  /** Indexes `documents`, tokenized with `analyzer`. */
  build(documents: readonly Document[], analyzer: Analyzer): Promise<SearcherFor>;
}

/** MiniSearch with plain BM25 (its BM25+ δ set to 0, and k1 = 1.2, b = 0.75 as here). */
const miniSearch: Engine = {
  name: "MiniSearch 7 (BM25, δ=0)",
  async build(documents, analyzer) {
    const { default: MiniSearch } = await import("minisearch");
    const identity = (term: string) => term;
    const index = new MiniSearch<Document>({
      fields: ["text"],
      storeFields: [],
      tokenize: (text) => analyzer.analyze(text),
      processTerm: identity,
    });
    index.addAll(documents);
    return (lang) => {
      const queryAnalyzer = createAnalyzer({ lang });
      const options = {
        tokenize: (text: string) => queryAnalyzer.analyze(text),
        processTerm: identity,
        bm25: { k: 1.2, b: 0.75, d: 0 },
      };
      return (text, k) =>
        index
          .search(text, options)
          .slice(0, k)
          .map((r) => String(r.id));
    };
  },
};

/** wink-bm25-text-search with its defaults (k1 = 1.2, b = 0.75, idf ln(1 + …) as here). */
const wink: Engine = {
  name: "wink-bm25-text-search 3",
  async build(documents, analyzer) {
    const { default: createEngine } = await import("wink-bm25-text-search");
    const engine = createEngine();
    engine.defineConfig({ fldWeights: { text: 1 } });
    // wink applies one tokenizer to documents and queries; locale matters only for scripts written
    // without spaces, so the English analyzer serves the German queries equally.
    engine.definePrepTasks([(text: string) => analyzer.analyze(text)]);
    documents.forEach((d) => engine.addDoc({ text: d.text }, d.id));
    engine.consolidate();
    return () => (text, k) => engine.search(text, k).map(([id]) => id);
  },
};

export const BASELINES: readonly Engine[] = [miniSearch, wink];
