/**
 * The query's language when the user leaves it on "detect": the script where it says it outright or
 * nearly (Han, kana, Hangul, Arabic, Greek; Cyrillic for short queries), letters only some languages
 * write (ü, ñ, ł…), and franc's trigram models (franc-min) among the languages those leave.
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

/**
 * Letters only some of the offered Latin-script languages write: a query holding one is in one of
 * those (trigram models misjudge short queries, e.g. "Texteditor für Programmierer" as Portuguese).
 */
const DISTINCTIVE: Readonly<Record<string, readonly string[]>> = {
  ß: ["de"],
  ü: ["de"],
  ä: ["de", "fi"],
  ö: ["de", "fi"],
  å: ["da", "fi"],
  æ: ["da"],
  ø: ["da"],
  ñ: ["es"],
  ã: ["pt"],
  õ: ["pt"],
  ç: ["fr", "pt"],
  œ: ["fr"],
  ł: ["pl"],
  ą: ["pl"],
  ę: ["pl"],
  ś: ["pl"],
  ź: ["pl"],
  ż: ["pl"],
  ń: ["pl"],
  ř: ["cs"],
  ě: ["cs"],
  ů: ["cs"],
  ý: ["cs"],
  č: ["cs"],
  š: ["cs"],
  ž: ["cs"],
};

/** The languages the query's distinctive letters allow (all offered ones when it has none; possibly none when they disagree). */
function allowedByLetters(text: string): string[] {
  let allowed = Object.keys(LANGUAGES);
  for (const ch of new Set(text.toLowerCase())) {
    const languages = DISTINCTIVE[ch];
    if (languages !== undefined) allowed = allowed.filter((l) => languages.includes(l));
  }
  return allowed;
}

/** The query's language (ISO 639-1), or undefined when neither its script nor its trigrams say. */
export function detectLanguage(text: string): string | undefined {
  if (/[\u3040-\u30ff]/u.test(text)) return "ja";
  if (/[\uac00-\ud7af]/u.test(text)) return "ko";
  if (/\p{Script=Han}/u.test(text)) return "zh";
  if (/\p{Script=Arabic}/u.test(text)) return "ar";
  if (/\p{Script=Greek}/u.test(text)) return "el";
  let allowed = allowedByLetters(text);
  // Letters of two languages at once (a name, a loan word): they say nothing.
  if (allowed.length === 0) allowed = Object.keys(LANGUAGES);
  if (allowed.length === 1) return allowed[0];
  const guess = franc(text, { minLength: 3, only: allowed.map((l) => LANGUAGES[l]!.iso3) });
  if (guess !== "und") return BY_ISO3.get(guess);
  // Too short for trigrams: Cyrillic is Russian unless a letter only Ukrainian has says otherwise.
  if (/\p{Script=Cyrillic}/u.test(text)) return /[іїєґ]/iu.test(text) ? "uk" : "ru";
  return undefined;
}
