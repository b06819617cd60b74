/**
 * Process-wide memos of the neural rankers, so that a bench running several rankers over one task
 * loads each model once and encodes each document once:
 *
 * - encoders, shared per (spec, loading options);
 * - token embeddings per text (L2-normalised rows, what MaxSim and LM-EMD consume), keyed by the
 *   encoder's vector-changing settings and the text itself. A token row does not depend on the
 *   other texts of its batch (padding is masked out of attention), so a text encoded for one
 *   ranker or one candidate set serves every other. Static encoders (no attention: a token's row
 *   is its embedding-table row, the same in every text) keep each vocabulary row once, normalised,
 *   in a {@link RowTable}, and a text as the row slots of its tokens ({@link TableTokenRows}): 4
 *   bytes a token instead of 4·dim, so a whole re-ranking run's candidates stay in the memo, and a
 *   new text whose tokens all have rows already needs only the encoder's fast tokenization;
 * - pooled sentence matrices per document set, keyed by the encoder settings, the pooling options
 *   and a hash of the texts in order. These are kept per set, not per text, because the faithful
 *   preset's padded pooling makes a vector depend on its batch neighbours.
 *
 * - LM-EMD's idf tables (document frequencies of one side's texts), keyed by the encoder's
 *   vector-changing settings (they fix the tokenization) and a hash of the texts in order, so that
 *   the 61k-document count of a collection is done once per process, not once per call.
 *
 * The embedding memos and the idf memo are bounded (least recently used entries go first);
 * `clearNeuralMemo()` empties everything and disposes the encoders.
 */
import type { Encoder, SentenceOptions } from "@crossrank/encode";
// node:crypto in Node, the same sha256 in JavaScript in a browser (package.json "imports").
import { textsHash } from "#texts-hash";
import { clearColbert } from "./colbert-memo.js";
import { clearCrossEncoders } from "./cross-encoder-ranker.js";
import { loadOnce } from "./common.js";
import { countFrequencies, type IdfTable } from "./idf.js";
import { type EncoderSettings, encoderOptions } from "./settings.js";

/** Token embeddings of one text: unit-length rows (a zero row stays zero), their token strings and which rows are CLS/SEP-like. */
export interface TokenRows {
  /** [length, dim] row-major, each row L2-normalised. */
  readonly data: Float32Array;
  /** 1 for special tokens (CLS, SEP…), 0 for content tokens; one per row. */
  readonly special: Uint8Array;
  /**
   * The vocabulary string of each row, as `encodeTokens` gave it ("##ing", "[CLS]"): what
   * LM-EMD's idf marginals look tokens up by. Empty when the caller did not pass them to `unitRows`.
   */
  readonly tokens: readonly string[];
  readonly length: number;
  readonly dim: number;
}

/**
 * A pooled sentence matrix: [rows, dim] row-major. Rows are L2-normalised when the ranker scores by
 * cosine (cosine = dot product of unit rows), the encoder's own vectors when it scores by dot product.
 */
export interface PooledMatrix {
  readonly rows: number;
  readonly dim: number;
  readonly data: Float32Array;
}

/** An encoder with the memo key of its vector-changing settings. */
export interface SharedEncoder {
  readonly encoder: Encoder;
  /** Spec + backend + dtype + maxLength: equal keys give equal token vectors (batch size and cache folder do not change them). */
  readonly vectorKey: string;
  /** Every loading option (the batch size included, which padded pooling depends on). */
  readonly loadKey: string;
}

const encoders = new Map<string, Promise<SharedEncoder>>();
/** Encoders handed over by {@link provideEncoder}, by spec. */
const provided = new Map<string, Encoder>();

/**
 * Makes every neural ranker of this process that names `spec` (with no loading options) use
 * `encoder` instead of loading the model: how a browser page, which cannot read model folders,
 * gives the rankers a static model built from bytes (`staticEncoderFromBytes` of
 * @crossrank/encode). `clearNeuralMemo` forgets it, and disposes it when a ranker has used it.
 */
