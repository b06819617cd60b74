/**
 * ColBERT checkpoints (colbert-ir/colbertv2.0, antoinelouis/colbert-xm, a fixture:colbert), encoded
 * and scored as the reference implementation, stanford-futuredata/ColBERT, does:
 *
 * - query (colbert/modeling/tokenization/query_tokenization.py, `QueryTokenizer.tensorize`): ". "
 *   is put before the text, which is tokenized to `[CLS] . tokens… [SEP]` truncated to
 *   query_maxlen; the "." (position 1) becomes the [Q] marker (the id of `query_token_id`,
 *   "[unused0]" in BERT vocabularies) and the padding up to query_maxlen becomes [MASK] ids (query
 *   augmentation), which the attention mask covers only with `attend_to_mask_tokens`;
 * - document (doc_tokenization.py, `DocTokenizer.tensorize`): the same with the [D] marker
 *   (`doc_token_id`, "[unused1]") and doc_maxlen, no augmentation;
 * - rows (colbert/modeling/colbert.py, `ColBERT.query` / `ColBERT.doc`): BERT's last hidden state →
 *   `linear` (no bias, hidden → dim) → rows masked (queries: padding only, i.e. none after the
 *   augmentation; documents: padding and, with `mask_punctuation`, the skip-list: the first id of
 *   each character of Python's `string.punctuation` encoded without special tokens) → each row
 *   L2-normalised (torch.nn.functional.normalize, eps 1e-12). A document's masked rows are dropped
 *   (`doc(keep_dims=False)`; `colbert_score_reduce` gives them −9999, so they never win a max);
 * - score (`colbert_score`, interaction "colbert"): Σ over query rows of max over document rows of
 *   q·d (similarity "cosine"); similarity "l2" (`ColBERT.score`): Σ_i max_j −‖q_i − d_j‖².
 *
 * The settings come from the checkpoint's `artifact.metadata` (the ColBERTConfig as JSON, written
 * by colbert/modeling/checkpoint.py's save) where present, else the defaults of
 * colbert/infra/config/settings.py; `linear.weight` [dim, hidden] comes from model.safetensors
 * (HF_ColBERT's `save_pretrained`, colbert/modeling/hf_colbert.py); BERT itself runs as every
 * encoder does (onnx/model.onnx, either backend).
 */
import type { ModelSource, TokenizedText } from "@crossrank/tokenize";
import { type EncodeProgress, type Encoder, type EncoderOptions, loadEncoder, openSource } from "./encoder.js";
import type { LanguageOptions } from "./languages.js";
import { readSafetensorsHeader, readSafetensorsTensor } from "./safetensors.js";

/** How query rows are compared with document rows (ColBERTConfig `similarity`). */
export type ColbertSimilarity = "cosine" | "l2";

/** The ColBERTConfig settings that encoding and scoring read. */
export interface ColbertSettings {
  /** Vocabulary token whose id is the [Q] marker. */
  queryTokenId: string;
  /** Vocabulary token whose id is the [D] marker. */
  docTokenId: string;
  /** Display names of the markers ("[Q]", "[D]"). */
  queryToken: string;
  docToken: string;
  /** Width of the projection (`linear.weight`'s rows). */
  dim: number;
  /** Tokens per query, specials and [MASK] augmentation included. */
  queryMaxlen: number;
  /** Most tokens per document, specials included. */
  docMaxlen: number;
  /** Drop punctuation rows from documents. */
  maskPunctuation: boolean;
  /** Whether the attention mask covers the [MASK] augmentation. */
  attendToMaskTokens: boolean;
  similarity: ColbertSimilarity;
}

/** The defaults of stanford-futuredata/ColBERT's colbert/infra/config/settings.py (TokenizerSettings, DocSettings, QuerySettings, TrainingSettings). */
export const COLBERT_DEFAULTS: Readonly<ColbertSettings> = {
  queryTokenId: "[unused0]",
  docTokenId: "[unused1]",
  queryToken: "[Q]",
  docToken: "[D]",
  dim: 128,
  queryMaxlen: 32,
  docMaxlen: 220,
  maskPunctuation: true,
  attendToMaskTokens: false,
  similarity: "cosine",
};

/** The file a ColBERT checkpoint keeps its ColBERTConfig in. */
export const COLBERT_METADATA_FILE = "artifact.metadata";

