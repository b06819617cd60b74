/**
 * Normalisation shared by dictionaries and the text they are matched against.
 *
 * A dictionary's headwords and glosses must meet the terms an analyzer makes of queries and
 * documents, so both sides go through the same steps. `normalizeText` repeats what
 * `@crossrank/rankers`' analyzer does before it splits words (NFKC, default-ignorable code points
 * removed, `toLowerCase()`, final sigma `ς` → `σ`, `ß` → `ss`); it lives here, not imported from the
 * rankers, because the rankers depend on this package. `foldTerm` goes further than the analyzer:
 * dictionaries write Arabic with or without short vowels and Greek with accents, while running text
 * does as it pleases, so both are folded away on both sides of a match.
 */

const NON_ASCII = /[^\x00-\x7f]/;
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const FOLD_AFTER_LOWER = /[ßς]/g;

/** NFKC, default-ignorables removed, lower case, `ς` → `σ`, `ß` → `ss` (the analyzer's steps 1–2). */
export function normalizeText(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  return text
    .normalize("NFKC")
    .replace(DEFAULT_IGNORABLE, "")
    .toLowerCase()
    .replace(FOLD_AFTER_LOWER, (ch) => (ch === "ß" ? "ss" : "σ"));
}

/**
 * Arabic harakat, tanwin, shadda, sukun, superscript alef and Quranic marks (U+0610–U+061A,
 * U+064B–U+065F, U+0670, U+06D6–U+06ED) and the tatweel U+0640: written in dictionaries (شَدّة), mostly
 * not in text.
 */
const ARABIC_MARKS = /[\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06ed]/g;
/** Alef with hamza above/below or madda, and alef wasla: written inconsistently, folded to bare alef (as Larkey's light stemmers do). */
const ARABIC_ALEFS = /[\u0622\u0623\u0625\u0671]/g;
const ARABIC = /[\u0600-\u06ff]/;
const GREEK = /[\u0370-\u03ff\u1f00-\u1fff]/;
const COMBINING = /\p{M}/gu;

/**
 * Folds what dictionaries and text write differently in a normalized term: Arabic diacritics and
 * tatweel removed and alef variants made bare alef; Greek accents and diaeresis removed
 * (`σπίτι` → `σπιτι`, `Ελλάδα` → `ελλαδα` after `normalizeText`). Other scripts are returned as they
 * are: Latin diacritics distinguish words (German `schon`/`schön`, Spanish `año`/`ano`).
 */
export function foldTerm(term: string): string {
  if (!NON_ASCII.test(term)) return term;
  let t = term;
  if (ARABIC.test(t)) t = t.replace(ARABIC_MARKS, "").replace(ARABIC_ALEFS, "\u0627");
  if (GREEK.test(t)) t = t.normalize("NFD").replace(COMBINING, "").normalize("NFC");
  return t;
}

/** Turns text into normalized terms: how a dictionary's headwords and glosses are split. */
export type Tokenizer = (text: string) => string[];

const WORD = /[\p{L}\p{N}\p{M}_]+(?:['’.][\p{L}\p{N}\p{M}_]+)*/gu;

/**
 * A tokenizer with no language knowledge: `normalizeText`, then runs of letters, digits and marks
 * (joined by `'`, `’` or `.` between two of them, as the analyzer does). Scripts written without
 * spaces come out as one word per run, which is what a dictionary headword needs; use the analyzer
 * of `@crossrank/rankers` to match running text.
 */
export const simpleTokenizer: Tokenizer = (text) => normalizeText(text).match(WORD) ?? [];
