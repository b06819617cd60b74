/**
 * Static embedding models: a token → vector table, no attention. Two folder layouts are read:
 *
 * - model2vec (`StaticModel.save_pretrained`, e.g. `minishlab/potion-multilingual-128M`):
 *   config.json (`model_type: "model2vec"`, `normalize`), tokenizer.json, model.safetensors with
 *   `embeddings` [vocab, dim] (F32/F16/BF16/F64, or I8 with the row scales in `weights`), optionally `weights` [vocab] (per-token scalars)
 *   and `mapping` [vocab] (token id → row, vocabulary-quantized models).
 * - sentence-transformers StaticEmbedding: modules.json whose first module is
 *   `sentence_transformers.models.StaticEmbedding`; its folder holds model.safetensors
 *   (`embedding.weight`, or model2vec's `embeddings`) and tokenizer.json; a later Normalize module
 *   switches L2 normalisation on.
 *
 * Encoding follows model2vec's StaticModel.encode: tokenize WITHOUT special tokens, drop the
 * unknown token, keep the first `maxLength` tokens (default 512), row_t = weights[id_t] ·
 * embeddings[mapping[id_t]] (weights/mapping when present), sentence = mean over the rows (a zero
 * vector for no tokens), L2-normalised when config.json says `normalize` (absent: false, as
 * model2vec) or modules.json lists Normalize.
 */
// Node's file modules, the cache and the folder helpers are imported where folders are read, so
// that a browser bundle of StaticEncoder (built from bytes by staticEncoderFromBytes) holds none.
import { type ModelSource, Tokenizer } from "@crossrank/tokenize";
import type { CachedEmbedding, EmbeddingCache, EncoderCaches } from "./cache.js";
import { type NamedTensor, readSafetensors } from "./safetensors.js";
import type { EncodeProgress, Encoder, EncoderOptions, SentenceOptions, TokenEmbeddings } from "./encoder.js";

/** The module type sentence-transformers writes for a StaticEmbedding. */
export const ST_STATIC_EMBEDDING = "sentence_transformers.models.StaticEmbedding";

/** Default token limit per text (model2vec's encode default, max_length=512). */
export const STATIC_MAX_LENGTH = 512;

/** Where a static model's files are. */
export interface StaticLayout {
  format: "model2vec" | "sentence-transformers";
  /** Folder (relative to the model root, "" = root) with model.safetensors and tokenizer.json. */
  modulePath: string;
  normalize: boolean;
}

interface ModuleEntry {
  type?: unknown;
  path?: unknown;
}

/**
 * The static layout of a model, or undefined for a transformer. Reads only config.json and
 * modules.json (no weights, no download of an ONNX graph); a local folder without config.json's
 * model_type and without onnx/model.onnx counts as model2vec when its model.safetensors holds an
 * `embeddings` tensor.
 */
export async function detectStaticModel(root: ModelSource): Promise<StaticLayout | undefined> {
  const config = await root.json<Record<string, unknown>>("config.json", { optional: true });
  const modules = await root.json<ModuleEntry[]>("modules.json", { optional: true });
  const normalizeModule = Array.isArray(modules) && modules.some((m) => typeof m.type === "string" && m.type.endsWith(".Normalize"));
  const first = Array.isArray(modules) ? modules[0] : undefined;
  if (config?.model_type === "model2vec") {
    return { format: "model2vec", modulePath: "", normalize: typeof config.normalize === "boolean" ? config.normalize : normalizeModule };
  }
  if (first !== undefined && typeof first.type === "string" && (first.type === ST_STATIC_EMBEDDING || first.type.endsWith(".StaticEmbedding"))) {
    const path = typeof first.path === "string" ? first.path.replace(/^\.\/?$/, "").replace(/\/+$/, "") : "";
    return { format: "sentence-transformers", modulePath: path, normalize: normalizeModule || config?.normalize === true };
  }
  if (root.kind !== "folder") return undefined;
  const { join } = await import("node:path");
  if (!(await isFile(join(root.folder, "onnx/model.onnx"))) && (await isFile(join(root.folder, "model.safetensors")))) {
    const header = await safetensorsNames(join(root.folder, "model.safetensors"));
    if (header.includes("embeddings")) return { format: "model2vec", modulePath: "", normalize: config?.normalize === true };
  }
  return undefined;
}

