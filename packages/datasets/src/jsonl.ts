/**
 * Multilingual JSONL records aligned by id — the format of the Wikipedia sample used in the
 * LaBSE/DistilUSE study: one JSON object per line, `{id, lang, title?, url?, text}`, where records
 * with the same id in different languages are versions of the same article.
 */
import { basename } from "node:path";
import type { Qrels } from "@crossrank/metrics";
import { isRecord, readLines, typeName } from "./io.js";
import type { Document, Query, RetrievalTask } from "./types.js";

/** Options of `loadJsonlTask`. */
export interface JsonlTaskOptions {
  /** The `lang` of the query records. */
  queryLang: string;
  /** The `lang` of the document records. */
  docLang: string;
  /** Keep the first `limit` documents (file order) and the first `limit` queries that match them; all when absent. Sets both of the limits below. */
  limit?: number;
  /**
   * Keep the first `documentLimit` docLang records (file order) as documents; all when absent. The
   * LaBSE / DistilUSE notebook takes the first 1000 records of each language.
   */
  documentLimit?: number;
  /** Keep the first `queryLimit` queryLang records (file order) whose id is among the kept documents; all when absent. */
  queryLimit?: number;
  /** Task name; default `<file name without extension>/<queryLang>-<docLang>`. */
  name?: string;
}

/** One validated JSONL record. */
interface JsonlRecord {
  id: string;
  lang: string;
  text: string;
  title?: string;
  url?: string;
}

function parseRecord(text: string, where: string): JsonlRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: invalid JSON (${(err as Error).message}); expected one object {id, lang, text, title?, url?} per line`);
  }
  if (!isRecord(value)) throw new Error(`${where}: expected an object {id, lang, text, title?, url?}, got ${typeName(value)}`);
  const { id, lang, text: body, title, url } = value;
  if (id === undefined) throw new Error(`${where}: missing "id"`);
  if (!(typeof id === "string" && id !== "") && !Number.isSafeInteger(id)) {
    throw new Error(`${where}: expected "id" to be a non-empty string or an integer, got ${JSON.stringify(id)}`);
  }
  for (const [key, v] of [["lang", lang], ["text", body]] as const) {
    if (v === undefined) throw new Error(`${where}: missing "${key}"`);
    if (typeof v !== "string") throw new Error(`${where}: expected "${key}" to be a string, got ${typeName(v)}`);
  }
  for (const [key, v] of [["title", title], ["url", url]] as const) {
    if (v !== undefined && v !== null && typeof v !== "string") {
      throw new Error(`${where}: expected "${key}" to be a string when present, got ${typeName(v)}`);
    }
  }
  const record: JsonlRecord = { id: String(id), lang: lang as string, text: body as string };
  if (typeof title === "string") record.title = title;
  if (typeof url === "string") record.url = url;
  return record;
}

/**
 * Loads a same-id retrieval task from a multilingual JSONL file, streamed line by line.
 *
 * Documents are the first `documentLimit` records whose `lang` is `docLang` (all without a limit);
 * queries are the records of `queryLang` whose id is among those documents (the first `queryLimit`
 * of them); `limit` sets both limits. The one relevant document of a query is the document with the
 * same id (grade 1), so every kept query's relevant document is among the documents. Query-language
 * records whose id has no document — none in the file, or beyond `documentLimit` — are skipped and
 * counted in `warnings`: where the LaBSE / DistilUSE notebook keeps the first N records of each
 * language and a query whose article fell outside its N documents can only miss, here it is not a
 * query (on a sample whose languages list the same articles in the same order, the two agree).
 * Blank lines are ignored. `id` may be a string or an integer (used as a string).
 *
 * Throws `path:line: ...` on a line that is not a JSON object with a string `lang` and `text` and a
 * string or integer `id`, and on a second record with the same (id, lang), naming both lines.
 */
export async function loadJsonlTask(path: string, options: JsonlTaskOptions): Promise<RetrievalTask> {
  const { queryLang, docLang, limit } = options;
  for (const key of ["limit", "documentLimit", "queryLimit"] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) throw new Error(`loadJsonlTask: ${key} must be a positive integer, got ${value}`);
  }
  if (limit !== undefined && (options.documentLimit !== undefined || options.queryLimit !== undefined)) {
    throw new Error("loadJsonlTask: give limit (both sides) or documentLimit / queryLimit, not both");
  }
  const documentLimit = options.documentLimit ?? limit;
  const queryLimit = options.queryLimit ?? limit;
  const maxDocs = documentLimit ?? Infinity;
  /** lang → id → line, for the duplicate check over the whole file. */
  const seen = new Map<string, Map<string, number>>();
  const documents: Document[] = [];
  const candidates: Query[] = [];
  for await (const { line, text } of readLines(path)) {
    if (text.trim() === "") continue;
    const where = `${path}:${line}`;
    const record = parseRecord(text, where);
    let ids = seen.get(record.lang);
    if (ids === undefined) seen.set(record.lang, (ids = new Map()));
    const first = ids.get(record.id);
    if (first !== undefined) {
      throw new Error(`${where}: duplicate record for id ${JSON.stringify(record.id)} and lang ${JSON.stringify(record.lang)} (first at line ${first})`);
    }
    ids.set(record.id, line);
    if (record.lang === docLang && documents.length < maxDocs) {
      const doc: Document = { id: record.id, text: record.text, lang: record.lang };
      if (record.title !== undefined) doc.title = record.title;
      if (record.url !== undefined) doc.url = record.url;
      documents.push(doc);
    }
    if (record.lang === queryLang) candidates.push({ id: record.id, text: record.text, lang: record.lang });
  }

  const docIds = new Set(documents.map((d) => d.id));
  const matching = candidates.filter((q) => docIds.has(q.id));
  const queries = matching.slice(0, queryLimit ?? matching.length);
  const qrels: Qrels = new Map(queries.map((q) => [q.id, new Map([[q.id, 1]])]));
  const warnings: string[] = [];
  const skipped = candidates.length - matching.length;
  if (skipped > 0) {
    const why = limit !== undefined ? ` (limit ${limit})` : documentLimit !== undefined ? ` (documentLimit ${documentLimit})` : "";
    warnings.push(`skipped ${skipped} ${queryLang} records whose id has no ${docLang} document${why}`);
  }
  const name = options.name ?? `${basename(path).replace(/(\.jsonl?)?(\.gz)?$/, "")}/${queryLang}-${docLang}`;
  return { name, queryLang, docLang, queries, documents, qrels, warnings };
}
