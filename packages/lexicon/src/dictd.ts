/**
 * The dictd format, as Debian's `dict-freedict-*` packages install it in `/usr/share/dictd/`:
 * `freedict-deu-eng.index` and `freedict-deu-eng.dict.dz`.
 *
 * The index has one line per headword: `headword<TAB>offset<TAB>length`, offset and length in
 * dictd's base-64 (digits `A–Z a–z 0–9 + /`, most significant first), locating the article in the
 * uncompressed `.dict`. The `.dict.dz` is gzip with dictzip's random-access table in the header's
 * extra field, so plain gunzip reads it whole. Headwords starting with `00database` are metadata
 * (`00databaseinfo`, `00databaseurl`), not words.
 *
 * A freedict article is the headword line (headword, pronunciation `/…/`, part of speech `<…>`)
 * followed by translation lines, optionally numbered by sense (`1. house, home`), and annotation
 * lines: examples in quotes, `Note:`, `Synonym(s):`, `see:` — which are skipped.
 */
import { access, readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { cleanGlosses, type Dictionary, type DictionaryEntry } from "./entry.js";

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

/** Decodes a dictd base-64 number (`B0` → 116); undefined when `text` is empty or has another character. */
export function decodeDictdNumber(text: string): number | undefined {
  if (text === "") return undefined;
  let n = 0;
  for (const c of text) {
    const d = DIGIT.get(c);
    if (d === undefined) return undefined;
    n = n * 64 + d;
  }
  return n;
}

/** One line of a dictd index. */
export interface DictdIndexEntry {
  headword: string;
  offset: number;
  length: number;
  /** 1-based line number in the index, for messages. */
  line: number;
}

/**
 * Parses a dictd `.index`. Throws an Error naming `file:line` for a line that is not
 * `headword<TAB>offset<TAB>length` with valid base-64 numbers. Metadata headwords (`00database…`)
 * and empty headwords (left by headwords made only of punctuation) are skipped.
 */
export function parseDictdIndex(text: string, file: string): DictdIndexEntry[] {
  const entries: DictdIndexEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    if (raw === "" && i === lines.length - 1) break;
    const fields = raw.split("\t");
    const offset = decodeDictdNumber(fields[1] ?? "");
    const length = decodeDictdNumber(fields[2] ?? "");
    if (fields.length !== 3 || offset === undefined || length === undefined) {
      throw new Error(
        `${file}:${i + 1}: expected headword<TAB>offset<TAB>length with base-64 offset and length, got ${JSON.stringify(raw.slice(0, 80))}`,
      );
    }
    const headword = fields[0] ?? "";
    if (headword === "" || headword.startsWith("00database")) continue;
    entries.push({ headword, offset, length, line: i + 1 });
  }
  return entries;
}

/** The translation lines of an article: every line after the first that is not an annotation. */
export function articleTranslationLines(article: string): string[] {
  const lines = article.split("\n");
  const out: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "" || line.startsWith('"') || /^(?:Note|Synonyms?|Antonyms?|see|See also)\s*:/i.test(line)) continue;
    out.push(line);
  }
  return out;
}

/** Options of `readDictd`. */
export interface ReadDictdOptions {
  /** Source and target language tags; they decide how glosses are cleaned (see `cleanGlosses`). */
  from: string;
  to: string;
  /** The `.dict.dz` or `.dict`; default: the index path with `.index` replaced by `.dict.dz`, else `.dict`. */
  dictPath?: string;
}

/**
 * Reads a dictd dictionary (`.index` plus `.dict.dz` or `.dict`) into entries: one per headword and
 * clean gloss, in index order. An article listed under several headwords is parsed once. Throws with
 * `file:line` for a malformed index line or one pointing past the end of the `.dict`.
 */
export async function readDictd(indexPath: string, options: ReadDictdOptions): Promise<Dictionary> {
  const dictPath = options.dictPath ?? (await defaultDictPath(indexPath));
  const [indexText, dictBytes] = await Promise.all([readFile(indexPath, "utf8"), readFile(dictPath)]);
  const dict = dictPath.endsWith(".dz") || dictPath.endsWith(".gz") ? gunzipSync(dictBytes) : dictBytes;
  const index = parseDictdIndex(indexText, indexPath);
  const glossesAt = new Map<number, string[]>();
  const entries: DictionaryEntry[] = [];
  for (const { headword, offset, length, line } of index) {
    if (offset + length > dict.length) {
      throw new Error(`${indexPath}:${line}: article at ${offset}+${length} is past the end of ${dictPath} (${dict.length} bytes)`);
    }
    let glosses = glossesAt.get(offset);
    if (glosses === undefined) {
      const article = dict.toString("utf8", offset, offset + length);
      glosses = articleTranslationLines(article).flatMap((l) => cleanGlosses(l, options.from, options.to));
      glossesAt.set(offset, glosses);
    }
    for (const target of glosses) entries.push({ source: headword, target });
  }
  return { from: options.from, to: options.to, entries, files: [indexPath, dictPath], headwords: index.length };
}

async function defaultDictPath(indexPath: string): Promise<string> {
  const base = indexPath.replace(/\.index$/, "");
  for (const candidate of [`${base}.dict.dz`, `${base}.dict`]) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`${indexPath}: no ${base}.dict.dz or ${base}.dict beside the index`);
}
