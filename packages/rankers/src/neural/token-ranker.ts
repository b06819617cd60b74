/**
 * The part of MaxSim and LM-EMD that works on token embeddings: encoding the candidates' and the
 * queries' texts through the per-text memo, selecting rows (special tokens in or out).
 */
import type { Encoder } from "@crossrank/encode";
import type { RankingInput } from "../ranker.js";
import type { CandidateMap, Progress } from "./common.js";
import { candidateUnion } from "./common.js";
import { languagesFor } from "./languages.js";
import { type SharedEncoder, sharedEncoder, type TokenRows, tokenRows } from "./memo.js";
import { documentText, type EncoderSettings } from "./settings.js";

/** Token rows of every query and of the candidate documents (undefined for documents no query needs). */
export interface EncodedTask {
  queries: TokenRows[];
  /** Indexed like `input.documents`. */
  documents: (TokenRows | undefined)[];
}

/** Encodes (or fetches from the memo) the queries and the union of the candidates. */
export function encodeTask(shared: SharedEncoder, input: RankingInput, candidates: CandidateMap | undefined, progress: Progress): Promise<EncodedTask> {
  return encodeTaskWith(shared.encoder, input, candidates, progress, (_role, texts, onProgress, languages) => tokenRows(shared, texts, onProgress, languages));
}

/** How {@link encodeTaskWith} gets the rows of texts (a memo's rows: the base encoder's, or a ColBERT checkpoint's by role). */
export type RowsOf = (role: "query" | "document", texts: readonly string[], onProgress: ((done: number, total: number) => void) | undefined, languages: readonly (string | undefined)[] | undefined) => Promise<TokenRows[]>;

/**
 * The rows of the candidates' documents (their union, first) and of every query by `rowsOf`. An
 * encoder with language adapters (X-MOD) runs each text through its own language's adapter: the
 * item's `lang`, else the input's docLang / queryLang.
 */
export async function encodeTaskWith(encoder: Encoder, input: RankingInput, candidates: CandidateMap | undefined, progress: Progress, rowsOf: RowsOf): Promise<EncodedTask> {
  const union = candidateUnion(input.documents.length, candidates);
  const docs = Array.from(union, (d) => input.documents[d]!);
  const docRows = await rowsOf(
    "document",
    docs.map((d) => documentText(d)),
    progress.encodeDocs,
    languagesFor(encoder, docs, input.docLang).languages,
  );
  const documents: (TokenRows | undefined)[] = new Array<TokenRows | undefined>(input.documents.length).fill(undefined);
  union.forEach((d, i) => {
    documents[d] = docRows[i];
  });
  const queries = await rowsOf(
    "query",
    input.queries.map((q) => q.text),
    progress.encodeQueries,
    languagesFor(encoder, input.queries, input.queryLang).languages,
  );
  return { queries, documents };
}

/**
 * The rows of `t` that take part: all of them with `includeSpecial`, else the content rows only
 * (a copy). May return 0 rows (a text of special tokens only). Reads `t.data` and `t.special` once
 * each (a static encoder's `TableTokenRows`, ../memo.ts, builds them on access).
 */
export function selectRows(t: TokenRows, includeSpecial: boolean): { data: Float32Array; length: number } {
  if (includeSpecial) return { data: t.data, length: t.length };
  const special = t.special;
  let n = 0;
  for (let r = 0; r < t.length; r++) if (special[r] === 0) n++;
  const data = t.data;
  if (n === t.length) return { data, length: t.length };
  const out = new Float32Array(n * t.dim);
  let o = 0;
  for (let r = 0; r < t.length; r++) {
    if (special[r] !== 0) continue;
    out.set(data.subarray(r * t.dim, (r + 1) * t.dim), o * t.dim);
    o++;
  }
  return { data: out, length: n };
}

/**
 * Tokens per text as a token ranker sees them, without encoding: the encoder's tokenizer, special
 * tokens included and truncated to maxLength for transformer models; a static model's own `ids`
 * (content tokens without the unknown one, at most maxLength). Counted from the ids alone, which
 * skips the offset alignment that is most of `tokenize`'s cost.
 */
export async function tokenCounts(settings: EncoderSettings, texts: readonly string[]): Promise<number[]> {
  const { encoder } = await sharedEncoder(settings);
  const tokenizer = encoder.tokenizer;
  const { StaticEncoder } = await import("@crossrank/encode");
  if (encoder instanceof StaticEncoder) return texts.map((t) => encoder.ids(t).length);
  // The special tokens a text gets around its content (CLS/SEP, <s></s>…).
  const special = tokenizer.tokenize("").ids.length;
  return texts.map((t) => Math.min(tokenizer.contentIds(t).length + special, encoder.maxLength));
}
