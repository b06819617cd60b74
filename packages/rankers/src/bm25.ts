/**
 * Okapi BM25 over an in-memory inverted index held in typed arrays.
 *
 * Score of document d for query q (Robertson & Zaragoza 2009, "The Probabilistic Relevance
 * Framework: BM25 and Beyond", eq. 3.15 with k3 → ∞; the idf is Lucene's `BM25Similarity`):
 *
 *   score(q, d) = Σ_{t ∈ q} qtf(t) · idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 − b + b·dl(d)/avgdl))
 *   idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
 *
 * tf(t,d): occurrences of term t in d; dl(d): number of terms of d; avgdl: mean dl over the
 * collection; N: number of documents; df(t): documents containing t; qtf(t): occurrences of t in the
 * query. By default a repeated query term counts once per occurrence, as summing per-term clauses
 * does in Lucene (k3 → ∞); `searchTerms` also takes Robertson's query-term saturation k3, which
 * replaces qtf by (k3+1)·qtf/(k3+qtf) (eq. 3.15): k3 = 0 counts each distinct term once. Long
 * queries (a paragraph as the query) need it: a function word repeated ten times in a Spanish
 * paragraph is rare, hence high-idf, in English text and otherwise outweighs the names and numbers
 * the two sides share. Lucene's idf is
 * never negative, unlike the classic ln((N − df + 0.5)/(df + 0.5)), so a term in more than half the
 * documents still counts a little instead of lowering the score. Defaults k1 = 1.2 and b = 0.75 are
 * Lucene's and Elasticsearch's (Robertson & Zaragoza suggest k1 in 1.2–2.0, b = 0.75).
 *
 * Layout (CSR, compressed sparse rows): the postings of term t are the entries
 * `offsets[t] … offsets[t+1] − 1` of `docs` (document numbers, ascending), `tfs` (term frequencies)
 * and `impacts` (the tf-dependent factor above, precomputed in float32 for the index's k1 and b),
 * so a query is a sum of `weight × idf × impact` over a few contiguous slices, accumulated in a
 * Float64Array with one slot per document (float64 so that sums do not depend on rounding more than
 * the float32 impacts already do) plus a list of the documents touched.
 */
import { createAnalyzer, type Analyzer } from "./analyzer.js";
import { GrowableInt32Array } from "./growable-int32.js";
import { topK } from "./top-k.js";

/** BM25 parameters. */
export interface Bm25Parameters {
  /** Term-frequency saturation: 0 ignores tf, larger values let repeats count longer. Default 1.2. */
  k1?: number;
  /** Document-length normalization: 0 none, 1 full. Default 0.75. */
  b?: number;
}

/** Options of `Bm25Index.build`. */
export interface Bm25BuildOptions extends Bm25Parameters {
  /** Analyzer for the documents, also used by `search` for queries. Default `createAnalyzer()`. */
  analyzer?: Analyzer;
  /** Called every 1,000 documents and at the end with (documents indexed, documents in all). */
  onProgress?: (done: number, total: number) => void;
}

/** A document to index. With a title, `title + "\n" + text` is indexed (the title's terms count as body terms). */
export interface IndexableDocument {
  id: string;
  text: string;
  title?: string;
}

/** One result: document id and BM25 score. */
export interface Bm25Hit {
  id: string;
  score: number;
}

/**
 * A query term with a weight that multiplies its contribution `idf × impact`. Plain queries are
 * weight 1 per occurrence; a term given twice counts twice.
 */
export interface WeightedTerm {
  term: string;
  weight: number;
}

/**
 * A query term of a probabilistic structured query: the terms it stands for in the index (its
 * translations), weighted by their probabilities, and how often it occurs in the query.
 */
export interface PsqTerm {
  /** Translations with their probabilities (`weight`, finite and >= 0; normally summing to 1). */
  translations: readonly WeightedTerm[];
  /** Occurrences of the term in the query (qtf), saturated by k3. Default 1. */
  count?: number;
}

/** The postings of one term (views into the index; do not modify). */
export interface Postings {
  /** Document numbers (0-based, index order), ascending. */
  docs: Int32Array;
  /** Term frequency in each of those documents. */
  tfs: Int32Array;
}

export const DEFAULT_K1 = 1.2;
export const DEFAULT_B = 0.75;
const DEFAULT_K = 100;
const PROGRESS_EVERY = 1000;

/** Checks k1 and b; throws a RangeError naming the bad one. */
export function checkBm25Parameters(k1: number, b: number): void {
  if (typeof k1 !== "number" || !Number.isFinite(k1) || k1 < 0) {
    throw new RangeError(`BM25 k1 must be a finite number >= 0, got ${String(k1)}`);
  }
  if (typeof b !== "number" || !Number.isFinite(b) || b < 0 || b > 1) {
    throw new RangeError(`BM25 b must be a number in [0, 1], got ${String(b)}`);
  }
}

/**
 * Robertson's query-term factor (k3+1)·qtf/(k3+qtf): qtf for k3 → ∞, 1 for k3 = 0 (each distinct
 * term once), in between a saturating count.
 */
