/**
 * `openIndex`: the live generation of an index folder, loaded and checked (every file against the
 * manifest's size and sha256), with its parts attached to the documents so that every ranker of the
 * registry searches it without re-analysing or re-encoding the collection.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Document, Query } from "@crossrank/datasets";
import { rankedDocuments, type Run } from "@crossrank/metrics";
import { attachCollectionParts, Bm25PsqRanker, documentPositions, Bm25Ranker, type CollectionPart, createRanker, type Ranker, rankerParameterNames } from "@crossrank/rankers";
import { checkModelVersion, currentGeneration } from "./build.js";
import { parseDocuments } from "./documents.js";
import { generationName, INDEX_FORMAT, INDEX_FORMAT_VERSION, type IndexManifest, MANIFEST_FILE, readChecked } from "./format.js";
import { openLanceVectors } from "./lance.js";
import { decodePart } from "./parts.js";

export const DEFAULT_SEARCH_RANKER = "hybrid";
const DEFAULT_TOP = 10;

export interface SearchOptions {
  /** How many hits. Default 10. */
  k?: number;
  /** Registry ranker. Default "hybrid" (BM25 or BM25-PSQ fused with the index's bi-encoder and MaxSim re-ranking). */
  ranker?: string;
  /** The ranker's parameters; neural rankers get the index's encoder unless one is given. */
  params?: Readonly<Record<string, unknown>>;
  /** The query's language (BCP 47): BM25-PSQ's dictionary, the analyzer's locale. */
  queryLang?: string;
}

export interface SearchHit {
  rank: number;
  id: string;
  score: number;
  title?: string;
  text: string;
}

/**
 * What a search service needs of an index, embedded (`SearchIndex`) or in PostgreSQL
 * (`PostgresIndex`): both search with the same rankers and give the same hits.
 */
export interface SearchStore {
  /** "embedded": a folder opened in this process; "postgres": tables in a PostgreSQL schema. */
  readonly kind: "embedded" | "postgres";
  readonly size: number;
  readonly generation: number;
  readonly manifest: IndexManifest;
  /** Where it is (a folder, or a URL without its password and a schema), for messages. */
  readonly location: string;
  search(query: string, options?: SearchOptions): Promise<SearchHit[]>;
  searchBatch(queries: readonly string[], options?: SearchOptions): Promise<SearchHit[][]>;
  /** The registry ranker `name` as this store would search with it; throws on a bad name or parameter. */
  createRanker(name?: string, params?: Readonly<Record<string, unknown>>): Ranker;
  getDocument(id: string): Promise<Document | undefined>;
  close(): Promise<void>;
}

/**
 * The hits of a run over queries "0" … "count − 1" (the ids `searchBatch` gives them), best first
 * in trec_eval order, each with its document's title and text.
 */
export function runHits(run: Run, count: number, documentOf: (id: string) => Document): SearchHit[][] {
  return Array.from({ length: count }, (_, i) => {
    const scores = run.get(String(i)) ?? new Map<string, number>();
    return rankedDocuments(scores).map((id, r) => {
      const doc = documentOf(id);
      return { rank: r + 1, id, score: scores.get(id)!, ...(doc.title ? { title: doc.title } : {}), text: doc.text };
    });
  });
}

/** `params` for ranker `name` with the index's encoder as the default of rankers that take one. */
export function rankerParamsFor(manifest: IndexManifest, name: string, params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...params };
  if (out.encoder === undefined && manifest.encoder !== null && rankerParameterNames(name).includes("encoder")) out.encoder = manifest.encoder.spec;
  return out;
}

/** An opened index generation: its documents with their parts attached. */
export class SearchIndex implements SearchStore {
  readonly kind = "embedded";
  private readonly positions: ReadonlyMap<string, number>;

  constructor(
    /** The index folder. */
    readonly dir: string,
    readonly manifest: IndexManifest,
    /** The documents in index order (do not modify: the parts are attached to this array). */
    readonly documents: readonly Document[],
    /** What to release on `close` (the LanceDB table). */
    private readonly resources: readonly { close(): void }[] = [],
  ) {
    // The collection parts' map (built once, shared with the rankers).
    this.positions = documentPositions(documents);
  }

  get size(): number {
    return this.documents.length;
  }

  get generation(): number {
    return this.manifest.generation;
  }

  get location(): string {
    return this.dir;
  }

  /** The document with this id, if any. */
  document(id: string): Document | undefined {
    const i = this.positions.get(id);
    return i === undefined ? undefined : this.documents[i];
  }

  getDocument(id: string): Promise<Document | undefined> {
    return Promise.resolve(this.document(id));
  }

  /** Releases the LanceDB table, if any; the rest lives in this process's memory until dropped. */
  close(): Promise<void> {
    for (const r of this.resources) r.close();
    return Promise.resolve();
  }