export function provideEncoder(spec: string, encoder: Encoder): void {
  provided.set(spec, encoder);
  encoders.delete(JSON.stringify([spec, null, null, null, null, null]));
}

/**
 * The encoder for these settings, loaded on first use and shared by every ranker of the process
 * with the same spec and loading options. A failed load is forgotten, so a later call retries.
 */
export function sharedEncoder(settings: EncoderSettings): Promise<SharedEncoder> {
  const options = encoderOptions(settings);
  const key = JSON.stringify([settings.encoder, options.backend ?? null, options.dtype ?? null, options.batchSize ?? null, options.maxLength ?? null, options.cache ?? null]);
  const vectorKey = JSON.stringify([settings.encoder, options.backend ?? null, options.dtype ?? null, options.maxLength ?? null]);
  const given = provided.get(settings.encoder);
  if (given !== undefined && !encoders.has(key) && Object.keys(options).length > 0) {
    throw new Error(`encoder ${settings.encoder} was provided in memory (provideEncoder): loading options (${Object.keys(options).join(", ")}) do not apply to it`);
  }
  return loadOnce(encoders, key, async () => {
    if (given !== undefined) return { encoder: given, vectorKey, loadKey: key };
    // Imported on first use: the encoder stack (transformers.js, onnxruntime) takes a while to
    // load, and importing this package for BM25 alone should not pay for it.
    const { loadEncoder } = await import("@crossrank/encode");
    return { encoder: await loadEncoder(settings.encoder, options), vectorKey, loadKey: key };
  });
}

/**
 * Upper bound of the token memo in floats (1 GiB): mBERT token rows of a few thousand paragraphs.
 * A static encoder's text counts one unit per token (its row slots), its {@link RowTable} nothing.
 */
const TOKEN_MEMO_FLOATS = 2 ** 28;
/** Pooled matrices kept (each one collection's vectors under one pooling). */
const POOLED_MEMO_ENTRIES = 16;

interface TokenEntry {
  rows: Promise<TokenRows>;
  floats: number;
}
const tokenMemo = new Map<string, Map<string, TokenEntry>>();
let tokenMemoFloats = 0;
const pooledMemo = new Map<string, Promise<PooledMatrix>>();
/** Per vector key of a static encoder, its learned unit rows. */
const rowTables = new Map<string, RowTable>();
/** idf tables kept (each one side of one collection under one tokenization). */
const IDF_MEMO_ENTRIES = 8;
const idfMemo = new Map<string, Promise<IdfTable>>();

/**
 * Token embeddings (unit rows) of `texts`, in order, from the memo where present; the rest are
 * encoded in one `encodeTokens` call, shortest first so that batches carry little padding.
 * `onProgress(done, total)` counts the texts that had to be encoded. `languages` (parallel to
 * `texts`, for an encoder with language adapters, see ./languages.ts) are passed to the encoder and
 * key the memo with the text: the same text in two languages has two sets of rows.
 */
