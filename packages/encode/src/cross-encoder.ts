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
 *
 * Trained heads (appliesTo "pair", see head.ts): the model's last layer is its classifier, a
 * Linear over the pair's features — BertForSequenceClassification: tanh(pooler(h_[CLS])), the
 * pooled [CLS]; XLM-R's classification head: tanh(dense(h_<s>)) before `out_proj` (transformers
 * modeling_bert.py / modeling_xlm_roberta.py). A published text-classification export outputs
 * only `logits`, so {@link loadPairFeatures} finds that Linear in the graph itself (`Gemm`, or
 * `MatMul` + `Add`, producing `logits`), reads its weights from the graph's initializers, and
 * exposes its input as an extra graph output (`withGraphOutputs`): the features come from the
 * model's own forward pass, on the export any user has, with no second export and no safetensors.
 * A head folder whose encoder is a cross-encoder is itself a cross-encoder spec: its linear layer
 * replaces the classifier (`loadCrossEncoder(headFolder)`), on raw onnxruntime.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { type OnnxGraphInfo, type OnnxTensorInfo, readOnnxGraph, withGraphOutputs } from "@crossrank/onnx";
import { type ModelSource, type ResolveOptions, Tokenizer, type EncodedPairs } from "@crossrank/tokenize";
import type * as Ort from "onnxruntime-node";
import { SESSION_OPTIONS } from "./backends/common.js";
import { loadOrt } from "./backends/onnx.js";
import { definedOnly, type EncoderBackend, isBuiltInEncoder, onnxFile, openSource } from "./encoder.js";
import { type Head, HEAD_CONFIG_FILE, type HeadFiles, readHeadFiles } from "./head.js";

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
    await forPairBatches(pairs, this, options.onProgress, async (batch, slice) => {
      const { data, labels } = await this.runner.run(batch);
      slice.forEach((p, row) => (scores[p] = data[row * labels]!));
    });
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
 * A head folder holding a "pair" head (trained by @crossrank/train's `trainCrossEncoderHead`) loads
 * its base cross-encoder with the head in place of the classifier (see the module comment).
 */
export async function loadCrossEncoder(spec: string, options: CrossEncoderOptions = {}): Promise<CrossEncoder> {
  const headFolder = pairHeadFolder(spec);
  if (headFolder !== undefined) return loadHeadedCrossEncoder(headFolder, options);
  const backend = options.backend ?? "transformers";
  if (backend !== "transformers" && backend !== "onnx") throw new Error(`backend must be "transformers" or "onnx", got ${JSON.stringify(backend)}`);
  const { id, dtype, batchSize, source, tokenizer, maxLength, onnxPath } = await openClassificationExport(spec, options);
  const runner = backend === "onnx" ? await onnxLogitsRunner(onnxPath) : await transformersLogitsRunner(source, dtype);
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

/**
 * Runs `pairs` through the model `batchSize` at a time, longest first (pairs of similar length
 * share a batch, so a batch pads little); `each` gets a padded batch and the input positions of
 * its rows.
 */
async function forPairBatches(
  pairs: readonly (readonly [string, string])[],
  model: { tokenizer: Tokenizer; maxLength: number; batchSize: number },
  onProgress: ((done: number, total: number) => void) | undefined,
  each: (batch: EncodedPairs, slice: number[]) => Promise<void>,
): Promise<void> {
  const order = Array.from(pairs.keys()).sort((a, b) => pairs[b]![0].length + pairs[b]![1].length - (pairs[a]![0].length + pairs[a]![1].length));
  for (let i = 0; i < order.length; i += model.batchSize) {
    const slice = order.slice(i, i + model.batchSize);
    await each(
      model.tokenizer.encodePairs(
        slice.map((p) => pairs[p]!),
        { maxLength: model.maxLength },
      ),
      slice,
    );
    onProgress?.(Math.min(i + model.batchSize, order.length), order.length);
  }
}

/** The classifier of a cross-encoder export: the Linear layer that computes `logits` from the pair's features. */
export interface CrossEncoderClassifier {
  /** The graph value the classifier reads: the pair's features [pairs, width]. */
  features: string;
  width: number;
  labels: number;
  /** weight [labels, width] and bias [labels] (PyTorch's Linear layout), when the graph holds them as float32 (not in a quantized export). */
  weights?: { weight: Float32Array; bias: Float32Array };
}

/**
 * Finds the classifier of a text-classification export: the node computing the `logits` output
 * (through Identity nodes) must be a Linear layer over one value, as PyTorch exports `nn.Linear`:
 * `Gemm(features, W, b)` (transB 1: W [labels, width]; transB 0: W [width, labels]; alpha = beta =
 * 1), or `Add(MatMul(features, Wᵀ), b)`. W may come from an initializer, a Constant node or a
 * DequantizeLinear (int8 export; then only its shape is known here).
 */
export function findClassifier(graph: OnnxGraphInfo, where: string): CrossEncoderClassifier {
  const producer = new Map<string, OnnxGraphInfo["nodes"][number]>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  if (!graph.outputs.includes("logits")) throw new Error(`${where}: not a text-classification export (outputs ${graph.outputs.join(", ")}; a cross-encoder outputs logits)`);
  let node = producer.get("logits");
  while (node?.opType === "Identity") node = producer.get(node.inputs[0]!);
  /** A constant tensor: its dims, and its float32 values when the graph holds them as such. */
  const constant = (name: string | undefined): { dims: number[]; floats?: Float32Array } | undefined => {
    if (name === undefined || name === "") return undefined;
    const init: OnnxTensorInfo | undefined = graph.initializers.get(name) ?? (producer.get(name)?.opType === "Constant" ? producer.get(name)!.tensors.value : undefined);
    if (init !== undefined) return { dims: init.dims, ...(init.floats !== undefined ? { floats: init.floats } : {}) };
    const dq = producer.get(name);
    if (dq?.opType === "DequantizeLinear") {
      const q = constant(dq.inputs[0]);
      if (q !== undefined) return { dims: q.dims };
    }
    return undefined;
  };
  const fail = (why: string): never => {
    throw new Error(`${where}: cannot find the classifier that computes logits (${why}); a cross-encoder's last layer must be a Linear layer (Gemm, or MatMul then Add) over the pair's features`);
  };
  if (node === undefined) return fail("no node produces it");
  let features: string;
  let w: { dims: number[]; floats?: Float32Array } | undefined;
  let transposed: boolean;
  let b: { dims: number[]; floats?: Float32Array } | undefined;
  if (node.opType === "Gemm") {
    if ((node.numbers.transA ?? 0) !== 0 || (node.numbers.alpha ?? 1) !== 1 || (node.numbers.beta ?? 1) !== 1) fail("a Gemm with transA, alpha or beta");
    features = node.inputs[0]!;
    w = constant(node.inputs[1]);
    transposed = (node.numbers.transB ?? 0) === 0;
    b = constant(node.inputs[2]);
    if (node.inputs[2] !== undefined && node.inputs[2] !== "" && b === undefined) fail("the Gemm's bias is not a constant");
  } else if (node.opType === "Add") {
    const mmSide = node.inputs.findIndex((i) => producer.get(i)?.opType === "MatMul");
    if (mmSide < 0) return fail("an Add without a MatMul input");
    const mm = producer.get(node.inputs[mmSide]!)!;
    features = mm.inputs[0]!;
    w = constant(mm.inputs[1]);
    transposed = true;
    b = constant(node.inputs[1 - mmSide]);
    if (b === undefined) fail("the Add's other input is not a constant bias");
  } else return fail(`it is computed by ${node.opType}`);
  if (w === undefined || w.dims.length !== 2) return fail("the weight is not a constant matrix");
  const [labels, width] = transposed ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
  if (b !== undefined && b.dims.reduce((p, d) => p * d, 1) !== labels) fail(`the bias has shape [${b.dims.join(", ")}], expected [${labels}]`);
  const out: CrossEncoderClassifier = { features, width, labels };
  if (w.floats !== undefined && (b === undefined || b.floats !== undefined)) {
    const weight = new Float32Array(labels * width);
    for (let l = 0; l < labels; l++) for (let i = 0; i < width; i++) weight[l * width + i] = transposed ? w.floats[i * labels + l]! : w.floats[l * width + i]!;
    out.weights = { weight, bias: b?.floats !== undefined ? Float32Array.from(b.floats) : new Float32Array(labels) };
  }
  return out;
}

/**
 * A cross-encoder run up to its classifier: per (query, document) pair, the features its
 * classifier reads (see the module comment), from the model's own ONNX graph on onnxruntime-node.
 * What a trained pair head is trained on.
 */
export class PairFeatures {
  constructor(
    /** The base model spec (as given; "?dtype=q8" added for the int8 graph). */
    readonly id: string,
    readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    readonly batchSize: number,
    /** The export's classifier: where the features are, their width, and its weights. */
    readonly classifier: CrossEncoderClassifier,
    private readonly session: Ort.InferenceSession,
    private readonly runtime: typeof Ort,
  ) {}

  get width(): number {
    return this.classifier.width;
  }

  /** The features of each pair, [pairs, width] row-major, in input order (batched as {@link CrossEncoder.score}). */
  async features(pairs: readonly (readonly [string, string])[], options: { onProgress?: (done: number, total: number) => void } = {}): Promise<Float32Array> {
    const out = new Float32Array(pairs.length * this.width);
    await forPairBatches(pairs, this, options.onProgress, async (batch, slice) => {
      const rows = await this.run(batch);
      slice.forEach((p, row) => out.set(rows.subarray(row * this.width, (row + 1) * this.width), p * this.width));
    });
    return out;
  }

  /** The features of one padded batch, [batch, width]. */
  async run(batch: EncodedPairs): Promise<Float32Array> {
    const dims = [batch.batchSize, batch.seqLength];
    const all = pairInputs(batch);
    const feeds: Record<string, Ort.Tensor> = {};
    for (const name of this.session.inputNames) feeds[name] = new this.runtime.Tensor("int64", all[name as (typeof PAIR_INPUTS)[number]], dims);
    const t = (await this.session.run(feeds, [this.classifier.features]))[this.classifier.features]!;
    if (!(t.data instanceof Float32Array) || t.dims.length !== 2 || t.dims[0] !== batch.batchSize || t.dims[1] !== this.width) {
      throw new Error(`${this.id}: the classifier's input ${this.classifier.features} has dims [${t.dims.join(", ")}], expected float32 [${batch.batchSize}, ${this.width}]`);
    }
    return t.data;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Loads a cross-encoder (hub id, folder, fixture:cross-encoder) for its pair features: the ONNX
 * graph with the classifier's input added as an output (see {@link findClassifier}). Always on
 * raw onnxruntime (transformers.js returns the logits only); options as {@link loadCrossEncoder}.
 */
export async function loadPairFeatures(spec: string, options: CrossEncoderOptions = {}): Promise<PairFeatures> {
  if (options.backend === "transformers") throw new Error(`${spec}: pair features run on the onnx backend (transformers.js returns the logits only); leave backend unset or give "onnx"`);
  const { id, batchSize, tokenizer, maxLength, onnxPath } = await openClassificationExport(spec, options);
  const bytes = new Uint8Array(await readFile(onnxPath));
  const classifier = findClassifier(readOnnxGraph(bytes), onnxPath);
  const runtime = await loadOrt();
  const session = await runtime.InferenceSession.create(withGraphOutputs(bytes, [classifier.features]), SESSION_OPTIONS);
  const unknown = session.inputNames.filter((n) => !(PAIR_INPUTS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    await session.release();
    throw new Error(`${onnxPath}: not a text-classification export (inputs ${session.inputNames.join(", ")}; a cross-encoder takes ${PAIR_INPUTS.join(", ")})`);
  }
  return new PairFeatures(id, tokenizer, maxLength, batchSize, classifier, session, runtime);
}

/**
 * What both loaders open: the backend-independent options checked, with their defaults; the model's
 * source, tokenizer and maximum length; its text-classification ONNX export (fp32 or int8); and the
 * id the model is known by (the spec, with `?dtype=q8` for the int8 export).
 */
async function openClassificationExport(spec: string, options: CrossEncoderOptions) {
  const dtype = options.dtype ?? "fp32";
  if (dtype !== "fp32" && dtype !== "q8") throw new Error(`dtype must be "fp32" or "q8", got ${JSON.stringify(dtype)}`);
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a whole number >= 1, got ${String(batchSize)}`);
  const source = await openSource(spec, options);
  const tokenizer = await Tokenizer.load(source);
  const maxLength = options.maxLength ?? tokenizer.modelMaxLength;
  if (!Number.isInteger(maxLength) || maxLength < 4) throw new Error(`maxLength must be a whole number >= 4, got ${String(maxLength)}`);
  const onnxPath = await onnxFile(source, dtype === "q8" ? "onnx/model_quantized.onnx" : "onnx/model.onnx", dtype, "text-classification");
  return { id: dtype === "fp32" ? spec : `${spec}?dtype=q8`, dtype, batchSize, source, tokenizer, maxLength, onnxPath };
}

/** The head folder `spec` names when it holds a pair head's crossrank-head.json (checked when read); else undefined. */
function pairHeadFolder(spec: string): string | undefined {
  if (spec === "" || isBuiltInEncoder(spec)) return undefined;
  const folder = spec.endsWith(HEAD_CONFIG_FILE) ? resolve(spec, "..") : resolve(spec);
  return existsSync(join(folder, HEAD_CONFIG_FILE)) ? folder : undefined;
}

/**
 * A cross-encoder whose classifier is replaced by a trained pair head: the base's pair features
 * (raw onnxruntime), then the head; the score is the head's first output. The head folder's
 * encoderOptions go under `options` (the caller's win); its id is the base's plus
 * `+head:<12 hex of the head files' sha256>`.
 */
async function loadHeadedCrossEncoder(folder: string, options: CrossEncoderOptions): Promise<CrossEncoder> {
  const files: HeadFiles = await readHeadFiles(folder);
  const config = files.head.config;
  const where = join(folder, HEAD_CONFIG_FILE);
  if (config.appliesTo !== "pair") throw new Error(`${where}: a ${config.appliesTo} head belongs to an encoder (loadEncoder), not to a cross-encoder; a cross-encoder takes a "pair" head`);
  const base = isBuiltInEncoder(config.encoder) || isAbsolute(config.encoder) || !existsSync(resolve(folder, config.encoder)) ? config.encoder : resolve(folder, config.encoder);
  if (pairHeadFolder(base) !== undefined) throw new Error(`${where}: a pair head cannot sit on another head (${base}); it replaces the classifier of a cross-encoder`);
  const merged = { ...(config.encoderOptions as CrossEncoderOptions | undefined), ...definedOnly(options) };
  const features = await loadPairFeatures(base, merged);
  if (features.width !== config.input) {
    await features.dispose();
    throw new Error(`${where}: the head takes ${config.input}-wide features but the classifier of ${base} reads ${features.width}-wide ones`);
  }
  const head: Head = files.head;
  const runner: LogitsRunner = {
    async run(batch) {
      return { data: head.apply(await features.run(batch), batch.batchSize), labels: config.output };
    },
    dispose: () => features.dispose(),
  };
  return new CrossEncoder(`${features.id}+head:${files.sha256.slice(0, 12)}`, "onnx", features.tokenizer, features.maxLength, features.batchSize, runner);
}