async function isFile(path: string): Promise<boolean> {
  const { stat } = await import("node:fs/promises");
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

/** Tensor names in a safetensors header (reads the header only). */
async function safetensorsNames(path: string): Promise<string[]> {
  const { open } = await import("node:fs/promises");
  const fh = await open(path, "r");
  try {
    const len = Buffer.alloc(8);
    await fh.read(len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    if (n > 100_000_000) return [];
    const header = Buffer.alloc(n);
    await fh.read(header, 0, n, 8);
    return Object.keys(JSON.parse(header.toString("utf8")) as object).filter((k) => k !== "__metadata__");
  } catch {
    return [];
  } finally {
    await fh.close();
  }
}

/** The parts a {@link StaticEncoder} is built from. */
export interface StaticModelParts {
  /** [rows, dim] row-major. */
  embeddings: Float32Array;
  rows: number;
  dim: number;
  /** Per-token scalars [vocab], or undefined. */
  weights: Float32Array | undefined;
  /** Token id → row [vocab], or undefined (identity). */
  mapping: Int32Array | undefined;
}

/** Reads and checks model.safetensors against the tokenizer's vocabulary size. */
export async function readStaticWeights(path: string, vocabSize: number): Promise<StaticModelParts> {
  return staticWeights(await readSafetensors(path), vocabSize, path);
}

/** Checks the tensors of a static model's model.safetensors against the tokenizer's vocabulary size; `path` names them in errors. */
function staticWeights(tensors: Map<string, NamedTensor>, vocabSize: number, path: string): StaticModelParts {
  const emb = tensors.get("embeddings") ?? tensors.get("embedding.weight");
  if (emb === undefined) {
    throw new Error(`${path}: no embeddings tensor (expected "embeddings" [vocab, dim] as model2vec writes, or "embedding.weight" as sentence-transformers' StaticEmbedding writes; found: ${[...tensors.keys()].join(", ") || "none"})`);
  }
  if (emb.shape.length !== 2) throw new Error(`${path}: the embeddings tensor must be 2-D [vocab, dim], got [${emb.shape.join(", ")}]`);
  const [rows, dim] = emb.shape as [number, number];
  const embeddings = toF32(emb.data, `${path}: embeddings`);
  const w = tensors.get("weights");
  const m = tensors.get("mapping");
  let mapping: Int32Array | undefined;
  if (m !== undefined) {
    if (m.shape.length !== 1 || m.shape[0] !== vocabSize) throw new Error(`${path}: mapping has shape [${m.shape.join(", ")}], expected [${vocabSize}] (the tokenizer's vocabulary size)`);
    mapping = Int32Array.from(m.data as ArrayLike<number | bigint>, (v) => Number(v));
    for (let i = 0; i < mapping.length; i++) {
      const r = mapping[i]!;
      if (!(r >= 0 && r < rows)) throw new Error(`${path}: mapping[${i}] = ${r} is outside the ${rows} embedding rows`);
    }
  } else if (rows !== vocabSize) {
    throw new Error(`${path}: the embeddings tensor has ${rows} rows but the tokenizer has ${vocabSize} tokens (shape mismatch; a vocabulary-quantized model needs a "mapping" tensor)`);
  }
  let weights: Float32Array | undefined;
  if (w !== undefined) {
    if (w.shape.length !== 1 || w.shape[0] !== vocabSize) throw new Error(`${path}: weights has shape [${w.shape.join(", ")}], expected [${vocabSize}] (the tokenizer's vocabulary size)`);
    weights = toF32(w.data, `${path}: weights`);
  }
  return { embeddings, rows, dim, weights, mapping };
}

function toF32(data: ArrayLike<number | bigint>, what: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Float64Array || data instanceof Int8Array) return Float32Array.from(data);
  throw new Error(`${what}: expected a floating-point or int8 tensor (F32, F16, BF16, F64, I8)`);
}

/**
 * The tokenizer of a static folder. @crossrank/tokenize (through transformers.js) needs a
 * tokenizer_config.json, which model2vec folders do not have: then tokenizer.json is copied with
 * an empty `{}` config into `<cache>/static-tokenizers/<sha256 of tokenizer.json>/`.
 */
export async function loadStaticTokenizer(source: ModelSource, cacheDir?: string): Promise<Tokenizer> {
  const tokenizerJson = (await source.file("tokenizer.json", { purpose: "the static model's tokenizer" }))!;
  const config = await source.file("tokenizer_config.json", { optional: true });
  if (config !== undefined) return Tokenizer.load(source);
  const [{ createHash }, { mkdir, readFile, rename, writeFile }, { join }, { defaultCacheDir }] = await Promise.all([
    import("node:crypto"),
    import("node:fs/promises"),
    import("node:path"),
    import("@crossrank/tokenize"),
  ]);
  const bytes = await readFile(tokenizerJson);
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const dir = join(cacheDir ?? defaultCacheDir(), "static-tokenizers", hash);
  if (!(await isFile(join(dir, "tokenizer_config.json")))) {
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `tokenizer.json.${process.pid}.tmp`);
    await writeFile(tmp, bytes);
    await rename(tmp, join(dir, "tokenizer.json"));
    await writeFile(join(dir, "tokenizer_config.json"), "{}\n");
  }
  return Tokenizer.load(dir);
}