export async function tokenRows(shared: SharedEncoder, texts: readonly string[], onProgress?: (done: number, total: number) => void, languages?: readonly (string | undefined)[]): Promise<TokenRows[]> {
  let memo = tokenMemo.get(shared.vectorKey);
  if (memo === undefined) {
    memo = new Map();
    tokenMemo.set(shared.vectorKey, memo);
  }
  if (languages !== undefined && languages.length !== texts.length) throw new Error(`tokenRows: ${languages.length} languages for ${texts.length} texts`);
  const missing: { key: string; text: string; lang: string | undefined }[] = [];
  const resolvers = new Map<string, { resolve: (r: TokenRows) => void; reject: (e: unknown) => void }>();
  const found: Promise<TokenRows>[] = texts.map((text, i) => {
    const lang = languages?.[i];
    const key = languages === undefined ? text : `${lang ?? ""}\0${text}`;
    const hit = memo.get(key);
    if (hit !== undefined) {
      // Least recently used order: re-insert on use.
      memo.delete(key);
      memo.set(key, hit);
      return hit.rows;
    }
    const rows = new Promise<TokenRows>((resolve, reject) => resolvers.set(key, { resolve, reject }));
    // Rejections are reported through `found` below; this keeps an unobserved copy from warning.
    rows.catch(() => undefined);
    memo.set(key, { rows, floats: 0 });
    missing.push({ key, text, lang });
    return rows;
  });
  if (missing.length > 0) {
    missing.sort((a, b) => a.text.length - b.text.length);
    const missingTexts = missing.map((m) => m.text);
    try {
      const ids = staticIds(shared.encoder);
      const made =
        ids === undefined
          ? await encodedRows(shared.encoder, missingTexts, onProgress, languages === undefined ? undefined : missing.map((m) => m.lang))
          : await tableRows(shared, ids, missingTexts, onProgress);
      made.forEach((rows, i) => {
        const { key } = missing[i]!;
        const entry = memo.get(key);
        if (entry !== undefined) {
          entry.floats = rows instanceof TableTokenRows ? rows.length : rows.data.length;
          tokenMemoFloats += entry.floats;
        }
        resolvers.get(key)!.resolve(rows);
      });
    } catch (err) {
      for (const { key } of missing) {
        memo.delete(key);
        resolvers.get(key)!.reject(err);
      }
      throw err;
    }
    evictTokens();
  }
  return Promise.all(found);
}

/** Unit rows of `texts` from `encodeTokens`, in order (`languages` parallel to them, for an encoder with language adapters). */
async function encodedRows(encoder: Encoder, texts: readonly string[], onProgress?: (done: number, total: number) => void, languages?: readonly (string | undefined)[]): Promise<TokenRows[]> {
  const embedded = await encoder.encodeTokens(texts, { ...(onProgress ? { onProgress } : {}), ...(languages ? { languages } : {}) });
  if (embedded.length !== texts.length) throw new Error(`encodeTokens returned ${embedded.length} results for ${texts.length} texts`);
  return embedded.map((e, i) => unitRows(e.embeddings, e.special, e.dim, texts[i]!, e.tokens));
}

/**
 * A static encoder's own fast tokenization (`StaticEncoder.ids`: the token ids `encodeTokens`
 * keeps, in order — unknown token dropped, truncated to maxLength), or undefined for any other
 * encoder (whose rows depend on the whole text).
 */
function staticIds(encoder: Encoder): ((text: string) => Int32Array) | undefined {
  if (encoder.backend !== "static") return undefined;
  const ids = (encoder as Partial<{ ids: (text: string) => Int32Array }>).ids;
  return typeof ids === "function" ? (text) => ids.call(encoder, text) : undefined;
}

/**
 * Unit rows of `texts` (in order) under a static encoder, as {@link TableTokenRows} of the
 * encoder's {@link RowTable}: each text is tokenized by `ids`. Token ids the table has no row for
 * yet are taught by "lessons": the words of the texts that hold them, joined by spaces into texts
 * of at most maxLength tokens, encoded by `encodeTokens` (a few percent of the texts' length:
 * the 14.4k candidate descriptions of 200 DDTP queries, 6.2 M characters, teach 11.6k ids in 56
 * lessons of 97k characters) — a lesson's rows are learned
 * only when its `encodeTokens` tokens are exactly the ids `ids` gives for it. A text left with an
 * id no lesson taught is encoded whole and keeps its own rows. Every row is the one
 * `encodeTokens` + `unitRows` give for that text (a static row depends on the token id alone).
 */