export function queryTermWeight(qtf: number, k3: number): number {
  return k3 === Infinity ? qtf : ((k3 + 1) * qtf) / (k3 + qtf);
}

/** Checks k3 (Infinity allowed: linear counting); throws a RangeError otherwise. */
export function checkK3(k3: number): void {
  if (typeof k3 !== "number" || Number.isNaN(k3) || k3 < 0) {
    throw new RangeError(`BM25 k3 must be a number >= 0 (or Infinity), got ${String(k3)}`);
  }
}

/**
 * A BM25 index as plain arrays (`Bm25Index.toArrays` / `fromArrays`): what a persistent index
 * writes to disk. `terms[t]` is term number t; the postings of t are [offsets[t], offsets[t+1]) of
 * `docs`, `tfs` and `impacts`; `lengths[d]` is document d's length in terms.
 */
export interface Bm25Arrays {
  k1: number;
  b: number;
  averageDocumentLength: number;
  terms: readonly string[];
  ids: readonly string[];
  offsets: Int32Array;
  docs: Int32Array;
  tfs: Int32Array;
  impacts: Float32Array;
  lengths: Float32Array;
}

/** What a {@link Bm25Index} is made of (the arrays of `Bm25Arrays` plus the lookups derived from them). */
interface Bm25IndexParts {
  k1: number;
  b: number;
  analyzer: Analyzer;
  dictionary: Map<string, number>;
  ids: string[];
  offsets: Int32Array;
  docs: Int32Array;
  tfs: Int32Array;
  impacts: Float32Array;
  idfs: Float64Array;
  lengths: Float32Array;
  averageDocumentLength: number;
}

/** Builds a {@link Bm25Index} from documents given in chunks (`Bm25Index.builder`). */
export interface Bm25IndexBuilder {
  /** Documents added so far. */
  readonly size: number;
  /** Indexes `documents` after those added before. Throws on a duplicate document id. */
  add(documents: readonly IndexableDocument[]): void;
  /** The index of every document added (once: the builder's buffers are released). */
  finish(): Bm25Index;
}

/** An immutable BM25 index over a document collection. */
export class Bm25Index {
  /** Number of documents. */
  readonly size: number;
  readonly k1: number;
  readonly b: number;
  /** Mean document length in terms. */
  readonly averageDocumentLength: number;
  /** The documents' analyzer (used by `search` for the query). */
  readonly analyzer: Analyzer;

  private readonly dictionary: Map<string, number>;
  private readonly ids: readonly string[];
  private readonly offsets: Int32Array;
  private readonly docs: Int32Array;
  private readonly tfs: Int32Array;
  private readonly impacts: Float32Array;
  private readonly idfs: Float64Array;
  private readonly lengths: Float32Array;
  // Scratch space for one query at a time (searches are synchronous, so never shared).
  private readonly accumulator: Float64Array;
  private readonly touched: Int32Array;
  // Scratch space of `searchPsq` (one query term's tf and documents), allocated on first use.
  private psqScratch: { tf: Float64Array; docs: Int32Array } | undefined;

  private constructor(parts: Bm25IndexParts) {
    this.k1 = parts.k1;
    this.b = parts.b;
    this.analyzer = parts.analyzer;
    this.dictionary = parts.dictionary;
    this.ids = parts.ids;
    this.size = parts.ids.length;
    this.offsets = parts.offsets;
    this.docs = parts.docs;
    this.tfs = parts.tfs;
    this.impacts = parts.impacts;
    this.idfs = parts.idfs;
    this.lengths = parts.lengths;
    this.averageDocumentLength = parts.averageDocumentLength;
    this.accumulator = new Float64Array(this.size);
    this.touched = new Int32Array(this.size);
  }

  /**
   * Indexes `documents` (through {@link Bm25IndexBuilder}, 1,000 documents at a time so that
   * `onProgress` is called every 1,000 documents and at the end). Throws on a duplicate document id
   * or bad k1/b.
   */
  static build(documents: readonly IndexableDocument[], options: Bm25BuildOptions = {}): Bm25Index {
    const { onProgress, ...settings } = options;
    const builder = Bm25Index.builder(settings);
    const n = documents.length;
    for (let d = 0; d < n; d += PROGRESS_EVERY) {
      builder.add(documents.slice(d, d + PROGRESS_EVERY));
      onProgress?.(Math.min(d + PROGRESS_EVERY, n), n);
    }
    if (n === 0) onProgress?.(0, 0);
    return builder.finish();
  }

  /**
   * An index built from documents given in chunks (`add`, then `finish` once): the documents need
   * not be in memory all at once, only the postings. The same documents in the same order give the
   * same index as `build`, however they are chunked. Throws on bad k1/b.
   */
  static builder(options: Omit<Bm25BuildOptions, "onProgress"> = {}): Bm25IndexBuilder {
    return new PostingsBuilder(options, (parts) => new Bm25Index(parts));
  }

