/**
 * Cross-encoders: a sequence-classification model (BERT / XLM-R family, e.g. the mMARCO mMiniLM
 * cross-encoders or an mBERT fine-tuned for CLIR) reads a query and a document as one input,
 * `[CLS] query [SEP] document [SEP]`, and its logit is the pair's relevance (Nogueira & Cho 2019;
 * the Pretraining-CLIR study's multilingual cross-encoder). Every query token attends to every
 * document token, so it ranks better than comparing separately pooled vectors, and costs one model
 * run per pair: it re-ranks a first stage's candidates.
 *
 * The folder is a Hugging Face `text-classification` export: config.json, the tokenizer files and
 * onnx/model.onnx with a `logits` output ([pairs, labels]; the score is the first label's logit,
 * what sentence-transformers' CrossEncoder ranks by before its sigmoid, which keeps the order).
 */
import { type ModelSource, type ResolveOptions, Tokenizer, type EncodedPairs } from "@crossrank/tokenize";
import type * as Ort from "onnxruntime-node";
import { SESSION_OPTIONS } from "./backends/common.js";
import { loadOrt } from "./backends/onnx.js";
import { type EncoderBackend, onnxFile, openSource } from "./encoder.js";

/** Options of {@link loadCrossEncoder}. */
export interface CrossEncoderOptions extends ResolveOptions {
  /** "transformers" (default): @huggingface/transformers' AutoModelForSequenceClassification; "onnx": raw onnxruntime-node. */
  backend?: EncoderBackend;
  /** "fp32" loads onnx/model.onnx (default), "q8" onnx/model_quantized.onnx. */
  dtype?: "fp32" | "q8";
  /** Pairs per model run. Default 16. */
  batchSize?: number;
  /** Tokens per pair, special tokens included (longer pairs are cut, the longer text first). Default the tokenizer's model_max_length. */
  maxLength?: number;
}

/** Runs a padded pair batch and returns its logits [pairs, labels]. */
interface LogitsRunner {
  run(batch: EncodedPairs): Promise<{ data: Float32Array; labels: number }>;
  dispose(): Promise<void>;
}

/** A loaded cross-encoder. */
export class CrossEncoder {
  constructor(
    /** The spec as given, with options that change scores (e.g. "fixture:cross-encoder?dtype=q8"). */
    readonly id: string,
    readonly backend: EncoderBackend,
    readonly tokenizer: Tokenizer,
    /** Tokens per pair, special tokens included. */
    readonly maxLength: number,
    readonly batchSize: number,
    private readonly runner: LogitsRunner,
  ) {}

  /**
   * The relevance score of each (query, document) pair: the model's first logit, in input order.
   * Pairs go through the model `batchSize` at a time, longest first within the call so that a
   * batch pads little.
   */
  async score(pairs: readonly (readonly [string, string])[], options: { onProgress?: (done: number, total: number) => void } = {}): Promise<Float32Array> {
    const scores = new Float32Array(pairs.length);
    // Sorting by length groups pairs of similar length into batches (less padding); scores go back to input order.
    const order = Array.from(pairs.keys()).sort((a, b) => pairs[b]![0].length + pairs[b]![1].length - (pairs[a]![0].length + pairs[a]![1].length));
    for (let i = 0; i < order.length; i += this.batchSize) {
      const slice = order.slice(i, i + this.batchSize);
      const batch = this.tokenizer.encodePairs(
        slice.map((p) => pairs[p]!),
        { maxLength: this.maxLength },
      );
      const { data, labels } = await this.runner.run(batch);
      slice.forEach((p, row) => (scores[p] = data[row * labels]!));
      options.onProgress?.(Math.min(i + this.batchSize, order.length), order.length);
    }
    return scores;
  }

  async dispose(): Promise<void> {
    await this.runner.dispose();
  }
}

/**
 * Loads a cross-encoder from a hub id (downloaded and cached by @crossrank/tokenize's
 * `resolveModel`), a folder, or "fixture:cross-encoder" (a tiny BertForSequenceClassification
 * crossrank generates). A folder without onnx/model.onnx gets an error saying how to export it.
 */
