/**
 * Hugging Face tokenizers through `@huggingface/transformers`, with what ranking needs on top:
 * padded int64 batches, truncation, sliding windows, special-token flags and character offsets.
 */
import type { PreTrainedTokenizer } from "@huggingface/transformers";
import type { ModelSource, ResolveOptions } from "./model-source.js";
import { OffsetAligner, type TokenScheme } from "./offsets.js";

/** One text, tokenized: parallel arrays over its tokens, special tokens included. */
export interface TokenizedText {
  text: string;
  ids: number[];
  /** Token strings as in the vocabulary ("##ing", "[CLS]"). */
  tokens: string[];
  /** UTF-16 [start, end) into `text`; [0, 0] for special tokens. */
  offsets: [number, number][];
  /** True for CLS/SEP/other added special tokens. */
  special: boolean[];
  /** Content was cut to maxLength. */
  truncated: boolean;
  /**
   * Per token, whether the attention mask covers it (`encodeBatch` writes 1 for true and absent
   * entries, 0 for false): a token the others must not attend to still gets its row, as ColBERT's
   * [MASK] query padding with `attend_to_mask_tokens` false. Absent: every token is attended to.
   */
  attention?: boolean[];
}

/** A padded batch in the row-major int64 layout ONNX BERT models take. */
export interface EncodedBatch {
  /** [batchSize, seqLength] row-major, padded with padTokenId. */
  inputIds: BigInt64Array;
  /** 1 = real token, 0 = padding (and an item's tokens its `attention` leaves out). */
  attentionMask: BigInt64Array;
  /** Zeros. */
  tokenTypeIds: BigInt64Array;
  batchSize: number;
  seqLength: number;
  /** Unpadded, one per input. */
  items: TokenizedText[];
}

/** A padded batch of text pairs (a cross-encoder's input): `[CLS] a [SEP] b [SEP]` or the model's own template. */
export interface EncodedPairs {
  /** [batchSize, seqLength] row-major, padded with padTokenId. */
  inputIds: BigInt64Array;
  /** 1 = real token, 0 = padding. */
  attentionMask: BigInt64Array;
  /** The template's segment ids (BERT: 0 for the first text and its specials, 1 for the second). */
  tokenTypeIds: BigInt64Array;
  batchSize: number;
  seqLength: number;
  /** Per pair, whether its texts were cut to fit maxLength. */
  truncated: boolean[];
}

/** The post-processor's pair template: specials before, between and after the two texts, and each part's segment id. */
interface PairTemplate {
  parts: [EncodedContent, EncodedContent, EncodedContent];
  /** Segment ids of the prefix, text a, middle, text b and suffix. */
  typeIds: [number, number, number, number, number];
}

/** Options of {@link Tokenizer.tokenize} and {@link Tokenizer.encodeBatch}. */
export interface TokenizeOptions {
  /** Most tokens per text, special tokens included; default modelMaxLength. */
  maxLength?: number;
  /** Cut texts longer than maxLength (default true); false → Error when too long. */
  truncation?: boolean;
  /** Add the model's template tokens ([CLS] … [SEP]); default true. */
  addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.encodeBatch}. */
export interface EncodeBatchOptions extends TokenizeOptions {
  /** "longest" (default): pad to the longest item; "max_length": pad every row to maxLength. */
  padding?: "longest" | "max_length";
}

/** Options of {@link Tokenizer.windows}. */
export interface WindowOptions {
  /** Most tokens per window, special tokens included. */
  maxLength: number;
  /** Content tokens shared by consecutive windows. */
  stride: number;
}

/** model_max_length values above this are "no limit" sentinels (transformers writes int(1e30)). */
const SENTINEL_LENGTH = 1_000_000;
/** What a model without a usable length limit gets: BERT's 512. */
const FALLBACK_MAX_LENGTH = 512;

