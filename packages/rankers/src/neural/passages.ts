/**
 * Long documents as passages (Dai & Callan 2019, "Deeper Text Understanding for IR with Contextual
 * Neural Language Modeling"): a model reads at most maxLength tokens, so a longer document is cut
 * into overlapping windows, each window is scored against the query, and the document's score is
 * the first window's (FirstP: what truncation gives), the best window's (MaxP) or their sum (SumP).
 *
 * The cross-encoder cuts its pairs itself (./cross-encoder-ranker.ts); every other neural ranker
 * (bert-cls / -max / -mean, bi-encoder, maxsim, lm-emd) gets MaxP / SumP from {@link PassageRanker},
 * which hands the windows to the ranker as documents of their own and folds their scores back.
 */
import type { Document } from "@crossrank/datasets";
import type { Encoder } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import type { RankingInput, RankOptions } from "../ranker.js";
import { type CandidateMap, type CandidateRanker, candidateUnion, checkInput, topKEntry } from "./common.js";
import { sharedEncoder } from "./memo.js";
import type { EncoderSettings } from "./settings.js";

/** An encoder's tokenizer (@crossrank/tokenize's, reached through the encoder this package already depends on). */
type Tokenizer = Encoder["tokenizer"];

/** How a long document's windows make its score: FirstP, MaxP, SumP. */
export type PassageAggregation = "first" | "max" | "sum";

/**
 * `text` cut into windows of at most `passageLength` content tokens of `tokenizer`, consecutive
 * windows sharing `stride` tokens; each window is the text between its first and last token (so
 * the tokenizer reads it again as those tokens; a window that starts inside a word may read as one
 * token more, its first piece then a word of its own). A text that fits is one window, itself.
 */
export function passageTexts(tokenizer: Tokenizer, text: string, passageLength: number, stride: number): string[] {
  // windows() counts the single-text specials ([CLS], [SEP]) in its maxLength.
  const specials = tokenizer.tokenize("", { maxLength: tokenizer.modelMaxLength }).ids.length;
  return tokenizer.windows(text, { maxLength: passageLength + specials, stride }).map((w) => {
    const spans = w.offsets.filter((_, t) => !w.special[t]);
    return spans.length === 0 ? text : text.slice(spans[0]![0], spans[spans.length - 1]![1]);
  });
}

/** Options of {@link PassageRanker}. */
export interface PassageOptions {
  /** "max" (MaxP) or "sum" (SumP); "first" needs no wrapper (the encoder's truncation is FirstP). */
  passages: "max" | "sum";
  /**
   * Content tokens per window. Default: what the encoder reads of a text after its special tokens
   * and the document's title (each window is encoded with the title before it, as whole documents
   * are), at least 16.
   */
  passageLength?: number;
  /** Tokens shared by consecutive windows. Default half of the window. */
  stride?: number;
}

/** Content tokens a default window keeps at least, however long the title. */
const MIN_PASSAGE_LENGTH = 16;

/**
 * MaxP / SumP over any neural ranker that truncates (`inner`): each candidate document's text is
 * cut into windows with the encoder's tokenizer ({@link passageTexts}), every window becomes a
 * document (the title kept before each, so a window reads as the document's beginning does),
 * `inner` scores the windows of each query's candidates, and a document's score is its best
 * window's (max) or the sum over its windows (sum). Ranks the whole collection's windows without
 * candidates; a persistent index's prebuilt document vectors are not used (they are of whole
 * documents), so over an index this is a re-ranker's second stage.
 */
export class PassageRanker implements CandidateRanker {
  readonly name: string;
  /** The inner ranker's count of a whole text (what `rerank`'s lengthGate compares), where it has one. */
  readonly tokenCounts?: (texts: readonly string[]) => Promise<number[]>;

