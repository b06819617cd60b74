/**
 * Weighted translation tables built from dictionaries, and query translation through them: the
 * input of probabilistic structured queries (PSQ; Darwish & Oard 2003, "Probabilistic structured
 * query methods", SIGIR), where each query term stands for its translations, each with a
 * probability p(e | f) that sums to 1 over the term's translations.
 *
 * Probabilities: `uniform` (the default) gives each distinct translation of a source term the same
 * probability — all a bilingual dictionary says is that the translations exist. `weighted` sums the
 * weights of the listings of each translation and normalizes: with a TSV's third column those are
 * the user's weights; dictd and CEDICT entries weigh 1 each, so it counts how many senses and entries
 * list the translation (one given in three senses is likelier than one given once). Translations are kept in dictionary order (first
 * listed first) and, with `maxTranslations`, cut to the most probable before normalizing.
 *
 * Multi-word translations (`turn out`, `天安门 广场` for a Chinese target) have no single term to
 * count in an index without positions; their probability is shared equally by their words, so the
 * mass of a source term stays 1.
 */
import { foldTerm, simpleTokenizer, type Tokenizer } from "./normalize.js";
import type { Dictionary } from "./entry.js";
import type { Stemmer } from "./stem.js";
import { primaryLanguage } from "./languages.js";

/** One translation of a query term: a target term and its probability. */
export interface Translation {
  term: string;
  probability: number;
}

/** A source query term (or phrase) and what it stands for in the target language. */
export interface TranslatedTerm {
  /** The normalized source term or phrase (words joined by a space; Chinese: the characters). */
  source: string;
  /** Target terms with probabilities summing to 1; an untranslated term passes through as itself with 1. */
  translations: Translation[];
  /** False for a term the dictionary does not know (a number, a name, another script), passed through. */
  translated: boolean;
}

/** How translation probabilities are estimated (see the module comment). */
export type Weighting = "uniform" | "weighted";

/** Options of `TranslationTable.build`. */
export interface TranslationTableOptions {
  /** Splits and normalizes source headwords; must match how queries are analyzed. Default `simpleTokenizer`. */
  sourceTokenizer?: Tokenizer;
  /** Splits and normalizes glosses; must match how documents are analyzed. Default `simpleTokenizer`. */
  targetTokenizer?: Tokenizer;
  /** When set, a source term not found as written is looked up by its stem (headwords are lemmas, queries inflected). */
  sourceStemmer?: Stemmer;
  /** When set, target terms are stemmed (documents must then be indexed stemmed too). */
  targetStemmer?: Stemmer;
  /** Default `uniform`. */
  weighting?: Weighting;
  /** Keep at most this many translations per source term (the most probable; ties in dictionary order). Default: all. */
  maxTranslations?: number;
  /**
   * `characters` matches the longest dictionary word in runs of Han characters, for languages written
   * without spaces; `words` matches the longest run of words. Default: `characters` for Chinese and
   * Japanese sources, `words` otherwise.
   */
  segmentation?: "words" | "characters";
}

/** Longest phrase, in words, matched in a query: longer dictionary phrases are idioms and examples. */
const MAX_PHRASE_WORDS = 4;
/** Longest Chinese word, in characters, matched in a query. */
const MAX_PHRASE_CHARS = 12;
const HAN = /^\p{Script=Han}+$/u;
const HAN_OR_OTHER = /\p{Script=Han}+|\P{Script=Han}+/gu;

/** target key (target terms joined by a space) → weight, in first-listed order. */
type Targets = Map<string, number>;

/** A translation table from one language to another, built once and used for every query. */
export class TranslationTable {
  /** Number of distinct source terms and phrases. */
  readonly size: number;
  private readonly exact: Map<string, Targets>;
  private readonly stemmed: Map<string, Targets>;
  private readonly compiled = new Map<Targets, Translation[]>();
  private readonly sourceStemmer: Stemmer | undefined;
  private readonly targetStemmer: Stemmer | undefined;
  private readonly sourceTokenizer: Tokenizer;
  private readonly maxTranslations: number;
  private readonly characters: boolean;
  private readonly maxPhrase: number;