  /** The index as plain arrays (views, not copies: do not modify), for writing it to disk. */
  toArrays(): Bm25Arrays {
    return {
      k1: this.k1,
      b: this.b,
      averageDocumentLength: this.averageDocumentLength,
      terms: [...this.dictionary.keys()],
      ids: this.ids,
      offsets: this.offsets,
      docs: this.docs,
      tfs: this.tfs,
      impacts: this.impacts,
      lengths: this.lengths,
    };
  }

  /**
   * An index from `toArrays`' output, with the analyzer it was built with (analyzers are code, not
   * data: the caller recreates it from the same settings). The idfs are recomputed from the
   * postings. Checks that the arrays fit together (lengths, offsets ascending and in range, document
   * numbers in range), so a damaged file fails here instead of giving wrong scores.
   */
  static fromArrays(arrays: Bm25Arrays, analyzer: Analyzer): Bm25Index {
    const { k1, b, terms, ids, offsets, docs, tfs, impacts, lengths, averageDocumentLength } = arrays;
    checkBm25Parameters(k1, b);
    const n = ids.length;
    const postings = docs.length;
    const bad = (what: string): never => {
      throw new Error(`BM25 arrays do not fit together: ${what}`);
    };
    if (offsets.length !== terms.length + 1) bad(`${offsets.length} offsets for ${terms.length} terms`);
    if (tfs.length !== postings || impacts.length !== postings) bad(`${postings} postings but ${tfs.length} tfs and ${impacts.length} impacts`);
    if (lengths.length !== n) bad(`${lengths.length} lengths for ${n} documents`);
    if (!(Number.isFinite(averageDocumentLength) && averageDocumentLength >= 0)) bad(`average document length ${averageDocumentLength}`);
    if (offsets[0] !== 0 || offsets[terms.length] !== postings) bad(`offsets run from ${offsets[0]} to ${offsets[terms.length]}, not 0 to ${postings}`);
    for (let t = 0; t < terms.length; t++) if (offsets[t + 1]! < offsets[t]!) bad(`offsets decrease at term ${t}`);
    for (let p = 0; p < postings; p++) if (!(docs[p]! >= 0 && docs[p]! < n) || !(tfs[p]! >= 1)) bad(`posting ${p}: document ${docs[p]}, tf ${tfs[p]}`);
    const dictionary = new Map<string, number>();
    terms.forEach((term, t) => dictionary.set(term, t));
    if (dictionary.size !== terms.length) bad("a term is listed twice");
    const idfs = new Float64Array(terms.length);
    for (let t = 0; t < terms.length; t++) idfs[t] = bm25Idf(n, offsets[t + 1]! - offsets[t]!);
    return new Bm25Index({ k1, b, analyzer, dictionary, ids: [...ids], offsets, docs, tfs, impacts, idfs, lengths, averageDocumentLength });
  }

  /** Number of distinct terms. */
  get vocabularySize(): number {
    return this.dictionary.size;
  }

  /** Number of (term, document) postings. */
  get postingsCount(): number {
    return this.docs.length;
  }

  /** The `k` (default 100) best documents for `query`, analyzed with the index's analyzer. */
  search(query: string, k: number = DEFAULT_K): Bm25Hit[] {
    return this.searchTerms(this.analyzer.analyze(query), k);
  }

  /**
   * The `k` (default 100) best documents for already-analyzed query terms. A term's occurrences
   * count linearly by default; a finite `k3` saturates them (see qtf above). Terms not in the index
   * contribute nothing; none known → empty result.
   */
  searchTerms(terms: readonly string[], k: number = DEFAULT_K, k3: number = Infinity): Bm25Hit[] {
    checkK3(k3);
    const weights = new Map<number, number>();
    for (const term of terms) {
      const t = this.dictionary.get(term);
      if (t !== undefined) weights.set(t, (weights.get(t) ?? 0) + 1);
    }
    if (k3 !== Infinity) {
      for (const [t, qtf] of weights) weights.set(t, queryTermWeight(qtf, k3));
    }
    return this.score(weights, k);
  }

