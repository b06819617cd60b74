/**
 * The Encoder: token embeddings (the model's last hidden state, per text, without padding) and
 * pooled sentence embeddings (cls / mean / max, sentence-transformers Dense + Normalize), from a
 * Hugging Face or sentence-transformers folder with an ONNX export, on onnxruntime-node.
 */
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { STATIC_MODEL_NAME, staticModelDir } from "@crossrank/static-model";
import { type EncodedBatch, MissingModelFileError, type ModelSource, resolveModel, type ResolveOptions, Tokenizer, type TokenizedText } from "@crossrank/tokenize";
import type { HiddenStates, ModelRunner } from "./backends/common.js";
import { loadOnnxRunner } from "./backends/onnx.js";
import { loadTransformersRunner } from "./backends/transformers.js";
import { type CachedEmbedding, type EmbeddingCache, EncoderCaches } from "./cache.js";
import { type FixtureKind, fixtureModelPath } from "./fixture/index.js";
import { describeHead, type Head, HEAD_CONFIG_FILE, type HeadFiles, readHeadFiles } from "./head.js";
import { applyDense, l2normalizeRows, type Pooling, poolBatch } from "./pooling.js";
import { adapterLanguagesOf, type AdapterLanguages, type LanguageOptions, languageIds } from "./languages.js";
import { detectStaticModel, loadStaticEncoder } from "./static.js";
import { moduleSource, readSentenceTransformers, type SentenceTransformersConfig, type SimilarityFunctionName } from "./sentence-transformers.js";

export type { Pooling } from "./pooling.js";

/** @huggingface/transformers' AutoModel vs raw onnxruntime-node InferenceSession; same tokenizer, same session options. */
export type EncoderBackend = "transformers" | "onnx";

/** What {@link Encoder.backend} reports: a transformer's backend, or "static" for a static embedding model (see static.ts). */
export type EncoderKind = EncoderBackend | "static";

/** One text's token embeddings. */
export interface TokenEmbeddings {
  /** The text as tokenized (lower-cased when a sentence-transformers folder says do_lower_case). */
  text: string;
  tokens: string[];
  /** UTF-16 [start, end) into `text`; [0, 0] for special tokens. */
  offsets: [number, number][];
  /** true for CLS/SEP and other special tokens. */
  special: boolean[];
  dim: number;
  /** rows = tokens.length (padding never included), row-major float32, the model's last_hidden_state. */
  embeddings: Float32Array;
}

/** Progress callback, called after every batch with the number of texts done so far. */
export interface EncodeProgress {
  onProgress?: (done: number, total: number) => void;
}

/** Options of {@link loadEncoder}. */
export interface EncoderOptions extends ResolveOptions {
  /** Default "transformers" (the library path); "onnx" = raw onnxruntime-node, measured against it. */
  backend?: EncoderBackend;
  /** "fp32" loads onnx/model.onnx (default), "q8" onnx/model_quantized.onnx. */
  dtype?: "fp32" | "q8";
  /** Texts per model run, default 16. */
  batchSize?: number;
  /**
   * Tokens per text, special tokens included; longer texts are truncated (cut long documents
   * into windows first with `Tokenizer.windows`). Default: sentence_bert_config.json's
   * max_seq_length when present, else the tokenizer's model_max_length.
   */
  maxLength?: number;
  /** On-disk embedding cache folder (keyed by model fingerprint + options + sha256 of text); default none. */
  cache?: string | false;
}

/** Options of {@link Encoder.encode}. */
export interface SentenceOptions extends EncodeProgress, LanguageOptions {
  /** Default: a trained head's recorded pooling, else the sentence-transformers 1_Pooling mode when the folder has modules.json, else "mean". */
  pooling?: Pooling;
  /** Default: a trained head's normalize (true for sentence heads when absent), else true when modules.json lists Normalize, else false. */
  normalize?: boolean;
  /** Apply the ST Dense modules (default true when present; false is an error under a sentence head). */
  dense?: boolean;
  /** Include CLS/SEP rows in mean/max pooling (default true, as sentence-transformers does). */
  includeSpecial?: boolean;
  /**
   * The LM-EMD study's quirks: max over rows with padding zeroed in, mean divided by the padded
   * batch length. Default false. The vector of a text then depends on the longest text of its
   * batch, so batches keep the input order (texts i·batchSize … (i+1)·batchSize − 1), as the
   * study's code batched them.
   */
  paddedPooling?: boolean;
}