/** Python's `string.punctuation`: the characters of the document skip-list. */
export const PYTHON_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/** The settings of `artifact.metadata` (its parsed JSON; undefined: none) over the defaults; `where` names the file in errors. */
export function colbertSettings(metadata: unknown, where: string): ColbertSettings {
  if (metadata === undefined) return { ...COLBERT_DEFAULTS };
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) throw new Error(`${where}: expected a JSON object (a ColBERTConfig)`);
  const m = metadata as Record<string, unknown>;
  const get = <T>(key: string, fallback: T, ok: (v: unknown) => boolean, accepts: string): T => {
    const v = m[key];
    if (v === undefined || v === null) return fallback;
    if (!ok(v)) throw new Error(`${where}: ${key} must be ${accepts}, got ${JSON.stringify(v)}`);
    return v as T;
  };
  const text = (v: unknown) => typeof v === "string" && v !== "";
  const whole = (min: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= min;
  const bool = (v: unknown) => typeof v === "boolean";
  const interaction = get("interaction", "colbert", text, "a string");
  if (interaction !== "colbert") throw new Error(`${where}: interaction ${JSON.stringify(interaction)} is not supported (only "colbert", the reference's default; "flipr" is not reproduced)`);
  const d = COLBERT_DEFAULTS;
  return {
    queryTokenId: get("query_token_id", d.queryTokenId, text, "a token string"),
    docTokenId: get("doc_token_id", d.docTokenId, text, "a token string"),
    queryToken: get("query_token", d.queryToken, text, "a string"),
    docToken: get("doc_token", d.docToken, text, "a string"),
    dim: get("dim", d.dim, whole(1), "a whole number >= 1"),
    queryMaxlen: get("query_maxlen", d.queryMaxlen, whole(3), "a whole number >= 3"),
    docMaxlen: get("doc_maxlen", d.docMaxlen, whole(3), "a whole number >= 3"),
    maskPunctuation: get("mask_punctuation", d.maskPunctuation, bool, "a boolean"),
    attendToMaskTokens: get("attend_to_mask_tokens", d.attendToMaskTokens, bool, "a boolean"),
    similarity: get("similarity", d.similarity, (v) => v === "cosine" || v === "l2", '"cosine" or "l2"'),
  };
}

/** One text's ColBERT rows. */
export interface ColbertRows {
  /** The text as given (without the ". " placeholder the reference puts before it). */
  text: string;
  /** One per row: the vocabulary string ([CLS], [unused0] for the marker, [MASK] for the augmentation…). */
  tokens: string[];
  /** One per row: the token id the model saw (the marker's id at position 1). */
  ids: number[];
  /** One per row: UTF-16 [start, end) into `text`; [0, 0] for special tokens, the marker and the augmentation. */
  offsets: [number, number][];
  /** One per row: true for [CLS], [SEP], the marker and the [MASK] augmentation. */
  special: boolean[];
  rows: number;
  dim: number;
  /** [rows, dim] row-major, each row the projection of the token's hidden state, L2-normalised. */
  embeddings: Float32Array;
}

/** Options of {@link loadColbert}: how to load BERT (as {@link loadEncoder}), and the lengths when not the checkpoint's. */
export interface ColbertOptions extends Omit<EncoderOptions, "maxLength"> {
  /** Tokens per query; default the checkpoint's query_maxlen. */
  queryMaxLength?: number;
  /** Most tokens per document; default the checkpoint's doc_maxlen. */
  docMaxLength?: number;
}

/**
 * Whether a model's files are a ColBERT checkpoint: `artifact.metadata` is there, config.json names
 * the HF_ColBERT architecture, or a model.safetensors already on disk holds `linear.weight` (a
 * hub model's weights are not downloaded just to find out).
 */
export async function detectColbert(source: ModelSource): Promise<boolean> {
  if ((await source.file(COLBERT_METADATA_FILE, { optional: true })) !== undefined) return true;
  const config = await source.json<{ architectures?: unknown }>("config.json", { optional: true });
  if (Array.isArray(config?.architectures) && config.architectures.includes("HF_ColBERT")) return true;
  if (source.kind !== "folder") return false;
  const weights = await source.file("model.safetensors", { optional: true });
  if (weights === undefined) return false;
  return (await readSafetensorsHeader(weights)).has("linear.weight");
}

