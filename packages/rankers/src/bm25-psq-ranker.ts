import {
  foldTerm,
  loadDictionaries,
  loadStemmer,
  primaryLanguage,
  TranslationTable,
  type Stemmer,
  type TranslatedTerm,
  type Weighting,
} from "@crossrank/lexicon";
import type { Document } from "@crossrank/datasets";
import type { Run } from "@crossrank/metrics";
import { createAnalyzer, type Analyzer, type AnalyzerOptions } from "./analyzer.js";
import { bm25PartBuilder, type CollectionPart, type CollectionPartBuilder, collectionParts } from "./collection-parts.js";
import { Bm25Index, checkBm25Parameters, checkK3, DEFAULT_B, DEFAULT_K1, type PsqTerm } from "./bm25.js";
import type { Ranker, RankingInput, RankOptions } from "./ranker.js";
import { runQueries } from "./run-queries.js";

/** Options of `Bm25PsqRanker`. */
export interface Bm25PsqRankerOptions {
  /** Default 1.2 (see `bm25.ts`). */
  k1?: number;
  /** Default 0.75 (see `bm25.ts`). */
  b?: number;
  /** Query-term saturation, as in `Bm25Ranker`: default Infinity (per occurrence); 0 counts each source term once. */
  k3?: number;
  /** Keep at most this many translations per query term (the most probable). Default: all. */
  maxTranslations?: number;
  /**
   * Snowball stemming (default false): query terms missing from the dictionary as written are looked
   * up by stem, and documents and translations are indexed stemmed. Languages without a Snowball
   * stemmer (Chinese) are left as they are.
   */
  stem?: boolean;
  /** Translation probabilities (see `@crossrank/lexicon`'s `TranslationTable`). Default `uniform`. */
  weighting?: Weighting;
  /**
   * A dictionary file (TSV `source<TAB>target[<TAB>weight]`, dictd `.index`, CEDICT text) from the
   * query language to the document language, used instead of the installed dictionaries.
   */
  dictionary?: string;
  /** Analyzer settings shared by documents and queries; the language comes from the input. */
  analyzer?: Omit<AnalyzerOptions, "lang">;
}

const DEFAULT_K = 100;

/**
 * Translation tables by configuration, shared by every ranker of the process: reading the German
 * dictionaries takes seconds and a benchmark ranks several tasks with the same pair.
 */
const TABLES = new Map<string, Promise<TranslationTable>>();

/**
 * Cross-lingual BM25 with probabilistic structured queries (Darwish & Oard 2003): each query term is
 * replaced by its dictionary translations, which share one term frequency and one document frequency
 * weighted by their translation probabilities (`Bm25Index.searchPsq`). Dictionaries come from
 * `@crossrank/lexicon` for the pair (`queryLang` → `docLang`): the freedict dictionary of that
 * direction, the opposite one reversed, CC-CEDICT for Chinese, or the `dictionary` file. Query terms
 * the dictionary does not know (numbers, names, words in the documents' script) pass through
 * untranslated. Both `queryLang` and `docLang` are required; a pair with no installed dictionary is
 * an error naming the Debian package to install.
 */
export class Bm25PsqRanker implements Ranker {
  readonly name: string;
  private readonly k1: number;
  private readonly b: number;
  /** Query-term saturation (see `queryTermWeight`). */
  readonly k3: number;
  private readonly maxTranslations: number | undefined;
  private readonly stem: boolean;
  private readonly weighting: Weighting;
  private readonly dictionary: string | undefined;
  private readonly analyzerOptions: Omit<AnalyzerOptions, "lang">;

  constructor(options: Bm25PsqRankerOptions = {}) {
    this.k1 = options.k1 ?? DEFAULT_K1;
    this.b = options.b ?? DEFAULT_B;
    this.k3 = options.k3 ?? Infinity;
    checkBm25Parameters(this.k1, this.b);
    checkK3(this.k3);
    this.maxTranslations = options.maxTranslations;
    if (this.maxTranslations !== undefined && (!Number.isInteger(this.maxTranslations) || this.maxTranslations < 1)) {
      throw new RangeError(`maxTranslations must be a positive integer, got ${String(this.maxTranslations)}`);
    }
    this.stem = options.stem ?? false;
    this.weighting = options.weighting ?? "uniform";
    if (this.weighting !== "uniform" && this.weighting !== "weighted") {
      throw new RangeError(`weighting must be "uniform" or "weighted", got ${JSON.stringify(this.weighting)}`);
    }
    this.dictionary = options.dictionary;
    this.analyzerOptions = options.analyzer ?? {};
    createAnalyzer(this.analyzerOptions);
    const extra = [
      this.k3 === Infinity ? "" : `,k3=${this.k3}`,
      this.maxTranslations === undefined ? "" : `,maxTranslations=${this.maxTranslations}`,
      this.stem ? ",stem" : "",
      this.weighting === "uniform" ? "" : `,weighting=${this.weighting}`,
    ].join("");
    this.name = `bm25-psq(k1=${this.k1},b=${this.b}${extra})`;
  }