/** A loaded model. */
export interface Encoder {
  /**
   * Model spec as given plus options that change vectors, e.g. "fixture:bert" or "org/model?dtype=q8" — for labels and cache keys.
   * A head folder gives `<base id>+head:<12 hex of sha256 over the head files>` (the base spec as
   * resolved: a relative folder becomes absolute), so headed and plain vectors never share a memo.
   */
  readonly id: string;
  /** "transformers" / "onnx" for transformer models, "static" for static embedding models (model2vec, ST StaticEmbedding). */
  readonly backend: EncoderKind;
  readonly dtype: "fp32" | "q8";
  readonly tokenizer: Tokenizer;
  /** Token embedding width (hidden size; a tokens head's output). */
  readonly dim: number;
  /** Sentence embedding width after the ST Dense layers (= dim without them; a sentence head's output). */
  readonly sentenceDim: number;
  /** Tokens per text after truncation, special tokens included. */
  readonly maxLength: number;
  /**
   * Description of the ST pipeline actually applied, e.g. ["Transformer", "Pooling(cls)", "Dense(32→24, tanh)", "Normalize"];
   * trained heads appear where they apply ("Head(linear 32→16, tokens)" after the Transformer, sentence heads after Dense).
   */
  readonly modules: readonly string[];
  /**
   * The folder's prompts by name (`config_sentence_transformers.json`: E5's {query: "query: ",
   * passage: "passage: "}) and the default one's name: what a caller prepends to a text for that
   * role, as sentence-transformers' `encode(texts, prompt_name=…)` does. Empty when none.
   */
  readonly prompts: Readonly<Record<string, string>>;
  readonly defaultPromptName: string | undefined;
  /**
   * How the model's sentence vectors are meant to be compared: the folder's `similarity_fn_name`
   * (`config_sentence_transformers.json`) when it names one; else "dot" for a sentence-transformers
   * folder whose pipeline does not end in Normalize (DistilUSE: the LaBSE / DistilUSE notebook scores
   * `q @ c.T` on its raw vectors), "cosine" otherwise (a plain model, as sentence-transformers'
   * default; a static model). See `SentenceTransformer.similarity_fn_name`
   * (UKPLab/sentence-transformers, sentence_transformers/SentenceTransformer.py).
   */
  readonly similarity: SimilarityFunctionName;
  /**
   * The model's language adapters (X-MOD: config.json `languages`, e.g. ["en_XX", "de_DE"]), or
   * undefined for a model without them. With adapters, every text is encoded by its own language's
   * adapter: give `languages` (per text) or `language` to encodeTokens / encode (ISO codes such as
   * "de" are mapped to the model's names), else config.json's `default_language` applies, else
   * they throw. Without adapters, the language options are ignored.
   */
  readonly languages?: readonly string[];
  /** Token embeddings per text, in input order. */
  encodeTokens(texts: readonly string[], options?: EncodeProgress & LanguageOptions): Promise<TokenEmbeddings[]>;
  /**
   * Token embeddings of texts the caller tokenized itself (its own ids, e.g. ColBERT's [Q] marker
   * and [MASK] padding, see colbert.ts; tokens an item's `attention` leaves out still get their
   * rows), in input order, batched as `encodeTokens` batches; never cached (the cache is keyed by
   * text). Items longer than maxLength are an Error. Transformer encoders only: a static encoder
   * has no attention and no such method.
   */
  encodeTokenized?(items: readonly TokenizedText[], options?: EncodeProgress & LanguageOptions): Promise<TokenEmbeddings[]>;
  /** One row per text, [texts.length, sentenceDim] row-major ([texts.length, dim] with dense: false). */
  encode(texts: readonly string[], options?: SentenceOptions): Promise<{ rows: number; dim: number; data: Float32Array }>;
  /** Releases the onnxruntime session and the cache files. */
  dispose(): Promise<void>;
}

const FIXTURE_KINDS: readonly FixtureKind[] = ["bert", "sentence-transformers", "static", "cross-encoder", "distiluse", "colbert", "xmod"];

/**
 * The encoder used wherever one is needed and none is named: crossrank's own static multilingual
 * model, shipped in @crossrank/static-model (no download, no training step).
 */
export const DEFAULT_ENCODER = STATIC_MODEL_NAME;

/** Whether `spec` names a model crossrank provides itself ("crossrank-static", "fixture:…"): never a path or a hub id. */
export function isBuiltInEncoder(spec: string): boolean {
  return spec === STATIC_MODEL_NAME || spec.startsWith("fixture:");
}