interface EncodedContent {
  ids: number[];
  tokens: string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every component in a tokenizer.json pipeline part, looking into Sequence containers. */
function components(part: unknown): Json[] {
  if (!isObject(part)) return [];
  const nested = [part.pretokenizers, part.decoders, part.normalizers, part.processors].filter(Array.isArray);
  return [part, ...nested.flat().flatMap(components)];
}

/** Reads from tokenizer.json how tokens are spelled, for offset alignment. */
function tokenScheme(json: Json, tokenizer: PreTrainedTokenizer): TokenScheme {
  const model = isObject(json.model) ? json.model : {};
  const parts = [...components(json.pre_tokenizer), ...components(json.decoder)];
  const markers = new Set<string>();
  for (const c of parts) {
    if (c.type === "Metaspace") markers.add(typeof c.replacement === "string" ? c.replacement : "\u2581");
    // Decoders like Replace("▁" → " ") (Llama-style SentencePiece) name the marker too.
    const pattern = isObject(c.pattern) ? c.pattern.String : undefined;
    if (c.type === "Replace" && c.content === " " && typeof pattern === "string" && [...pattern].length === 1) {
      markers.add(pattern);
    }
  }
  const inner = tokenizer._tokenizer;
  const normalizer = inner.normalizer;
  // Old tokenizer.json files leave out model.type; tokenizers.js then infers WordPiece this way.
  const wordPiece =
    model.type === "WordPiece" ||
    (model.type === undefined && Object.hasOwn(model, "continuing_subword_prefix") && !Object.hasOwn(model, "merges"));
  const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
  return {
    normalize: normalizer === null ? null : (s) => normalizer(s),
    byteLevel: parts.some((c) => c.type === "ByteLevel"),
    continuingPrefix: text(model.continuing_subword_prefix),
    endOfWordSuffix: text(model.end_of_word_suffix),
    spaceMarkers: [...markers],
    unkToken: inner.model?.unk_token ?? undefined,
    unkIsWord: wordPiece,
  };
}

/** The source of a tokenizer built from in-memory files ({@link Tokenizer.fromJSON}): it has no files to give. */
function memorySource(spec: string): ModelSource {
  const none = (relPath: string): Promise<never> => Promise.reject(new Error(`${spec} was built from in-memory files: it has no ${relPath} to read`));
  return { spec, kind: "memory", folder: "", file: none, json: none };
}

function checkLength(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${value}`);
}

/** A loaded tokenizer; see the package README for the offset semantics. */
export class Tokenizer {
  /** Longest input the model takes, special tokens included. */
  readonly modelMaxLength: number;
  readonly padTokenId: number;
  /** The mask token's id (`mask_token` of tokenizer_config.json: BERT's [MASK], XLM-R's <mask>), undefined when the tokenizer has none. */
  readonly maskTokenId: number | undefined;
  /** Number of token ids (highest id + 1, added tokens included). */
  readonly vocabSize: number;
  private readonly aligner: OffsetAligner;
  private readonly specialIds: ReadonlySet<number>;
  /** The unknown token's id, undefined when the tokenizer has none. */
  readonly unkTokenId: number | undefined;
  /** Template tokens the post-processor puts around a single text ([CLS] / [SEP]). */
  private readonly prefix: EncodedContent;
  private readonly suffix: EncodedContent;

  private constructor(
    readonly source: ModelSource,
    private readonly hf: PreTrainedTokenizer,
    modelMaxLength: number,
  ) {
    this.modelMaxLength = modelMaxLength;
    this.padTokenId = hf.pad_token_id ?? hf.eos_token_id ?? 0;
    this.maskTokenId = hf.mask_token_id ?? undefined;
    this.vocabSize = hf._tokenizer.model?.vocab.length ?? hf.get_vocab().size;
    this.specialIds = new Set(hf.all_special_ids);
    this.unkTokenId = hf.unk_token_id ?? undefined;
    this.aligner = new OffsetAligner(tokenScheme(hf._tokenizerJSON as Json, hf));
    [this.prefix, this.suffix] = this.template();
  }

  /**
   * Loads the tokenizer of a hub id or model folder (or an already resolved source). Its files go
   * through {@link ModelSource.file}, so hub ids are downloaded and cached by this package; then
   * transformers.js' AutoTokenizer reads the local folder with `local_files_only`, so it never
   * touches the network itself.
   */
  static async load(spec: string | ModelSource, options: ResolveOptions = {}): Promise<Tokenizer> {
    // Imported here so that a browser bundle of this module (see fromJSON) leaves out the file and hub code.
    const source = typeof spec === "string" ? await (await import("./model-source.js")).resolveModel(spec, options) : spec;
    await source.file("tokenizer.json", { purpose: "the tokenizer (vocabulary and pipeline)" });
    const tokenizerConfig = await source.json<Json>("tokenizer_config.json", {
      purpose: "the tokenizer (special tokens, model_max_length; transformers.js requires it)",
    });
    // Not read by transformers.js, but fetched so that a cached hub folder is a complete tokenizer
    // folder for other tools (Python's AutoTokenizer reads it).
    await source.file("special_tokens_map.json", { optional: true });
    const config = await source.json<Json>("config.json", { optional: true });
    // Imported here so that using the model-source part of this package does not load
    // onnxruntime and the rest of transformers.js.
    const { AutoTokenizer } = await import("@huggingface/transformers");
    const hf = await AutoTokenizer.from_pretrained(source.folder, { local_files_only: true });
    return new Tokenizer(source, hf, maxLengthOf(tokenizerConfig, config));
  }

  /**
   * A tokenizer from the parsed contents of its files, with no file system or network (a browser
   * page that fetched them itself): `tokenizer` is tokenizer.json, `tokenizerConfig`
   * tokenizer_config.json (default `{}`: no special tokens beyond tokenizer.json's, as model2vec
   * folders ship), `config` config.json. The class is picked as transformers.js' AutoTokenizer picks
   * it (models/auto/tokenization_auto.js: `tokenizer_class` without its "Fast" suffix, else
   * PreTrainedTokenizer), so the result tokenizes exactly as {@link load} does on a folder holding
   * the same files. `spec` names the model in error messages.
   */
  static async fromJSON(spec: string, files: { tokenizer: Json; tokenizerConfig?: Json; config?: Json }): Promise<Tokenizer> {
    if (!isObject(files.tokenizer)) throw new Error(`${spec}: tokenizer.json must be a JSON object`);
    const tokenizerConfig = files.tokenizerConfig ?? {};
    const transformers = await import("@huggingface/transformers");
    const className = typeof tokenizerConfig.tokenizer_class === "string" ? tokenizerConfig.tokenizer_class.replace(/Fast$/, "") : "PreTrainedTokenizer";
    const named = (transformers as unknown as Record<string, unknown>)[className];
    const base = transformers.PreTrainedTokenizer;
    const cls = typeof named === "function" && (named === base || named.prototype instanceof base) ? (named as typeof base) : base;
    const hf = new cls(files.tokenizer, tokenizerConfig);
    return new Tokenizer(memorySource(spec), hf, maxLengthOf(tokenizerConfig, files.config));
  }

  /** Tokenizes one text, truncating it to maxLength (special tokens included) unless told not to. */
  tokenize(text: string, options: TokenizeOptions = {}): TokenizedText {
    const maxLength = options.maxLength ?? this.modelMaxLength;
    const addSpecial = options.addSpecialTokens ?? true;
    checkLength("maxLength", maxLength, 1);
    const content = this.encodeText(text);
    const room = maxLength - (addSpecial ? this.prefix.ids.length + this.suffix.ids.length : 0);
    if (room < 0) throw new Error(`maxLength ${maxLength} leaves no room for the special tokens`);
    const truncated = content.ids.length > room;
    if (truncated && options.truncation === false) {
      const total = content.ids.length + maxLength - room;
      throw new Error(
        `text has ${total} tokens (special tokens included), more than maxLength ${maxLength}; ` +
          `enable truncation or use windows()`,
      );
    }
    const offsets = this.aligner.align(text, content.tokens);
    return this.assemble(text, content, offsets, 0, Math.min(room, content.ids.length), addSpecial, truncated);
  }

  /**
   * Tokenizes texts (or takes already tokenized items, e.g. windows) and pads them into one
   * batch: to the longest item (padding "longest", default) or to maxLength ("max_length").
   * Items longer than maxLength are an Error (tokenize them with that maxLength first).
   */
  encodeBatch(inputs: readonly (string | TokenizedText)[], options: EncodeBatchOptions = {}): EncodedBatch {
    const maxLength = options.maxLength ?? this.modelMaxLength;
    checkLength("maxLength", maxLength, 1);
    const items = inputs.map((input, i) => {
      if (typeof input === "string") return this.tokenize(input, options);
      if (input.ids.length > maxLength) {
        throw new Error(`batch item ${i} has ${input.ids.length} tokens, more than maxLength ${maxLength}`);
      }
      return input;
    });
    const seqLength = options.padding === "max_length" ? maxLength : Math.max(0, ...items.map((t) => t.ids.length));
    const size = items.length * seqLength;
    const inputIds = new BigInt64Array(size).fill(BigInt(this.padTokenId));
    const attentionMask = new BigInt64Array(size);
    items.forEach((item, row) => {
      const base = row * seqLength;
      item.ids.forEach((id, k) => {
        inputIds[base + k] = BigInt(id);
        attentionMask[base + k] = item.attention?.[k] === false ? 0n : 1n;
      });
    });
    return { inputIds, attentionMask, tokenTypeIds: new BigInt64Array(size), batchSize: items.length, seqLength, items };
  }

  /**
   * Sliding windows over a long text: each window has at most maxLength tokens including the
   * special tokens, consecutive windows share `stride` content tokens (Hugging Face's meaning of
   * stride); a short text gives one window. Offsets stay relative to the whole text. Windows of a
   * text that needed more than one are marked truncated (each holds only part of it).
   */
  windows(text: string, options: WindowOptions): TokenizedText[] {
    const { maxLength, stride } = options;
    checkLength("maxLength", maxLength, 1);
    checkLength("stride", stride, 0);
    const room = maxLength - this.prefix.ids.length - this.suffix.ids.length;
    if (room < 1) throw new Error(`maxLength ${maxLength} leaves no room for content between the special tokens`);
    if (stride >= room) {
      throw new Error(`stride ${stride} must be smaller than the ${room} content tokens a window of maxLength ${maxLength} holds`);
    }
    const content = this.encodeText(text);
    const offsets = this.aligner.align(text, content.tokens);
    const total = content.ids.length;
    const several = total > room;
    const out: TokenizedText[] = [];
    for (let start = 0; ; start += room - stride) {
      const end = Math.min(start + room, total);
      out.push(this.assemble(text, content, offsets, start, end, true, several));
      if (end >= total) return out;
    }
  }

  /**
   * Encodes text pairs as the model's post-processor joins them (`[CLS] a [SEP] b [SEP]` with
   * segment ids 0 / 1 for BERT, `<s> a </s></s> b </s>` for XLM-R) and pads them into one batch.
   * A pair longer than maxLength (default modelMaxLength, special tokens included) is cut as
   * Hugging Face's `truncation=True` ("longest_first") cuts it: one token at a time from the end of
   * the longer text, the second on a tie, so a short query keeps all its tokens.
   */
  encodePairs(pairs: readonly (readonly [string, string])[], options: { maxLength?: number } = {}): EncodedPairs {
    const maxLength = options.maxLength ?? this.modelMaxLength;
    checkLength("maxLength", maxLength, 1);
    const template = (this.pairTemplate ??= this.findPairTemplate());
    const [prefix, middle, suffix] = template.parts;
    const room = maxLength - prefix.ids.length - middle.ids.length - suffix.ids.length;
    if (room < 2) throw new Error(`maxLength ${maxLength} leaves no room for two texts between the special tokens`);
    const rows: { ids: number[]; types: number[] }[] = [];
    const truncated: boolean[] = [];
    for (const [first, second] of pairs) {
      let a = this.encodeText(first).ids;
      let b = this.encodeText(second).ids;
      const cut = a.length + b.length > room;
      if (cut) {
        // longest_first, as the Python tokenizers' truncate_sequences: remove from the longer text.
        let na = a.length;
        let nb = b.length;
        while (na + nb > room) {
          if (na > nb) na--;
          else nb--;
        }
        a = a.slice(0, na);
        b = b.slice(0, nb);
      }
      const [tp, ta, tm, tb, ts] = template.typeIds;
      rows.push({
        ids: [...prefix.ids, ...a, ...middle.ids, ...b, ...suffix.ids],
        types: [...prefix.ids.map(() => tp), ...a.map(() => ta), ...middle.ids.map(() => tm), ...b.map(() => tb), ...suffix.ids.map(() => ts)],
      });
      truncated.push(cut);
    }
    const seqLength = Math.max(0, ...rows.map((r) => r.ids.length));
    const size = rows.length * seqLength;
    const inputIds = new BigInt64Array(size).fill(BigInt(this.padTokenId));
    const attentionMask = new BigInt64Array(size);
    const tokenTypeIds = new BigInt64Array(size);
    rows.forEach((r, row) => {
      const base = row * seqLength;
      r.ids.forEach((id, k) => {
        inputIds[base + k] = BigInt(id);
        attentionMask[base + k] = 1n;
        tokenTypeIds[base + k] = BigInt(r.types[k]!);
      });
    });
    return { inputIds, attentionMask, tokenTypeIds, batchSize: rows.length, seqLength, truncated };
  }

  private pairTemplate: PairTemplate | undefined;

  /**
   * The post-processor's pair template, found as {@link template} finds the single one: a probe
   * pair encoded with special tokens and segment ids, and its two texts located in it.
   */
  private findPairTemplate(): PairTemplate {
    const a = this.encodeText("a").ids;
    const b = this.encodeText("b").ids;
    const full = this.hf._tokenizer.encode("a", { text_pair: "b", add_special_tokens: true, return_token_type_ids: true });
    const at = (ids: number[], from: number): number => {
      for (let k = from; k + ids.length <= full.ids.length; k++) if (ids.every((id, j) => full.ids[k + j] === id)) return k;
      throw new Error(`${this.source.spec}: cannot find the pair template of this tokenizer (a probe pair's texts are not in its encoding)`);
    };
    const i = at(a, 0);
    const j = at(b, i + a.length);
    const part = (from: number, to: number): EncodedContent => ({ ids: full.ids.slice(from, to), tokens: full.tokens.slice(from, to) });
    const types = full.token_type_ids ?? full.ids.map(() => 0);
    const typeAt = (k: number, fallback: number): number => (k < full.ids.length && k >= 0 ? types[k]! : fallback);
    const last = full.ids.length - 1;
    return {
      parts: [part(0, i), part(i + a.length, j), part(j + b.length, full.ids.length)],
      typeIds: [typeAt(0, 0), types[i]!, typeAt(i + a.length, types[i]!), types[j]!, typeAt(last, types[j]!)],
    };
  }