  /**
   * The `k` (default 100) best documents for weighted, already-analyzed terms:
   * score = Σ weight · idf · impact. Weights must be finite and >= 0 (0 drops the term); a term
   * listed twice adds its weights. Only documents containing at least one term are returned.
   */
  searchWeighted(terms: readonly WeightedTerm[], k: number = DEFAULT_K): Bm25Hit[] {
    const weights = new Map<number, number>();
    for (const { term, weight } of terms) {
      if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
        throw new RangeError(`term weight must be a finite number >= 0, got ${String(weight)} for ${JSON.stringify(term)}`);
      }
      const t = this.dictionary.get(term);
      if (t !== undefined && weight > 0) weights.set(t, (weights.get(t) ?? 0) + weight);
    }
    return this.score(weights, k);
  }

  /**
   * The `k` (default 100) best documents for a probabilistic structured query (Darwish & Oard 2003):
   * each query term q stands for translations e with probabilities p(e), and is scored as one term
   * whose statistics are the expected ones over its translations,
   *
   *   tf(q, d) = Σ_e p(e) · tf(e, d)        df(q) = Σ_e p(e) · df(e)
   *   score(d) = Σ_q w(q) · idf(df(q)) · tf(q,d)·(k1 + 1) / (tf(q,d) + k1·(1 − b + b·dl(d)/avgdl))
   *
   * with w(q) = (k3+1)·qtf/(k3+qtf) as in `searchTerms` (qtf = `count`). Saturating the combined tf
   * once, rather than summing one BM25 term per translation, keeps a term with many translations
   * from outweighing one with a single translation, and a frequent translation's low idf pulls the
   * whole term down as it should. df is the expected document frequency (the sum), not the
   * probability that a document holds at least one translation: it is what Darwish & Oard define and
   * needs no pass over documents. Probabilities are used as given: translations that do not occur in
   * the collection keep their share and so lower tf(q, d), as in the original method. A term with a
   * single translation of probability 1 scores as in `searchTerms` (up to the float32 rounding of
   * the precomputed impacts).
   */
  searchPsq(terms: readonly PsqTerm[], k: number = DEFAULT_K, k3: number = Infinity): Bm25Hit[] {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${String(k)}`);
    checkK3(k3);
    for (const { translations, count } of terms) {
      if (count !== undefined && (!Number.isFinite(count) || count <= 0)) {
        throw new RangeError(`query term count must be a finite number > 0, got ${String(count)}`);
      }
      for (const { term, weight } of translations) {
        if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
          throw new RangeError(`translation probability must be a finite number >= 0, got ${String(weight)} for ${JSON.stringify(term)}`);
        }
      }
    }
    if (k === 0 || terms.length === 0) return [];
    const { accumulator, touched, docs, tfs, lengths, k1, b, averageDocumentLength, ids } = this;
    const scratch = (this.psqScratch ??= { tf: new Float64Array(this.size), docs: new Int32Array(this.size) });
    const termTf = scratch.tf;
    const termDocs = scratch.docs;
    // MaxScore order (Turtle & Flood 1995): the terms that can add the most first, so that the
    // frequent translations, whose postings are long and whose bound is small, come last and may
    // only need to be looked up for the documents still in the running.
    const prepared = this.preparePsq(terms, k3).sort((x, y) => y.bound - x.bound);
    // rest[i]: the most the terms from i on can add (rest[n] exactly 0, so no rounding drops a document at the end).
    const rest = new Float64Array(prepared.length + 1);
    for (let i = prepared.length - 1; i >= 0; i--) rest[i] = rest[i + 1]! + prepared[i]!.bound;
    // restPostings[i]: the postings of the terms from i on, what pruning could save.
    const restPostings = new Float64Array(prepared.length + 1);
    for (let i = prepared.length - 1; i >= 0; i--) restPostings[i] = restPostings[i + 1]! + prepared[i]!.postings;
    // Translation probabilities summing to more than 1 can make df(q) > N and idf negative: a
    // term that lowers scores breaks the bounds' logic, so such a query is scored exhaustively.
    const prunable = prepared.every((p) => p.bound >= 0);
    let touchedCount = 0;
    let i = 0;
    let threshold = -Infinity;
    for (; i < prepared.length; i++) {
      const { terms: ts, weights, w } = prepared[i]!;
      let n = 0;
      for (let j = 0; j < ts.length; j++) n = addWeightedTf(termTf, termDocs, n, docs, tfs, this.offsets[ts[j]!]!, this.offsets[ts[j]! + 1]!, weights[j]!);
      touchedCount = addSaturated(accumulator, touched, touchedCount, termTf, termDocs, n, lengths, k1, b, averageDocumentLength, w);
      // Finding the k-th best score costs a pass over the touched documents: worth it only while
      // the remaining postings are many more than that.
      if (prunable && i + 1 < prepared.length && touchedCount >= k && restPostings[i + 1]! > 2 * touchedCount) {
        // The k-th best score so far only grows; a document no term has touched yet can reach at
        // most `rest`: below it, no new document can enter the top k.
        const best = topK(accumulator, ids, k, touched, touchedCount);
        threshold = accumulator[best[k - 1]!]!;
        if (rest[i + 1]! < threshold) {
          i++;
          break;
        }
      }
    }
    let candidates = touched;
    let candidateCount = touchedCount;
    if (i < prepared.length) {
      // The documents that can still reach the threshold, in document order for the lookups.
      candidates = touched.slice(0, touchedCount);
      candidateCount = keepReachableInPlace(candidates, touchedCount, accumulator, rest[i]!, threshold);
      candidates = candidates.subarray(0, candidateCount).sort();
      for (; i < prepared.length; i++) {
        const { terms: ts, weights, w } = prepared[i]!;
        this.addToCandidates(candidates, candidateCount, ts, weights, w);
        const best = topK(accumulator, ids, k, candidates, candidateCount);
        threshold = accumulator[best[best.length - 1]!]!;
        candidateCount = keepReachableInPlace(candidates, candidateCount, accumulator, rest[i + 1]!, threshold);
      }
    }
    const best = topK(accumulator, ids, k, candidates, candidateCount);
    const hits: Bm25Hit[] = new Array<Bm25Hit>(best.length);
    for (let r = 0; r < best.length; r++) {
      const d = best[r]!;
      hits[r] = { id: ids[d]!, score: accumulator[d]! };
    }
    for (let t = 0; t < touchedCount; t++) accumulator[touched[t]!] = 0;
    return hits;
  }

  /**
   * Each query term with translations in the index: their term numbers and probabilities, the
   * term's weight w(q)·idf(df(q)), and a bound on what it adds to any document's score. With
   * L(d) = 1 − b + b·dl(d)/avgdl, a term adds w·(k1+1)·x/(x + k1) with x = tf(q,d)/L(d), which grows
   * with x, and x = Σ_e p(e)·tf(e,d)/L(d) ≤ X = Σ_e p(e)·max_d' tf(e,d')/L(d') (each translation's
   * largest length-normalised tf, `maximumNormalizedTf`): the bound is w·(k1+1)·X/(X + k1), raised
   * by a relative 1e-9 against rounding. (Bounding tf and dl apart — the largest tf over the
   * shortest document — was several times looser: the largest tfs are in long documents.)
   */
  private preparePsq(terms: readonly PsqTerm[], k3: number): { terms: Int32Array; weights: Float64Array; w: number; bound: number; postings: number }[] {
    const { dictionary, offsets, k1 } = this;
    const prepared: { terms: Int32Array; weights: Float64Array; w: number; bound: number; postings: number }[] = [];
    for (const { translations, count } of terms) {
      const found: number[] = [];
      const weights: number[] = [];
      let df = 0;
      let x = 0;
      for (const { term, weight } of translations) {
        const t = dictionary.get(term);
        if (t === undefined || weight === 0) continue;
        found.push(t);
        weights.push(weight);
        df += weight * (offsets[t + 1]! - offsets[t]!);
        x += weight * this.maximumNormalizedTf(t);
      }
      if (found.length === 0) continue;
      const w = queryTermWeight(count ?? 1, k3) * bm25Idf(this.size, df);
      // k1 = 0: every document holding a translation gets w (x/x), none other more.
      const saturation = x === 0 ? 0 : k1 === 0 ? 1 : (x * (k1 + 1)) / (x + k1);
      const bound = w * saturation * (1 + 1e-9);
      let postings = 0;
      for (const t of found) postings += offsets[t + 1]! - offsets[t]!;
      prepared.push({ terms: Int32Array.from(found), weights: Float64Array.from(weights), w, bound, postings });
    }
    return prepared;
  }

  /**
   * Adds one PSQ term's saturated contribution to the `count` candidates (ascending document
   * numbers). tf(q, d) is gathered per translation from its postings, which are sorted by document:
   * by galloping search from candidate to candidate when the candidates are few against the
   * postings (the cost follows the candidates), else by one merge walk over both.
   */
  private addToCandidates(candidates: Int32Array, count: number, terms: Int32Array, weights: Float64Array, w: number): void {
    const { accumulator, offsets, docs, tfs, lengths, k1, b, averageDocumentLength } = this;
    const termTf = (this.candidateTf.length >= count ? this.candidateTf : (this.candidateTf = new Float64Array(count))).fill(0, 0, count);
    for (let j = 0; j < terms.length; j++) {
      const from = offsets[terms[j]!]!;
      const end = offsets[terms[j]! + 1]!;
      const weight = weights[j]!;
      const postings = end - from;
      if (count * (Math.log2(postings / count + 1) + 1) < postings) {
        let at = from;
        for (let c = 0; c < count; c++) {
          at = gallop(docs, at, end, candidates[c]!);
          if (at < end && docs[at] === candidates[c]) termTf[c] = termTf[c]! + weight * tfs[at]!;
        }
      } else {
        let c = 0;
        for (let p = from; p < end && c < count; p++) {
          const d = docs[p]!;
          while (c < count && candidates[c]! < d) c++;
          if (c < count && candidates[c] === d) termTf[c] = termTf[c]! + weight * tfs[p]!;
        }
      }
    }
    for (let c = 0; c < count; c++) {
      const tf = termTf[c]!;
      if (tf === 0) continue;
      const d = candidates[c]!;
      const relativeLength = averageDocumentLength > 0 ? lengths[d]! / averageDocumentLength : 0;
      accumulator[d] = accumulator[d]! + (w * tf * (k1 + 1)) / (tf + k1 * (1 - b + b * relativeLength));
    }
  }

  /** Scratch of `addToCandidates`: one tf per candidate. */
  private candidateTf = new Float64Array(0);

  private maxNormalizedTfs: Float64Array | undefined;

  /**
   * The largest tf(t, d)/L(d) of term number t over its documents, L(d) = 1 − b + b·dl(d)/avgdl
   * (computed on first use, then kept; -1 marks "not yet"). Every document holding t has dl ≥ tf > 0,
   * so L(d) > 0.
   */
  private maximumNormalizedTf(t: number): number {
    const cache = (this.maxNormalizedTfs ??= new Float64Array(this.offsets.length - 1).fill(-1));
    if (cache[t]! < 0) {
      const { docs, tfs, lengths, b, averageDocumentLength } = this;
      let max = 0;
      for (let p = this.offsets[t]!; p < this.offsets[t + 1]!; p++) {
        const x = tfs[p]! / (1 - b + (b * lengths[docs[p]!]!) / averageDocumentLength);
        if (x > max) max = x;
      }
      cache[t] = max;
    }
    return cache[t]!;
  }

  /** Number of documents containing `term` (an analyzed term), 0 if unknown. */
  documentFrequency(term: string): number {
    const t = this.dictionary.get(term);
    return t === undefined ? 0 : (this.offsets[t + 1] ?? 0) - (this.offsets[t] ?? 0);
  }

  /** BM25 idf of `term` (see the formula above); for an unknown term, the idf of df = 0. */
  idf(term: string): number {
    return bm25Idf(this.size, this.documentFrequency(term));
  }

  /**
   * The postings of `term` (views into the index), or undefined if unknown: the building block for
   * scorers that combine term statistics before BM25 saturation, e.g. probabilistic structured
   * queries (weighted tf and df over a term's translations).
   */
  postings(term: string): Postings | undefined {
    const t = this.dictionary.get(term);
    if (t === undefined) return undefined;
    const from = this.offsets[t] ?? 0;
    const to = this.offsets[t + 1] ?? 0;
    return { docs: this.docs.subarray(from, to), tfs: this.tfs.subarray(from, to) };
  }

  /** Length in terms of document number `doc` (0-based, index order). */
  documentLength(doc: number): number {
    return this.lengths[doc] ?? 0;
  }

  /** Id of document number `doc` (0-based, index order). */
  documentId(doc: number): string {
    const id = this.ids[doc];
    if (id === undefined) throw new RangeError(`no document number ${doc} (index holds ${this.size})`);
    return id;
  }

  /**
   * Accumulates Σ weight · idf · impact over the postings of the weighted terms, then keeps the top
   * k. Every contribution is > 0 (weight > 0, idf > 0, impact > 0 for tf ≥ 1), so a score of 0 means
   * "not touched". When the postings cover a good part of the collection the documents are scanned
   * densely; otherwise the touched documents are listed as they are first scored.
   */
  private score(weights: Map<number, number>, k: number): Bm25Hit[] {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${String(k)}`);
    if (weights.size === 0 || k === 0) return [];
    const { accumulator, touched, docs, impacts, offsets, idfs } = this;
    let postingCount = 0;
    for (const t of weights.keys()) postingCount += offsets[t + 1]! - offsets[t]!;
    const dense = postingCount >= this.size >>> 2;
    let touchedCount = 0;
    for (const [t, weight] of weights) {
      const w = weight * idfs[t]!;
      if (dense) addDense(accumulator, docs, impacts, offsets[t]!, offsets[t + 1]!, w);
      else touchedCount = addSparse(accumulator, docs, impacts, offsets[t]!, offsets[t + 1]!, w, touched, touchedCount);
    }
    const best = dense
      ? topK(accumulator, this.ids, k, undefined, this.size)
      : topK(accumulator, this.ids, k, touched, touchedCount);
    const hits: Bm25Hit[] = new Array<Bm25Hit>(best.length);
    for (let r = 0; r < best.length; r++) {
      const d = best[r]!;
      hits[r] = { id: this.ids[d]!, score: accumulator[d]! };
    }
    if (dense) accumulator.fill(0);
    else for (let i = 0; i < touchedCount; i++) accumulator[touched[i]!] = 0;
    return hits;
  }
}