  private constructor(parts: {
    exact: Map<string, Targets>;
    stemmed: Map<string, Targets>;
    options: TranslationTableOptions;
    characters: boolean;
    maxPhrase: number;
  }) {
    this.exact = parts.exact;
    this.stemmed = parts.stemmed;
    this.size = parts.exact.size;
    this.sourceStemmer = parts.options.sourceStemmer;
    this.targetStemmer = parts.options.targetStemmer;
    this.sourceTokenizer = parts.options.sourceTokenizer ?? simpleTokenizer;
    this.maxTranslations = parts.options.maxTranslations ?? Infinity;
    this.characters = parts.characters;
    this.maxPhrase = parts.maxPhrase;
  }

  /**
   * Builds a table from dictionaries of the same direction (all `from` → `to`; reverse one with
   * `reverseDictionary` first). Throws a RangeError for a bad option or dictionaries of different
   * directions.
   */
  static build(dictionaries: readonly Dictionary[], options: TranslationTableOptions = {}): TranslationTable {
    const first = dictionaries[0];
    for (const d of dictionaries) {
      if (first !== undefined && (primaryLanguage(d.from) !== primaryLanguage(first.from) || primaryLanguage(d.to) !== primaryLanguage(first.to))) {
        throw new RangeError(`dictionaries of different directions: ${first.from}→${first.to} and ${d.from}→${d.to}`);
      }
    }
    const weighting = options.weighting ?? "uniform";
    if (weighting !== "uniform" && weighting !== "weighted") {
      throw new RangeError(`weighting must be "uniform" or "weighted", got ${JSON.stringify(weighting)}`);
    }
    const max = options.maxTranslations ?? Infinity;
    if (max !== Infinity && (!Number.isInteger(max) || max < 1)) {
      throw new RangeError(`maxTranslations must be a positive integer, got ${String(max)}`);
    }
    const from = first === undefined ? "" : primaryLanguage(first.from);
    const characters = (options.segmentation ?? (from === "zh" || from === "ja" ? "characters" : "words")) === "characters";
    const sourceTokenizer = options.sourceTokenizer ?? simpleTokenizer;
    const targetTokenizer = options.targetTokenizer ?? simpleTokenizer;
    const { sourceStemmer, targetStemmer } = options;
    const separator = characters ? "" : " ";
    const exact = new Map<string, Targets>();
    const stemmed = new Map<string, Targets>();
    const targetKeys = new Map<string, string>(); // gloss → target key, as glosses repeat
    let maxPhrase = 1;

    const add = (map: Map<string, Targets>, key: string, target: string, weight: number) => {
      let targets = map.get(key);
      if (targets === undefined) map.set(key, (targets = new Map()));
      const before = targets.get(target);
      targets.set(target, weighting === "uniform" ? 1 : (before ?? 0) + weight);
    };

    for (const dictionary of dictionaries) {
      for (const { source, target, weight } of dictionary.entries) {
        const words = sourceTokenizer(source).map(foldTerm);
        if (words.length === 0) continue;
        let targetKey = targetKeys.get(target);
        if (targetKey === undefined) {
          const terms = targetTokenizer(target).map(foldTerm);
          targetKey = (targetStemmer ? terms.map(targetStemmer) : terms).join(" ");
          targetKeys.set(target, targetKey);
        }
        if (targetKey === "") continue;
        const key = words.join(separator);
        const length = characters ? [...key].length : words.length;
        if (length > (characters ? MAX_PHRASE_CHARS : MAX_PHRASE_WORDS)) continue;
        maxPhrase = Math.max(maxPhrase, length);
        add(exact, key, targetKey, weight ?? 1);
        if (sourceStemmer) add(stemmed, words.map(sourceStemmer).join(separator), targetKey, weight ?? 1);
      }
    }
    return new TranslationTable({ exact, stemmed, options, characters, maxPhrase });
  }