  /**
   * Token ids of `text` without special tokens, offsets or truncation: the fast path for callers
   * that need ids only (static embedding models look rows up by id; the offset alignment is most of
   * {@link tokenize}'s cost).
   */
  contentIds(text: string): number[] {
    return this.hf._tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** The parsed `tokenizer.json` (read-only), for callers that adapt to the tokenizer's pipeline (normalizer, pre-tokenizer, model). */
  get definition(): Readonly<Record<string, unknown>> {
    return this.hf._tokenizerJSON as Record<string, unknown>;
  }

  /** The id of a token string in the vocabulary (added tokens included), or undefined. */
  tokenId(token: string): number | undefined {
    // get_vocab() builds a new map of the whole vocabulary on every call (64k entries for a static
    // model): callers look up a token per document token, so the map is built once.
    if (this.vocabulary === undefined) {
      const vocab = this.hf.get_vocab() as Map<string, number> | Record<string, number>;
      this.vocabulary = vocab instanceof Map ? vocab : new Map(Object.entries(vocab));
    }
    return this.vocabulary.get(token);
  }

  /** The vocabulary (token → id), built on first use by {@link tokenId}. */
  private vocabulary: Map<string, number> | undefined;

  private encodeText(text: string, addSpecialTokens = false): EncodedContent {
    const { ids, tokens } = this.hf._tokenizer.encode(text, { add_special_tokens: addSpecialTokens });
    return { ids, tokens };
  }

  /** The tokens content[from, to) with the template around them when asked. */
  private assemble(
    text: string,
    content: EncodedContent,
    offsets: readonly [number, number][],
    from: number,
    to: number,
    addSpecial: boolean,
    truncated: boolean,
  ): TokenizedText {
    const ids: number[] = [];
    const tokens: string[] = [];
    const spans: [number, number][] = [];
    const special: boolean[] = [];
    const template = (part: EncodedContent): void => {
      ids.push(...part.ids);
      tokens.push(...part.tokens);
      for (let k = 0; k < part.ids.length; k++) {
        spans.push([0, 0]);
        special.push(true);
      }
    };
    if (addSpecial) template(this.prefix);
    for (let k = from; k < to; k++) {
      const id = content.ids[k]!;
      ids.push(id);
      tokens.push(content.tokens[k]!);
      // A special token typed in the text ("[SEP]") is special; an unknown word's [UNK] is content.
      const isSpecial = this.specialIds.has(id) && id !== this.unkTokenId;
      special.push(isSpecial);
      spans.push(isSpecial ? [0, 0] : [...offsets[k]!]);
    }
    if (addSpecial) template(this.suffix);
    return { text, ids, tokens, offsets: spans, special, truncated };
  }

  /**
   * The post-processor's template for one text, found by encoding a probe with and without
   * special tokens: what comes before and after the content.
   */
  private template(): [EncodedContent, EncodedContent] {
    const probe = "a";
    const full = this.encodeText(probe, true);
    const content = this.encodeText(probe);
    const n = content.ids.length;
    for (let k = 0; k + n <= full.ids.length; k++) {
      if (content.ids.every((id, j) => full.ids[k + j] === id)) {
        return [
          { ids: full.ids.slice(0, k), tokens: full.tokens.slice(0, k) },
          { ids: full.ids.slice(k + n), tokens: full.tokens.slice(k + n) },
        ];
      }
    }
    throw new Error(
      `tokenizer of ${this.source.spec}: its post-processor does not wrap a text in fixed special tokens, which this package needs`,
    );
  }
}

/** tokenizer_config's model_max_length, capped by config.json's max_position_embeddings. */
function maxLengthOf(tokenizerConfig: Json | undefined, config: Json | undefined): number {
  const limits: number[] = [];
  const declared = tokenizerConfig?.model_max_length;
  if (typeof declared === "number" && Number.isFinite(declared) && declared > 0 && declared < SENTINEL_LENGTH) {
    limits.push(Math.floor(declared));
  }
  const positions = config?.max_position_embeddings;
  if (typeof positions === "number" && Number.isInteger(positions) && positions > 0) limits.push(positions);
  return limits.length === 0 ? FALLBACK_MAX_LENGTH : Math.min(...limits);
}