// The hot loops, as small monomorphic functions that V8 optimizes once and for all (inlined in
// `score` they were deoptimized again and again). Indices are in range by construction, hence the
// non-null assertions.

/** accumulator[docs[p]] += w · impacts[p] for p in [from, to). */
function addDense(accumulator: Float64Array, docs: Int32Array, impacts: Float32Array, from: number, to: number, w: number): void {
  for (let p = from; p < to; p++) accumulator[docs[p]!]! += w * impacts[p]!;
}

/** As `addDense`, also appending documents scored for the first time to `touched`; returns the new count. */
function addSparse(
  accumulator: Float64Array,
  docs: Int32Array,
  impacts: Float32Array,
  from: number,
  to: number,
  w: number,
  touched: Int32Array,
  touchedCount: number,
): number {
  let count = touchedCount;
  for (let p = from; p < to; p++) {
    const d = docs[p]!;
    const before = accumulator[d]!;
    if (before === 0) touched[count++] = d;
    accumulator[d] = before + w * impacts[p]!;
  }
  return count;
}

/**
 * termTf[docs[p]] += weight · tfs[p] for p in [from, to), listing documents seen for the first time
 * in `termDocs`; returns the new count.
 */
function addWeightedTf(
  termTf: Float64Array,
  termDocs: Int32Array,
  count: number,
  docs: Int32Array,
  tfs: Int32Array,
  from: number,
  to: number,
  weight: number,
): number {
  let n = count;
  for (let p = from; p < to; p++) {
    const d = docs[p]!;
    const before = termTf[d]!;
    if (before === 0) termDocs[n++] = d;
    termTf[d] = before + weight * tfs[p]!;
  }
  return n;
}