/** {@link detectColbert} for a spec (hub id, folder, fixture:…). */
export async function isColbertModel(spec: string, options: Pick<EncoderOptions, "offline" | "cacheDir" | "revision" | "endpoint"> = {}): Promise<boolean> {
  return detectColbert(await openSource(spec, options));
}

/**
 * Loads a ColBERT checkpoint: its BERT as an encoder (`loadEncoder` with maxLength the longer of
 * the two lengths), `linear.weight` from model.safetensors and the settings of `artifact.metadata`.
 */
export async function loadColbert(spec: string, options: ColbertOptions = {}): Promise<ColbertEncoder> {
  const { queryMaxLength, docMaxLength, ...encoderOptions } = options;
  for (const [name, v] of [["queryMaxLength", queryMaxLength], ["docMaxLength", docMaxLength]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 3)) throw new Error(`loadColbert: ${name} must be a whole number >= 3 (room for [CLS], the marker and [SEP]), got ${String(v)}`);
  }
  const source = await openSource(spec, encoderOptions);
  const metadata = await source.json(COLBERT_METADATA_FILE, { optional: true });
  const settings = colbertSettings(metadata, `${spec}: ${COLBERT_METADATA_FILE}`);
  if (queryMaxLength !== undefined) settings.queryMaxlen = queryMaxLength;
  if (docMaxLength !== undefined) settings.docMaxlen = docMaxLength;
  const weights = await source.file("model.safetensors", { optional: true });
  if (weights === undefined) {
    const bin = await source.file("pytorch_model.bin", { optional: true });
    const why = bin === undefined ? "has no model.safetensors" : "has its weights in pytorch_model.bin only";
    throw new Error(
      `${spec} ${why}: ColBERT's projection (linear.weight) is read from model.safetensors. Convert the checkpoint once, e.g. in Python:\n` +
        `  from safetensors.torch import save_file; import torch\n` +
        `  save_file(torch.load("pytorch_model.bin", map_location="cpu"), "model.safetensors", metadata={"format": "pt"})`,
    );
  }
  if (!(await readSafetensorsHeader(weights)).has("linear.weight")) throw new Error(`${weights}: no linear.weight tensor — ${spec} is not a ColBERT checkpoint (HF_ColBERT saves its projection as linear.weight)`);
  const linear = await readSafetensorsTensor(weights, "linear.weight");
  if (!(linear.data instanceof Float32Array)) throw new Error(`${weights}: linear.weight is ${linear.dtype}; F32, F16 or BF16 expected`);
  const [rows, cols] = linear.shape;
  if (linear.shape.length !== 2 || rows !== settings.dim) {
    throw new Error(`${weights}: linear.weight has shape [${linear.shape.join(", ")}], expected [${settings.dim}, hidden] (dim ${settings.dim} from ${metadata === undefined ? "the default" : COLBERT_METADATA_FILE})`);
  }
  const encoder = await loadEncoder(spec, { ...encoderOptions, maxLength: Math.max(settings.queryMaxlen, settings.docMaxlen) });
  try {
    if (encoder.encodeTokenized === undefined) throw new Error(`${spec}: a ColBERT checkpoint needs a transformer encoder (got a ${encoder.backend} one)`);
    if (encoder.dim !== cols) throw new Error(`${weights}: linear.weight takes ${cols}-wide rows but the encoder's hidden size is ${encoder.dim}`);
    return new ColbertEncoder(encoder, settings, linear.data);
  } catch (e) {
    await encoder.dispose();
    throw e;
  }
}

/** A loaded ColBERT checkpoint: tokenization, rows and scores as the reference computes them (see the module comment). */
export class ColbertEncoder {
  /** The encoder's id with the lengths, e.g. "fixture:colbert+colbert(q32,d64)": equal ids give equal rows. */
  readonly id: string;
  readonly settings: Readonly<ColbertSettings>;
  readonly dim: number;
  readonly queryMarkerId: number;
  readonly docMarkerId: number;
  readonly maskId: number;
  /** Document token ids whose rows are dropped (empty without mask_punctuation). */
  readonly skiplist: ReadonlySet<number>;
  private readonly maskToken: string;

