/**
 * TREC-style topic files: the SGML-ish `<top>` format of TREC and CLEF, or one topic per line as
 * TSV (`id<TAB>text`, MS MARCO style) or JSONL (`{"_id"|"id"|"qid", "text"|"query"}`, BEIR style).
 */
import { isRecord, readText, typeName } from "./io.js";

/** One topic; `line` is the 1-based line of its `<top>` (or its line in TSV/JSONL). */
export interface TrecTopic {
  id: string;
  /** `<title>` (or `<XX-title>`), or the one text of a TSV/JSONL topic. */
  title?: string;
  /** `<desc>` (or `<XX-desc>`), without its `Description:` label. */
  description?: string;
  /** `<narr>` (or `<XX-narr>`), without its `Narrative:` label. */
  narrative?: string;
  line: number;
}

/** Which `<top>` tags fill which field, and the label TREC puts at the start of their text. */
const SGML_FIELDS: { suffix: string; field: "id" | "title" | "description" | "narrative"; label: RegExp }[] = [
  { suffix: "num", field: "id", label: /^number:\s*/i },
  { suffix: "title", field: "title", label: /^topic:\s*/i },
  { suffix: "desc", field: "description", label: /^description:\s*/i },
  { suffix: "narr", field: "narrative", label: /^narrative:\s*/i },
];

function lineAt(text: string, offset: number, from: { offset: number; line: number }): number {
  let line = from.line;
  for (let i = from.offset; i < offset; i++) if (text.charCodeAt(i) === 0x0a) line++;
  from.offset = offset;
  from.line = line;
  return line;
}

/**
 * Parses `<top> … </top>` blocks. In each, the text after an opening tag up to the next tag is the
 * tag's value (closing tags are optional), with white space collapsed and the TREC label
 * (`Number:`, `Topic:`, `Description:`, `Narrative:`) removed. A tag named `<num>` or ending in
 * `-num`, `title`, `desc`, `narr` (CLEF's `<EN-title>`) fills that field; the first one wins; others
 * are ignored.
 */
export function parseSgmlTopics(text: string, source: string): TrecTopic[] {
  const topics: TrecTopic[] = [];
  const cursor = { offset: 0, line: 1 };
  const open = /<top>/gi;
  let m: RegExpExecArray | null;
  while ((m = open.exec(text)) !== null) {
    const line = lineAt(text, m.index, cursor);
    const end = text.slice(open.lastIndex).search(/<\/top>/i);
    if (end < 0) throw new Error(`${source}:${line}: <top> without </top>`);
    const body = text.slice(open.lastIndex, open.lastIndex + end);
    open.lastIndex += end + "</top>".length;
    const topic: Partial<TrecTopic> = { line };
    const tags = [...body.matchAll(/<\s*(\/?)\s*([A-Za-z][\w-]*)\s*>/g)];
    tags.forEach((tag, i) => {
      if (tag[1] === "/") return;
      const name = tag[2]!.toLowerCase();
      const spec = SGML_FIELDS.find((f) => name === f.suffix || name.endsWith(`-${f.suffix}`));
      if (spec === undefined || topic[spec.field] !== undefined) return;
      const next = tags[i + 1];
      const value = body.slice(tag.index + tag[0].length, next === undefined ? body.length : next.index);
      topic[spec.field] = value.replace(/\s+/g, " ").trim().replace(spec.label, "");
    });
    if (topic.id === undefined || topic.id === "") throw new Error(`${source}:${line}: topic without a <num>`);
    topics.push(topic as TrecTopic);
  }
  if (topics.length === 0) throw new Error(`${source}: no <top> blocks`);
  return topics;
}

/** Parses `id<TAB>text` lines (blank lines skipped). */
function parseTsvTopics(text: string, source: string): TrecTopic[] {
  const topics: TrecTopic[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return;
    const fields = line.split("\t");
    if (fields.length !== 2 || fields[0]!.trim() === "") {
      throw new Error(`${source}:${i + 1}: expected "id<TAB>text" (2 tab-separated fields), got ${fields.length} field(s)`);
    }
    topics.push({ id: fields[0]!.trim(), title: fields[1]!.trim(), line: i + 1 });
  });
  return topics;
}

/** Parses one JSON object a line with an id (`_id`, `id`, `qid`, `query_id`) and a text (`text`, `query`). */
function parseJsonlTopics(text: string, source: string): TrecTopic[] {
  const topics: TrecTopic[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${source}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${where}: invalid JSON (${(err as Error).message}); expected one object {"_id", "text"} per line`);
    }
    if (!isRecord(value)) throw new Error(`${where}: expected an object {"_id", "text"}, got ${typeName(value)}`);
    const id = ["_id", "id", "qid", "query_id"].map((k) => value[k]).find((v) => v !== undefined);
    const body = ["text", "query"].map((k) => value[k]).find((v) => v !== undefined);
    if (!(typeof id === "string" && id !== "") && !Number.isSafeInteger(id)) {
      throw new Error(`${where}: expected a topic id ("_id", "id", "qid" or "query_id") that is a string or an integer, got ${JSON.stringify(id) ?? "none"}`);
    }
    if (typeof body !== "string") throw new Error(`${where}: expected a topic text ("text" or "query") that is a string, got ${typeName(body)}`);
    topics.push({ id: String(id), title: body, line: i + 1 });
  });
  return topics;
}

/**
 * Reads a topic file (gzip allowed): SGML when it contains `<top>`, else JSONL when its name ends
 * in `.jsonl` or `.json` (before any `.gz`), else TSV. A topic id used twice is an error naming both
 * lines.
 */
export async function readTopics(path: string): Promise<TrecTopic[]> {
  const text = await readText(path);
  const stem = path.replace(/\.gz$/i, "");
  const topics = /<top>/i.test(text)
    ? parseSgmlTopics(text, path)
    : /\.jsonl?$/i.test(stem)
      ? parseJsonlTopics(text, path)
      : parseTsvTopics(text, path);
  const seen = new Map<string, number>();
  for (const t of topics) {
    const first = seen.get(t.id);
    if (first !== undefined) throw new Error(`${path}:${t.line}: duplicate topic ${t.id} (first at line ${first})`);
    seen.set(t.id, t.line);
  }
  return topics;
}
