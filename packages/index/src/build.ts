/**
 * `buildIndex`: documents → a new generation of an index folder (see ./format.ts), built aside and
 * made live by one atomic rename, under a lock file so that two writers never interleave.
 */
import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { Bm25PsqRanker, Bm25Ranker, type CollectionPart, PooledRanker } from "@crossrank/rankers";
import { readStaticModelManifest, STATIC_MODEL_NAME } from "@crossrank/static-model";
import { writeDocuments } from "./documents.js";
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
import { LANCE_FOLDER, writeLanceVectors } from "./lance.js";
import { encodePart } from "./parts.js";

/** The lexical indexes an index can hold (registry rankers with a `prebuild`). */
export type LexicalPart = "bm25" | "bm25-psq";

export const DEFAULT_LEXICAL: readonly LexicalPart[] = ["bm25", "bm25-psq"];
export const DEFAULT_DOC_LANG = "en";
export const ANN_MIN_DOCUMENTS = 100_000;
const LOCK_FILE = "LOCK";

/** Progress of a build: which stage, and how far it is. */
export type BuildProgress = (stage: string, done: number, total: number) => void;

export interface BuildIndexOptions {
  /** The documents' language (BCP 47): the analyzers' locale. Default "en". */
  docLang?: string;
  /** The encoder of the document vectors (a spec as `loadEncoder` takes); null builds none. Default crossrank-static. */
  encoder?: string | null;
  /** The lexical indexes to build. Default bm25 and bm25-psq (the documents' side of it: no dictionary needed). */
  lexical?: readonly LexicalPart[];
  /**
   * An approximate dense index over the vectors: "lancedb" (IVF_FLAT, √n partitions), "none", or
   * "auto" (the default): lancedb from {@link ANN_MIN_DOCUMENTS} documents. Below that an exact
   * scan is as fast (61,486 DDTP descriptions: 8–11 ms exact, 13–14 ms through LanceDB).
   */
  ann?: "lancedb" | "none" | "auto";
  onProgress?: BuildProgress;
}

/**
 * Indexes `documents` into `dir` (created if missing; an existing index there is replaced by a new
 * generation, and readers that opened the old one keep it). Document ids must be unique and texts
 * strings (`readCollection` already says file:line). Returns the new generation's manifest.
 */