async function tableRows(shared: SharedEncoder, ids: (text: string) => Int32Array, texts: readonly string[], onProgress?: (done: number, total: number) => void): Promise<TokenRows[]> {
  const { encoder } = shared;
  let table = rowTables.get(shared.vectorKey);
  if (table === undefined) {
    table = new RowTable(encoder.dim);
    rowTables.set(shared.vectorKey, table);
  }
  const idsOf = texts.map((t) => ids(t));
  const out = new Array<TokenRows | undefined>(texts.length).fill(undefined);
  // Teach the table the ids it lacks: from each text holding one, its words (whitespace-separated)
  // that hold one, packed into short lessons of at most maxLength tokens; every lesson's own
  // tokenization is checked against its encodeTokens output before its rows are learned.
  const pending = new Set<number>();
  const lessons: string[] = [];
  let lesson: string[] = [];
  let lessonTokens = 0;
  idsOf.forEach((list, i) => {
    if (list.every((id) => table.slot(id) >= 0 || pending.has(id))) return;
    for (const word of texts[i]!.split(/\s+/)) {
      if (word === "") continue;
      const wordIds = ids(word);
      if (wordIds.every((id) => table.slot(id) >= 0 || pending.has(id))) continue;
      for (const id of wordIds) pending.add(id);
      if (lessonTokens + wordIds.length > encoder.maxLength && lesson.length > 0) {
        lessons.push(lesson.join(" "));
        lesson = [];
        lessonTokens = 0;
      }
      lesson.push(word);
      lessonTokens += wordIds.length;
    }
  });
  if (lesson.length > 0) lessons.push(lesson.join(" "));
  if (lessons.length > 0) {
    const rows = await encodedRows(encoder, lessons, onProgress);
    rows.forEach((r, k) => {
      const list = ids(lessons[k]!);
      const same = r.dim === table.dim && r.length === list.length && r.tokens.every((token, t) => encoder.tokenizer.tokenId(token) === list[t]);
      if (same) for (let t = 0; t < r.length; t++) table.learn(list[t]!, r.tokens[t]!, r.special[t] === 1, r.data, t);
    });
  }
  const rest: number[] = [];
  idsOf.forEach((list, i) => {
    if (out[i] !== undefined) return;
    const slots = new Int32Array(list.length);
    for (let t = 0; t < list.length; t++) {
      const slot = table.slot(list[t]!);
      if (slot < 0) {
        rest.push(i);
        return;
      }
      slots[t] = slot;
    }
    out[i] = new TableTokenRows(table, slots);
  });
  if (rest.length > 0) {
    const rows = await encodedRows(
      encoder,
      rest.map((i) => texts[i]!),
    );
    rest.forEach((i, k) => (out[i] = rows[k]!));
  }
  onProgress?.(texts.length, texts.length);
  return out as TokenRows[];
}

/**
 * The unit token rows of one static encoder's vocabulary, learned from its `encodeTokens` output
 * (a static token row is the same in every text): one slot per token id seen, holding the row
 * (normalised as {@link unitRows} does), the token string and whether it is a special token.
 * Slots only grow; `data` is replaced (copied) when it does, so a captured `data` stays valid for
 * the slots it had.
 */
export class RowTable {
  /** [capacity, dim] row-major; slots [0, count) are filled. */
  data: Float32Array;
  count = 0;
  /** Per slot: the token string and 1 for a special token. */
  readonly tokens: string[] = [];
  special: Uint8Array;
  /** id → slot + 1 (0: no row yet). */
  private slots = new Int32Array(0);

  constructor(readonly dim: number) {
    this.data = new Float32Array(256 * dim);
    this.special = new Uint8Array(256);
  }

  /** The slot of token id `id`, or −1. */
  slot(id: number): number {
    return id >= 0 && id < this.slots.length ? this.slots[id]! - 1 : -1;
  }

  /** Stores row `r` of `rows` ([.., dim]) as token `id`'s (unless it has one). */
  learn(id: number, token: string, special: boolean, rows: Float32Array, r: number): void {
    if (!(Number.isInteger(id) && id >= 0) || this.slot(id) >= 0) return;
    if (id >= this.slots.length) {
      const grown = new Int32Array(Math.max(id + 1, this.slots.length * 2));
      grown.set(this.slots);
      this.slots = grown;
    }
    const slot = this.count;
    if (slot === this.special.length) {
      const data = new Float32Array(2 * slot * this.dim);
      data.set(this.data);
      this.data = data;
      const flags = new Uint8Array(2 * slot);
      flags.set(this.special);
      this.special = flags;
    }
    this.data.set(rows.subarray(r * this.dim, (r + 1) * this.dim), slot * this.dim);
    this.tokens.push(token);
    this.special[slot] = special ? 1 : 0;
    this.slots[id] = slot + 1;
    this.count++;
  }
}

