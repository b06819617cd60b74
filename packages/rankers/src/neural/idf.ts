/**
 * Inverse document frequencies of encoder tokens, for LM-EMD's idf-weighted marginals (Word
 * Mover's Distance weighting, Kusner et al. 2015): a token that occurs in every text says little
 * about any of them, so it should move little mass.
 *
 * Tokens are identified by their vocabulary id under the encoder's own tokenizer, so "##ing" in
 * a query and "##ing" in a document are the same token while a token's frequency is only ever
 * compared within one side (see {@link IdfTable}).
 */
import type { Encoder } from "@crossrank/encode";
import type { TokenRows } from "./memo.js";

/** Smoothed idf, ln((N + 1) / (df + 1)) + 1: always > 0, and 1 for a token found in every text. */
export function smoothedIdf(df: number, texts: number): number {
  return Math.log((texts + 1) / (df + 1)) + 1;
}

/** A token's key in a table: its vocabulary id, or the string itself when the vocabulary lacks it. */
type TokenKey = number | string;

/**
 * Document frequencies over one side's texts (all documents, or all queries) under one encoder.
 * One table per side: the two sides are in different languages, so one side's counts say nothing
 * about how informative a token of the other side is.
 *
 * Frequencies of vocabulary ids live in a typed array (repeats within a text are skipped with a
 * per-id stamp, no set per text); idf values per token string and the marginal weights per
 * {@link TokenRows} are memoised once counting is done (counting more texts drops them), so a
 * table kept across calls (see `idfTables` in ./memo.ts) hands out the same weights at no cost.
 */
export class IdfTable {
  /** df of vocabulary ids, indexed by id (grown on demand). */
  private dfIds = new Int32Array(0);
  /** The text number (1-based) that last counted each id. */
  private stamp = new Int32Array(0);
  /** df of tokens the vocabulary lacks. */
  private readonly dfStrings = new Map<string, number>();
  private readonly ids = new Map<string, TokenKey>();
  private readonly idfMemo = new Map<string, number>();
  private weightMemo = [new WeakMap<TokenRows, Float32Array>(), new WeakMap<TokenRows, Float32Array>()] as const;
  private readonly seenStrings = new Set<string>();
  /** Number of texts counted (N). */
  texts = 0;

  constructor(private readonly encoder: Encoder) {}

  /** The key of a token string (its vocabulary id where the vocabulary has it). */
  key(token: string): TokenKey {
    let k = this.ids.get(token);
    if (k === undefined) {
      k = this.encoder.tokenizer.tokenId(token) ?? token;
      this.ids.set(token, k);
    }
    return k;
  }

  /** Counts one text, given as its token keys (repeats count once). */
  addText(keys: Iterable<TokenKey>): void {
    const text = this.startText();
    this.seenStrings.clear();
    for (const k of keys) {
      if (typeof k === "number") this.countId(k, text);
      else if (!this.seenStrings.has(k)) {
        this.seenStrings.add(k);
        this.dfStrings.set(k, (this.dfStrings.get(k) ?? 0) + 1);
      }
    }
  }

  /** Counts one text given as vocabulary ids (repeats count once): {@link addText} without the keys. */
  addIds(ids: ArrayLike<number>): void {
    const text = this.startText();
    for (let i = 0; i < ids.length; i++) this.countId(ids[i]!, text);
  }

  /** The number of counted texts holding the token at least once. */
  frequency(token: string): number {
    const k = this.key(token);
    return typeof k === "number" ? (k >= 0 && k < this.dfIds.length ? this.dfIds[k]! : 0) : (this.dfStrings.get(k) ?? 0);
  }

  /** The smoothed idf of a token string (a token no counted text holds gets the largest value). */
  idf(token: string): number {
    let v = this.idfMemo.get(token);
    if (v === undefined) {
      v = smoothedIdf(this.frequency(token), this.texts);
      this.idfMemo.set(token, v);
    }
    return v;
  }

  /**
   * The marginal weights of the rows `selectRows(rows, includeSpecial)` keeps: each row's idf
   * (CLS/SEP too, where they take part: being in every text, they get the minimum, 1). Memoised
   * per rows object: do not change the returned array.
   */
  weights(rows: TokenRows, includeSpecial: boolean): Float32Array {
    const memo = this.weightMemo[includeSpecial ? 1 : 0];
    let out = memo.get(rows);
    if (out !== undefined) return out;
    // Read once: a static encoder's rows build these on access.
    const tokens = rows.tokens;
    const special = rows.special;
    if (tokens.length !== rows.length) throw new Error(`idf marginals: ${rows.length} token rows come with ${tokens.length} token strings`);
    let n = 0;
    for (let r = 0; r < rows.length; r++) if (includeSpecial || special[r] === 0) n++;
    out = new Float32Array(n);
    let o = 0;
    for (let r = 0; r < rows.length; r++) if (includeSpecial || special[r] === 0) out[o++] = this.idf(tokens[r]!);
    memo.set(rows, out);
    return out;
  }

