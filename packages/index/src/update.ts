/**
 * `updateIndex`: add, replace (by id) and delete documents, written as a new generation. The
 * vectors of documents whose text did not change are copied, so only new and changed documents are
 * encoded; the lexical indexes are rebuilt from the stored texts (analysis only). Readers that
 * opened the previous generation keep it; `openIndex` after the update sees the new one: never a mix.
 */
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { Bm25PsqRanker, Bm25Ranker, type CollectionPart, collectionParts, PooledRanker, type PooledRankerOptions } from "@crossrank/rankers";
import { type BuildProgress, type BuiltPart, checkModelVersion, encoderRecordOf, stageProgress, writeGeneration } from "./build.js";
import { writeDocuments } from "./documents.js";
import { DOCUMENTS_FILE, type IndexManifest } from "./format.js";
import { openIndex } from "./open.js";

export interface UpdateIndexOptions {
  /** Documents to add; one whose id is in the index replaces that document (in place). */
  upsert?: readonly Document[];
  /** Ids of documents to delete; an id the index does not hold is an error. */
  delete?: readonly string[];
  onProgress?: BuildProgress;
}

export interface UpdateResult {
  added: number;
  replaced: number;
  deleted: number;
  /** Documents whose vectors were computed (new and changed texts). */
  encoded: number;
  manifest: IndexManifest;
}

/** Applies the changes to the index in `dir` as a new generation. */
export async function updateIndex(dir: string, options: UpdateIndexOptions): Promise<UpdateResult> {
  const index = await openIndex(dir);
  const upsert = options.upsert ?? [];
  const deletions = new Set(options.delete ?? []);
  const unknown = [...deletions].filter((id) => index.document(id) === undefined);
  if (unknown.length > 0) throw new Error(`${dir}: cannot delete ${unknown.length} document(s) the index does not hold: ${unknown.slice(0, 5).map((id) => JSON.stringify(id)).join(", ")}${unknown.length > 5 ? ", …" : ""}`);
  const incoming = new Map<string, Document>();
  upsert.forEach((d, i) => {
    if (typeof d?.id !== "string" || d.id === "" || typeof d.text !== "string") throw new Error(`document ${i + 1} to add: expected {id, text, title?} with a non-empty string id`);
    if (incoming.has(d.id)) throw new Error(`the documents to add hold id ${JSON.stringify(d.id)} twice`);
    if (deletions.has(d.id)) throw new Error(`document ${JSON.stringify(d.id)} is both added and deleted`);
    incoming.set(d.id, d);
  });

  // Before anything is encoded: new vectors must come from the model of the stored ones.
  await checkModelVersion(dir, index.manifest.encoder, "rebuild it with crossrank index instead of updating");

  // The new collection: the old order, replaced documents in place, deleted ones out, new ones at the end.
  const lang = index.manifest.documents.lang;
  const documents: Document[] = [];
  const source: number[] = []; // old position whose vector is reusable, or -1
  let replaced = 0;
  index.documents.forEach((d, i) => {
    if (deletions.has(d.id)) return;
    const next = incoming.get(d.id);
    if (next === undefined) {
      documents.push(d);
      source.push(i);
      return;
    }
    replaced++;
    incoming.delete(d.id);
    documents.push({ ...next, lang });
    source.push(next.text === d.text && (next.title ?? "") === (d.title ?? "") ? i : -1);
  });
  for (const d of incoming.values()) {
    documents.push({ ...d, lang });
    source.push(-1);
  }

  const parts: BuiltPart[] = [];
  let encoded = 0;
  for (const p of index.manifest.parts) {
    // An approximate index is rebuilt over the new vectors below.
    if (p.kind === "ann") continue;
    if (p.kind === "bm25") {
      const ranker = p.ranker === "bm25" ? new Bm25Ranker(p.params) : new Bm25PsqRanker(p.params);
      parts.push({ part: await ranker.prebuild(documents, lang, stageProgress(options.onProgress, p.ranker)), ranker: p.ranker, params: p.params });
      continue;
    }
    const old = collectionParts(index.documents)!.vectors.get(p.key)!;
    const fresh = documents.filter((_, i) => source[i]! < 0);
    encoded = fresh.length;
    const ranker = new PooledRanker("bi-encoder", p.params as unknown as PooledRankerOptions);
    const computed = fresh.length === 0 ? undefined : await ranker.prebuild(fresh, stageProgress(options.onProgress, "bi-encoder"), lang);
    if (computed !== undefined && (computed.kind !== "vectors" || computed.key !== p.key)) {
      throw new Error(`${dir}: the encoder now gives vectors under another key than the index's (${p.key}): rebuild the index with crossrank index`);
    }
    const dim = old.dim;
    const data = new Float32Array(documents.length * dim);
    let next = 0;
    source.forEach((from, i) => {
      if (from >= 0) data.set(old.data.subarray(from * dim, (from + 1) * dim), i * dim);
      else data.set((computed as Extract<CollectionPart, { kind: "vectors" }>).matrix.data.subarray(next * dim, ++next * dim), i * dim);
    });
    parts.push({ part: { kind: "vectors", key: p.key, matrix: { rows: documents.length, dim, data } }, ranker: p.ranker, params: p.params });
  }
  const vectorPart = parts.find((p) => p.part.kind === "vectors");
  const encoder = index.manifest.encoder === null || vectorPart === undefined ? null : await encoderRecordOf(index.manifest.encoder.spec, vectorPart.part);
  const annPart = index.manifest.parts.find((p) => p.kind === "ann");
  const ann = annPart === undefined ? undefined : { vectors: parts.find((p) => p.part.kind === "vectors" && p.part.key === annPart.key)!.part, progress: stageProgress(options.onProgress, "lancedb") };
  const manifest = await writeGeneration(dir, { docLang: lang, basedOn: index.generation }, async (folder, writePart) => {
    const file = await writeDocuments(join(folder, DOCUMENTS_FILE), documents);
    for (const part of parts) await writePart(part);
    return { documents: { count: documents.length, file }, encoder, ann };
  });
  return { added: documents.length - (index.size - deletions.size), replaced, deleted: deletions.size, encoded, manifest };
}

