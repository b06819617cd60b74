/**
 * A plain bilingual word list, for dictionaries users bring themselves: one pair per line,
 * `source<TAB>target` or `source<TAB>target<TAB>weight` (a number >= 0, e.g. a translation
 * probability or a count from word alignment). Blank lines and lines starting with `#` are skipped.
 * The text is taken as written: no gloss clean-up, so each target is one translation.
 */
import { readFile } from "node:fs/promises";
import type { Dictionary, DictionaryEntry } from "./entry.js";

/** Parses TSV text; throws an Error naming `file:line` for a malformed line. */
export function parseTsv(text: string, file: string, from: string, to: string): Dictionary {
  const entries: DictionaryEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields = line.split("\t");
    const where = `${file}:${i + 1}`;
    if (fields.length < 2 || fields.length > 3) {
      throw new Error(`${where}: expected source<TAB>target[<TAB>weight], got ${fields.length} field${fields.length === 1 ? "" : "s"}`);
    }
    const source = (fields[0] ?? "").trim();
    const target = (fields[1] ?? "").trim();
    if (source === "" || target === "") throw new Error(`${where}: empty ${source === "" ? "source" : "target"}`);
    if (fields.length === 2) {
      entries.push({ source, target });
      continue;
    }
    const text3 = (fields[2] ?? "").trim();
    const weight = Number(text3);
    if (text3 === "" || !Number.isFinite(weight) || weight < 0) {
      throw new Error(`${where}: weight must be a number >= 0, got ${JSON.stringify(fields[2])}`);
    }
    entries.push({ source, target, weight });
  }
  return { from, to, entries, files: [file], headwords: entries.length };
}

/** Reads a TSV word list from `path`. */
export async function readTsv(path: string, from: string, to: string): Promise<Dictionary> {
  return parseTsv(await readFile(path, "utf8"), path, from, to);
}
