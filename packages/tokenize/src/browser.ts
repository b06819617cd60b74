/**
 * What of this package runs in a browser, the entry bundlers pick under the "browser" export
 * condition: the Tokenizer, built there with `Tokenizer.fromJSON` from files the page fetched.
 * Model folders, the hub download and the cache folder (`resolveModel`, `Tokenizer.load`) need
 * Node's file system and are left out.
 */
export { Tokenizer, type TokenizedText, type EncodedBatch, type EncodedPairs, type TokenizeOptions, type EncodeBatchOptions, type WindowOptions } from "./tokenizer.js";
export type { ModelSource, ModelFileOptions, ResolveOptions } from "./model-source.js";