/**
 * Loads a model: `spec` is a hub id (downloaded into the cache by @crossrank/tokenize's
 * resolveModel unless offline), a folder, "crossrank-static" ({@link DEFAULT_ENCODER}: the static
 * model shipped in @crossrank/static-model), or "fixture:bert" / "fixture:sentence-transformers"
 * / "fixture:static" (generated on first use). A static embedding folder (model2vec or
 * sentence-transformers StaticEmbedding, see static.ts) is detected and loaded as a StaticEncoder
 * (backend "static"). Otherwise the folder needs config.json, the tokenizer files and
 * onnx/model.onnx (q8: onnx/model_quantized.onnx); a sentence-transformers folder (modules.json)
 * adds its Pooling / Dense / Normalize modules.
 *
 * A trained-head folder (one holding crossrank-head.json, see head.ts) is a spec too: the base
 * encoder its config names is loaded (a relative folder resolves against the head folder; the
 * config's encoderOptions go under `options`) and the head applied — a tokens head to every token
 * row (so pooling, cost matrices and MaxSim see transformed rows), a sentence head to the pooled
 * vector after the Dense modules and before Normalize. A head's base may itself be a head folder
 * (heads stack; a tokens head cannot sit on a sentence head).
 */
export async function loadEncoder(spec: string, options: EncoderOptions = {}): Promise<Encoder> {
  return loadLayers(spec, options, [], []);
}

/** Peels head folders off `spec` (outermost first), then loads the base with `heads` (innermost first) on top. */
async function loadLayers(spec: string, options: EncoderOptions, heads: HeadFiles[], seen: string[]): Promise<Encoder> {
  const folder = await headFolderOf(spec);
  if (folder === undefined) return loadBase(spec, options, heads);
  if (seen.includes(folder)) throw new Error(`${join(folder, HEAD_CONFIG_FILE)}: head folders name each other as encoder in a cycle (${[...seen, folder].join(" → ")})`);
  const files = await readHeadFiles(folder);
  if (files.head.config.appliesTo === "pair") throw new Error(`${join(folder, HEAD_CONFIG_FILE)}: a pair head replaces a cross-encoder's classifier; rank with the cross-encoder ranker (model: ${folder}) or loadCrossEncoder`);
  const { encoder, encoderOptions } = files.head.config;
  const merged: EncoderOptions = { ...(encoderOptions as EncoderOptions | undefined), ...definedOnly(options) };
  return loadLayers(await baseSpec(encoder, folder), merged, [files, ...heads], [...seen, folder]);
}

/** The head folder `spec` names (a folder holding crossrank-head.json, or that file itself), absolute; else undefined. */
async function headFolderOf(spec: string): Promise<string | undefined> {
  if (spec === "" || isBuiltInEncoder(spec)) return undefined;
  const path = expandHome(spec);
  if (basename(path) === HEAD_CONFIG_FILE && (await isFile(path))) return dirname(resolve(path));
  return (await isFile(join(path, HEAD_CONFIG_FILE))) ? resolve(path) : undefined;
}

/**
 * The base encoder spec of a head: fixture specs, absolute paths and "~/…" as written; "./x",
 * "../x" against the head folder; any other name against the head folder when that folder
 * exists there, else as written (a hub id).
 */
async function baseSpec(encoder: string, headFolder: string): Promise<string> {
  if (isBuiltInEncoder(encoder) || isAbsolute(encoder) || encoder === "~" || encoder.startsWith("~/")) return encoder;
  const local = resolve(headFolder, encoder);
  if (/^\.\.?([\\/]|$)/.test(encoder)) return local;
  return (await stat(local).catch(() => undefined))?.isDirectory() === true ? local : encoder;
}

