/**
 * The query's language when the user leaves it on "detect": franc's trigram models (franc-min)
 * restricted to the languages the page offers, and the script alone where a query is too short
 * for trigrams (Han, kana, Hangul, Arabic, Cyrillic, Greek say it outright or nearly).
 */
import { franc } from "franc-min";

/** The languages the page offers, ISO 639-1, with franc's ISO 639-3 codes. */
export const LANGUAGES: Readonly<Record<string, { name: string; iso3: string }>> = {
  en: { name: "English", iso3: "eng" },
  de: { name: "German", iso3: "deu" },
  fr: { name: "French", iso3: "fra" },
  es: { name: "Spanish", iso3: "spa" },
  it: { name: "Italian", iso3: "ita" },
  pt: { name: "Portuguese", iso3: "por" },
  cs: { name: "Czech", iso3: "ces" },
  da: { name: "Danish", iso3: "dan" },
  fi: { name: "Finnish", iso3: "fin" },
  pl: { name: "Polish", iso3: "pol" },
  ru: { name: "Russian", iso3: "rus" },
  uk: { name: "Ukrainian", iso3: "ukr" },
  el: { name: "Greek", iso3: "ell" },
  ar: { name: "Arabic", iso3: "arb" },
  ja: { name: "Japanese", iso3: "jpn" },
  ko: { name: "Korean", iso3: "kor" },
  zh: { name: "Chinese", iso3: "cmn" },
};

const BY_ISO3 = new Map(Object.entries(LANGUAGES).map(([code, l]) => [l.iso3, code]));

/** The query's language (ISO 639-1), or undefined when neither its script nor its trigrams say. */
export function detectLanguage(text: string): string | undefined {
  if (/[\u3040-\u30ff]/u.test(text)) return "ja";
  if (/[\uac00-\ud7af]/u.test(text)) return "ko";
  if (/\p{Script=Han}/u.test(text)) return "zh";
  if (/\p{Script=Arabic}/u.test(text)) return "ar";
  if (/\p{Script=Greek}/u.test(text)) return "el";
  const guess = franc(text, { minLength: 3, only: Object.values(LANGUAGES).map((l) => l.iso3) });
  if (guess !== "und") return BY_ISO3.get(guess);
  // Too short for trigrams: Cyrillic is Russian unless a letter only Ukrainian has says otherwise.
  if (/\p{Script=Cyrillic}/u.test(text)) return /[іїєґ]/iu.test(text) ? "uk" : "ru";
  return undefined;
}
