/**
 * The settings every neural ranker shares: which encoder (model spec + loading options) and which
 * preset, with the checks and the `name(...)` label they contribute.
 */
import type { EncoderBackend, EncoderOptions } from "@crossrank/encode";

/** "default": our choices (masked pooling, log-domain fallback…); "faithful": the LM-EMD study's exact protocol. */
export type NeuralPreset = "default" | "faithful";

/** How to load the encoder of a neural ranker. */
export interface EncoderSettings {
  /** Hub id (`bert-base-multilingual-cased`), a model folder, or `fixture:bert` / `fixture:sentence-transformers`. */
  encoder: string;
  /** Default "transformers" (`@huggingface/transformers`); "onnx" = raw onnxruntime-node. */
  backend?: EncoderBackend;
  /** Default "fp32"; "q8" needs `onnx/model_quantized.onnx` in the model folder. */
  dtype?: "fp32" | "q8";
  /** Texts per forward pass, default 16 (the encoder's). */
  batchSize?: number;
  /** Tokens per text (longer texts are truncated), default the model's maximum. */
  maxLength?: number;
  /** On-disk embedding cache folder (the encoder's `cache` option), default none. */
  cache?: string;
}

/** Settings of every neural ranker: the encoder plus the preset. */
export interface NeuralRankerOptions extends EncoderSettings {
  /** Default "default". */
  preset?: NeuralPreset;
}

/** Throws a one-line Error unless the settings are usable (the registry checks types; this checks ranges for direct construction). */
export function checkEncoderSettings(s: NeuralRankerOptions, ranker: string): void {
  if (typeof s.encoder !== "string" || s.encoder === "") {
    throw new Error(`ranker ${ranker} needs parameter encoder (a hub id, a model folder, or fixture:bert)`);
  }
  if (s.backend !== undefined && s.backend !== "transformers" && s.backend !== "onnx") {
    throw new Error(`ranker ${ranker}: backend must be "transformers" or "onnx", got ${JSON.stringify(s.backend)}`);
  }
  if (s.dtype !== undefined && s.dtype !== "fp32" && s.dtype !== "q8") {
    throw new Error(`ranker ${ranker}: dtype must be "fp32" or "q8", got ${JSON.stringify(s.dtype)}`);
  }
  if (s.batchSize !== undefined && !(Number.isInteger(s.batchSize) && s.batchSize >= 1)) {
    throw new Error(`ranker ${ranker}: batchSize must be a whole number >= 1, got ${String(s.batchSize)}`);
  }
  if (s.maxLength !== undefined && !(Number.isInteger(s.maxLength) && s.maxLength >= 2)) {
    throw new Error(`ranker ${ranker}: maxLength must be a whole number >= 2, got ${String(s.maxLength)}`);
  }
  if (s.preset !== undefined && s.preset !== "default" && s.preset !== "faithful") {
    throw new Error(`ranker ${ranker}: preset must be "default" or "faithful", got ${JSON.stringify(s.preset)}`);
  }
}

/** The encoder part of the loading options (what `loadEncoder` takes besides the spec). */
export function encoderOptions(s: EncoderSettings): EncoderOptions {
  return {
    ...(s.backend === undefined ? {} : { backend: s.backend }),
    ...(s.dtype === undefined ? {} : { dtype: s.dtype }),
    ...(s.batchSize === undefined ? {} : { batchSize: s.batchSize }),
    ...(s.maxLength === undefined ? {} : { maxLength: s.maxLength }),
    ...(s.cache === undefined ? {} : { cache: s.cache }),
  };
}

/**
 * `key=value` parts of a ranker name for the encoder settings: the encoder always, then the
 * options that were set (so report rows of different settings never share a label). The cache
 * folder is left out: it changes where vectors are kept, not the vectors.
 */
export function encoderNameParts(s: NeuralRankerOptions): string[] {
  const parts = [`encoder=${s.encoder}`];
  if (s.preset !== undefined && s.preset !== "default") parts.push(`preset=${s.preset}`);
  if (s.backend !== undefined) parts.push(`backend=${s.backend}`);
  if (s.dtype !== undefined) parts.push(`dtype=${s.dtype}`);
  if (s.batchSize !== undefined) parts.push(`batchSize=${s.batchSize}`);
  if (s.maxLength !== undefined) parts.push(`maxLength=${s.maxLength}`);
  return parts;
}

/** The text a neural ranker encodes for a document: as BM25 indexes it, the title (when present) on a line before the text. */
export function documentText(doc: { text: string; title?: string }): string {
  return doc.title ? `${doc.title}\n${doc.text}` : doc.text;
}