export async function buildIndex(dir: string, documents: readonly Document[], options: BuildIndexOptions = {}): Promise<IndexManifest> {
  const docLang = options.docLang ?? DEFAULT_DOC_LANG;
  const lexical = options.lexical ?? DEFAULT_LEXICAL;
  const encoder = options.encoder === undefined ? STATIC_MODEL_NAME : options.encoder;
  const seen = new Map<string, number>();
  documents.forEach((d, i) => {
    if (typeof d?.id !== "string" || d.id === "" || typeof d.text !== "string") throw new Error(`document ${i + 1}: expected {id, text, title?} with a non-empty string id`);
    const first = seen.get(d.id);
    if (first !== undefined) throw new Error(`documents ${first + 1} and ${i + 1} have the same id ${JSON.stringify(d.id)}`);
    seen.set(d.id, i);
  });
  for (const name of lexical) if (!DEFAULT_LEXICAL.includes(name)) throw new Error(`unknown lexical index ${JSON.stringify(name)} (one of ${DEFAULT_LEXICAL.join(", ")})`);

  const parts: { part: CollectionPart; ranker: string; params: Record<string, unknown> }[] = [];
  for (const name of lexical) {
    const ranker = name === "bm25" ? new Bm25Ranker() : new Bm25PsqRanker();
    parts.push({ part: await ranker.prebuild(documents, docLang, stageProgress(options.onProgress, name)), ranker: name, params: {} });
  }
  let encoderRecord: ManifestEncoder | null = null;
  if (encoder !== null) {
    const part = await new PooledRanker("bi-encoder", { encoder }).prebuild(documents, stageProgress(options.onProgress, "bi-encoder"));
    parts.push({ part, ranker: "bi-encoder", params: { encoder } });
    encoderRecord = await encoderRecordOf(encoder, part);
  }
  const ann = options.ann ?? "auto";
  if (!["lancedb", "none", "auto"].includes(ann)) throw new Error(`ann must be "lancedb", "none" or "auto", got ${JSON.stringify(ann)}`);
  const vectors = parts.find((p) => p.part.kind === "vectors");
  const withAnn = vectors !== undefined && (ann === "lancedb" || (ann === "auto" && documents.length >= ANN_MIN_DOCUMENTS));
  return writeGeneration(dir, documents, parts, { docLang, encoder: encoderRecord, ann: withAnn ? { vectors: vectors.part, progress: stageProgress(options.onProgress, "lancedb") } : undefined });
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

/** The manifest's record of the vectors' encoder (the built-in model's weights by sha256). */
export async function encoderRecordOf(spec: string, part: CollectionPart): Promise<ManifestEncoder> {
  // The part key holds the encoder's id (PooledRanker.partKey: ["vectors", vectorKey, id, options]).
  const id = String((JSON.parse(part.key) as unknown[])[2]);
  if (spec !== STATIC_MODEL_NAME) return { spec, id };
  const manifest = await readStaticModelManifest();
  return { spec, id, modelSha256: manifest.files["model.safetensors"]!.sha256 };
}

/** A (done, total) callback reporting into `onProgress` under the name of one stage. */
export function stageProgress(onProgress: BuildProgress | undefined, stage: string): ((done: number, total: number) => void) | undefined {
  return onProgress === undefined ? undefined : (done, total) => onProgress(stage, done, total);
}

/**
 * Writes a complete generation next to the live one and makes it live: files into a temporary
 * folder (synced), the folder renamed to the next `gen-NNNNNN`, then CURRENT replaced atomically;
 * older generations and leftovers of killed runs are removed after. Holds `dir/LOCK` throughout.
 * `basedOn`: the generation the new one was derived from (an update), which must still be live.
 */
export async function writeGeneration(
  dir: string,
  documents: readonly Document[],
  parts: readonly { part: CollectionPart; ranker: string; params: Record<string, unknown> }[],
  meta: {
    docLang: string;
    encoder: ManifestEncoder | null;
    basedOn?: number;
    /** Writes a LanceDB approximate index over these vectors too. */
    ann?: { vectors: CollectionPart; progress?: (done: number, total: number) => void } | undefined;
  },
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
    const files: Record<string, ManifestFile> = {};
    files[DOCUMENTS_FILE] = await writeDocuments(join(tmp, DOCUMENTS_FILE), documents);
    const manifestParts: ManifestPart[] = [];
    for (const [i, { part, ranker, params }] of parts.entries()) {
      const file = `part-${i}.safetensors`;
      files[file] = await writeSynced(join(tmp, file), encodePart(part));
      manifestParts.push({ kind: part.kind, key: part.key, ranker, params, file });
    }
    if (meta.ann !== undefined && meta.ann.vectors.kind === "vectors") {
      meta.ann.progress?.(0, 1);
      for (const file of await writeLanceVectors(tmp, meta.ann.vectors.matrix)) files[file] = await hashFile(join(tmp, file));
      const source = manifestParts.find((p) => p.key === meta.ann!.vectors.key)!;
      manifestParts.push({ kind: "ann", key: source.key, ranker: source.ranker, params: { ...source.params, store: "lancedb", index: "ivf-flat" }, file: LANCE_FOLDER });
      meta.ann.progress?.(1, 1);
    }
    const manifest: IndexManifest = {
      format: INDEX_FORMAT,
      formatVersion: INDEX_FORMAT_VERSION,
      generation,
      created: new Date().toISOString(),
      documents: { count: documents.length, lang: meta.docLang, file: DOCUMENTS_FILE },
      encoder: meta.encoder,
      parts: manifestParts,
      files,
    };
    await writeSynced(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFolder(tmp);
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
