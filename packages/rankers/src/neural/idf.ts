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
 */
export class IdfTable {
  private readonly df = new Map<TokenKey, number>();
  private readonly ids = new Map<string, TokenKey>();
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
    this.texts++;
    for (const k of new Set(keys)) this.df.set(k, (this.df.get(k) ?? 0) + 1);
  }

  /** The number of counted texts holding the token at least once. */
  frequency(token: string): number {
    return this.df.get(this.key(token)) ?? 0;
  }

  /** The smoothed idf of a token string (a token no counted text holds gets the largest value). */
  idf(token: string): number {
    return smoothedIdf(this.frequency(token), this.texts);
  }

  /**
   * The marginal weights of the rows `selectRows(rows, includeSpecial)` keeps: each row's idf
   * (CLS/SEP too, where they take part: being in every text, they get the minimum, 1).
   */
  weights(rows: TokenRows, includeSpecial: boolean): Float32Array {
    if (rows.tokens.length !== rows.length) throw new Error(`idf marginals: ${rows.length} token rows come with ${rows.tokens.length} token strings`);
    const out: number[] = [];
    for (let r = 0; r < rows.length; r++) if (includeSpecial || rows.special[r] === 0) out.push(this.idf(rows.tokens[r]!));
    return Float32Array.from(out);
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
  const unencoded = texts.filter((_, i) => rows[i] === undefined);
  const tokenize = unencoded.length > 0 ? await tokenKeysOf(encoder) : undefined;
  texts.forEach((text, i) => {
    const r = rows[i];
    if (r !== undefined) {
      if (r.tokens.length !== r.length) throw new Error(`idf marginals: ${r.length} token rows come with ${r.tokens.length} token strings`);
      table.addText(r.tokens.map((t) => table.key(t)));
    } else {
      table.addText(tokenize!(text));
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
  const { tokenizer, maxLength } = encoder;
  if (encoder.backend === "static") {
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
    lower = encoder.encodeTokens(["A"]).then(([probe]) => probe?.text === "a");
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