  constructor(
    /** BERT, as any encoder (its maxLength at least both lengths). */
    readonly encoder: Encoder,
    settings: ColbertSettings,
    /** `linear.weight` [dim, hidden] row-major. */
    private readonly linear: Float32Array,
  ) {
    const tokenizer = encoder.tokenizer;
    this.settings = { ...settings };
    this.dim = settings.dim;
    const longest = Math.max(settings.queryMaxlen, settings.docMaxlen);
    if (encoder.maxLength < longest) throw new Error(`ColBERT ${encoder.id}: the encoder takes ${encoder.maxLength} tokens, the checkpoint's lengths need ${longest}`);
    if (linear.length !== settings.dim * encoder.dim) throw new Error(`ColBERT ${encoder.id}: linear.weight has ${linear.length} values, expected ${settings.dim} × ${encoder.dim}`);
    // transformers' convert_tokens_to_ids gives the unknown token's id to a token the vocabulary lacks.
    const idOf = (token: string, what: string): number => {
      const id = tokenizer.tokenId(token) ?? tokenizer.unkTokenId;
      if (id === undefined) throw new Error(`ColBERT ${encoder.id}: ${what} ${JSON.stringify(token)} is not in the vocabulary and the tokenizer has no unknown token`);
      return id;
    };
    this.queryMarkerId = idOf(settings.queryTokenId, "query_token_id");
    this.docMarkerId = idOf(settings.docTokenId, "doc_token_id");
    if (tokenizer.maskTokenId === undefined) throw new Error(`ColBERT ${encoder.id}: the tokenizer has no mask token (tokenizer_config.json mask_token), which the query augmentation needs`);
    this.maskId = tokenizer.maskTokenId;
    this.maskToken = tokenString(tokenizer.definition, this.maskId) ?? "[MASK]";
    const skip = new Set<number>();
    if (settings.maskPunctuation) {
      for (const ch of PYTHON_PUNCTUATION) {
        const first = tokenizer.contentIds(ch)[0];
        if (first !== undefined) skip.add(first);
      }
    }
    this.skiplist = skip;
    this.id = `${encoder.id}+colbert(q${settings.queryMaxlen},d${settings.docMaxlen})`;
  }

  /** `[CLS] [Q] tokens… [SEP] [MASK]…`, exactly queryMaxlen tokens (QueryTokenizer.tensorize); the [MASK]s attended to only with attend_to_mask_tokens. */
  tokenizeQuery(text: string): TokenizedText {
    const t = this.marked(text, this.queryMarkerId, this.settings.queryTokenId, this.settings.queryMaxlen);
    const attention = t.ids.map(() => true);
    while (t.ids.length < this.settings.queryMaxlen) {
      t.ids.push(this.maskId);
      t.tokens.push(this.maskToken);
      t.offsets.push([0, 0]);
      t.special.push(true);
      attention.push(this.settings.attendToMaskTokens);
    }
    return { ...t, attention };
  }

  /** `[CLS] [D] tokens… [SEP]`, at most docMaxlen tokens (DocTokenizer.tensorize). */
  tokenizeDocument(text: string): TokenizedText {
    return this.marked(text, this.docMarkerId, this.settings.docTokenId, this.settings.docMaxlen);
  }

  /**
   * Every query row (the augmentation's included: the reference masks none of them), projected and
   * normalised. `language` / `languages` choose an X-MOD checkpoint's adapter per text (ColBERT-XM;
   * see languages.ts), as for any encoder.
   */
  async encodeQueries(texts: readonly string[], options: EncodeProgress & LanguageOptions = {}): Promise<ColbertRows[]> {
    const items = texts.map((t) => this.tokenizeQuery(t));
    const padId = this.encoder.tokenizer.padTokenId;
    return this.rows(texts, items, (id) => id !== padId, options);
  }

  /** The document rows that are neither padding nor in the skip-list, projected and normalised (languages as for queries). */
  async encodeDocuments(texts: readonly string[], options: EncodeProgress & LanguageOptions = {}): Promise<ColbertRows[]> {
    const items = texts.map((t) => this.tokenizeDocument(t));
    const padId = this.encoder.tokenizer.padTokenId;
    return this.rows(texts, items, (id) => id !== padId && !this.skiplist.has(id), options);
  }

  /** The score of one query's rows against one document's (see {@link colbertScore}), under the checkpoint's similarity. */
  score(query: ColbertRows, document: ColbertRows): number {
    return colbertScore(query, document, this.settings.similarity);
  }

  dispose(): Promise<void> {
    return this.encoder.dispose();
  }