type Json = Record<string, unknown>;

const SAFE_NORMALIZERS = new Set(["BertNormalizer", "Lowercase", "NFC", "NFD", "NFKC", "NFKD", "StripAccents", "Sequence"]);
const SAFE_PRETOKENIZERS = new Set(["BertPreTokenizer", "Whitespace", "WhitespaceSplit", "Punctuation", "Digits", "UnicodeScripts", "Sequence"]);

function typesIn(part: unknown): string[] {
  if (typeof part !== "object" || part === null) return [];
  const p = part as Json;
  const nested = [p.normalizers, p.pretokenizers].filter(Array.isArray).flat() as unknown[];
  return [String(p.type), ...nested.flatMap(typesIn)];
}

/**
 * How a text may be cut into pieces whose ids, encoded one piece at a time, concatenate to the
 * ids of the whole text (so that each piece's ids can be memoised):
 * - "words": BertPreTokenizer after a BertNormalizer-like normalizer: runs of space/tab/CR/LF
 *   separate words and every punctuation character (BERT's definition) is a word of its own (a
 *   text holding an added token's content, e.g. a typed "[SEP]", is encoded whole);
 * - "spaces": other whitespace-splitting pipelines (Whitespace, WhitespaceSplit…): cut at U+0020;
 * - "none": byte-level BPE, Metaspace/SentencePiece and anything unknown: each text encoded whole.
 */
export function chunkMode(json: Json): "words" | "spaces" | "none" {
  const norm = json.normalizer === null || json.normalizer === undefined ? [] : typesIn(json.normalizer);
  const pre = typesIn(json.pre_tokenizer);
  if (pre.length === 0) return "none";
  if (!norm.every((t) => SAFE_NORMALIZERS.has(t)) || !pre.every((t) => SAFE_PRETOKENIZERS.has(t))) return "none";
  if (!pre.some((t) => t === "BertPreTokenizer" || t === "Whitespace" || t === "WhitespaceSplit")) return "none";
  // Added tokens containing spaces or punctuation would span pieces.
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Json[]) : [];
  if (!added.every((a) => typeof a.content !== "string" || !/\s/.test(a.content))) return "none";
  const wordsSafe = pre.length === 1 && pre[0] === "BertPreTokenizer" && norm.every((t) => WORD_NORMALIZERS.has(t));
  return wordsSafe ? "words" : "spaces";
}