/**
 * One text's token rows as slots of a {@link RowTable}. `data`, `special` and `tokens` are built
 * from the table on each access (read them once); LM-EMD hands `table.data` and the slots to the
 * solver directly.
 */
export class TableTokenRows implements TokenRows {
  constructor(
    readonly table: RowTable,
    readonly slots: Int32Array,
  ) {}

  get length(): number {
    return this.slots.length;
  }

  get dim(): number {
    return this.table.dim;
  }

  get data(): Float32Array {
    const { dim } = this.table;
    const src = this.table.data;
    const out = new Float32Array(this.slots.length * dim);
    this.slots.forEach((slot, t) => out.set(src.subarray(slot * dim, (slot + 1) * dim), t * dim));
    return out;
  }

  get special(): Uint8Array {
    const flags = this.table.special;
    return Uint8Array.from(this.slots, (slot) => flags[slot]!);
  }

  get tokens(): string[] {
    const tokens = this.table.tokens;
    return Array.from(this.slots, (slot) => tokens[slot]!);
  }
}

/** Drops least recently used texts (over all encoders) until the memo fits its bound. */
function evictTokens(): void {
  for (const memo of tokenMemo.values()) {
    for (const [text, entry] of memo) {
      if (tokenMemoFloats <= TOKEN_MEMO_FLOATS) return;
      if (entry.floats === 0) continue; // still being encoded
      memo.delete(text);
      tokenMemoFloats -= entry.floats;
    }
  }
}

/**
 * L2-normalised copy of one text's token rows (a zero row stays zero), with their token strings
 * when given; throws on a non-finite value.
 */
export function unitRows(embeddings: Float32Array, special: readonly boolean[], dim: number, text: string, tokens: readonly string[] = []): TokenRows {
  const length = special.length;
  if (embeddings.length !== length * dim) {
    throw new Error(`encodeTokens gave ${embeddings.length} values for ${length} tokens of dim ${dim}`);
  }
  if (tokens.length !== 0 && tokens.length !== length) throw new Error(`encodeTokens gave ${tokens.length} token strings for ${length} tokens`);
  const data = new Float32Array(embeddings.length);
  for (let r = 0; r < length; r++) {
    let sum = 0;
    for (let k = r * dim; k < (r + 1) * dim; k++) sum += embeddings[k]! * embeddings[k]!;
    if (!Number.isFinite(sum)) throw new Error(`the encoder produced a non-finite token embedding (token ${r} of ${JSON.stringify(text.slice(0, 60))})`);
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let k = r * dim; k < (r + 1) * dim; k++) data[k] = embeddings[k]! * inv;
  }
  return { data, special: Uint8Array.from(special, (s) => (s ? 1 : 0)), tokens, length, dim };
}

/** How pooled vectors are compared: "cosine" (rows L2-normalised, then dot products) or "dot" (the vectors as the encoder gives them). */
export type PooledSimilarity = "cosine" | "dot";

/**
 * Pooled sentence vectors of `texts` (in order) under `options`, L2-normalised here for "cosine"
 * whatever the options say, as the encoder gives them for "dot"; memoised per (encoder, options,
 * similarity, texts).
 */
export function pooledMatrix(
  shared: SharedEncoder,
  texts: readonly string[],
  options: Omit<SentenceOptions, "onProgress">,
  similarity: PooledSimilarity,
  onProgress?: (done: number, total: number) => void,
): Promise<PooledMatrix> {
  // Key on the settings that change vectors, including the batch size: faithful padded pooling
  // divides by the padded batch length, so the batching is part of the result.
  // Per-text languages (X-MOD encoders only, see ./languages.ts) enter the key as a hash.
  const { languages, ...vectorOptions } = options;
  const key = JSON.stringify([shared.loadKey, shared.encoder.id, vectorOptions, languages === undefined ? null : textsHash(languages.map((l) => l ?? "")), similarity, texts.length, textsHash(texts)]);
  const hit = pooledMemo.get(key);
  if (hit !== undefined) {
    pooledMemo.delete(key);
    pooledMemo.set(key, hit);
    return hit;
  }
  const result = pooledRows(shared.encoder, texts, options, similarity, onProgress);
  pooledMemo.set(key, result);
  result.catch(() => {
    if (pooledMemo.get(key) === result) pooledMemo.delete(key);
  });
  while (pooledMemo.size > POOLED_MEMO_ENTRIES) pooledMemo.delete(pooledMemo.keys().next().value!);
  return result;
}

