/**
 * Document collections in the common IR exchange formats, streamed line by line (gzip allowed):
 * JSONL as written by Pyserini/Anserini (`{id, contents}`), BEIR (`{_id, title, text}`) or
 * ir_datasets exports (`{docno, text}`), and TSV as in MS MARCO (`id<TAB>text`) or with a title
 * column (`id<TAB>title<TAB>text`); also Debian's DDTP translation files (`Translation-<lang>`,
 * one document per description: id = its md5, text = short + long description).
 */
import { ddtpText, readDdtp } from "./ddtp.js";
import { isRecord, readLines, typeName } from "./io.js";
import type { Document } from "./types.js";

const ID_KEYS = ["id", "docno", "_id"] as const;
const TEXT_KEYS = ["text", "contents", "body"] as const;
/** Header lines a TSV collection may start with; skipped. */
const TSV_HEADERS = new Set(["id\ttext", "id\ttitle\ttext", "docid\ttext", "docid\ttitle\ttext", "_id\ttext", "_id\ttitle\ttext"]);

/** The collection format told by the file name (before any `.gz`): `.jsonl`/`.json`, `.tsv`/`.txt`, or DDTP's `Translation-<lang>`. */
export function collectionFormat(path: string): "jsonl" | "tsv" | "ddtp" {
  const stem = path.replace(/\.gz$/i, "");
  if (/(^|[/\\])Translation-[A-Za-z_]+$/.test(stem)) return "ddtp";
  if (/\.jsonl?$/i.test(stem)) return "jsonl";
  if (/\.(tsv|txt)$/i.test(stem)) return "tsv";
  throw new Error(`${path}: cannot tell the collection format from the file name: expected .jsonl, .json, .tsv, .txt or DDTP's Translation-<lang>, optionally followed by .gz`);
}

function jsonlDocument(text: string, where: string): Document {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: invalid JSON (${(err as Error).message}); expected one object {id, text, title?} per line`);
  }
  if (!isRecord(value)) throw new Error(`${where}: expected an object {id, text, title?}, got ${typeName(value)}`);
  const idKey = ID_KEYS.find((k) => value[k] !== undefined);
  const textKey = TEXT_KEYS.find((k) => value[k] !== undefined);
  if (idKey === undefined) throw new Error(`${where}: missing document id (one of ${ID_KEYS.map((k) => `"${k}"`).join(", ")})`);
  const id = value[idKey];
  if (!(typeof id === "string" && id !== "") && !Number.isSafeInteger(id)) {
    throw new Error(`${where}: expected "${idKey}" to be a non-empty string or an integer, got ${JSON.stringify(id)}`);
  }
  if (textKey === undefined) throw new Error(`${where}: missing document text (one of ${TEXT_KEYS.map((k) => `"${k}"`).join(", ")})`);
  const body = value[textKey];
  if (typeof body !== "string") throw new Error(`${where}: expected "${textKey}" to be a string, got ${typeName(body)}`);
  const title = value.title;
  if (title !== undefined && title !== null && typeof title !== "string") {
    throw new Error(`${where}: expected "title" to be a string when present, got ${typeName(title)}`);
  }
  const doc: Document = { id: String(id), text: body };
  if (typeof title === "string" && title !== "") doc.title = title;
  return doc;
}

function tsvDocument(text: string, where: string): Document {
  const fields = text.split("\t");
  if ((fields.length !== 2 && fields.length !== 3) || fields[0] === "") {
    throw new Error(`${where}: expected "id<TAB>text" or "id<TAB>title<TAB>text", got ${fields.length} tab-separated field(s)`);
  }
  const id = ownString(fields[0]!);
  if (fields.length === 2) return { id, text: fields[1]! };
  const doc: Document = { id, text: fields[2]! };
  if (fields[1] !== "") doc.title = fields[1]!;
  return doc;
}

/**
 * A copy of `s` that keeps no larger string alive. V8 keeps a slice of 13 or more characters as a
 * view into its parent: a TSV id split off its line would keep the whole line (text included)
 * for as long as the id is kept, e.g. by a duplicate check over a collection streamed past. (JSON
 * values are fresh strings already.) Concatenating and slicing again makes V8 copy the characters.
 */
function ownString(s: string): string {
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

/**
 * Streams a collection's documents (format from the file name, see `collectionFormat`), one line
 * at a time: only the ids seen are kept (for the duplicate check), so collections larger than
 * memory can be indexed. JSONL: id from `id`, `docno` or `_id` (string or integer), text from
 * `text`, `contents` or `body`, optional `title` (dropped when empty). TSV: 2 or 3 columns; a
 * header line such as `id<TAB>text` is skipped. Blank lines are skipped. Errors: `path:line: …`,
 * including a repeated id (naming both lines), thrown when the reading reaches that line. A DDTP
 * Translation file is parsed whole first (its stanzas sharing an md5 are merged into one
 * description): one file is one Debian archive's descriptions, tens of MB.
 */
export async function* streamCollection(path: string, lang?: string): AsyncGenerator<Document> {
  const format = collectionFormat(path);
  if (format === "ddtp") {
    for (const d of await readDdtp(path)) yield { id: d.md5, text: ddtpText(d, "description"), lang: lang ?? d.lang.replace("_", "-") };
    return;
  }
  const seen = new Map<string, number>();
  for await (const { line, text } of readLines(path)) {
    if (text.trim() === "") continue;
    if (format === "tsv" && line === 1 && TSV_HEADERS.has(text.toLowerCase())) continue;
    const where = `${path}:${line}`;
    const doc = format === "jsonl" ? jsonlDocument(text, where) : tsvDocument(text, where);
    const first = seen.get(doc.id);
    if (first !== undefined) throw new Error(`${where}: duplicate document id ${JSON.stringify(doc.id)} (first at line ${first})`);
    seen.set(doc.id, line);
    if (lang !== undefined) doc.lang = lang;
    yield doc;
  }
}

/** Reads a whole collection into memory: `streamCollection`'s documents (and errors) as an array. */
export async function readCollection(path: string, lang?: string): Promise<Document[]> {
  const documents: Document[] = [];
  for await (const doc of streamCollection(path, lang)) documents.push(doc);
  return documents;
}
