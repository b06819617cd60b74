/**
 * What of this package runs in a browser, the entry bundlers pick under the "browser" export
 * condition: normalisation, languages, stemmers and translation tables built from entries in
 * memory. The dictionaries themselves are Debian's installed files (freedict, CC-CEDICT, gettext
 * catalogues), read from /usr/share by Node: a browser has none, so listing installed ones finds
 * none and loading one is an Error (bm25-psq, which needs them, is not offered there).
 */
import type { Dictionary } from "./entry.js";
import type { InstalledDictionariesOptions, InstalledDictionary, LoadDictionariesOptions } from "./load.js";

export { foldTerm, normalizeText, simpleTokenizer, type Tokenizer } from "./normalize.js";
export { iso639_1, iso639_3, primaryLanguage } from "./languages.js";
export { cleanGlosses, reverseDictionary, MAX_GLOSS_WORDS, type Dictionary, type DictionaryEntry } from "./entry.js";
export { loadStemmer, stemmerLanguages, type Stemmer } from "./stem.js";
export { TranslationTable, type TranslatedTerm, type Translation, type TranslationTableOptions, type Weighting } from "./translation-table.js";
export type { InstalledDictionariesOptions, InstalledDictionary, LoadDictionariesOptions } from "./load.js";

/** In a browser: no dictionary is installed (they are files under /usr/share that Node reads). */
export async function installedDictionaries(_options: InstalledDictionariesOptions = {}): Promise<InstalledDictionary[]> {
  return [];
}

/** In a browser: an Error (dictionaries are Debian's installed files; bm25-psq needs Node). */
export async function loadDictionaries(from: string, to: string, _options: LoadDictionariesOptions = {}): Promise<Dictionary[]> {
  throw new Error(`${from}–${to}: bilingual dictionaries are Debian's installed files (freedict, CC-CEDICT), which a browser cannot read: bm25-psq runs in Node only`);
}