  constructor(
    private readonly inner: CandidateRanker,
    private readonly encoder: EncoderSettings,
    private readonly options: PassageOptions,
  ) {
    if (options.passages !== "max" && options.passages !== "sum") throw new Error(`ranker ${inner.name}: passages must be "max" or "sum" here, got ${JSON.stringify(options.passages)}`);
    if (options.passageLength !== undefined && !(Number.isInteger(options.passageLength) && options.passageLength >= 1)) {
      throw new Error(`ranker ${inner.name}: passageLength must be a whole number >= 1, got ${String(options.passageLength)}`);
    }
    if (options.stride !== undefined && !(Number.isInteger(options.stride) && options.stride >= 0)) throw new Error(`ranker ${inner.name}: stride must be a whole number >= 0, got ${String(options.stride)}`);
    if (options.passageLength !== undefined && options.stride !== undefined && options.stride >= options.passageLength) {
      throw new Error(`ranker ${inner.name}: stride ${options.stride} must be smaller than passageLength ${options.passageLength}`);
    }
    const parts = [`passages=${options.passages}`];
    if (options.passageLength !== undefined) parts.push(`passageLength=${options.passageLength}`);
    if (options.stride !== undefined) parts.push(`stride=${options.stride}`);
    // `maxsim(encoder=…)` → `maxsim(encoder=…,passages=max)`: one label, as for every other parameter.
    if (inner.tokenCounts !== undefined) this.tokenCounts = (texts) => inner.tokenCounts!(texts);
    this.name = inner.name.endsWith(")") ? `${inner.name.slice(0, -1)},${parts.join(",")})` : `${inner.name}(${parts.join(",")})`;
  }

  rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    return this.rankCandidates(input, undefined, options);
  }

  async rankCandidates(input: RankingInput, candidates: CandidateMap | undefined, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    const { documents } = input;
    const windows = await this.windows(documents, candidateUnion(documents.length, candidates));
    // Each window's candidates: the windows of the query's candidate documents.
    let windowCandidates: CandidateMap | undefined;
    if (candidates !== undefined) {
      windowCandidates = new Map(
        [...candidates].map(([query, docs]) => {
          const out: number[] = [];
          for (const d of docs) for (let w = windows.first[d]!; w < windows.first[d + 1]!; w++) out.push(w);
          return [query, Int32Array.from(out)];
        }),
      );
    }
    // MaxP: the best k documents are the first k distinct owners of the windows in score order, found
    // within the top k × (most windows of a document) windows; SumP needs every window's score.
    const windowK = this.options.passages === "max" ? Math.min(windows.documents.length, k * windows.most) : windows.documents.length;
    const windowRun = await this.inner.rankCandidates(
      { ...input, documents: windows.documents },
      windowCandidates,
      { k: Math.max(1, windowK), ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) },
    );
    const ids = documents.map((d) => d.id);
    const scores = new Float64Array(documents.length);
    const touched = new Uint8Array(documents.length);
    const run: Run = new Map();
    for (const query of input.queries) {
      const entry = windowRun.get(query.id);
      const seen: number[] = [];
      for (const [windowId, score] of entry ?? []) {
        const d = windows.owner[Number(windowId)]!;
        if (touched[d] === 0) {
          touched[d] = 1;
          seen.push(d);
          scores[d] = score;
        } else scores[d] = this.options.passages === "max" ? Math.max(scores[d]!, score) : scores[d]! + score;
      }
      for (const d of seen) touched[d] = 0;
      run.set(query.id, topKEntry(scores, ids, k, Int32Array.from(seen)));
    }
    return run;
  }

  /**
   * The windows of the documents in `union` as documents of their own (id: the window's index, so
   * ids are unique whatever the documents' ids), grouped by document: document d's windows are
   * `first[d] … first[d + 1] − 1` (none for a document outside `union`).
   */
  private async windows(
    documents: readonly Document[],
    union: Int32Array,
  ): Promise<{ documents: Document[]; owner: Int32Array; first: Int32Array; most: number }> {
    const { encoder } = await sharedEncoder(this.encoder);
    const tokenizer = encoder.tokenizer;
    const specials = tokenizer.tokenize("", { maxLength: tokenizer.modelMaxLength }).ids.length;
    const out: Document[] = [];
    const owner: number[] = [];
    const first = new Int32Array(documents.length + 1);
    let most = 1;
    let next = 0;
    for (const d of union) {
      for (let skipped = next; skipped <= d; skipped++) first[skipped] = out.length;
      next = d + 1;
      const doc = documents[d]!;
      const titleTokens = doc.title ? tokenizer.contentIds(doc.title).length : 0;
      const passageLength = this.options.passageLength ?? Math.max(MIN_PASSAGE_LENGTH, encoder.maxLength - specials - titleTokens);
      const stride = this.options.stride ?? Math.floor(passageLength / 2);
      if (stride >= passageLength) throw new Error(`ranker ${this.name}: stride ${stride} must be smaller than the ${passageLength} tokens of a window`);
      const texts = passageTexts(tokenizer, doc.text, passageLength, stride);
      most = Math.max(most, texts.length);
      for (const text of texts) {
        out.push({ ...doc, id: String(out.length), text });
        owner.push(d);
      }
    }
    for (let skipped = next; skipped <= documents.length; skipped++) first[skipped] = out.length;
    return { documents: out, owner: Int32Array.from(owner), first, most };
  }
}