  /**
   * The translations of a source word or phrase (tokenized and folded as headwords are), or
   * undefined if the dictionary has none; with a source stemmer, a word not found as written is
   * looked up by its stem.
   */
  lookup(source: string): Translation[] | undefined {
    return this.find(this.sourceTokenizer(source).map(foldTerm));
  }

  /**
   * Translates analyzed query terms, left to right, each time taking the longest dictionary phrase
   * that starts there (in words; for runs of Han characters, in characters, which segments Chinese
   * into the dictionary's words). A term the dictionary does not know passes through as itself
   * (folded and, with a target stemmer, stemmed), with probability 1.
   */
  translate(terms: readonly string[]): TranslatedTerm[] {
    // In character mode a term mixing Han with other characters (`2024年`) is split at the boundary.
    const folded = this.characters ? terms.flatMap((t) => foldTerm(t).match(HAN_OR_OTHER) ?? []) : terms.map(foldTerm);
    const out: TranslatedTerm[] = [];
    let i = 0;
    while (i < folded.length) {
      if (this.characters && HAN.test(folded[i] ?? "")) {
        let j = i;
        let run = "";
        while (j < folded.length && HAN.test(folded[j] ?? "")) run += folded[j++];
        this.translateCharacters([...run], out);
        i = j;
        continue;
      }
      let matched = false;
      for (let n = Math.min(this.characters ? 1 : this.maxPhrase, folded.length - i); n >= 1 && !matched; n--) {
        const words = folded.slice(i, i + n);
        const translations = this.find(words);
        if (translations !== undefined) {
          out.push({ source: words.join(" "), translations, translated: true });
          i += n;
          matched = true;
        }
      }
      if (!matched) out.push(this.passThrough(folded[i++] ?? ""));
    }
    return out;
  }

  /** Forward maximum matching over the code points of a Han run. */
  private translateCharacters(chars: readonly string[], out: TranslatedTerm[]): void {
    let i = 0;
    while (i < chars.length) {
      let matched = false;
      for (let n = Math.min(this.maxPhrase, chars.length - i); n >= 1 && !matched; n--) {
        const word = chars.slice(i, i + n).join("");
        const targets = this.exact.get(word);
        if (targets !== undefined) {
          out.push({ source: word, translations: this.compile(targets), translated: true });
          i += n;
          matched = true;
        }
      }
      if (!matched) out.push(this.passThrough(chars[i++] ?? ""));
    }
  }

  private find(words: readonly string[]): Translation[] | undefined {
    const separator = this.characters ? "" : " ";
    const targets =
      this.exact.get(words.join(separator)) ??
      (this.sourceStemmer ? this.stemmed.get(words.map(this.sourceStemmer).join(separator)) : undefined);
    return targets === undefined ? undefined : this.compile(targets);
  }

  private passThrough(term: string): TranslatedTerm {
    const target = this.targetStemmer ? this.targetStemmer(term) : term;
    return { source: term, translations: [{ term: target, probability: 1 }], translated: false };
  }

  /** Weights → probabilities: most probable first (stable), cut to maxTranslations, multi-word targets split, normalized. */
  private compile(targets: Targets): Translation[] {
    const cached = this.compiled.get(targets);
    if (cached !== undefined) return cached;
    const ranked = [...targets].sort((a, b) => b[1] - a[1]).slice(0, this.maxTranslations);
    let total = 0;
    for (const [, weight] of ranked) total += weight;
    const byTerm = new Map<string, number>();
    for (const [key, weight] of ranked) {
      const terms = key.split(" ");
      const share = total > 0 ? weight / total / terms.length : 0;
      for (const term of terms) byTerm.set(term, (byTerm.get(term) ?? 0) + share);
    }
    const translations = [...byTerm].map(([term, probability]) => ({ term, probability }));
    this.compiled.set(targets, translations);
    return translations;
  }
}