/**
 * Adds w · tf·(k1+1)/(tf + k1·(1−b+b·dl/avgdl)) for each of the `n` documents of one PSQ term to
 * the accumulator (listing new ones in `touched`) and clears their tf; returns the touched count.
 */
function addSaturated(
  accumulator: Float64Array,
  touched: Int32Array,
  touchedCount: number,
  termTf: Float64Array,
  termDocs: Int32Array,
  n: number,
  lengths: Float32Array,
  k1: number,
  b: number,
  averageDocumentLength: number,
  w: number,
): number {
  let count = touchedCount;
  for (let j = 0; j < n; j++) {
    const d = termDocs[j]!;
    const tf = termTf[d]!;
    termTf[d] = 0;
    const relativeLength = averageDocumentLength > 0 ? lengths[d]! / averageDocumentLength : 0;
    const score = (w * tf * (k1 + 1)) / (tf + k1 * (1 - b + b * relativeLength));
    const before = accumulator[d]!;
    if (before === 0) touched[count++] = d;
    accumulator[d] = before + score;
  }
  return count;
}

/**
 * Keeps, in place and in order, the first `count` documents whose score can still reach
 * `threshold` (score + `rest` ≥ threshold); returns how many are kept.
 */
function keepReachableInPlace(documents: Int32Array, count: number, scores: Float64Array, rest: number, threshold: number): number {
  let kept = 0;
  for (let c = 0; c < count; c++) {
    const d = documents[c]!;
    if (scores[d]! + rest >= threshold) documents[kept++] = d;
  }
  return kept;
}

