/**
 * Text analysis for lexical rankers: normalize, case-fold, split into words.
 *
 * The same analyzer settings must be used for documents and queries (only the locale may differ),
 * otherwise their terms do not meet in the index.
 */
import { tokenize } from "./tokenizer.js";

/** Options of `createAnalyzer`. */
export interface AnalyzerOptions {
  /**
   * BCP 47 language tag of the text (`de`, `zh`, `ja`, `th`, `pt-BR`; `pt_BR` is accepted too),
   * used as the `Intl.Segmenter` locale for scripts written without spaces. Default: the
   * segmenter's root rules, which already segment Chinese, Japanese and Thai by dictionary.
   */
  lang?: string;
  /**
   * `"NFKC"` (default): Unicode NFKC normalization (full-width and compatibility forms, ligatures,
   * superscripts become their plain letters and digits), then default-ignorable code points (soft
   * hyphen, zero-width joiners, variation selectors) are removed, as in Unicode's NFKC_Casefold.
   * `"none"`: the text is used as given.
   */
  normalization?: "NFKC" | "none";
  /**
   * Default true: `toLowerCase()` (locale-independent, so Turkish `I` becomes `i`, not `ı`), plus
   * the two mappings of Unicode full case folding that it lacks and NFKC does not cover: final
   * sigma `ς` → `σ` (so `ΟΔΟΣ`, `οδος` and `οδοσ` meet) and `ß` → `ss` (so `Straße`, `STRASSE`
   * and Swiss `Strasse` meet; this is what Unicode case folding, ICU, Lucene's ICUFoldingFilter and
   * Python's `str.casefold` do).
   */
  caseFold?: boolean;
  /** Words shorter than this many code points are dropped. Default 1 (keep all, e.g. Chinese single-character words). */
  minLength?: number;
}

/** Turns text into the terms a lexical index stores and a query looks up. */
export interface Analyzer {
  /** The language tag the analyzer was made for, if any. */
  readonly lang?: string;
  /** The terms of `text`, in text order, repeats included. */
  analyze(text: string): string[];
}

const NON_ASCII = /[^\x00-\x7f]/;
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const FOLD_AFTER_LOWER = /[ßς]/g;

/**
 * An analyzer: NFKC normalization, case folding, and word segmentation keeping word-like segments
 * (see `tokenizer.ts`: a fast scanner following UAX #29 for space-delimited scripts, and
 * `Intl.Segmenter` with `lang` as locale for runs of Han, kana, Thai, Lao, Khmer, Myanmar).
 * Throws a RangeError for a malformed language tag or a bad option value.
 */
export function createAnalyzer(options: AnalyzerOptions = {}): Analyzer {
  const normalization = options.normalization ?? "NFKC";
  if (normalization !== "NFKC" && normalization !== "none") {
    throw new RangeError(`analyzer normalization must be "NFKC" or "none", got ${JSON.stringify(normalization)}`);
  }
  const caseFold = options.caseFold ?? true;
  const minLength = options.minLength ?? 1;
  if (!Number.isInteger(minLength) || minLength < 0) {
    throw new RangeError(`analyzer minLength must be a non-negative integer, got ${String(minLength)}`);
  }
  const lang = options.lang;
  const locale = lang === undefined || lang === "" ? undefined : segmenterLocale(lang);
  const segmenter = new Intl.Segmenter(locale, { granularity: "word" });
  const nfkc = normalization === "NFKC";

  const prepare = (text: string): string => {
    if (!NON_ASCII.test(text)) return caseFold ? text.toLowerCase() : text;
    let t = text;
    if (nfkc) t = t.normalize("NFKC").replace(DEFAULT_IGNORABLE, "");
    if (caseFold) t = t.toLowerCase().replace(FOLD_AFTER_LOWER, (ch) => (ch === "ß" ? "ss" : "σ"));
    return t;
  };

  const analyze = (text: string): string[] => {
    const tokens = tokenize(prepare(text), segmenter);
    return minLength > 1 ? tokens.filter((t) => codePointLength(t, minLength) >= minLength) : tokens;
  };

  return lang === undefined ? { analyze } : { lang, analyze };
}

/** `lang` as an `Intl` locale: `_` becomes `-` (DDTP and gettext write `pt_BR`); throws RangeError if malformed. */
function segmenterLocale(lang: string): string {
  const tag = lang.replace(/_/g, "-");
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return canonical ?? tag;
  } catch {
    throw new RangeError(`analyzer lang ${JSON.stringify(lang)} is not a BCP 47 language tag (e.g. "de", "zh", "pt-BR")`);
  }
}

/** The number of code points of `s`, counting no further than `atLeast` once `s` is clearly long enough. */
function codePointLength(s: string, atLeast: number): number {
  if (s.length >= 2 * atLeast) return s.length; // even all-surrogate-pair text has >= atLeast code points
  let n = 0;
  for (const _ of s) n++;
  return n;
}
