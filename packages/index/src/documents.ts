/** The documents file of a generation: one JSON object {id, text, title?} per line, in index order. */
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import type { Document } from "@crossrank/datasets";
import type { ManifestFile } from "./format.js";

const CHUNK = 8192;

/**
 * Writes a documents file as the documents come (`add` in index order, then `finish` once), so a
 * collection streamed from its files is never held whole; the sha256 is computed on the way.
 */
export class DocumentsWriter {
  private readonly hash = createHash("sha256");
  private bytes = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async create(path: string): Promise<DocumentsWriter> {
    return new DocumentsWriter(await open(path, "w"));
  }

  async add(documents: readonly Document[]): Promise<void> {
    for (let i = 0; i < documents.length; i += CHUNK) {
      let chunk = "";
      for (const d of documents.slice(i, i + CHUNK)) chunk += `${JSON.stringify(d.title ? { id: d.id, title: d.title, text: d.text } : { id: d.id, text: d.text })}\n`;
      const buffer = Buffer.from(chunk, "utf8");
      this.hash.update(buffer);
      this.bytes += buffer.length;
      await this.handle.write(buffer);
    }
  }

  /** Syncs and closes the file; returns its size and sha256. */
  async finish(): Promise<ManifestFile> {
    try {
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
    return { bytes: this.bytes, sha256: this.hash.digest("hex") };
  }

  /** Closes the file after a failure (what was written is the caller's to remove). */
  async abandon(): Promise<void> {
    await this.handle.close();
  }
}

/** Writes `documents` to `path` (synced); returns its size and sha256. */
export async function writeDocuments(path: string, documents: readonly Document[]): Promise<ManifestFile> {
  const writer = await DocumentsWriter.create(path);
  try {
    await writer.add(documents);
  } catch (err) {
    await writer.abandon();
    throw err;
  }
  return writer.finish();
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
