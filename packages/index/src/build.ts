/**
 * `buildIndex`: documents → a new generation of an index folder (see ./format.ts), built aside and
 * made live by one atomic rename, under a lock file so that two writers never interleave.
 */
import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { Bm25PsqRanker, Bm25Ranker, type CollectionPart, type CollectionPartBuilder, PooledRanker } from "@crossrank/rankers";
import { readStaticModelManifest, STATIC_MODEL_NAME } from "@crossrank/static-model";
import { DocumentsWriter } from "./documents.js";
import {
  CURRENT_FILE,
  DOCUMENTS_FILE,
  generationName,
  generationNumber,
  INDEX_FORMAT,
  INDEX_FORMAT_VERSION,
  type IndexManifest,
  MANIFEST_FILE,
  type ManifestEncoder,
  type ManifestFile,
  type ManifestPart,
  replaceAtomically,
  syncFolder,
  writeSynced,
} from "./format.js";
import { LANCE_FOLDER, LANCE_INDEX, writeLanceVectors } from "./lance.js";
import { encodePart } from "./parts.js";

/** The lexical indexes an index can hold (registry rankers with a `prebuild`). */
export type LexicalPart = "bm25" | "bm25-psq";

export const DEFAULT_LEXICAL: readonly LexicalPart[] = ["bm25", "bm25-psq"];
export const DEFAULT_DOC_LANG = "en";
export const ANN_MIN_DOCUMENTS = 100_000;
const LOCK_FILE = "LOCK";

/** Documents per step of a build: written, analysed and encoded together, then let go. */
export const BUILD_CHUNK = 4096;

/**
 * Progress of a build: which stage, and how far it is. `total` is undefined while unknown (documents
 * streamed from files: they are counted as they come).
 */
export type BuildProgress = (stage: string, done: number, total: number | undefined) => void;

export interface BuildIndexOptions {
  /** The documents' language (BCP 47): the analyzers' locale. Default "en". */
  docLang?: string;
  /** The encoder of the document vectors (a spec as `loadEncoder` takes); null builds none. Default crossrank-static. */
  encoder?: string | null;
  /** The lexical indexes to build. Default bm25 and bm25-psq (the documents' side of it: no dictionary needed). */
  lexical?: readonly LexicalPart[];
  /**
   * An approximate dense index over the vectors: "lancedb" (IVF_HNSW_SQ, see ./lance.ts), "none", or
   * "auto" (the default): lancedb from {@link ANN_MIN_DOCUMENTS} documents. Below that an exact
   * scan is as fast (61,486 DDTP descriptions: 8–11 ms exact, 13–14 ms through LanceDB).
   */
  ann?: "lancedb" | "none" | "auto";
  onProgress?: BuildProgress;
}

/** A prebuilt part with the registry ranker (and its parameters) whose `prebuild` makes it. */
export interface BuiltPart {
  part: CollectionPart;
  ranker: string;
  params: Record<string, unknown>;
}

/**
 * Indexes `documents` into `dir` (created if missing; an existing index there is replaced by a new
 * generation, and readers that opened the old one keep it). Document ids must be unique and texts
 * strings (`readCollection` already says file:line). Returns the new generation's manifest.
 *
 * `documents` may be an array or a stream (e.g. `streamCollection`'s): either way they are taken in
 * one pass, {@link BUILD_CHUNK} at a time, each chunk written to the documents file, analysed by the
 * lexical indexes and encoded before the next is read. Only the index itself (postings, ids,
 * vectors) is kept, never the texts, so a streamed collection needs no memory for its texts; an
 * array and a stream of the same documents give the same files.
 */
