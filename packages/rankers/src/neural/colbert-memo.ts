/**
 * ColBERT checkpoints for the maxsim ranker: loaded once per process and settings (as the shared
 * encoders of ./memo.ts), and their query / document rows memoised per text, so that a bench
 * running maxsim and a rerank with a maxsim second stage encodes each text once. The rows are what
 * @crossrank/encode's ColbertEncoder gives (stanford-futuredata/ColBERT's encoding, see
 * packages/encode/src/colbert.ts): unit rows, a document's punctuation and padding rows dropped.
 */
import type { ColbertEncoder, ColbertRows } from "@crossrank/encode";
import type { RankingInput } from "../ranker.js";
import { type CandidateMap, loadOnce, type Progress } from "./common.js";
import type { TokenRows } from "./memo.js";
import { type EncoderSettings, encoderOptions } from "./settings.js";
import { type EncodedTask, encodeTaskWith } from "./token-ranker.js";

/** Whether maxsim scores a model as a ColBERT checkpoint: "auto" when it is one (see `detectColbert`), true always, false never. */
export type ColbertMode = "auto" | boolean;

const checkpoints = new Map<string, Promise<ColbertEncoder | undefined>>();

/**
 * The ColBERT checkpoint of these settings, loaded on first use and shared; undefined in "auto"
 * mode when the model is not one. `maxLength` caps the documents (the checkpoint's doc_maxlen
 * otherwise); a failed load is forgotten, so a later call retries.
 */
export function sharedColbert(settings: EncoderSettings, mode: true | "auto"): Promise<ColbertEncoder | undefined> {
  const { maxLength, ...options } = encoderOptions(settings);
  const key = JSON.stringify([settings.encoder, mode, options.backend ?? null, options.dtype ?? null, options.batchSize ?? null, maxLength ?? null]);
  return loadOnce(checkpoints, key, async () => {
    const { isColbertModel, loadColbert } = await import("@crossrank/encode");
    if (mode === "auto" && !(await isColbertModel(settings.encoder))) return undefined;
    return loadColbert(settings.encoder, { ...options, ...(maxLength === undefined ? {} : { docMaxLength: maxLength }) });
  });
}

/** Upper bound of the rows memo in floats (256 MiB). */
const ROWS_MEMO_FLOATS = 2 ** 26;
const rowsMemo = new Map<string, TokenRows>();
let rowsMemoFloats = 0;

/** ColBERT rows as the rankers' token rows (special: [CLS], [SEP], the marker and the [MASK] augmentation). */
function asTokenRows(r: ColbertRows): TokenRows {
  return { data: r.embeddings, special: Uint8Array.from(r.special, (s) => (s ? 1 : 0)), tokens: r.tokens, length: r.rows, dim: r.dim };
}

/**
 * The rows of `texts` as queries or documents, in order, from the memo where present; the rest
 * encoded in one call. `languages` (parallel to `texts`, for an X-MOD checkpoint: ColBERT-XM)
 * choose each text's adapter and key the memo with the text.
 */
export async function colbertRows(
  checkpoint: ColbertEncoder,
  role: "query" | "document",
  texts: readonly string[],
  onProgress?: (done: number, total: number) => void,
  languages?: readonly (string | undefined)[],
): Promise<TokenRows[]> {
  const keys = texts.map((text, i) => `${checkpoint.id}\0${role}\0${languages?.[i] ?? ""}\0${text}`);
  const out = keys.map((key) => rowsMemo.get(key));
  const first = new Map<string, number>();
  keys.forEach((key, i) => {
    if (out[i] === undefined && !first.has(key)) first.set(key, i);
  });
  const missing = [...first.values()];
  if (missing.length > 0) {
    const options = { ...(onProgress === undefined ? {} : { onProgress }), ...(languages === undefined ? {} : { languages: missing.map((i) => languages[i]) }) };
    const missingTexts = missing.map((i) => texts[i]!);
    const made = role === "query" ? await checkpoint.encodeQueries(missingTexts, options) : await checkpoint.encodeDocuments(missingTexts, options);
    made.forEach((r, m) => {
      const rows = asTokenRows(r);
      rowsMemo.set(keys[missing[m]!]!, rows);
      rowsMemoFloats += rows.data.length;
    });
    keys.forEach((key, i) => (out[i] ??= rowsMemo.get(key)));
    // Least recently added first; the rows just handed out stay referenced by the caller.
    for (const [key, rows] of rowsMemo) {
      if (rowsMemoFloats <= ROWS_MEMO_FLOATS) break;
      rowsMemo.delete(key);
      rowsMemoFloats -= rows.data.length;
    }
  }
  return out as TokenRows[];
}

/**
 * The rows of every query and of the candidate documents (undefined for documents no query needs),
 * as ./token-ranker.ts's encodeTask; an X-MOD checkpoint (ColBERT-XM) runs each text through its own
 * language's adapter.
 */
export function encodeColbertTask(checkpoint: ColbertEncoder, input: RankingInput, candidates: CandidateMap | undefined, progress: Progress): Promise<EncodedTask> {
  return encodeTaskWith(checkpoint.encoder, input, candidates, progress, (role, texts, onProgress, languages) => colbertRows(checkpoint, role, texts, onProgress, languages));
}

/** Empties the rows memo and disposes the checkpoints (called by clearNeuralMemo). */
export async function clearColbert(): Promise<void> {
  rowsMemo.clear();
  rowsMemoFloats = 0;
  const loaded = [...checkpoints.values()];
  checkpoints.clear();
  for (const p of loaded) await (await p.catch(() => undefined))?.dispose();
}
