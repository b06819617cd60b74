/**
 * Language codes: freedict names its dictionaries with ISO 639-3 codes (`deu-eng`), the rest of
 * crossrank uses BCP 47 / ISO 639-1 (`de`). Also the script each language is written in, which the
 * dictd reader uses to drop notes written in the wrong language.
 */

/** ISO 639-1 → ISO 639-3 for the languages freedict or XQuAD cover. */
const ISO3: Readonly<Record<string, string>> = {
  af: "afr", ar: "ara", bg: "bul", cs: "ces", cy: "cym", da: "dan", de: "deu", el: "ell", en: "eng",
  eo: "epo", es: "spa", fi: "fin", fr: "fra", ga: "gle", hi: "hin", hr: "hrv", hu: "hun", id: "ind",
  is: "isl", it: "ita", ja: "jpn", la: "lat", lt: "lit", nl: "nld", no: "nor", pl: "pol", pt: "por",
  ro: "ron", ru: "rus", sk: "slk", sl: "slv", sr: "srp", sv: "swe", sw: "swh", th: "tha", tr: "tur",
  uk: "ukr", vi: "vie", zh: "zho",
};

/** The primary language subtag of a BCP 47 or gettext tag, lower case: `pt_BR` → `pt`, `zh-Hans` → `zh`. */
export function primaryLanguage(lang: string): string {
  return (lang.split(/[-_]/)[0] ?? lang).toLowerCase();
}

/** ISO 639-3 code of a language tag (`de` → `deu`; a three-letter code is returned as is). */
export function iso639_3(lang: string): string {
  const primary = primaryLanguage(lang);
  return ISO3[primary] ?? primary;
}

/** ISO 639-1 code of an ISO 639-3 code where there is one (`deu` → `de`), else the code itself. */
export function iso639_1(code: string): string {
  return ISO1_OF_3[code.toLowerCase()] ?? code.toLowerCase();
}

/** The script of the languages whose script is known, as a Unicode `Script` property value. */
const SCRIPTS: Readonly<Record<string, string>> = {
  ar: "Arabic", fa: "Arabic", ur: "Arabic",
  el: "Greek",
  ru: "Cyrillic", uk: "Cyrillic", bg: "Cyrillic", sr: "Cyrillic", mk: "Cyrillic",
  hi: "Devanagari", ne: "Devanagari", mr: "Devanagari", sa: "Devanagari",
  zh: "Han", ja: "Han",
  th: "Thai", he: "Hebrew", ko: "Hangul",
  af: "Latin", cs: "Latin", cy: "Latin", da: "Latin", de: "Latin", en: "Latin", eo: "Latin",
  es: "Latin", fi: "Latin", fr: "Latin", ga: "Latin", hr: "Latin", hu: "Latin", id: "Latin",
  is: "Latin", it: "Latin", la: "Latin", lt: "Latin", nl: "Latin", no: "Latin", pl: "Latin",
  pt: "Latin", ro: "Latin", sk: "Latin", sl: "Latin", sv: "Latin", sw: "Latin", tr: "Latin",
  vi: "Latin",
};

const ISO1_OF_3: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(ISO3).map(([a, b]) => [b, a]));

/** A regular expression matching a letter of `lang`'s script, or undefined when the script is not known. */
export function scriptLetter(lang: string): RegExp | undefined {
  const primary = primaryLanguage(lang);
  const script = SCRIPTS[ISO1_OF_3[primary] ?? primary];
  return script === undefined ? undefined : new RegExp(`\\p{Script=${script}}`, "u");
}