/** Normalizers that never turn punctuation into a letter or back (NFKC/NFKD could). */
const WORD_NORMALIZERS = new Set(["BertNormalizer", "Lowercase", "NFC", "NFD", "StripAccents", "Sequence"]);

// BertPreTokenizer's punctuation (as @huggingface/transformers and the fixture's wordpiece.ts define it).
const PUNCT_RE = /^[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]$/u;
const ASCII_PUNCT = Uint8Array.from({ length: 128 }, (_, c) => (PUNCT_RE.test(String.fromCharCode(c)) ? 1 : 0));
const punctMemo = new Map<string, boolean>();
function isPunct(ch: string): boolean {
  let p = punctMemo.get(ch);
  if (p === undefined) {
    p = PUNCT_RE.test(ch);
    punctMemo.set(ch, p);
  }
  return p;
}

/** Chunk memo entries kept at most; cleared when full. */
const MEMO_LIMIT = 2_000_000;

interface StaticEncoderParts extends StaticModelParts {
  id: string;
  tokenizer: Tokenizer;
  normalize: boolean;
  maxLength: number;
  format: StaticLayout["format"];
  cacheDir: string | undefined;
  fingerprintFiles: { name: string; path: string }[];
}

/** An {@link Encoder} over a static embedding table; backend "static". */
export class StaticEncoder implements Encoder {
  readonly id: string;
  readonly backend = "static" as const;
  readonly dtype = "fp32" as const;
  readonly tokenizer: Tokenizer;
  readonly dim: number;
  readonly sentenceDim: number;
  readonly maxLength: number;
  readonly modules: readonly string[];
  /** Static models carry no prompts. */
  readonly prompts: Readonly<Record<string, string>> = {};
  readonly defaultPromptName = undefined;
  /** Static models are compared by cosine (model2vec's and crossrank's own are trained and evaluated so). */
  readonly similarity = "cosine" as const;
  readonly format: StaticLayout["format"];
  private readonly table: Float32Array;
  private readonly weights: Float32Array | undefined;
  private readonly mapping: Int32Array | undefined;
  private readonly normalize: boolean;
  private readonly unkId: number | undefined;
  private readonly memo: Map<string, Int32Array> | undefined;
  private readonly mode: "words" | "spaces" | "none";
  /** Reusable id buffer of {@link fill}. */
  private buf = new Int32Array(1024);
  /** Added tokens' contents (a text containing one is encoded whole in "words" mode). */
  private readonly added: string[];
  private len = 0;
  /** The on-disk embedding cache, opened on first use when a folder was given (none in a browser). */
  private caches: Promise<EncoderCaches> | undefined;
  private readonly cacheDir: string | undefined;
  private readonly fingerprintFiles: readonly { name: string; path: string }[];
  private disposed = false;

  constructor(p: StaticEncoderParts) {
    this.id = p.id;
    this.tokenizer = p.tokenizer;
    this.dim = p.dim;
    this.sentenceDim = p.dim;
    this.maxLength = p.maxLength;
    this.format = p.format;
    this.table = p.embeddings;
    this.weights = p.weights;
    this.mapping = p.mapping;
    this.normalize = p.normalize;
    this.cacheDir = p.cacheDir;
    this.fingerprintFiles = p.fingerprintFiles;
    const definition = p.tokenizer.definition as Json;
    // model2vec drops tokenizer.json's model.unk_token (tokenizer_config.json may be absent, so not the config's unk token).
    const model = definition.model as Json | undefined;
    const unkToken = typeof model?.unk_token === "string" ? model.unk_token : undefined;
    this.unkId = unkToken === undefined ? undefined : p.tokenizer.tokenId(unkToken);
    this.mode = chunkMode(definition);
    const addedTokens = definition.added_tokens;
    this.added = (Array.isArray(addedTokens) ? (addedTokens as Json[]) : []).map((a) => a.content).filter((c): c is string => typeof c === "string" && c !== "");
    this.memo = this.mode === "none" ? undefined : new Map();
    this.modules = [`StaticEmbedding(${p.rows}×${p.dim}${p.weights ? ", weights" : ""}${p.mapping ? ", mapping" : ""})`, "Pooling(mean)", ...(p.normalize ? ["Normalize"] : [])];
  }

