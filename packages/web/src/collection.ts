/**
 * A collection as a JSONL file, one document a line: {"id", "text", "title"?, "lang"?} (the other
 * fields of a line are ignored; blank lines are skipped). What the standalone page fetches as its
 * sample and what a user drops in.
 */
import type { Document } from "@crossrank/datasets";

/** The documents of a JSONL text; `source` names it in errors, which give the line. */
export function parseCollection(jsonl: string, source: string): Document[] {
  const documents: Document[] = [];
  const seen = new Set<string>();
  const lines = jsonl.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const where = `${source}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: not JSON (${(error as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where}: expected an object {"id", "text", "title"?, "lang"?}`);
    const { id, text, title, lang } = value as Record<string, unknown>;
    if (typeof id !== "string" || id === "") throw new Error(`${where}: "id" must be a non-empty string`);
    if (typeof text !== "string") throw new Error(`${where}: "text" must be a string`);
    if (title !== undefined && typeof title !== "string") throw new Error(`${where}: "title" must be a string when present`);
    if (lang !== undefined && typeof lang !== "string") throw new Error(`${where}: "lang" must be a string when present`);
    if (seen.has(id)) throw new Error(`${where}: id ${JSON.stringify(id)} appears twice`);
    seen.add(id);
    documents.push({ id, text, ...(title ? { title } : {}), ...(lang ? { lang } : {}) });
  });
  if (documents.length === 0) throw new Error(`${source}: no documents (one JSON object a line: {"id", "text", "title"?, "lang"?})`);
  return documents;
}