  async rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    const k = options.k ?? DEFAULT_K;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${String(k)}`);
    const { queryLang, docLang } = input;
    if (queryLang === undefined || docLang === undefined) {
      throw new Error("bm25-psq needs the query and document languages (queryLang, docLang) to choose a dictionary");
    }
    const { onProgress } = options;
    const documentCount = input.documents.length;
    const total = documentCount + input.queries.length;

    const translate = await this.translator(queryLang, docLang);
    const index =
      collectionParts(input.documents)?.bm25.get(this.partKey(docLang)) ??
      Bm25Index.build(input.documents, {
        k1: this.k1,
        b: this.b,
        analyzer: await this.documentAnalyzer(docLang),
        ...(onProgress ? { onProgress: (done: number) => onProgress(done, total) } : {}),
      });

    return runQueries(input.queries, (query) => index.searchPsq(translate(query.text), k, this.k3), {
      done: documentCount,
      total,
      ...(onProgress ? { onProgress } : {}),
    });
  }

  /**
   * Each query's PSQ terms (its analysed terms with their translations into `docLang`), as `rank`
   * scores them with `Bm25Index.searchPsq`: for a store that computes PSQ elsewhere (SQL). Loads
   * the dictionaries on the first call for a pair.
   */
  async queryTerms(texts: readonly string[], queryLang: string, docLang: string): Promise<PsqTerm[][]> {
    const translate = await this.translator(queryLang, docLang);
    return texts.map(translate);
  }

  private async translator(queryLang: string, docLang: string): Promise<(text: string) => PsqTerm[]> {
    const [sourceStemmer, targetStemmer] = this.stem ? await Promise.all([loadStemmer(queryLang), loadStemmer(docLang)]) : [];
    const sourceAnalyzer = createAnalyzer({ ...this.analyzerOptions, lang: queryLang });
    const targetAnalyzer = foldingAnalyzer(createAnalyzer({ ...this.analyzerOptions, lang: docLang }), targetStemmer);
    const table = await this.table(queryLang, docLang, sourceAnalyzer, targetAnalyzer, sourceStemmer, targetStemmer);
    return (text) => psqTerms(table.translate(sourceAnalyzer.analyze(text)));
  }

  /**
   * The key of this ranker's document index among a collection's prebuilt parts. The index depends
   * on the documents' side only (k1, b, analyzer, stemming), so one serves every query language.
   */
  partKey(docLang: string): string {
    return JSON.stringify(["bm25-psq", this.k1, this.b, { ...this.analyzerOptions, lang: docLang }, this.stem]);
  }

  /** The analyzer of the documents: the document language's, folded (and stemmed with `stem`) as the dictionary's translations are. */
  async documentAnalyzer(docLang: string): Promise<Analyzer> {
    const stemmer = this.stem ? await loadStemmer(docLang) : undefined;
    return foldingAnalyzer(createAnalyzer({ ...this.analyzerOptions, lang: docLang }), stemmer);
  }

  /** The document index `rank` would build, as a part to keep with the collection (`attachCollectionParts`). */
  async prebuild(documents: readonly Document[], docLang: string, onProgress?: (done: number, total: number) => void): Promise<CollectionPart> {
    const analyzer = await this.documentAnalyzer(docLang);
    const index = Bm25Index.build(documents, { k1: this.k1, b: this.b, analyzer, ...(onProgress ? { onProgress } : {}) });
    return { kind: "bm25", key: this.partKey(docLang), index };
  }

  /** `prebuild` for documents given in chunks (see `CollectionPartBuilder`). */
  async partBuilder(docLang: string): Promise<CollectionPartBuilder> {
    return bm25PartBuilder(this.partKey(docLang), Bm25Index.builder({ k1: this.k1, b: this.b, analyzer: await this.documentAnalyzer(docLang) }));
  }

  private table(
    from: string,
    to: string,
    source: Analyzer,
    target: Analyzer,
    sourceStemmer: Stemmer | undefined,
    targetStemmer: Stemmer | undefined,
  ): Promise<TranslationTable> {
    const key = JSON.stringify([primaryLanguage(from), primaryLanguage(to), this.stem, this.weighting, this.maxTranslations, this.dictionary, this.analyzerOptions]);
    let table = TABLES.get(key);
    if (table === undefined) {
      table = loadDictionaries(from, to, this.dictionary === undefined ? {} : { path: this.dictionary }).then((dictionaries) =>
        TranslationTable.build(dictionaries, {
          sourceTokenizer: source.analyze,
          targetTokenizer: target.analyze,
          ...(sourceStemmer ? { sourceStemmer } : {}),
          ...(targetStemmer ? { targetStemmer } : {}),
          weighting: this.weighting,
          ...(this.maxTranslations === undefined ? {} : { maxTranslations: this.maxTranslations }),
        }),
      );
      // A failed load (missing dictionary) is not cached, so installing the package and retrying works.
      table.catch(() => TABLES.delete(key));
      TABLES.set(key, table);
    }
    return table;
  }
}

/**
 * The documents' analyzer followed by `foldTerm` (Arabic diacritics, Greek accents) and, when given,
 * a stemmer: documents must be analyzed as the dictionary's translations are.
 */
function foldingAnalyzer(analyzer: Analyzer, stemmer: Stemmer | undefined): Analyzer {
  const analyze = (text: string): string[] => {
    const terms = analyzer.analyze(text);
    for (let i = 0; i < terms.length; i++) {
      const folded = foldTerm(terms[i]!);
      terms[i] = stemmer ? stemmer(folded) : folded;
    }
    return terms;
  };
  return analyzer.lang === undefined ? { analyze } : { lang: analyzer.lang, analyze };
}

/** Translated query terms as PSQ terms, a repeated source term counted once with its occurrences. */
function psqTerms(translated: readonly TranslatedTerm[]): PsqTerm[] {
  const bySource = new Map<string, { translations: { term: string; weight: number }[]; count: number }>();
  for (const { source, translations } of translated) {
    const seen = bySource.get(source);
    if (seen !== undefined) seen.count++;
    else bySource.set(source, { translations: translations.map((t) => ({ term: t.term, weight: t.probability })), count: 1 });
  }
  return [...bySource.values()];
}
