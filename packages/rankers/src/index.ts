export type { Ranker, RankingInput, RankOptions } from "./ranker.js";
export { createAnalyzer, type Analyzer, type AnalyzerOptions } from "./analyzer.js";
export {
  Bm25Index,
  bm25Idf,
  checkK3,
  queryTermWeight,
  DEFAULT_B,
  DEFAULT_K1,
  type Bm25BuildOptions,
  type Bm25Hit,
  type Bm25Parameters,
  type IndexableDocument,
  type Postings,
  type PsqTerm,
  type WeightedTerm,
} from "./bm25.js";
export { Bm25Ranker, type Bm25RankerOptions } from "./bm25-ranker.js";
export { Bm25PsqRanker, type Bm25PsqRankerOptions } from "./bm25-psq-ranker.js";
export { createRanker, rankerNames } from "./registry.js";
