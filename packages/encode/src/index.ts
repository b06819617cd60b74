export {
  type EncodeProgress,
  type Encoder,
  type EncoderBackend,
  type EncoderKind,
  type EncoderOptions,
  DEFAULT_ENCODER,
  isBuiltInEncoder,
  loadEncoder,
  type SentenceOptions,
  type TokenEmbeddings,
} from "./encoder.js";
export { applyDense, type BatchShape, type DenseActivation, type DenseLayer, erf, l2normalizeRows, type Pooling, type PoolOptions, poolBatch } from "./pooling.js";
export { createHead, HEAD_CONFIG_FILE, HEAD_WEIGHTS_FILE, type Head, type HeadConfig, type HeadWeights, readHead, writeHead } from "./head.js";
export { readSentenceTransformers, type SentenceTransformersConfig, SIMILARITY_FUNCTION_NAMES, type SimilarityFunctionName } from "./sentence-transformers.js";
export { CrossEncoder, type CrossEncoderClassifier, type CrossEncoderOptions, findClassifier, loadCrossEncoder, loadPairFeatures, PairFeatures } from "./cross-encoder.js";
export {
  COLBERT_DEFAULTS,
  COLBERT_METADATA_FILE,
  ColbertEncoder,
  type ColbertOptions,
  type ColbertRows,
  type ColbertSettings,
  type ColbertSimilarity,
  colbertScore,
  colbertSettings,
  detectColbert,
  isColbertModel,
  loadColbert,
  PYTHON_PUNCTUATION,
} from "./colbert.js";
export { type CachedEmbedding, EmbeddingCache } from "./cache.js";
export { benchTexts, encodeBench, type EncodeBenchOptions, type EncodeBenchResult, type EncodeBenchRow } from "./bench.js";
export * from "./safetensors.js";
export * from "./fixture/index.js";
export { type AdapterLanguages, adapterLanguagesOf, languageIds, languageIndex, type LanguageOptions } from "./languages.js";
export { chunkMode, detectStaticModel, loadStaticEncoder, loadStaticTokenizer, readStaticWeights, STATIC_MAX_LENGTH, ST_STATIC_EMBEDDING, StaticEncoder, type StaticLayout, type StaticModelBytes, type StaticModelParts, staticEncoderFromBytes } from "./static.js";
export { quantizeRowsInt8, quantizeStaticModel, type QuantizeStaticResult } from "./quantize.js";
export { STATIC_MODEL_NAME, staticModelDir } from "@crossrank/static-model";
