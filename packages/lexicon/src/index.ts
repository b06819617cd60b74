export { foldTerm, normalizeText, simpleTokenizer, type Tokenizer } from "./normalize.js";
export { iso639_1, iso639_3, primaryLanguage } from "./languages.js";
export { cleanGlosses, reverseDictionary, MAX_GLOSS_WORDS, type Dictionary, type DictionaryEntry } from "./entry.js";
export {
  articleTranslationLines,
  decodeDictdNumber,
  parseDictdIndex,
  readDictd,
  type DictdIndexEntry,
  type ReadDictdOptions,
} from "./dictd.js";
export { cedictGlosses, parseCedict, readCedict, readCedictPackage } from "./cedict.js";
export { parseTsv, readTsv } from "./tsv.js";
export {
  cleanGettextText,
  compileGettextCatalogue,
  GETTEXT_DIRECTORIES,
  gettextLanguage,
  gettextPluralIndex,
  installedCatalogues,
  parseGettextCatalogue,
  readGettextCatalogue,
  singularTranslation,
  type GettextCatalogue,
  type GettextEntry,
  type GettextMessage,
  type InstalledCatalogue,
  type InstalledCataloguesOptions,
} from "./gettext.js";
export {
  DICTD_DIRECTORIES,
  freedictPackage,
  installedDictionaries,
  loadDictionaries,
  missingDictionaryMessage,
  MissingDictionaryError,
  readDictionaryFile,
  readInstalledDictionary,
  type InstalledDictionariesOptions,
  type InstalledDictionary,
  type LoadDictionariesOptions,
} from "./load.js";
export { loadStemmer, stemmerLanguages, type Stemmer } from "./stem.js";
export {
  TranslationTable,
  type TranslatedTerm,
  type Translation,
  type TranslationTableOptions,
  type Weighting,
} from "./translation-table.js";
export { cldrGlossary, type CldrEntry } from "./cldr.js";
