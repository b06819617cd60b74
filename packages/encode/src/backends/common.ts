/**
 * What both backends share: the model runner interface and the onnxruntime session options, kept
 * identical so the two backends differ only in the code between the tensors and the session.
 */
import type { EncodedBatch } from "@crossrank/tokenize";
import type * as Ort from "onnxruntime-node";

/** The model's last hidden state for one padded batch, [batchSize, seqLength, dim] row-major. */
export interface HiddenStates {
  data: Float32Array;
  batchSize: number;
  seqLength: number;
  dim: number;
}

/** One loaded model: runs padded batches, holds its onnxruntime session until disposed. */
export interface ModelRunner {
  /**
   * Whether the graph takes `lang_ids` (int64 [batch]: per text, the index of its language adapter
   * in config.json `languages`), as an X-MOD export does; `run` then requires `langIds`.
   */
  readonly takesLanguage: boolean;
  run(batch: EncodedBatch, langIds?: BigInt64Array): Promise<HiddenStates>;
  dispose(): Promise<void>;
}

/** Session options of both backends: CPU (MLAS), onnxruntime's default threading, errors only in the log. */
export const SESSION_OPTIONS: Ort.InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  logSeverityLevel: 3,
};

/**
 * Output names that hold per-token embeddings: `last_hidden_state` (optimum's feature-extraction
 * export, transformers.js conversions) and `token_embeddings` (optimum's sentence_transformers export).
 */
export const HIDDEN_OUTPUTS = ["last_hidden_state", "token_embeddings"] as const;

/** The ONNX inputs a padded batch can feed. */
export const INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"] as const;

/** The input of an X-MOD export that selects each text's language adapter (int64 [batch_size]; XmodModel.forward's `lang_ids`). */
export const LANG_IDS = "lang_ids";

/** The padded-batch tensors by ONNX input name. */
export function batchInputs(batch: EncodedBatch): Record<(typeof INPUT_NAMES)[number], BigInt64Array> {
  return { input_ids: batch.inputIds, attention_mask: batch.attentionMask, token_type_ids: batch.tokenTypeIds };
}

/** Checks and wraps a [B, L, D] float32 output. */
export function hiddenStates(data: unknown, dims: readonly number[], type: string, batch: EncodedBatch, what: string): HiddenStates {
  if (type !== "float32" || !(data instanceof Float32Array)) throw new Error(`${what}: expected a float32 hidden state, got ${type}`);
  const [b, l, d] = dims;
  if (dims.length !== 3 || b !== batch.batchSize || l !== batch.seqLength || d === undefined) {
    throw new Error(`${what}: hidden state has shape [${dims.join(", ")}], expected [${batch.batchSize}, ${batch.seqLength}, hidden]`);
  }
  return { data, batchSize: b, seqLength: l, dim: d };
}