  /** Content token ids of `text` as the encoder uses them (no special tokens, no unknown token, at most maxLength). */
  ids(text: string): Int32Array {
    return this.buf.slice(0, this.fill(text));
  }

  /** Writes the ids of `text` into this.buf[0, n) and returns n. */
  private fill(text: string): number {
    this.len = 0;
    if (this.mode === "none" || (this.mode === "words" && this.added.some((a) => text.includes(a)))) {
      this.push(this.tokenizer.contentIds(text));
    } else if (this.mode === "spaces") {
      let start = 0;
      for (;;) {
        const end = text.indexOf(" ", start);
        const stop = end < 0 ? text.length : end;
        if (stop > start) this.piece(text.slice(start, stop));
        if (end < 0) break;
        start = end + 1;
      }
    } else {
      let start = 0;
      const n = text.length;
      for (let i = 0; i < n; ) {
        const c = text.charCodeAt(i);
        if (c === 32 || c === 9 || c === 10 || c === 13) {
          if (i > start) this.piece(text.slice(start, i));
          start = ++i;
          continue;
        }
        const width = c >= 0xd800 && c <= 0xdbff && i + 1 < n ? 2 : 1;
        const punct = c < 128 ? ASCII_PUNCT[c] === 1 : isPunct(text.slice(i, i + width));
        if (punct) {
          if (i > start) this.piece(text.slice(start, i));
          this.piece(text.slice(i, i + width));
          start = i + width;
        }
        i += width;
      }
      if (n > start) this.piece(text.slice(start, n));
    }
    // Drop the unknown token, keep the first maxLength.
    const buf = this.buf;
    let k = 0;
    for (let i = 0; i < this.len && k < this.maxLength; i++) if (buf[i] !== this.unkId) buf[k++] = buf[i]!;
    return k;
  }

  private piece(p: string): void {
    const memo = this.memo!;
    let ids = memo.get(p);
    if (ids === undefined) {
      ids = Int32Array.from(this.tokenizer.contentIds(p));
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(p, ids);
    }
    this.push(ids);
  }

