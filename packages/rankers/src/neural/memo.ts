/**
 * Process-wide memos of the neural rankers, so that a bench running several rankers over one task
 * loads each model once and encodes each document once:
 *
 * - encoders, shared per (spec, loading options);
 * - token embeddings per text (L2-normalised rows, what MaxSim and LM-EMD consume), keyed by the
 *   encoder's vector-changing settings and the text itself. A token row does not depend on the
 *   other texts of its batch (padding is masked out of attention), so a text encoded for one
 *   ranker or one candidate set serves every other;
 * - pooled sentence matrices per document set, keyed by the encoder settings, the pooling options
 *   and a hash of the texts in order. These are kept per set, not per text, because the faithful
 *   preset's padded pooling makes a vector depend on its batch neighbours.
 *
 * Both embedding memos are bounded (least recently used entries go first); `clearNeuralMemo()`
 * empties everything and disposes the encoders.
 */
import { createHash } from "node:crypto";
import type { Encoder, SentenceOptions } from "@crossrank/encode";
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

/** A pooled sentence matrix: [rows, dim] row-major, each row L2-normalised (cosine = dot product). */
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

/**
 * The encoder for these settings, loaded on first use and shared by every ranker of the process
 * with the same spec and loading options. A failed load is forgotten, so a later call retries.
 */
export function sharedEncoder(settings: EncoderSettings): Promise<SharedEncoder> {
  const options = encoderOptions(settings);
  const key = JSON.stringify([settings.encoder, options.backend ?? null, options.dtype ?? null, options.batchSize ?? null, options.maxLength ?? null, options.cache ?? null]);
  let shared = encoders.get(key);
  if (shared === undefined) {
    const vectorKey = JSON.stringify([settings.encoder, options.backend ?? null, options.dtype ?? null, options.maxLength ?? null]);
    // Imported on first use: the encoder stack (transformers.js, onnxruntime) takes a while to
    // load, and importing this package for BM25 alone should not pay for it.
    shared = import("@crossrank/encode")
      .then(({ loadEncoder }) => loadEncoder(settings.encoder, options))
      .then((encoder) => ({ encoder, vectorKey, loadKey: key }));
    encoders.set(key, shared);
    shared.catch(() => {
      if (encoders.get(key) === shared) encoders.delete(key);
    });
  }
  return shared;
}

/** Upper bound of the token memo in floats (1 GiB): mBERT token rows of a few thousand paragraphs. */
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

/**
 * Token embeddings (unit rows) of `texts`, in order, from the memo where present; the rest are
 * encoded in one `encodeTokens` call, shortest first so that batches carry little padding.
 * `onProgress(done, total)` counts the texts that had to be encoded.
 */
export async function tokenRows(shared: SharedEncoder, texts: readonly string[], onProgress?: (done: number, total: number) => void): Promise<TokenRows[]> {
  let memo = tokenMemo.get(shared.vectorKey);
  if (memo === undefined) {
    memo = new Map();
    tokenMemo.set(shared.vectorKey, memo);
  }
  const missing: string[] = [];
  const resolvers = new Map<string, { resolve: (r: TokenRows) => void; reject: (e: unknown) => void }>();
  const found: Promise<TokenRows>[] = texts.map((text) => {
    const hit = memo.get(text);
    if (hit !== undefined) {
      // Least recently used order: re-insert on use.
      memo.delete(text);
      memo.set(text, hit);
      return hit.rows;
    }
    const rows = new Promise<TokenRows>((resolve, reject) => resolvers.set(text, { resolve, reject }));
    // Rejections are reported through `found` below; this keeps an unobserved copy from warning.
    rows.catch(() => undefined);
    memo.set(text, { rows, floats: 0 });
    missing.push(text);
    return rows;
  });
  if (missing.length > 0) {
    missing.sort((a, b) => a.length - b.length);
    try {
      const embedded = await shared.encoder.encodeTokens(missing, onProgress ? { onProgress } : {});
      if (embedded.length !== missing.length) throw new Error(`encodeTokens returned ${embedded.length} results for ${missing.length} texts`);
      embedded.forEach((e, i) => {
        const text = missing[i]!;
        const rows = unitRows(e.embeddings, e.special, e.dim, text, e.tokens);
        const entry = memo.get(text);
        if (entry !== undefined) {
          entry.floats = rows.data.length;
          tokenMemoFloats += rows.data.length;
        }
        resolvers.get(text)!.resolve(rows);
      });
    } catch (err) {
      for (const text of missing) {
        memo.delete(text);
        resolvers.get(text)!.reject(err);
      }
      throw err;
    }
    evictTokens();
  }
  return Promise.all(found);
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

/**
 * Pooled sentence vectors of `texts` (in order) under `options`, L2-normalised here whatever the
 * options say (the rankers score by cosine), memoised per (encoder, options, texts).
 */
export function pooledMatrix(
  shared: SharedEncoder,
  texts: readonly string[],
  options: Omit<SentenceOptions, "onProgress">,
  onProgress?: (done: number, total: number) => void,
): Promise<PooledMatrix> {
  // Key on the settings that change vectors, including the batch size: faithful padded pooling
  // divides by the padded batch length, so the batching is part of the result.
  const hash = createHash("sha256");
  for (const t of texts) hash.update(`${t.length}:`).update(t);
  const key = JSON.stringify([shared.loadKey, shared.encoder.id, options, texts.length, hash.digest("hex")]);
  const hit = pooledMemo.get(key);
  if (hit !== undefined) {
    pooledMemo.delete(key);
    pooledMemo.set(key, hit);
    return hit;
  }
  const result = pooledRows(shared.encoder, texts, options, onProgress);
  pooledMemo.set(key, result);
  result.catch(() => {
    if (pooledMemo.get(key) === result) pooledMemo.delete(key);
  });
  while (pooledMemo.size > POOLED_MEMO_ENTRIES) pooledMemo.delete(pooledMemo.keys().next().value!);
  return result;
}

/** Encodes `texts` into an L2-normalised matrix (no memo). */
export async function pooledRows(
  encoder: Encoder,
  texts: readonly string[],
  options: Omit<SentenceOptions, "onProgress">,
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
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let k = r * dim; k < (r + 1) * dim; k++) out[k] = data[k]! * inv;
  }
  return { rows, dim, data: out };
}

/**
 * Empties the embedding memos and disposes every shared encoder (e.g. between suites of a bench,
 * or at the end of a test file). Rankers created before keep working: they reload on next use.
 */
export async function clearNeuralMemo(): Promise<void> {
  tokenMemo.clear();
  tokenMemoFloats = 0;
  pooledMemo.clear();
  const loaded = [...encoders.values()];
  encoders.clear();
  for (const p of loaded) {
    const shared = await p.catch(() => undefined);
    await shared?.encoder.dispose();
  }
}

/** Sizes of the memos, for tests and diagnostics. */
export function neuralMemoStats(): { encoders: number; tokenTexts: number; tokenFloats: number; pooledSets: number } {
  let tokenTexts = 0;
  for (const m of tokenMemo.values()) tokenTexts += m.size;
  return { encoders: encoders.size, tokenTexts, tokenFloats: tokenMemoFloats, pooledSets: pooledMemo.size };
}
