/**
 * Snowball stemmers, from `@orama/stemmers` (Apache-2.0; the Snowball project's algorithms
 * compiled to JavaScript, one module per language, loaded on demand).
 */
import { primaryLanguage } from "./languages.js";

/** A function from a normalized word to its stem. */
export type Stemmer = (word: string) => string;

type StemmerModule = { stemmer: Stemmer };

/** Languages with a Snowball stemmer, by ISO 639-1 code. */
const LOADERS: Readonly<Record<string, () => Promise<StemmerModule>>> = {
  ar: () => import("@orama/stemmers/arabic"),
  bg: () => import("@orama/stemmers/bulgarian"),
  da: () => import("@orama/stemmers/danish"),
  de: () => import("@orama/stemmers/german"),
  el: () => import("@orama/stemmers/greek"),
  en: () => import("@orama/stemmers/english"),
  es: () => import("@orama/stemmers/spanish"),
  fi: () => import("@orama/stemmers/finnish"),
  fr: () => import("@orama/stemmers/french"),
  ga: () => import("@orama/stemmers/irish"),
  hi: () => import("@orama/stemmers/indian"),
  hu: () => import("@orama/stemmers/hungarian"),
  hy: () => import("@orama/stemmers/armenian"),
  id: () => import("@orama/stemmers/indonesian"),
  it: () => import("@orama/stemmers/italian"),
  lt: () => import("@orama/stemmers/lithuanian"),
  ne: () => import("@orama/stemmers/nepali"),
  nl: () => import("@orama/stemmers/dutch"),
  no: () => import("@orama/stemmers/norwegian"),
  pt: () => import("@orama/stemmers/portuguese"),
  ro: () => import("@orama/stemmers/romanian"),
  ru: () => import("@orama/stemmers/russian"),
  sa: () => import("@orama/stemmers/sanskrit"),
  sr: () => import("@orama/stemmers/serbian"),
  sv: () => import("@orama/stemmers/swedish"),
  ta: () => import("@orama/stemmers/tamil"),
  tr: () => import("@orama/stemmers/turkish"),
  uk: () => import("@orama/stemmers/ukrainian"),
};

/** Language codes (ISO 639-1) that `loadStemmer` knows, sorted. */
export function stemmerLanguages(): string[] {
  return Object.keys(LOADERS).sort();
}

/**
 * The Snowball stemmer of `lang` (a BCP 47 tag), or undefined for a language without one (Chinese,
 * Thai, Vietnamese, Japanese: no inflection to remove, or no algorithm). Stems are memoized: a
 * collection repeats its words, and the Snowball programs are not cheap.
 */
export async function loadStemmer(lang: string): Promise<Stemmer | undefined> {
  const load = LOADERS[primaryLanguage(lang)];
  if (load === undefined) return undefined;
  const { stemmer } = await load();
  const memo = new Map<string, string>();
  return (word) => {
    let stem = memo.get(word);
    if (stem === undefined) {
      stem = stemmer(word);
      memo.set(word, stem);
    }
    return stem;
  };
}