  /** ". " + text tokenized to maxLength, position 1 (the ".") replaced by the marker; offsets into `text`. */
  private marked(text: string, markerId: number, markerToken: string, maxLength: number): TokenizedText {
    const t = this.encoder.tokenizer.tokenize(`. ${text}`, { maxLength });
    if (t.ids.length < 2) throw new Error(`ColBERT ${this.encoder.id}: the tokenizer gave ${t.ids.length} token(s) for ". ", no position for the marker`);
    const ids = [...t.ids];
    const tokens = [...t.tokens];
    const special = [...t.special];
    ids[1] = markerId;
    tokens[1] = markerToken;
    special[1] = true;
    const offsets = t.offsets.map(([s, e], i): [number, number] => (i === 1 || special[i] ? [0, 0] : [Math.max(0, s - 2), Math.max(0, e - 2)]));
    return { text, ids, tokens, offsets, special, truncated: t.truncated };
  }

  private async rows(texts: readonly string[], items: TokenizedText[], keep: (id: number) => boolean, options: EncodeProgress & LanguageOptions): Promise<ColbertRows[]> {
    const hidden = await this.encoder.encodeTokenized!(items, options);
    const H = this.encoder.dim;
    const D = this.dim;
    const W = this.linear;
    return hidden.map((h, i) => {
      const item = items[i]!;
      const kept = item.ids.flatMap((id, r) => (keep(id) ? [r] : []));
      const embeddings = new Float32Array(kept.length * D);
      const row = new Float64Array(D);
      kept.forEach((r, o) => {
        const x = h.embeddings.subarray(r * H, (r + 1) * H);
        let norm = 0;
        for (let k = 0; k < D; k++) {
          let s = 0;
          for (let j = 0; j < H; j++) s += W[k * H + j]! * x[j]!;
          row[k] = s;
          norm += s * s;
        }
        const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
        for (let k = 0; k < D; k++) embeddings[o * D + k] = row[k]! * inv;
      });
      return {
        text: texts[i]!,
        tokens: kept.map((r) => item.tokens[r]!),
        ids: kept.map((r) => item.ids[r]!),
        offsets: kept.map((r) => item.offsets[r]!),
        special: kept.map((r) => item.special[r]!),
        rows: kept.length,
        dim: D,
        embeddings,
      };
    });
  }
}

/** The string of an added token by id (tokenizer.json added_tokens), for display. */
function tokenString(definition: Readonly<Record<string, unknown>>, id: number): string | undefined {
  const added = definition.added_tokens;
  if (!Array.isArray(added)) return undefined;
  const hit = added.find((t: unknown) => (t as { id?: unknown }).id === id) as { content?: unknown } | undefined;
  return typeof hit?.content === "string" ? hit.content : undefined;
}

/**
 * ColBERT's late-interaction score of two row sets (rows unit length, as {@link ColbertEncoder}
 * gives them): "cosine" Σ_i max_j q_i·d_j (`colbert_score`), "l2" Σ_i max_j −‖q_i − d_j‖²
 * (`ColBERT.score`; for unit rows = 2·cosine score − 2·|q|, the same ranking). Float64 sums.
 * The reference's training-time "l2" sees a document's masked rows as zero vectors (−‖q‖² = −1
 * each, and the batch's padding too); here, as in its cosine search, they are left out.
 */
export function colbertScore(query: Pick<ColbertRows, "rows" | "dim" | "embeddings">, document: Pick<ColbertRows, "rows" | "dim" | "embeddings">, similarity: ColbertSimilarity = "cosine"): number {
  if (query.dim !== document.dim) throw new Error(`colbertScore: query rows are ${query.dim} wide, document rows ${document.dim}`);
  if (similarity !== "cosine" && similarity !== "l2") throw new Error(`colbertScore: similarity must be "cosine" or "l2", got ${JSON.stringify(similarity)}`);
  const { dim } = query;
  const q = query.embeddings;
  const d = document.embeddings;
  let total = 0;
  for (let i = 0; i < query.rows; i++) {
    let best = -Infinity;
    for (let j = 0; j < document.rows; j++) {
      let s = 0;
      if (similarity === "cosine") for (let k = 0; k < dim; k++) s += q[i * dim + k]! * d[j * dim + k]!;
      else
        for (let k = 0; k < dim; k++) {
          const diff = q[i * dim + k]! - d[j * dim + k]!;
          s -= diff * diff;
        }
      if (s > best) best = s;
    }
    total += best;
  }
  return total;
}
