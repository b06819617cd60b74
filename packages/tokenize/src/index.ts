export {
  resolveModel,
  defaultCacheDir,
  MissingModelFileError,
  type ModelSource,
  type ModelFileOptions,
  type ResolveOptions,
} from "./model-source.js";
export {
  Tokenizer,
  type TokenizedText,
  type EncodedBatch,
  type EncodedPairs,
  type TokenizeOptions,
  type EncodeBatchOptions,
  type WindowOptions,
} from "./tokenizer.js";
