export type { Ranker, RankingInput, RankOptions } from "./ranker.js";
export { createAnalyzer, type Analyzer, type AnalyzerOptions } from "./analyzer.js";
export {
  Bm25Index,
  bm25Idf,
  checkK3,
  queryTermWeight,
  DEFAULT_B,
  DEFAULT_K1,
  type Bm25Arrays,
  type Bm25BuildOptions,
  type Bm25Hit,
  type Bm25IndexBuilder,
  type Bm25Parameters,
  type IndexableDocument,
  type Postings,
  type PsqTerm,
  type WeightedTerm,
} from "./bm25.js";
export { Bm25Ranker, type Bm25RankerOptions } from "./bm25-ranker.js";
export { attachCollectionParts, type CollectionPart, type CollectionPartBuilder, type CollectionParts, collectionParts, documentIds, documentPositions, type VectorSearcher } from "./collection-parts.js";
export { Bm25PsqRanker, type Bm25PsqRankerOptions } from "./bm25-psq-ranker.js";
export { createRanker, type CreateRankerOptions, type FirstStageName, type FirstStages, rankerNames, rankerParameterNames } from "./registry.js";
export { clearNeuralMemo, neuralMemoStats, type PooledMatrix, provideEncoder } from "./neural/memo.js";
export type { EncoderSettings, NeuralPreset, NeuralRankerOptions } from "./neural/settings.js";
export { type CandidateMap, type CandidateRanker, isCandidateRanker } from "./neural/common.js";
export { rankCandidateSets } from "./candidate-sets.js";
export { PooledRanker, rolePrompt, type PooledKind, type PooledRankerOptions } from "./neural/pooled-ranker.js";
export { MaxSimRanker, maxSim, type MaxSimRankerOptions } from "./neural/maxsim-ranker.js";
export {
  countDocumentFrequencies,
  DEFAULT_GAMMA,
  DEFAULT_ITERATIONS,
  explainPair,
  type ExplainPairOptions,
  FAITHFUL_ITERATIONS,
  LmEmdRanker,
  resolveLmEmd,
  type LmEmdMarginals,
  type LmEmdOptions,
  type LmEmdRankerOptions,
  type PairExplanation,
  type ResolvedLmEmd,
} from "./neural/lm-emd-ranker.js";
export { CrossEncoderRanker, type CrossEncoderRankerOptions } from "./neural/cross-encoder-ranker.js";
export { type PassageAggregation, type PassageOptions, PassageRanker, passageTexts } from "./neural/passages.js";
export { DEFAULT_DEPTH, DEFAULT_RERANK_FIRST_WEIGHT, defaultFirstWeight, defaultLengthGate, LM_EMD_FIRST_WEIGHT, LM_EMD_LENGTH_GATE, MAXSIM_FIRST_WEIGHT, RerankRanker, type RerankRankerOptions } from "./neural/rerank-ranker.js";
export {
  checkFusionOptions,
  DEFAULT_RRF_K,
  fuseRuns,
  fuseScores,
  type FusionMethod,
  type FusionOptions,
  minMaxNormalize,
  topKScores,
  trecRanks,
} from "./fusion.js";
export {
  DEFAULT_HYBRID_DEPTH,
  DEFAULT_HYBRID_LEXICAL_WEIGHT,
  DEFAULT_RRF_LEXICAL_WEIGHT,
  HybridRanker,
  type HybridRankerOptions,
  type LexicalChoice,
} from "./hybrid-ranker.js";
