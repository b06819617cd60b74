/**
 * Character classes for the word tokenizer: a subset of the Word_Break property of Unicode's
 * UAX #29 ("Unicode Text Segmentation", https://www.unicode.org/reports/tr29/), computed once from
 * the engine's own Unicode property escapes and kept in a 64 Ki table for the BMP, so the scanner
 * in `tokenizer.ts` classifies a code unit with one array read instead of a regular expression.
 */

/** Not part of a word (spaces, punctuation other than the joiners below, symbols, emoji). */
export const OTHER = 0;
/** ALetter: letters of scripts written with spaces between words (Latin, Greek, Cyrillic, Arabic, Hangul jamo…). */
export const LETTER = 1;
/** Hebrew_Letter: like LETTER, plus the Hebrew rules for `"` and a trailing `'`. */
export const HEBREW = 2;
/** Numeric: decimal digits of any script (plus U+066B ARABIC DECIMAL SEPARATOR, as in UAX #29). */
export const DIGIT = 3;
/** ExtendNumLet: connector punctuation such as `_`, which joins letters and digits. */
export const CONNECTOR = 4;
/**
 * A precomposed Hangul syllable (U+AC00–U+D7A3). ICU (unlike plain UAX #29) keeps runs of them
 * together but never joins them with other letters, digits, `_` or joiners: `2048을` is `2048` `을`.
 */
export const HANGUL = 5;
/**
 * A word character of a script written without spaces between words (Han, Hiragana, Katakana,
 * Thai, Lao, Khmer, Myanmar, Tai scripts; see `COMPLEX_SCRIPTS`): a run containing one goes to
 * `Intl.Segmenter`, whose dictionaries find the word boundaries.
 */
export const COMPLEX = 6;
/** Extend / Format / ZWJ: combining marks and format characters, which stay with the preceding character. */
export const MARK = 7;
/** MidLetter: joins two letters (`:` `·` …), e.g. Catalan `l·l`. */
export const MID_LETTER = 8;
/** MidNumLet other than the ASCII apostrophe: joins two letters or two digits (`.` `’` …). */
export const MID_NUM_LET = 9;
/** Single_Quote (`'`): joins like MidNumLet; after a Hebrew letter it also stays at the end of a word. */
export const SINGLE_QUOTE = 10;
/** MidNum: joins two digits (`,` `;` Arabic comma …), e.g. `1,000`. */
export const MID_NUM = 11;
/** Double_Quote (`"`): joins two Hebrew letters, e.g. Hebrew acronyms. */
export const DOUBLE_QUOTE = 12;
/** A UTF-16 surrogate: the code point is classified by `astralClass`. */
export const SURROGATE = 13;

/**
 * Scripts whose words are not separated by spaces. Their runs are segmented with ICU's dictionaries
 * through `Intl.Segmenter`. Hangul is not among them: Korean separates words (eojeol) with spaces,
 * ICU has no Korean dictionary and keeps a run of syllables whole (see `HANGUL`).
 */
const COMPLEX_SCRIPTS =
  "\\p{Ideographic}\\p{scx=Han}\\p{scx=Hiragana}\\p{scx=Katakana}\\p{scx=Thai}\\p{scx=Lao}" +
  "\\p{scx=Khmer}\\p{scx=Myanmar}\\p{scx=Tai_Le}\\p{scx=New_Tai_Lue}\\p{scx=Tai_Tham}" +
  "\\p{scx=Tai_Viet}\\p{scx=Ahom}";
const COMPLEX_SCRIPT_RE = new RegExp(`[${COMPLEX_SCRIPTS}]`, "u");
/** Characters that can be part of a word at all (U+30FB KATAKANA MIDDLE DOT is Word_Break=Katakana). */
const WORDISH_RE = /[\p{L}\p{M}\p{N}\p{Pc}\u30FB]/u;
const MARK_RE = /[\p{M}\p{Cf}]/u;
const DIGIT_RE = /[\p{Nd}\u066B]/u;
const HEBREW_RE = /\p{sc=Hebrew}/u;
/** ALetter: Alphabetic plus the few modifier symbols UAX #29 adds (marks were taken out before). */
const LETTER_RE = /[\p{Alphabetic}\u02C2-\u02C5\u02D2-\u02D7\u02DE\u02DF\u02ED\u02EF-\u02FF\u05F3\uA720\uA721\uA789\uA78A\uAB5B]/u;
const CONNECTOR_RE = /[\p{Pc}\u202F]/u;
const MID_LETTER_CHARS = ":\u00B7\u0387\u055F\u05F4\u2027\uFE13\uFE55\uFF1A";
const MID_NUM_LET_CHARS = ".\u2018\u2019\u2024\uFE52\uFF07\uFF0E";
const MID_NUM_CHARS = ",;\u037E\u0589\u060C\u060D\u066C\u07F8\u2044\uFE10\uFE14\uFF0C\uFF1B";

/** The class of one code point, by the rules above (used to fill the table and for astral code points). */
function classifyCodePoint(ch: string): number {
  if (WORDISH_RE.test(ch)) {
    if (COMPLEX_SCRIPT_RE.test(ch)) return COMPLEX;
    if (MARK_RE.test(ch)) return MARK;
    if (ch >= "\uAC00" && ch <= "\uD7A3") return HANGUL;
    if (DIGIT_RE.test(ch)) return DIGIT;
    if (CONNECTOR_RE.test(ch)) return CONNECTOR;
    if (HEBREW_RE.test(ch) && LETTER_RE.test(ch)) return HEBREW;
    if (LETTER_RE.test(ch)) return LETTER;
    return OTHER; // e.g. No (superscripts, fractions): not Numeric in UAX #29
  }
  if (MARK_RE.test(ch)) return MARK; // Cf format characters (soft hyphen, ZWJ, …)
  if (DIGIT_RE.test(ch)) return DIGIT; // U+066B
  if (CONNECTOR_RE.test(ch)) return CONNECTOR; // U+202F
  if (LETTER_RE.test(ch)) return HEBREW_RE.test(ch) ? HEBREW : LETTER;
  if (ch === "'") return SINGLE_QUOTE;
  if (ch === '"') return DOUBLE_QUOTE;
  if (MID_LETTER_CHARS.includes(ch)) return MID_LETTER;
  if (MID_NUM_LET_CHARS.includes(ch)) return MID_NUM_LET;
  if (MID_NUM_CHARS.includes(ch)) return MID_NUM;
  return OTHER;
}

/** Word classes of the BMP code points, indexed by UTF-16 code unit; surrogates are `SURROGATE`. */
export const BMP_CLASSES: Uint8Array = buildBmpTable();

function buildBmpTable(): Uint8Array {
  const table = new Uint8Array(0x10000);
  for (let cp = 0; cp < 0x10000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) {
      table[cp] = SURROGATE;
      continue;
    }
    table[cp] = classifyCodePoint(String.fromCharCode(cp));
  }
  return table;
}

const astralCache = new Map<number, number>();

/** The class of a code point above U+FFFF (CJK extensions, historic scripts, math letters, emoji). */
export function astralClass(codePoint: number): number {
  let c = astralCache.get(codePoint);
  if (c === undefined) {
    c = classifyCodePoint(String.fromCodePoint(codePoint));
    astralCache.set(codePoint, c);
  }
  return c;
}

/** True for the classes that can start a word. */
export function isWordStart(c: number): boolean {
  return c >= LETTER && c <= COMPLEX;
}