export async function buildIndex(dir: string, documents: Iterable<Document> | AsyncIterable<Document>, options: BuildIndexOptions = {}): Promise<IndexManifest> {
  const docLang = options.docLang ?? DEFAULT_DOC_LANG;
  const lexical = options.lexical ?? DEFAULT_LEXICAL;
  const encoder = options.encoder === undefined ? STATIC_MODEL_NAME : options.encoder;
  for (const name of lexical) if (!DEFAULT_LEXICAL.includes(name)) throw new Error(`unknown lexical index ${JSON.stringify(name)} (one of ${DEFAULT_LEXICAL.join(", ")})`);
  const ann = options.ann ?? "auto";
  if (!["lancedb", "none", "auto"].includes(ann)) throw new Error(`ann must be "lancedb", "none" or "auto", got ${JSON.stringify(ann)}`);

  // Loaded before the index folder is touched, so a bad encoder or a missing stemmer changes nothing.
  const builders: { builder: CollectionPartBuilder; ranker: string; params: Record<string, unknown> }[] = [];
  for (const name of lexical) builders.push({ builder: await (name === "bm25" ? new Bm25Ranker() : new Bm25PsqRanker()).partBuilder(docLang), ranker: name, params: {} });
  if (encoder !== null) builders.push({ builder: await new PooledRanker("bi-encoder", { encoder }).partBuilder(docLang), ranker: "bi-encoder", params: { encoder } });
  const total = Array.isArray(documents) ? (documents as readonly Document[]).length : undefined;
  const progress = stageProgress(options.onProgress, "documents");

  return writeGeneration(dir, { docLang }, async (folder, writePart) => {
    const writer = await DocumentsWriter.create(join(folder, DOCUMENTS_FILE));
    let count = 0;
    try {
      progress?.(0, total);
      for await (const chunk of checkedChunks(documents)) {
        await writer.add(chunk);
        for (const { builder } of builders) await builder.add(chunk);
        count += chunk.length;
        progress?.(count, total);
      }
    } catch (err) {
      await writer.abandon();
      throw err;
    }
    const file = await writer.finish();
    // One part at a time, each written before the next is finished: only the vectors (for
    // LanceDB) stay in memory after their file is written.
    let vectors: CollectionPart | undefined;
    for (const { builder, ranker, params } of builders) {
      const part = await builder.finish();
      await writePart({ part, ranker, params });
      if (part.kind === "vectors") vectors = part;
    }
    if (vectors === undefined || encoder === null) return { documents: { count, file }, encoder: null };
    const withAnn = ann === "lancedb" || (ann === "auto" && count >= ANN_MIN_DOCUMENTS);
    return {
      documents: { count, file },
      encoder: await encoderRecordOf(encoder, vectors),
      ann: withAnn ? { vectors, progress: stageProgress(options.onProgress, "lancedb") } : undefined,
    };
  });
}

/**
 * `documents` in chunks of {@link BUILD_CHUNK}, each document checked ({id, text} with a non-empty
 * string id) and its id against every earlier one (the error names both positions, 1-based).
 */