export async function loadCrossEncoder(spec: string, options: CrossEncoderOptions = {}): Promise<CrossEncoder> {
  const backend = options.backend ?? "transformers";
  if (backend !== "transformers" && backend !== "onnx") throw new Error(`backend must be "transformers" or "onnx", got ${JSON.stringify(backend)}`);
  const dtype = options.dtype ?? "fp32";
  if (dtype !== "fp32" && dtype !== "q8") throw new Error(`dtype must be "fp32" or "q8", got ${JSON.stringify(dtype)}`);
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a whole number >= 1, got ${String(batchSize)}`);
  const source = await openSource(spec, options);
  const tokenizer = await Tokenizer.load(source);
  const maxLength = options.maxLength ?? tokenizer.modelMaxLength;
  if (!Number.isInteger(maxLength) || maxLength < 4) throw new Error(`maxLength must be a whole number >= 4, got ${String(maxLength)}`);
  const onnxPath = await onnxFile(source, dtype === "q8" ? "onnx/model_quantized.onnx" : "onnx/model.onnx", dtype, "text-classification");
  const runner = backend === "onnx" ? await onnxLogitsRunner(onnxPath) : await transformersLogitsRunner(source, dtype);
  const id = dtype === "fp32" ? spec : `${spec}?dtype=q8`;
  return new CrossEncoder(id, backend, tokenizer, maxLength, batchSize, runner);
}

const PAIR_INPUTS = ["input_ids", "attention_mask", "token_type_ids"] as const;

function pairInputs(batch: EncodedPairs): Record<(typeof PAIR_INPUTS)[number], BigInt64Array> {
  return { input_ids: batch.inputIds, attention_mask: batch.attentionMask, token_type_ids: batch.tokenTypeIds };
}

/** The logits tensor as float32 [pairs, labels], checked against the batch. */
function logitsOf(data: unknown, dims: readonly number[], batch: EncodedPairs, what: string): { data: Float32Array; labels: number } {
  if (!(data instanceof Float32Array) || dims.length !== 2 || dims[0] !== batch.batchSize) {
    throw new Error(`${what}: expected float32 logits [${batch.batchSize}, labels], got dims [${dims.join(", ")}]`);
  }
  return { data, labels: dims[1]! };
}

async function onnxLogitsRunner(modelPath: string): Promise<LogitsRunner> {
  const runtime = await loadOrt();
  const session = await runtime.InferenceSession.create(modelPath, SESSION_OPTIONS);
  const unknown = session.inputNames.filter((n) => !(PAIR_INPUTS as readonly string[]).includes(n));
  if (unknown.length > 0 || !session.outputNames.includes("logits")) {
    await session.release();
    throw new Error(`${modelPath}: not a text-classification export (inputs ${session.inputNames.join(", ")}; outputs ${session.outputNames.join(", ")}; a cross-encoder takes ${PAIR_INPUTS.join(", ")} and outputs logits)`);
  }
  return {
    async run(batch) {
      const dims = [batch.batchSize, batch.seqLength];
      const all = pairInputs(batch);
      const feeds: Record<string, Ort.Tensor> = {};
      for (const name of session.inputNames) feeds[name] = new runtime.Tensor("int64", all[name as (typeof PAIR_INPUTS)[number]], dims);
      const t = (await session.run(feeds, ["logits"])).logits!;
      return logitsOf(t.data, t.dims, batch, modelPath);
    },
    dispose: () => session.release(),
  };
}

async function transformersLogitsRunner(source: ModelSource, dtype: "fp32" | "q8"): Promise<LogitsRunner> {
  const { AutoModelForSequenceClassification, Tensor } = await import("@huggingface/transformers");
  const model = await AutoModelForSequenceClassification.from_pretrained(source.folder, { dtype, device: "cpu", local_files_only: true, session_options: SESSION_OPTIONS });
  return {
    async run(batch) {
      const dims = [batch.batchSize, batch.seqLength];
      const inputs: Record<string, InstanceType<typeof Tensor>> = {};
      for (const [name, data] of Object.entries(pairInputs(batch))) inputs[name] = new Tensor("int64", data, dims);
      const out = (await model(inputs)) as { logits?: InstanceType<typeof Tensor> };
      if (out.logits === undefined) throw new Error(`${source.folder}: the model returned no logits`);
      return logitsOf(out.logits.data, out.logits.dims, batch, source.folder);
    },
    async dispose() {
      await model.dispose();
    },
  };
}
