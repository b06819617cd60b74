/**
 * The on-disk layout of a crossrank index (format version {@link INDEX_FORMAT_VERSION}):
 *
 *   DIR/CURRENT                     the name of the live generation, e.g. "gen-000003"
 *   DIR/gen-000003/manifest.json    format, version, documents, parts, every file's size and sha256
 *   DIR/gen-000003/documents.jsonl  the documents, one {id, text, title?} per line, in index order
 *   DIR/gen-000003/part-<n>.safetensors   one prebuilt part each (BM25 arrays, document vectors)
 *
 * A generation is written whole into a temporary folder, synced, renamed into place, and only then
 * named by CURRENT (itself replaced by an atomic rename), as Lucene's segments_N: a process killed
 * at any moment leaves CURRENT naming a complete generation, and readers that opened the previous
 * generation keep it (its files are read fully on open). Parts are safetensors files, the format
 * the models already use: typed arrays with a JSON header, readable from Python.
 */
import { createHash } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { NamedTensor } from "@crossrank/encode";
import type { ManifestFile } from "@crossrank/static-model";

export const INDEX_FORMAT = "crossrank-index";
export const INDEX_FORMAT_VERSION = 1;
export const CURRENT_FILE = "CURRENT";
export const MANIFEST_FILE = "manifest.json";
export const DOCUMENTS_FILE = "documents.jsonl";

/** A file of a generation, as the manifest records it: its size and sha256 (as the shipped model's manifest does). */
export type { ManifestFile };

/** One prebuilt part: the ranker that builds and uses it, and its file. */
export interface ManifestPart {
  /** bm25: postings; vectors: the documents' vectors; ann: an approximate index over them (a folder). */
  kind: "bm25" | "vectors" | "ann";
  /** The part's key among the collection's parts (the ranker's `partKey`). */
  key: string;
  /** Registry name and parameters of the ranker whose `prebuild` made it. */
  ranker: string;
  params: Record<string, unknown>;
  file: string;
}

/** The encoder of the document vectors. */
export interface ManifestEncoder {
  /** As given (`crossrank-static`, a folder, a hub id). */
  spec: string;
  /** The loaded encoder's id. */
  id: string;
  /** sha256 of the built-in model's weights, so that an index never meets another version of the model. */
  modelSha256?: string;
  /**
   * How the vectors are compared (the bi-encoder's similarity for this encoder): "cosine" (unit
   * vectors stored) or "dot" (the encoder's raw vectors stored, e.g. DistilUSE, a folder without
   * Normalize). Absent in indexes written before it was recorded: cosine.
   */
  similarity?: "cosine" | "dot";
}

export interface IndexManifest {
  format: typeof INDEX_FORMAT;
  formatVersion: number;
  generation: number;
  created: string;
  documents: { count: number; lang: string; file: string };
  encoder: ManifestEncoder | null;
  parts: ManifestPart[];
  files: Record<string, ManifestFile>;
}

export const generationName = (n: number): string => `gen-${String(n).padStart(6, "0")}`;

/** The generation number of a folder name `gen-NNNNNN`, or undefined. */
export function generationNumber(name: string): number | undefined {
  const m = /^gen-(\d{6,})$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** Writes `data` to `path` and syncs it to disk; returns what the manifest records of it. */
export async function writeSynced(path: string, data: Uint8Array | string): Promise<ManifestFile> {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const handle = await open(path, "w");
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** Syncs a folder (a rename inside it is durable only then). */
export async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path`'s content atomically (write a sibling, sync, rename over). */
export async function replaceAtomically(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeSynced(tmp, content);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Reads a generation's file and checks it against the manifest: a short file is "truncated", a
 * wrong checksum "corrupted", each naming the file, so damage is an error and never a wrong result.
 */
export async function readChecked(dir: string, name: string, manifest: IndexManifest): Promise<Uint8Array> {
  const path = join(dir, name);
  const expected = manifest.files[name];
  if (expected === undefined) throw new Error(`${join(dir, MANIFEST_FILE)}: lists no file ${name}`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the index file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the index is damaged: rebuild it with crossrank index`);
  }
  if (bytes.length !== expected.bytes) {
    throw new Error(`${path}: truncated or damaged: ${bytes.length} bytes, the manifest says ${expected.bytes}; rebuild the index with crossrank index`);
  }
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== expected.sha256) throw new Error(`${path}: corrupted: its sha256 is not the manifest's; rebuild the index with crossrank index`);
  return bytes;
}

/** A list of strings as two tensors: their UTF-8 bytes end to end, and the byte offsets [n + 1]. */
export function stringTensors(list: readonly string[]): { bytes: NamedTensor; offsets: NamedTensor } {
  const encoder = new TextEncoder();
  const parts = list.map((s) => encoder.encode(s));
  const offsets = new Int32Array(list.length + 1);
  let total = 0;
  parts.forEach((p, i) => {
    total += p.length;
    if (total > 0x7fffffff) throw new RangeError("string list over 2 GiB of UTF-8");
    offsets[i + 1] = total;
  });
  const bytes = new Uint8Array(total);
  parts.forEach((p, i) => bytes.set(p, offsets[i]!));
  return { bytes: { dtype: "U8", shape: [total], data: bytes }, offsets: { dtype: "I32", shape: [list.length + 1], data: offsets } };
}

/** The strings of `stringTensors`' two tensors; `what` names them in errors. */
export function tensorStrings(bytes: NamedTensor | undefined, offsets: NamedTensor | undefined, what: string): string[] {
  if (bytes?.dtype !== "U8" || offsets?.dtype !== "I32") throw new Error(`${what}: missing or mistyped string tensors`);
  const data = bytes.data as Uint8Array;
  const ends = offsets.data as Int32Array;
  if (ends[0] !== 0 || ends[ends.length - 1] !== data.length) throw new Error(`${what}: string offsets do not cover the bytes`);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const out = new Array<string>(ends.length - 1);
  for (let i = 0; i + 1 < ends.length; i++) {
    if (ends[i + 1]! < ends[i]!) throw new Error(`${what}: string offsets decrease at ${i}`);
    out[i] = decoder.decode(data.subarray(ends[i]!, ends[i + 1]!));
  }
  return out;
}