/**
 * The first position in [from, to) of the ascending `docs` holding a value ≥ `target` (`to` if
 * none): doubling steps from `from`, then a binary search, so a walk over ascending targets costs
 * O(log gap) per step (galloping, as in Bentley & Yao 1976).
 */
function gallop(docs: Int32Array, from: number, to: number, target: number): number {
  if (from >= to || docs[from]! >= target) return from;
  let lo = from; // docs[lo] < target
  let step = 1;
  while (lo + step < to && docs[lo + step]! < target) {
    lo += step;
    step *= 2;
  }
  let hi = Math.min(lo + step, to); // docs[hi] ≥ target, or hi = to
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid]! < target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * A copy of `term` that does not keep its document's text alive. Terms are slices of the analyzed
 * text, and V8 represents a slice of 13 or more characters as a view into its parent string, so a
 * dictionary key could otherwise retain a whole document (a heap snapshot after indexing 300
 * documents of 108 KB with one new long term each showed all 300 texts kept alive as parents of
 * sliced strings; with this copy, none). Concatenating and slicing again makes V8 copy the
 * characters into a new, term-sized string.
 */
function detach(term: string): string {
  return term.length < 13 ? term : ` ${term}`.slice(1);
}

/** Lucene's BM25 idf: ln(1 + (N − df + 0.5) / (df + 0.5)); always > 0. */
export function bm25Idf(documentCount: number, documentFrequency: number): number {
  return Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/** What {@link PostingsBuilder} keeps between `add` calls: per document its id, length and (term, tf) pairs; never its text. */
interface PostingsState {
  dictionary: Map<string, number>;
  ids: string[];
  idSet: Set<string>;
  lengths: GrowableInt32Array;
  /** Document d's pairs are pairTerms[docEnds[d] … docEnds[d+1] − 1] (docEnds[0] = 0). */
  docEnds: GrowableInt32Array;
  pairTerms: GrowableInt32Array;
  pairTfs: GrowableInt32Array;
  df: GrowableInt32Array;
  /** Per term: its tf in the document being analyzed. */
  tfScratch: GrowableInt32Array;
  /** The terms of the document being analyzed, in first-occurrence order. */
  unique: Int32Array;
  totalLength: number;
}

/**
 * `Bm25Index.builder`: each `add` analyzes its documents, numbers new terms, counts term
 * frequencies and appends (term, tf) pairs per document to growable buffers; `finish` lays the
 * postings out in CSR order with ascending document numbers by a counting sort by term.
 */
class PostingsBuilder implements Bm25IndexBuilder {
  private readonly k1: number;
  private readonly b: number;
  private readonly analyzer: Analyzer;
  private state: PostingsState | undefined;

  constructor(
    options: Omit<Bm25BuildOptions, "onProgress">,
    private readonly make: (parts: Bm25IndexParts) => Bm25Index,
  ) {
    this.k1 = options.k1 ?? DEFAULT_K1;
    this.b = options.b ?? DEFAULT_B;
    checkBm25Parameters(this.k1, this.b);
    this.analyzer = options.analyzer ?? createAnalyzer();
    const docEnds = new GrowableInt32Array(1 << 14);
    docEnds.push(0);
    this.state = {
      dictionary: new Map(),
      ids: [],
      idSet: new Set(),
      lengths: new GrowableInt32Array(1 << 14),
      docEnds,
      pairTerms: new GrowableInt32Array(1 << 16),
      pairTfs: new GrowableInt32Array(1 << 16),
      df: new GrowableInt32Array(1 << 14),
      tfScratch: new GrowableInt32Array(1 << 14),
      unique: new Int32Array(1024),
      totalLength: 0,
    };
  }

  get size(): number {
    return this.state?.ids.length ?? 0;
  }

  add(documents: readonly IndexableDocument[]): void {
    const s = this.state;
    if (s === undefined) throw new Error("Bm25IndexBuilder: add after finish");
    const { dictionary, ids, idSet, df, tfScratch, pairTerms, pairTfs } = s;
    for (let i = 0; i < documents.length; i++) {
      const d = ids.length;
      const doc = documents[i];
      if (doc === undefined) throw new Error(`document ${d} is missing`);
      if (idSet.has(doc.id)) throw new Error(`duplicate document id ${JSON.stringify(doc.id)} (document ${d})`);
      idSet.add(doc.id);
      ids.push(doc.id);
      const text = doc.title ? `${doc.title}\n${doc.text}` : doc.text;
      const terms = this.analyzer.analyze(text);
      s.lengths.push(terms.length);
      s.totalLength += terms.length;
      if (s.unique.length < terms.length) s.unique = new Int32Array(Math.max(terms.length, 2 * s.unique.length));
      const unique = s.unique;
      let uniqueCount = 0;
      for (const term of terms) {
        let t = dictionary.get(term);
        if (t === undefined) {
          t = dictionary.size;
          dictionary.set(detach(term), t);
          df.ensureLength(t + 1);
          tfScratch.ensureLength(t + 1);
        }
        const scratch = tfScratch.raw();
        const tf = scratch[t] ?? 0;
        if (tf === 0) unique[uniqueCount++] = t;
        scratch[t] = tf + 1;
      }
      const scratch = tfScratch.raw();
      const dfs = df.raw();
      for (let j = 0; j < uniqueCount; j++) {
        const t = unique[j] ?? 0;
        pairTerms.push(t);
        pairTfs.push(scratch[t] ?? 0);
        dfs[t] = (dfs[t] ?? 0) + 1;
        scratch[t] = 0;
      }
      s.docEnds.push(pairTerms.length);
    }
  }

  finish(): Bm25Index {
    const s = this.state;
    if (s === undefined) throw new Error("Bm25IndexBuilder: finish called twice");
    this.state = undefined;
    const { k1, b } = this;
    const n = s.ids.length;
    const lengths = new Float32Array(n);
    lengths.set(s.lengths.raw().subarray(0, n));

    // Counting sort of the (document, term, tf) triples by term: CSR postings, documents ascending.
    const vocabulary = s.dictionary.size;
    const dfs = s.df.raw();
    const offsets = new Int32Array(vocabulary + 1);
    for (let t = 0; t < vocabulary; t++) offsets[t + 1] = (offsets[t] ?? 0) + (dfs[t] ?? 0);
    const postingCount = s.pairTerms.length;
    const docs = new Int32Array(postingCount);
    const tfs = new Int32Array(postingCount);
    const impacts = new Float32Array(postingCount);
    const cursor = offsets.slice(0, vocabulary);
    const averageDocumentLength = n > 0 ? s.totalLength / n : 0;
    const terms = s.pairTerms.raw();
    const pairTf = s.pairTfs.raw();
    const docEnds = s.docEnds.raw();
    for (let d = 0; d < n; d++) {
      // norm = k1 · (1 − b + b · dl / avgdl), the per-document part of the denominator
      const relativeLength = averageDocumentLength > 0 ? (lengths[d] ?? 0) / averageDocumentLength : 0;
      const norm = k1 * (1 - b + b * relativeLength);
      for (let p = docEnds[d] ?? 0, end = docEnds[d + 1] ?? 0; p < end; p++) {
        const t = terms[p] ?? 0;
        const at = cursor[t] ?? 0;
        cursor[t] = at + 1;
        const tf = pairTf[p] ?? 0;
        docs[at] = d;
        tfs[at] = tf;
        impacts[at] = (tf * (k1 + 1)) / (tf + norm);
      }
    }
    const idfs = new Float64Array(vocabulary);
    for (let t = 0; t < vocabulary; t++) idfs[t] = bm25Idf(n, dfs[t] ?? 0);

    return this.make({ k1, b, analyzer: this.analyzer, dictionary: s.dictionary, ids: s.ids, offsets, docs, tfs, impacts, idfs, lengths, averageDocumentLength });
  }
}