/** Encodes `texts` into a matrix, its rows L2-normalised for "cosine" (no memo). */
export async function pooledRows(
  encoder: Encoder,
  texts: readonly string[],
  options: Omit<SentenceOptions, "onProgress">,
  similarity: PooledSimilarity,
  onProgress?: (done: number, total: number) => void,
): Promise<PooledMatrix> {
  const { rows, dim, data } = await encoder.encode(texts, { ...options, ...(onProgress ? { onProgress } : {}) });
  if (rows !== texts.length || data.length !== rows * dim) {
    throw new Error(`encode returned ${rows}×${dim} (${data.length} values) for ${texts.length} texts`);
  }
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let k = r * dim; k < (r + 1) * dim; k++) sum += data[k]! * data[k]!;
    if (!Number.isFinite(sum)) throw new Error(`the encoder produced a non-finite sentence vector for text ${r} (${JSON.stringify(texts[r]!.slice(0, 60))})`);
    const scale = similarity === "dot" ? 1 : sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let k = r * dim; k < (r + 1) * dim; k++) out[k] = data[k]! * scale;
  }
  return { rows, dim, data: out };
}

/**
 * The idf table of `texts` (one side: every document, or every query, of an input) under the
 * shared encoder: counted by `countFrequencies` on first use (`rows[i]` the token rows of text i
 * where encoded, else undefined: it is only tokenized), then kept and handed out again for the same
 * texts in the same order under the same vector settings. A table does not depend on which texts
 * happened to be encoded (`countFrequencies` reads the same tokens either way), so the key is the
 * texts alone. Do not count more texts into a returned table.
 */
export function idfTable(shared: SharedEncoder, texts: readonly string[], rows: readonly (TokenRows | undefined)[]): Promise<IdfTable> {
  const key = JSON.stringify([shared.vectorKey, texts.length, textsHash(texts)]);
  const hit = idfMemo.get(key);
  if (hit !== undefined) {
    idfMemo.delete(key);
    idfMemo.set(key, hit);
    return hit;
  }
  const result = countFrequencies(shared.encoder, texts, rows);
  idfMemo.set(key, result);
  result.catch(() => {
    if (idfMemo.get(key) === result) idfMemo.delete(key);
  });
  while (idfMemo.size > IDF_MEMO_ENTRIES) idfMemo.delete(idfMemo.keys().next().value!);
  return result;
}

/**
 * Empties the embedding memos and disposes every shared encoder and cross-encoder (e.g. between suites of a bench,
 * or at the end of a test file). Rankers created before keep working: they reload on next use.
 */
export async function clearNeuralMemo(): Promise<void> {
  tokenMemo.clear();
  tokenMemoFloats = 0;
  pooledMemo.clear();
  rowTables.clear();
  idfMemo.clear();
  const loaded = [...encoders.values()];
  encoders.clear();
  provided.clear();
  for (const p of loaded) {
    const shared = await p.catch(() => undefined);
    await shared?.encoder.dispose();
  }
  await clearCrossEncoders();
  await clearColbert();
}

/** Sizes of the memos, for tests and diagnostics. */
export function neuralMemoStats(): { encoders: number; tokenTexts: number; tokenFloats: number; pooledSets: number; idfTables: number } {
  let tokenTexts = 0;
  for (const m of tokenMemo.values()) tokenTexts += m.size;
  return { encoders: encoders.size, tokenTexts, tokenFloats: tokenMemoFloats, pooledSets: pooledMemo.size, idfTables: idfMemo.size };
}
