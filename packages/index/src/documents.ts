/** The documents file of a generation: one JSON object {id, text, title?} per line, in index order. */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { Document } from "@crossrank/datasets";
import type { ManifestFile } from "./format.js";

const CHUNK = 8192;

/** Writes `documents` to `path` (streamed in chunks, synced); returns its size and sha256. */
export async function writeDocuments(path: string, documents: readonly Document[]): Promise<ManifestFile> {
  const handle = await open(path, "w");
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for (let i = 0; i < documents.length; i += CHUNK) {
      let chunk = "";
      for (const d of documents.slice(i, i + CHUNK)) chunk += `${JSON.stringify(d.title ? { id: d.id, title: d.title, text: d.text } : { id: d.id, text: d.text })}\n`;
      const buffer = Buffer.from(chunk, "utf8");
      hash.update(buffer);
      bytes += buffer.length;
      await handle.write(buffer);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { bytes, sha256: hash.digest("hex") };
}

/** Parses a documents file's bytes (already checked against the manifest); `path` names it in errors. */
export function parseDocuments(bytes: Uint8Array, path: string, lang: string): Document[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const documents: Document[] = [];
  let start = 0;
  let line = 0;
  while (start < buffer.length) {
    let end = buffer.indexOf(10, start);
    if (end < 0) end = buffer.length;
    line++;
    let value: unknown;
    try {
      value = JSON.parse(buffer.toString("utf8", start, end));
    } catch (err) {
      throw new Error(`${path}:${line}: invalid JSON (${(err as Error).message})`);
    }
    const d = value as Partial<Document>;
    if (typeof d !== "object" || d === null || typeof d.id !== "string" || typeof d.text !== "string" || (d.title !== undefined && typeof d.title !== "string")) {
      throw new Error(`${path}:${line}: expected {id, text, title?} with string values`);
    }
    documents.push(d.title === undefined ? { id: d.id, text: d.text, lang } : { id: d.id, title: d.title, text: d.text, lang });
    start = end + 1;
  }
  return documents;
}