function expandHome(spec: string): string {
  return spec === "~" ? homedir() : spec.startsWith("~/") ? join(homedir(), spec.slice(2)) : spec;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

/** `o` without its undefined values, so that spreading it over defaults keeps them. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function loadBase(spec: string, options: EncoderOptions, heads: HeadFiles[]): Promise<Encoder> {
  const backend = options.backend ?? "transformers";
  const dtype = options.dtype ?? "fp32";
  const batchSize = options.batchSize ?? 16;
  if (backend !== "transformers" && backend !== "onnx") throw new Error(`unknown encoder backend "${String(backend)}" (transformers, onnx)`);
  if (dtype !== "fp32" && dtype !== "q8") throw new Error(`unknown dtype "${String(dtype)}" (fp32, q8)`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer (got ${batchSize})`);
  if (options.maxLength !== undefined && (!Number.isInteger(options.maxLength) || options.maxLength < 2)) {
    throw new Error(`maxLength must be an integer ≥ 2 (got ${options.maxLength})`);
  }

  const root = await openSource(spec, options);
  const layout = await detectStaticModel(root);
  if (layout !== undefined) {
    if (heads.length > 0) throw new Error(`${spec} is a static embedding model (${layout.format}): trained heads on static models are not supported`);
    return loadStaticEncoder(spec, root, layout, options);
  }
  const st = await readSentenceTransformers(root);
  const source = st === undefined ? root : moduleSource(root, st.transformerPath);
  const config = (await source.json<Record<string, unknown>>("config.json", { purpose: "the model architecture" })) ?? {};
  // X-MOD: one adapter per language, chosen per text through the graph's lang_ids input. transformers.js
  // (4.x) has no X-MOD model type and would not feed lang_ids, so these models run on raw onnxruntime.
  let adapters = adapterLanguagesOf(config, join(source.folder, "config.json"));
  if (adapters !== undefined && options.backend === "transformers") {
    throw new Error(`${spec}: an X-MOD model (language adapters ${adapters.languages.join(", ")}) runs on backend "onnx" only; transformers.js has no X-MOD model type and does not feed lang_ids (leave backend unset or set it to "onnx")`);
  }
  const runnerBackend: EncoderBackend = adapters !== undefined ? "onnx" : backend;
  const tokenizer = await Tokenizer.load(source);
  const onnxRel = dtype === "q8" ? "onnx/model_quantized.onnx" : "onnx/model.onnx";
  const onnxPath = await onnxFile(source, onnxRel, dtype);
  // Graphs over 2 GB keep their weights next to them; onnxruntime reads the file from the same
  // folder, so a hub model needs it downloaded too.
  await source.file(`${onnxRel}_data`, { optional: true });

  const maxLength = options.maxLength ?? Math.min(st?.maxSeqLength ?? tokenizer.modelMaxLength, tokenizer.modelMaxLength);
  if (maxLength > tokenizer.modelMaxLength) {
    throw new Error(`maxLength ${maxLength} exceeds what ${spec} supports (${tokenizer.modelMaxLength} tokens)`);
  }

  const runner = runnerBackend === "onnx" ? await loadOnnxRunner(onnxPath) : await loadTransformersRunner(source.folder, dtype);
  try {
    if (adapters !== undefined && !runner.takesLanguage) {
      throw new Error(
        `${onnxPath}: ${spec} is an X-MOD model (config.json languages: ${adapters.languages.join(", ")}) but its ONNX graph has no lang_ids input, so each text's language adapter cannot be chosen; export it with lang_ids as an input (see @crossrank/encode's README, "X-MOD models")`,
      );
    }
    // A graph that takes lang_ids indexes config.json's languages whatever its model_type says.
    if (adapters === undefined && runner.takesLanguage) adapters = adapterLanguagesOf(config, `${join(source.folder, "config.json")} (its ONNX graph takes lang_ids)`, true);
    // One tiny run: the hidden size without trusting config.json's naming (hidden_size, dim, d_model…),
    // and a load error surfaces here rather than in the first encode.
    const probe = await runner.run(tokenizer.encodeBatch([""], { maxLength }), runner.takesLanguage ? BigInt64Array.of(0n) : undefined);
    const dim = probe.dim;
    checkHeads(st, dim, heads, spec);
    const params: string[] = [];
    if (options.revision !== undefined && options.revision !== "main") params.push(`revision=${options.revision}`);
    if (dtype !== "fp32") params.push(`dtype=${dtype}`);
    if (options.maxLength !== undefined) params.push(`maxLength=${maxLength}`);
    const baseId = params.length === 0 ? spec : `${spec}?${params.join("&")}`;
    const id = heads.reduce((acc, h) => `${acc}+head:${h.sha256.slice(0, 12)}`, baseId);
    const fingerprintFiles = await collectFingerprintFiles(root, source, st, onnxPath);
    return new OnnxEncoder({ id, backend: runnerBackend, dtype, tokenizer, runner, st, dim, batchSize, maxLength, cacheDir: options.cache || undefined, fingerprintFiles, heads, adapters });
  } catch (e) {
    await runner.dispose();
    throw e;
  }
}

/** The model files of a spec: the shipped static model, a fixture (generated on first use), a folder or a hub id. */
export async function openSource(spec: string, options: ResolveOptions): Promise<ModelSource> {
  if (spec === STATIC_MODEL_NAME) return resolveModel(staticModelDir(), options);
  if (spec.startsWith("fixture:")) {
    const kind = spec.slice("fixture:".length) as FixtureKind;
    if (!FIXTURE_KINDS.includes(kind)) throw new Error(`unknown fixture model "${spec}" (${FIXTURE_KINDS.map((k) => `fixture:${k}`).join(", ")})`);
    return resolveModel(await fixtureModelPath(kind), options);
  }
  return resolveModel(spec, options);
}

/** The ONNX file, or a MissingModelFileError that says how to export one. */
export async function onnxFile(source: ModelSource, rel: string, dtype: "fp32" | "q8", task = "feature-extraction"): Promise<string> {
  try {
    return (await source.file(rel, { purpose: `the ${dtype} ONNX graph the encoder runs` }))!;
  } catch (e) {
    if (!(e instanceof MissingModelFileError)) throw e;
    const target = join(source.folder, rel);
    const howTo =
      dtype === "fp32"
        ? `Export it once with Python (pip install "optimum[onnx]"):\n` +
          `  optimum-cli export onnx --model <hub id or folder> --task ${task} <out-dir>\n` +
          `then move <out-dir>/model.onnx to ${target}. Many Xenova/* and onnx-community/* hub repos ship it ready-made.`
        : `Make it from the fp32 export (onnx/model.onnx) with Python (pip install "optimum[onnxruntime]"):\n` +
          `  optimum-cli onnxruntime quantize --onnx_model <folder with model.onnx> --avx512 -o <out-dir>\n` +
          `then move <out-dir>/model_quantized.onnx to ${target}; or use dtype "fp32".`;
    throw new MissingModelFileError(`${e.message}\n${howTo}`, e.file, e.model);
  }
}

/** Checks the widths along Transformer → tokens heads → Pooling → Dense → sentence heads. */
function checkHeads(st: SentenceTransformersConfig | undefined, dim: number, heads: readonly HeadFiles[], spec: string): void {
  if (st?.poolingDim !== undefined && st.poolingDim !== dim) {
    throw new Error(`${spec}: 1_Pooling word_embedding_dimension is ${st.poolingDim} but the model's hidden size is ${dim}`);
  }
  let width = dim;
  let sentenceHead: HeadFiles | undefined;
  for (const h of heads) {
    const c = h.head.config;
    const file = join(h.folder, HEAD_CONFIG_FILE);
    if (c.appliesTo === "sentence") {
      sentenceHead ??= h;
      continue;
    }
    if (sentenceHead !== undefined) throw new Error(`${file}: a tokens head cannot sit on an encoder with a sentence head (${sentenceHead.folder})`);
    if (c.input !== width) throw new Error(`${file}: the tokens head takes ${c.input}-wide rows but the token embeddings of ${spec} are ${width} wide`);
    width = c.output;
  }
  for (const d of st?.dense ?? []) {
    const after = width === dim ? "" : " (after the tokens head)";
    if (d.inFeatures !== width) throw new Error(`${spec}: ${d.path} expects ${d.inFeatures} inputs but receives ${width}${after}`);
    width = d.outFeatures;
  }
  for (const h of heads) {
    const c = h.head.config;
    if (c.appliesTo !== "sentence") continue;
    if (c.input !== width) throw new Error(`${join(h.folder, HEAD_CONFIG_FILE)}: the sentence head takes ${c.input}-wide vectors but the sentence embeddings of ${spec} are ${width} wide`);
    width = c.output;
  }
}

/** The files the vectors depend on, by name relative to the model root (so a moved folder keeps its cache). */
async function collectFingerprintFiles(root: ModelSource, source: ModelSource, st: SentenceTransformersConfig | undefined, onnxPath: string): Promise<{ name: string; path: string }[]> {
  const prefix = st === undefined || st.transformerPath === "" ? "" : `${st.transformerPath}/`;
  const files = [{ name: `${prefix}onnx`, path: onnxPath }];
  for (const name of ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) {
    // Only what is on disk already: the tokenizer fetched what it needs; no download for a fingerprint.
    const path = join(source.folder, name);
    if ((await stat(path).catch(() => undefined))?.isFile()) files.push({ name: prefix + name, path });
  }
  for (const name of st?.files ?? []) files.push({ name, path: join(root.folder, name) });
  return files;
}

interface EncoderParts {
  id: string;
  backend: EncoderBackend;
  dtype: "fp32" | "q8";
  tokenizer: Tokenizer;
  runner: ModelRunner;
  st: SentenceTransformersConfig | undefined;
  dim: number;
  batchSize: number;
  maxLength: number;
  cacheDir: string | undefined;
  fingerprintFiles: { name: string; path: string }[];
  /** Trained heads, innermost first. */
  heads: HeadFiles[];
  /** Language adapters (X-MOD), or undefined. */
  adapters: AdapterLanguages | undefined;
}

type ResolvedSentenceOptions = Required<Omit<SentenceOptions, "onProgress" | keyof LanguageOptions>>;

class OnnxEncoder implements Encoder {
  readonly id: string;
  readonly backend: EncoderBackend;
  readonly dtype: "fp32" | "q8";
  readonly tokenizer: Tokenizer;
  readonly dim: number;
  readonly sentenceDim: number;
  readonly maxLength: number;
  readonly modules: readonly string[];
  readonly prompts: Readonly<Record<string, string>>;
  readonly defaultPromptName: string | undefined;
  readonly similarity: SimilarityFunctionName;
  readonly languages: readonly string[] | undefined;
  private readonly adapters: AdapterLanguages | undefined;
  private readonly runner: ModelRunner;
  private readonly st: SentenceTransformersConfig | undefined;
  private readonly batchSize: number;
  private readonly tokenHeads: Head[];
  private readonly sentenceHeads: Head[];
  /** Width after pooling and the Dense modules, before sentence heads. */
  private readonly denseDim: number;
  private readonly defaultPooling: Pooling;
  private readonly defaultNormalize: boolean;
  private readonly caches: EncoderCaches;
  private disposed = false;

  constructor(p: EncoderParts) {
    this.id = p.id;
    this.backend = p.backend;
    this.dtype = p.dtype;
    this.tokenizer = p.tokenizer;
    this.runner = p.runner;
    this.adapters = p.adapters;
    this.languages = p.adapters?.languages;
    this.st = p.st;
    this.prompts = p.st?.prompts ?? {};
    this.defaultPromptName = p.st?.defaultPromptName;
    this.batchSize = p.batchSize;
    this.maxLength = p.maxLength;
    // The fingerprint hashes file contents, not the spec or path; trained heads follow, innermost
    // first, hashed from the very bytes they were loaded from.
    const headHashes = p.heads.map((h) => h.sha256);
    this.caches = new EncoderCaches(p.cacheDir, p.fingerprintFiles, headHashes.length === 0 ? [] : [`heads:${headHashes.join(",")}`]);
    this.tokenHeads = p.heads.filter((h) => h.head.config.appliesTo === "tokens").map((h) => h.head);
    this.sentenceHeads = p.heads.filter((h) => h.head.config.appliesTo === "sentence").map((h) => h.head);
    this.dim = this.tokenHeads.at(-1)?.config.output ?? p.dim;
    const dense = p.st?.dense ?? [];
    this.denseDim = dense.length === 0 ? this.dim : dense[dense.length - 1]!.outFeatures;
    this.sentenceDim = this.sentenceHeads.at(-1)?.config.output ?? this.denseDim;
    // The outermost head that records a pooling / normalize sets the default; sentence heads normalize unless told not to.
    const configs = p.heads.map((h) => h.head.config).reverse();
    this.defaultPooling = configs.find((c) => c.pooling !== undefined)?.pooling ?? p.st?.pooling ?? "mean";
    this.defaultNormalize = configs.find((c) => c.normalize !== undefined)?.normalize ?? (this.sentenceHeads.length > 0 ? true : (p.st?.normalize ?? false));
    this.similarity = p.st?.similarityFnName ?? (p.st !== undefined && !this.defaultNormalize ? "dot" : "cosine");
    this.modules = [
      "Transformer",
      ...this.tokenHeads.map((h) => describeHead(h.config)),
      `Pooling(${this.defaultPooling})`,
      ...dense.map((d) => `Dense(${d.inFeatures}→${d.outFeatures}, ${d.activation})`),
      ...this.sentenceHeads.map((h) => describeHead(h.config)),
      ...(this.defaultNormalize ? ["Normalize"] : []),
    ];
  }

  async encodeTokens(texts: readonly string[], options: EncodeProgress & LanguageOptions = {}): Promise<TokenEmbeddings[]> {
    this.check();
    const total = texts.length;
    const out = new Array<TokenEmbeddings>(total);
    const cache = await this.cache({ kind: "tokens" });
    const langs = this.langIds(total, options);
    const keys = this.cacheKeys(texts, langs);
    const todo = await this.lookup(cache, keys, (i, hit) => {
      const meta = hit.meta as Pick<TokenEmbeddings, "tokens" | "offsets" | "special">;
      out[i] = { text: this.prepare(texts[i]!), ...meta, dim: this.dim, embeddings: hit.data };
    });
    const done = total - todo.length;
    if (done > 0) options.onProgress?.(done, total);
    await this.runTokenized(
      todo.map((i) => this.tokenize(texts[i]!)),
      async (chunk) => {
        for (const [k, e] of chunk) out[todo[k]!] = e;
        await cache?.putMany(chunk.map(([k, e]) => ({ key: keys[todo[k]!]!, value: { meta: { tokens: e.tokens, offsets: e.offsets, special: e.special }, data: e.embeddings } })));
      },
      options.onProgress === undefined ? undefined : (n) => options.onProgress!(done + n, total),
      langs && todo.map((i) => langs[i]!),
    );
    return out;
  }

  async encodeTokenized(items: readonly TokenizedText[], options: EncodeProgress & LanguageOptions = {}): Promise<TokenEmbeddings[]> {
    this.check();
    items.forEach((item, i) => {
      if (item.ids.length > this.maxLength) throw new Error(`encoder ${this.id}: item ${i} has ${item.ids.length} tokens, more than maxLength ${this.maxLength}`);
    });
    const out = new Array<TokenEmbeddings>(items.length);
    await this.runTokenized(
      items,
      async (chunk) => {
        for (const [k, e] of chunk) out[k] = e;
      },
      options.onProgress === undefined ? undefined : (n) => options.onProgress!(n, items.length),
      this.langIds(items.length, options),
    );
    return out;
  }

  /**
   * Runs `items` in batches of similar length and hands each batch's token embeddings to `use`
   * as (index into items, embeddings) pairs; `progress` gets the number of items done after each.
   * `langs`: each item's lang id, for a model with language adapters.
   */
  private async runTokenized(
    items: readonly TokenizedText[],
    use: (chunk: [number, TokenEmbeddings][]) => Promise<void>,
    progress?: (done: number) => void,
    langs?: ArrayLike<number>,
  ): Promise<void> {
    let done = 0;
    for (const chunk of batches(byLength(items), this.batchSize)) {
      const batch = this.tokenizer.encodeBatch(chunk.map((k) => items[k]!), { maxLength: this.maxLength });
      const hidden = await this.run(batch, langs, chunk);
      await use(
        chunk.map((k, b) => {
          const item = batch.items[b]!;
          // The tokenizer pads on the right: the item's rows are a prefix of its batch row.
          const rows = item.ids.length;
          const start = b * hidden.seqLength * hidden.dim;
          const embeddings = this.applyTokenHeads(hidden.data.slice(start, start + rows * hidden.dim), rows);
          return [k, { text: item.text, tokens: item.tokens, offsets: item.offsets, special: item.special, dim: this.dim, embeddings }];
        }),
      );
      done += chunk.length;
      progress?.(done);
    }
  }

  async encode(texts: readonly string[], options: SentenceOptions = {}): Promise<{ rows: number; dim: number; data: Float32Array }> {
    this.check();
    const o = this.sentenceOptions(options);
    const dim = this.outputDim(o);
    const total = texts.length;
    const data = new Float32Array(total * dim);
    const cache = await this.cache({ kind: "sentence", ...o });
    const report = options.onProgress;
    const langs = this.langIds(total, options);
    const textKeys = this.cacheKeys(texts, langs);
    if (!o.paddedPooling) {
      // Per-text vectors do not depend on the batch: encode misses sorted by length (least padding).
      const todo = await this.lookup(cache, textKeys, (i, hit) => data.set(hit.data, i * dim));
      let done = total - todo.length;
      if (done > 0) report?.(done, total);
      const items = todo.map((i) => this.tokenize(texts[i]!));
      for (const chunk of batches(byLength(items), this.batchSize)) {
        const batch = this.tokenizer.encodeBatch(chunk.map((k) => items[k]!), { maxLength: this.maxLength });
        const pooled = this.pool(await this.run(batch, langs, chunk.map((k) => todo[k]!)), batch, o);
        chunk.forEach((k, b) => data.set(pooled.subarray(b * dim, (b + 1) * dim), todo[k]! * dim));
        await cache?.putMany(chunk.map((k, b) => ({ key: textKeys[todo[k]!]!, value: { data: pooled.slice(b * dim, (b + 1) * dim) } })));
        done += chunk.length;
        report?.(done, total);
      }
      return { rows: total, dim, data };
    }
    // paddedPooling: a vector depends on the text and its batch's padded length L, so batches
    // follow the input order and the cache key is (L, text).
    const items = texts.map((t) => this.tokenize(t));
    const order = items.map((_, i) => i);
    let done = 0;
    for (const chunk of batches(order, this.batchSize)) {
      const padded = Math.max(...chunk.map((i) => items[i]!.ids.length));
      const keys = chunk.map((i) => `${padded}\0${textKeys[i]!}`);
      const hits = cache === undefined ? [] : await cache.getMany(keys);
      if (hits.length === chunk.length && hits.every((h) => h !== undefined)) {
        chunk.forEach((i, b) => data.set(hits[b]!.data, i * dim));
      } else {
        const batch = this.tokenizer.encodeBatch(chunk.map((i) => items[i]!), { maxLength: this.maxLength });
        const pooled = this.pool(await this.run(batch, langs, chunk), batch, o);
        data.set(pooled, chunk[0]! * dim);
        await cache?.putMany(keys.map((key, b) => ({ key, value: { data: pooled.slice(b * dim, (b + 1) * dim) } })));
      }
      done += chunk.length;
      report?.(done, total);
    }
    return { rows: total, dim, data };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.caches.close();
    await this.runner.dispose();
  }

  private check(): void {
    if (this.disposed) throw new Error(`encoder ${this.id} has been disposed`);
  }

  private sentenceOptions(options: SentenceOptions): ResolvedSentenceOptions {
    const pooling = options.pooling ?? this.defaultPooling;
    if (pooling !== "cls" && pooling !== "mean" && pooling !== "max") throw new Error(`unknown pooling "${String(pooling)}" (cls, mean, max)`);
    const hasDense = (this.st?.dense.length ?? 0) > 0;
    const dense = (options.dense ?? true) && hasDense;
    if (hasDense && !dense && this.sentenceHeads.length > 0) {
      throw new Error(`encoder ${this.id}: dense: false is not available — its sentence head was trained on the output of the Dense modules`);
    }
    return {
      pooling,
      normalize: options.normalize ?? this.defaultNormalize,
      dense,
      includeSpecial: options.includeSpecial ?? true,
      paddedPooling: options.paddedPooling ?? false,
    };
  }

  /** Width of encode()'s rows under `o`. */
  private outputDim(o: ResolvedSentenceOptions): number {
    return this.sentenceHeads.length > 0 ? this.sentenceDim : o.dense ? this.denseDim : this.dim;
  }

  /** The tokens heads over `count` token rows (the rows themselves without heads). */
  private applyTokenHeads(rows: Float32Array, count: number): Float32Array {
    let out = rows;
    for (const h of this.tokenHeads) out = h.apply(out, count);
    return out;
  }

  /**
   * (Tokens heads →) Pooling → Dense layers (→ sentence heads) → L2 normalization over one model
   * run, [batchSize, outputDim]. Tokens heads transform each text's real rows; padding rows stay
   * rows pooling never reads (paddedPooling counts them as zero rows, as without a head).
   */
  private pool(hidden: HiddenStates, batch: EncodedBatch, o: ResolvedSentenceOptions): Float32Array {
    const { batchSize, seqLength } = hidden;
    const special = new Uint8Array(batchSize * seqLength);
    batch.items.forEach((item, b) => item.special.forEach((s, t) => (special[b * seqLength + t] = s ? 1 : 0)));
    let tokens = hidden.data;
    if (this.tokenHeads.length > 0) {
      // The tokenizer pads on the right: an item's real rows are a prefix of its batch row.
      tokens = new Float32Array(batchSize * seqLength * this.dim);
      batch.items.forEach((item, b) => {
        const start = b * seqLength * hidden.dim;
        const n = item.ids.length;
        tokens.set(this.applyTokenHeads(hidden.data.subarray(start, start + n * hidden.dim), n), b * seqLength * this.dim);
      });
    }
    let rows = poolBatch(tokens, batch.attentionMask, special, { batchSize, seqLength, dim: this.dim }, o);
    if (o.dense) for (const layer of this.st!.dense) rows = applyDense(rows, layer);
    for (const h of this.sentenceHeads) rows = h.apply(rows, batchSize);
    return o.normalize ? l2normalizeRows(rows, this.outputDim(o)) : rows;
  }

  private prepare(text: string): string {
    return this.st?.doLowerCase === true ? text.toLowerCase() : text;
  }

  private tokenize(text: string): TokenizedText {
    return this.tokenizer.tokenize(this.prepare(text), { maxLength: this.maxLength });
  }

  /** Each text's lang id under a model with language adapters (see languages.ts); undefined for a model without. */
  private langIds(count: number, options: LanguageOptions): Int32Array | undefined {
    return this.adapters === undefined ? undefined : languageIds(count, options, this.adapters, this.id);
  }

  /** Cache keys: the text, prefixed by its adapter language under X-MOD (the same text in two languages gives two vectors). */
  private cacheKeys(texts: readonly string[], langs: Int32Array | undefined): readonly string[] {
    if (langs === undefined) return texts;
    const names = this.adapters!.languages;
    return texts.map((t, i) => `${names[langs[i]!]!}\0${t}`);
  }

  /** One model run over `batch`, whose rows are texts `rows` (indices into `langs`, each text's lang id, when the model has adapters). */
  private run(batch: EncodedBatch, langs: ArrayLike<number> | undefined, rows: readonly number[]): Promise<HiddenStates> {
    return this.runner.run(batch, langs === undefined ? undefined : BigInt64Array.from(rows, (r) => BigInt(langs[r]!)));
  }

  /** Fills hits through `use`; returns the indices of the misses (all indices without a cache). */
  private async lookup(cache: EmbeddingCache | undefined, texts: readonly string[], use: (i: number, hit: CachedEmbedding) => void): Promise<number[]> {
    if (cache === undefined) return texts.map((_, i) => i);
    const hits = await cache.getMany(texts);
    const misses: number[] = [];
    hits.forEach((h, i) => (h === undefined ? misses.push(i) : use(i, h)));
    return misses;
  }

  private cache(namespace: Record<string, unknown>): Promise<EmbeddingCache | undefined> {
    return this.caches.open({ format: 1, dtype: this.dtype, maxLength: this.maxLength, ...namespace });
  }
}

/** Indices of `items` by ascending token count (stable), so batches pad little. */
function byLength(items: readonly TokenizedText[]): number[] {
  return items.map((_, i) => i).sort((a, b) => items[a]!.ids.length - items[b]!.ids.length || a - b);
}

function* batches(order: readonly number[], size: number): Generator<number[]> {
  for (let s = 0; s < order.length; s += size) yield order.slice(s, s + size);
}