async function* checkedChunks(documents: Iterable<Document> | AsyncIterable<Document>): AsyncGenerator<Document[]> {
  const seen = new Map<string, number>();
  let chunk: Document[] = [];
  for await (const d of documents) {
    const i = seen.size;
    if (typeof d?.id !== "string" || d.id === "" || typeof d.text !== "string") throw new Error(`document ${i + 1}: expected {id, text, title?} with a non-empty string id`);
    const first = seen.get(d.id);
    if (first !== undefined) throw new Error(`documents ${first + 1} and ${i + 1} have the same id ${JSON.stringify(d.id)}`);
    seen.set(d.id, i);
    chunk.push(d);
    if (chunk.length === BUILD_CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Throws unless the installed built-in model is the one whose vectors the index holds (`dir` names
 * the index in the message); other encoders carry no record to compare.
 */
export async function checkModelVersion(dir: string, recorded: ManifestEncoder | null, action = "rebuild it with crossrank index"): Promise<void> {
  if (recorded?.spec !== STATIC_MODEL_NAME) return;
  const installed = (await readStaticModelManifest()).files["model.safetensors"]?.sha256;
  if (recorded.modelSha256 !== installed) {
    throw new Error(`${dir}: its vectors come from another version of ${STATIC_MODEL_NAME} (model sha256 ${recorded.modelSha256?.slice(0, 12) ?? "?"}, installed ${installed?.slice(0, 12) ?? "?"}): ${action}`);
  }
}

/** The manifest's record of the vectors' encoder (the built-in model's weights by sha256) and how the vectors are compared. */
export async function encoderRecordOf(spec: string, part: CollectionPart): Promise<ManifestEncoder> {
  // The part key holds the encoder's id and, for dot-product vectors, {similarity: "dot"}
  // (PooledRanker.partKey: ["vectors", vectorKey, id, options, extra?]).
  const key = JSON.parse(part.key) as unknown[];
  const id = String(key[2]);
  const similarity = (key[4] as { similarity?: string } | undefined)?.similarity === "dot" ? "dot" : "cosine";
  if (spec !== STATIC_MODEL_NAME) return { spec, id, similarity };
  const manifest = await readStaticModelManifest();
  return { spec, id, modelSha256: manifest.files["model.safetensors"]!.sha256, similarity };
}

/** A (done, total) callback reporting into `onProgress` under the name of one stage. */
export function stageProgress(onProgress: BuildProgress | undefined, stage: string): ((done: number, total: number | undefined) => void) | undefined {
  return onProgress === undefined ? undefined : (done, total) => onProgress(stage, done, total);
}

/** What a new generation holds besides its manifest, its documents file and its parts (written by `fill` into its folder). */
export interface GenerationContent {
  documents: { count: number; file: ManifestFile };
  encoder: ManifestEncoder | null;
  /** Writes a LanceDB approximate index over these vectors too (a part written before). */
  ann?: { vectors: CollectionPart; progress?: ((done: number, total: number | undefined) => void) | undefined } | undefined;
}

/**
 * Writes a complete generation next to the live one and makes it live: `fill` writes the documents
 * file into a temporary folder and hands each part to `writePart` (written there as
 * `part-<n>.safetensors` in that order, so the caller need not keep it), then returns the rest; all
 * is synced, the folder renamed to the next `gen-NNNNNN`, then CURRENT replaced atomically; older
 * generations and leftovers of killed runs are removed after. A failure before the rename removes
 * the temporary folder. Holds `dir/LOCK` throughout. `basedOn`: the generation the new one was
 * derived from (an update), which must still be live.
 */
export async function writeGeneration(
  dir: string,
  meta: { docLang: string; basedOn?: number },
  fill: (folder: string, writePart: (part: BuiltPart) => Promise<void>) => Promise<GenerationContent>,
): Promise<IndexManifest> {
  await prepareFolder(dir);
  const release = await lock(dir);
  try {
    const current = await currentGeneration(dir);
    if (meta.basedOn !== undefined && current !== meta.basedOn) {
      throw new Error(`${dir}: changed while this update ran (generation ${String(current)}, the update read ${meta.basedOn}); run the update again`);
    }
    const generation = (current ?? 0) + 1;
    const tmp = join(dir, `tmp-${process.pid}-${Date.now()}`);
    await mkdir(tmp);
    let manifest: IndexManifest;
    try {
      const partFiles: Record<string, ManifestFile> = {};
      const manifestParts: ManifestPart[] = [];
      const content = await fill(tmp, async ({ part, ranker, params }) => {
        const file = `part-${manifestParts.length}.safetensors`;
        partFiles[file] = await writeSynced(join(tmp, file), encodePart(part));
        manifestParts.push({ kind: part.kind, key: part.key, ranker, params, file });
      });
      // The documents file first, as the manifest has always listed it.
      const files: Record<string, ManifestFile> = { [DOCUMENTS_FILE]: content.documents.file, ...partFiles };
      const ann = content.ann;
      if (ann !== undefined && ann.vectors.kind === "vectors") {
        ann.progress?.(0, 1);
        for (const file of await writeLanceVectors(tmp, ann.vectors.matrix)) files[file] = await hashFile(join(tmp, file));
        const source = manifestParts.find((p) => p.key === ann.vectors.key)!;
        manifestParts.push({ kind: "ann", key: source.key, ranker: source.ranker, params: { ...source.params, store: "lancedb", index: LANCE_INDEX }, file: LANCE_FOLDER });
        ann.progress?.(1, 1);
      }
      manifest = {
        format: INDEX_FORMAT,
        formatVersion: INDEX_FORMAT_VERSION,
        generation,
        created: new Date().toISOString(),
        documents: { count: content.documents.count, lang: meta.docLang, file: DOCUMENTS_FILE },
        encoder: content.encoder,
        parts: manifestParts,
        files,
      };
      await writeSynced(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      await syncFolder(tmp);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    const name = generationName(generation);
    await rename(tmp, join(dir, name));
    await syncFolder(dir);
    await replaceAtomically(join(dir, CURRENT_FILE), `${name}\n`);
    await syncFolder(dir);
    await removeStale(dir, name);
    return manifest;
  } finally {
    await release();
  }
}

/** Creates `dir`, or checks that it is empty or an index (never writes into another folder's files). */
async function prepareFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length > 0 && !entries.includes(CURRENT_FILE) && !entries.every((e) => e === LOCK_FILE || e.startsWith("tmp-") || generationNumber(e) !== undefined)) {
    throw new Error(`${dir}: exists and is not a crossrank index (no ${CURRENT_FILE} file): give a new or empty folder`);
  }
}

/** The live generation's number, or undefined in a new folder. */
export async function currentGeneration(dir: string): Promise<number | undefined> {
  let name: string;
  try {
    name = (await readFile(join(dir, CURRENT_FILE), "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const n = generationNumber(name);
  if (n === undefined) throw new Error(`${join(dir, CURRENT_FILE)}: names ${JSON.stringify(name)}, not a generation folder (gen-NNNNNN)`);
  return n;
}

/** Removes every generation but `live` and the temporary folders of killed runs (the lock is held). */
async function removeStale(dir: string, live: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (entry === live) continue;
    if (entry.startsWith("tmp-") || generationNumber(entry) !== undefined || entry.endsWith(".tmp")) await rm(join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * Takes `dir/LOCK` (created exclusively, holding the writer's pid). A lock whose process is gone
 * (a killed run) is taken over; a live one is an error naming the process.
 */
async function lock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || alive(pid))) {
        throw new Error(`${dir}: ${pid === process.pid ? "this process is already" : `another process (pid ${pid}) is`} writing this index (${path}); wait for it, or remove the file if that process is gone`);
      }
      // A killed writer's lock: take it over.
      if ((await stat(path).catch(() => undefined)) !== undefined) await rm(path, { force: true });
    }
  }
  throw new Error(`${path}: could not take the index lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A written file's size and sha256 (for files another library wrote, e.g. LanceDB's). */
async function hashFile(path: string): Promise<ManifestFile> {
  const bytes = await readFile(path);
  return { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}