  /** Starts counting a new text (dropping the memoised idf values and weights); returns its 1-based number. */
  private startText(): number {
    if (this.idfMemo.size > 0) {
      this.idfMemo.clear();
      this.weightMemo = [new WeakMap(), new WeakMap()];
    }
    return ++this.texts;
  }

  private countId(id: number, text: number): void {
    if (!(Number.isInteger(id) && id >= 0)) {
      // Not a vocabulary index: counted under its string form.
      const s = String(id);
      if (!this.seenStrings.has(s)) {
        this.seenStrings.add(s);
        this.dfStrings.set(s, (this.dfStrings.get(s) ?? 0) + 1);
      }
      return;
    }
    if (id >= this.dfIds.length) this.grow(id);
    if (this.stamp[id] === text) return;
    this.stamp[id] = text;
    this.dfIds[id]!++;
  }

  private grow(id: number): void {
    const size = Math.max(id + 1, this.dfIds.length * 2, 1024);
    const df = new Int32Array(size);
    df.set(this.dfIds);
    const stamp = new Int32Array(size);
    stamp.set(this.stamp);
    this.dfIds = df;
    this.stamp = stamp;
  }
}

/**
 * Counts the texts of one side: those with token rows from the encoder (the memo's exact token
 * strings) and, for the rest (the documents a reranker never encodes), their tokens from the
 * encoder's tokenizer alone ({@link tokenKeysOf}), which is far cheaper than encoding them.
 * `rows[i]` undefined means text i was not encoded.
 */
export async function countFrequencies(encoder: Encoder, texts: readonly string[], rows: readonly (TokenRows | undefined)[]): Promise<IdfTable> {
  const table = new IdfTable(encoder);
  const unencoded = texts.some((_, i) => rows[i] === undefined);
  const tokenize = unencoded ? await tokenIdsOf(encoder) : undefined;
  texts.forEach((text, i) => {
    const r = rows[i];
    if (r !== undefined) {
      const tokens = r.tokens;
      if (tokens.length !== r.length) throw new Error(`idf marginals: ${r.length} token rows come with ${tokens.length} token strings`);
      table.addText(tokens.map((t) => table.key(t)));
    } else {
      table.addIds(tokenize!(text));
    }
  });
  return table;
}

/** Whether each loaded encoder lower-cases texts before tokenizing (a sentence-transformers do_lower_case). */
const lowerCasing = new WeakMap<Encoder, Promise<boolean>>();

/**
 * A function giving the token ids `encoder.encodeTokens` would produce for a text (the same ids as
 * often, template tokens first: the order is not kept, as counting does not need it), from the
 * tokenizer alone: the content ids (`Tokenizer.contentIds`, no offsets computed) truncated as the
 * encoder truncates, plus the template tokens (CLS/SEP). Transformer encoders tokenize the text
 * (lower-cased where the model's sentence-transformers config says so) and keep
 * `maxLength − template` content tokens; static encoders drop the unknown token and keep the first
 * `maxLength` content tokens, with no template.
 */
export async function tokenKeysOf(encoder: Encoder): Promise<(text: string) => number[]> {
  const ids = await tokenIdsOf(encoder);
  return (text) => Array.from(ids(text));
}

/**
 * {@link tokenKeysOf} without the array copy. Static encoders that expose `ids(text)` (the
 * `StaticEncoder` of @crossrank/encode: its own word-chunked, memoised tokenization, tested equal
 * to `contentIds` with the unknown token dropped and truncated to `maxLength`) are asked directly:
 * on DDTP's 61k English descriptions that is ~10× faster than the whole-text tokenizer.
 */
export async function tokenIdsOf(encoder: Encoder): Promise<(text: string) => ArrayLike<number>> {
  const { tokenizer, maxLength } = encoder;
  if (encoder.backend === "static") {
    const own = (encoder as Partial<{ ids: (text: string) => Int32Array }>).ids;
    if (typeof own === "function") return (text) => own.call(encoder, text);
    // As StaticEncoder: tokenizer.json's model.unk_token, dropped before truncation.
    const model = tokenizer.definition.model as { unk_token?: unknown } | undefined;
    const unkId = typeof model?.unk_token === "string" ? tokenizer.tokenId(model.unk_token) : undefined;
    return (text) => {
      const out: number[] = [];
      for (const id of tokenizer.contentIds(text)) {
        if (out.length >= maxLength) break;
        if (id !== unkId) out.push(id);
      }
      return out;
    };
  }
  let lower = lowerCasing.get(encoder);
  if (lower === undefined) {
    // The encoder reports the text as it tokenized it: one tiny probe tells whether it lower-cases.
    // (Lower-casing is the tokenizer's: any language adapter of an X-MOD encoder answers it.)
    lower = encoder.encodeTokens(["A"], encoder.languages === undefined ? {} : { language: encoder.languages[0]! }).then(([probe]) => probe?.text === "a");
    lowerCasing.set(encoder, lower);
  }
  const lowerCase = await lower;
  const template = tokenizer.tokenize("", { maxLength }).ids;
  const room = maxLength - template.length;
  return (text) => {
    const content = tokenizer.contentIds(lowerCase ? text.toLowerCase() : text);
    return [...template, ...content.slice(0, Math.max(0, room))];
  };
}