  private push(ids: ArrayLike<number>): void {
    if (this.len + ids.length > this.buf.length) {
      const grown = new Int32Array(Math.max(this.buf.length * 2, this.len + ids.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    if (ids instanceof Int32Array) this.buf.set(ids, this.len);
    else for (let i = 0; i < ids.length; i++) this.buf[this.len + i] = ids[i]!;
    this.len += ids.length;
  }

  async encodeTokens(texts: readonly string[], options: EncodeProgress = {}): Promise<TokenEmbeddings[]> {
    this.check();
    const dim = this.dim;
    const out = new Array<TokenEmbeddings>(texts.length);
    texts.forEach((text, i) => {
      const t = this.tokenizer.tokenize(text, { addSpecialTokens: false, maxLength: Number.MAX_SAFE_INTEGER });
      const keep: number[] = [];
      for (let k = 0; k < t.ids.length && keep.length < this.maxLength; k++) if (t.ids[k] !== this.unkId) keep.push(k);
      const embeddings = new Float32Array(keep.length * dim);
      keep.forEach((k, r) => this.row(t.ids[k]!, embeddings, r * dim));
      out[i] = { text, tokens: keep.map((k) => t.tokens[k]!), offsets: keep.map((k) => t.offsets[k]!), special: keep.map((k) => t.special[k]!), dim, embeddings };
      if ((i + 1) % 1024 === 0) options.onProgress?.(i + 1, texts.length);
    });
    options.onProgress?.(texts.length, texts.length);
    return out;
  }

  async encode(texts: readonly string[], options: SentenceOptions = {}): Promise<{ rows: number; dim: number; data: Float32Array }> {
    this.check();
    if (options.pooling !== undefined && options.pooling !== "mean") throw new Error(`encoder ${this.id} is a static model: only mean pooling (got "${options.pooling}")`);
    if (options.paddedPooling === true) throw new Error(`encoder ${this.id} is a static model: paddedPooling does not apply (there is no padding)`);
    const normalize = options.normalize ?? this.normalize;
    const dim = this.dim;
    const total = texts.length;
    const data = new Float32Array(total * dim);
    const cache = await this.cache({ kind: "sentence", normalize });
    let todo: number[] = texts.map((_, i) => i);
    if (cache !== undefined) {
      const hits = await cache.getMany(texts);
      todo = [];
      hits.forEach((h, i) => (h === undefined ? todo.push(i) : data.set(h.data, i * dim)));
    }
    const acc = new Float64Array(dim);
    const { table, weights, mapping } = this;
    const stored: { key: string; value: CachedEmbedding }[] = [];
    for (let j = 0; j < todo.length; j++) {
      const i = todo[j]!;
      const n = this.fill(texts[i]!);
      const ids = this.buf;
      acc.fill(0);
      for (let k = 0; k < n; k++) {
        const id = ids[k]!;
        const base = (mapping === undefined ? id : mapping[id]!) * dim;
        addRow(acc, table, base, weights === undefined ? 1 : weights[id]!, dim);
      }
      const o = i * dim;
      if (n > 0) {
        let norm = 0;
        for (let d = 0; d < dim; d++) {
          const v = acc[d]! / n;
          acc[d] = v;
          norm += v * v;
        }
        const scale = normalize && norm > 0 ? 1 / Math.sqrt(norm) : 1;
        for (let d = 0; d < dim; d++) data[o + d] = acc[d]! * scale;
      }
      if (cache !== undefined) stored.push({ key: texts[i]!, value: { data: data.slice(o, o + dim) } });
      if ((j + 1) % 4096 === 0) options.onProgress?.(total - todo.length + j + 1, total);
    }
    await cache?.putMany(stored);
    options.onProgress?.(total, total);
    return { rows: total, dim, data };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.caches !== undefined) await (await this.caches).close();
  }

  /** Writes token `id`'s row (weight-scaled, mapped) into `out` at `offset`. */
  private row(id: number, out: Float32Array, offset: number): void {
    const dim = this.dim;
    const base = (this.mapping === undefined ? id : this.mapping[id]!) * dim;
    const w = this.weights === undefined ? 1 : this.weights[id]!;
    for (let d = 0; d < dim; d++) out[offset + d] = w * this.table[base + d]!;
  }

  private check(): void {
    if (this.disposed) throw new Error(`encoder ${this.id} has been disposed`);
  }

  private async cache(namespace: Record<string, unknown>): Promise<EmbeddingCache | undefined> {
    const dir = this.cacheDir;
    if (dir === undefined) return undefined;
    this.caches ??= import("./cache.js").then(({ EncoderCaches }) => new EncoderCaches(dir, this.fingerprintFiles));
    return (await this.caches).open({ format: 1, static: 1, maxLength: this.maxLength, ...namespace });
  }
}

/** acc[0, dim) += w · table[base, base + dim), unrolled by four (the hot loop of encode). */
function addRow(acc: Float64Array, table: Float32Array, base: number, w: number, dim: number): void {
  const dim4 = dim - (dim % 4);
  let d = 0;
  for (; d < dim4; d += 4) {
    const b = base + d;
    acc[d] = acc[d]! + w * table[b]!;
    acc[d + 1] = acc[d + 1]! + w * table[b + 1]!;
    acc[d + 2] = acc[d + 2]! + w * table[b + 2]!;
    acc[d + 3] = acc[d + 3]! + w * table[b + 3]!;
  }
  for (; d < dim; d++) acc[d] = acc[d]! + w * table[base + d]!;
}

/** Loads a static model whose layout {@link detectStaticModel} found. */
export async function loadStaticEncoder(spec: string, root: ModelSource, layout: StaticLayout, options: EncoderOptions): Promise<StaticEncoder> {
  if (options.backend !== undefined && options.backend !== "transformers") throw new Error(`${spec} is a static embedding model (${layout.format}): backend "${options.backend}" does not apply`);
  if (options.dtype !== undefined && options.dtype !== "fp32") throw new Error(`${spec} is a static embedding model (${layout.format}): dtype "${options.dtype}" does not apply`);
  const maxLength = options.maxLength ?? STATIC_MAX_LENGTH;
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`maxLength must be a positive integer (got ${maxLength})`);
  const prefix = layout.modulePath === "" ? "" : `${layout.modulePath}/`;
  const [{ join }, { moduleSource }] = await Promise.all([import("node:path"), import("./sentence-transformers.js")]);
  const source: ModelSource = moduleSource(root, layout.modulePath);
  const tokenizer = await loadStaticTokenizer(source, options.cacheDir);
  const weightsPath = (await source.file("model.safetensors", { purpose: "the static embedding table" }))!;
  const parts = await readStaticWeights(weightsPath, tokenizer.vocabSize);
  const params: string[] = [];
  if (options.revision !== undefined && options.revision !== "main") params.push(`revision=${options.revision}`);
  if (options.maxLength !== undefined) params.push(`maxLength=${maxLength}`);
  const id = params.length === 0 ? spec : `${spec}?${params.join("&")}`;
  const fingerprintFiles = [
    { name: `${prefix}model.safetensors`, path: weightsPath },
    { name: `${prefix}tokenizer.json`, path: join(source.folder, "tokenizer.json") },
  ];
  if (await isFile(join(root.folder, "config.json"))) fingerprintFiles.push({ name: "config.json", path: join(root.folder, "config.json") });
  return new StaticEncoder({ ...parts, id, tokenizer, normalize: layout.normalize, maxLength, format: layout.format, cacheDir: options.cache || undefined, fingerprintFiles });
}

/** The files of a model2vec folder, in memory (a browser page fetched them): what {@link staticEncoderFromBytes} builds an encoder from. */
export interface StaticModelBytes {
  /** model.safetensors. */
  safetensors: ArrayBuffer | Uint8Array;
  /** tokenizer.json, parsed. */
  tokenizer: Record<string, unknown>;
  /** tokenizer_config.json, parsed; absent as in model2vec folders (then `{}`, as {@link loadStaticTokenizer} writes). */
  tokenizerConfig?: Record<string, unknown>;
  /** config.json, parsed: `model_type` "model2vec" and `normalize`. */
  config: Record<string, unknown>;
}

/**
 * A {@link StaticEncoder} from the bytes of a model2vec folder, with no file system: the encoder
 * {@link loadStaticEncoder} loads from a folder holding the same files (same tokenizer, table,
 * normalisation and default maxLength, no embedding cache). `spec` is the encoder's id (e.g.
 * "crossrank-static").
 */
export async function staticEncoderFromBytes(spec: string, files: StaticModelBytes, options: { maxLength?: number } = {}): Promise<StaticEncoder> {
  if (files.config?.model_type !== "model2vec") throw new Error(`${spec}: config.json must say model_type "model2vec" (got ${JSON.stringify(files.config?.model_type)}); in-memory loading reads model2vec folders only`);
  const maxLength = options.maxLength ?? STATIC_MAX_LENGTH;
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`maxLength must be a positive integer (got ${maxLength})`);
  const tokenizer = await Tokenizer.fromJSON(spec, { tokenizer: files.tokenizer, tokenizerConfig: files.tokenizerConfig ?? {}, config: files.config });
  const bytes = files.safetensors instanceof Uint8Array ? files.safetensors : new Uint8Array(files.safetensors);
  const parts = staticWeights(await readSafetensors(bytes), tokenizer.vocabSize, `${spec}: model.safetensors`);
  const normalize = typeof files.config.normalize === "boolean" ? files.config.normalize : false;
  const id = options.maxLength === undefined ? spec : `${spec}?maxLength=${maxLength}`;
  return new StaticEncoder({ ...parts, id, tokenizer, normalize, maxLength, format: "model2vec", cacheDir: undefined, fingerprintFiles: [] });
}