  /** The best `k` documents for one query, best first. */
  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    return (await this.searchBatch([query], options))[0]!;
  }

  /**
   * The best `k` documents for each of several queries, in one ranker call: what several
   * concurrent searches cost together is less than apart (the bi-encoder scores a block of queries
   * with one matrix product, re-ranking encodes their candidates together).
   */
  async searchBatch(queries: readonly string[], options: SearchOptions = {}): Promise<SearchHit[][]> {
    queries.forEach((q, i) => {
      if (typeof q !== "string" || q.trim() === "") throw new Error(queries.length === 1 ? "the query is empty" : `query ${i + 1} is empty`);
    });
    const run = await this.rank(
      queries.map((text, i) => ({ id: String(i), text })),
      options,
    );
    return runHits(run, queries.length, (id) => this.document(id)!);
  }

  /** A run over several queries (one ranker call: batched where the ranker batches). */
  async rank(queries: readonly Query[], options: SearchOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<Run> {
    const k = options.k ?? DEFAULT_TOP;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${String(k)}`);
    const name = options.ranker ?? DEFAULT_SEARCH_RANKER;
    const params = this.rankerParams(name, options.params ?? {});
    const ranker = createRanker(name, params);
    if (params.encoder !== undefined && params.encoder === this.manifest.encoder?.spec) await this.checkEncoder();
    return ranker.rank(
      { queries, documents: this.documents, docLang: this.manifest.documents.lang, ...(options.queryLang ? { queryLang: options.queryLang } : {}) },
      { k, ...(options.onProgress ? { onProgress: options.onProgress } : {}) },
    );
  }

  /**
   * The registry ranker `name` (default "hybrid") with `params`, neural rankers defaulting to the
   * encoder whose vectors the index holds. Throws on an unknown ranker or a bad parameter.
   */
  createRanker(name: string = DEFAULT_SEARCH_RANKER, params: Readonly<Record<string, unknown>> = {}): Ranker {
    return createRanker(name, this.rankerParams(name, params));
  }

  private rankerParams(name: string, params: Readonly<Record<string, unknown>>): Record<string, unknown> {
    return rankerParamsFor(this.manifest, name, params);
  }

  private encoderChecked = false;

  /** The built-in model must be the one whose vectors the index holds (checked once). */
  private async checkEncoder(): Promise<void> {
    if (this.encoderChecked) return;
    await checkModelVersion(this.dir, this.manifest.encoder);
    this.encoderChecked = true;
  }
}

/** Opens the live generation of the index in `dir` (see ./format.ts), checking every file. */
export async function openIndex(dir: string): Promise<SearchIndex> {
  const generation = await currentGeneration(dir).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${dir}: not a readable crossrank index (${err.message})`);
  });
  if (generation === undefined) throw new Error(`${dir}: not a crossrank index (no CURRENT file); build one with crossrank index --docs FILE --out ${dir}`);
  const genDir = join(dir, generationName(generation));
  const manifest = await readManifest(genDir);
  const documents = parseDocuments(await readChecked(genDir, manifest.documents.file, manifest), join(genDir, manifest.documents.file), manifest.documents.lang);
  if (documents.length !== manifest.documents.count) throw new Error(`${join(genDir, manifest.documents.file)}: ${documents.length} documents, the manifest says ${manifest.documents.count}`);
  const parts: CollectionPart[] = [];
  const resources: { close(): void }[] = [];
  for (const p of manifest.parts) {
    const path = join(genDir, p.file);
    if (p.kind === "ann") {
      // A LanceDB folder: every file of it checked, then opened by LanceDB.
      const prefix = `${p.file}/`;
      for (const name of Object.keys(manifest.files)) if (name.startsWith(prefix)) await readChecked(genDir, name, manifest);
      try {
        const searcher = await openLanceVectors(genDir, typeof p.params.index === "string" ? p.params.index : undefined);
        resources.push(searcher);
        parts.push({ kind: "ann", key: p.key, searcher });
      } catch (err) {
        throw new Error(`${path}: cannot open the LanceDB table (${(err as Error).message}); rebuild the index with crossrank index`);
      }
      continue;
    }
    const bytes = await readChecked(genDir, p.file, manifest);
    let analyzer;
    if (p.kind === "bm25") {
      const ranker = p.ranker === "bm25" ? new Bm25Ranker(p.params) : p.ranker === "bm25-psq" ? new Bm25PsqRanker(p.params) : undefined;
      if (ranker === undefined) throw new Error(`${path}: a BM25 part of ranker ${JSON.stringify(p.ranker)}, which this crossrank does not build`);
      // The analyzer is code: a crossrank whose analyzer settings or defaults differ must not reuse the postings.
      if (ranker.partKey(manifest.documents.lang) !== p.key) {
        throw new Error(`${path}: built with other ${p.ranker} settings than this crossrank's (${p.key}); rebuild the index with crossrank index`);
      }
      analyzer = await ranker.documentAnalyzer(manifest.documents.lang);
    }
    const part = await decodePart(bytes, p.kind, p.key, documents, analyzer, path);
    if (part.kind === "vectors" && part.matrix.rows !== documents.length) throw new Error(`${path}: ${part.matrix.rows} vectors for ${documents.length} documents`);
    parts.push(part);
  }
  attachCollectionParts(documents, parts);
  return new SearchIndex(dir, manifest, documents, resources);
}

async function readManifest(genDir: string): Promise<IndexManifest> {
  const path = join(genDir, MANIFEST_FILE);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: not a readable manifest (${(err as Error).message}); the index is damaged: rebuild it with crossrank index`);
  }
  const m = value as Partial<IndexManifest>;
  if (m?.format !== INDEX_FORMAT) throw new Error(`${path}: not a crossrank index manifest (format ${JSON.stringify(m?.format)})`);
  if (m.formatVersion !== INDEX_FORMAT_VERSION) {
    throw new Error(`${path}: index format version ${String(m.formatVersion)}; this crossrank reads version ${INDEX_FORMAT_VERSION}: rebuild the index with this version's crossrank index`);
  }
  if (typeof m.documents?.count !== "number" || typeof m.documents.file !== "string" || typeof m.documents.lang !== "string" || !Array.isArray(m.parts) || typeof m.files !== "object") {
    throw new Error(`${path}: incomplete manifest (documents, parts or files missing)`);
  }
  return m as IndexManifest;
}
