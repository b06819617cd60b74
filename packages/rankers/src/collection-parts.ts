/**
 * Parts of a collection built ahead of ranking: what a persistent index (`@crossrank/index`) keeps
 * on disk and loads, so that a search does not re-analyse or re-encode the collection. They are
 * attached to the documents array itself (by identity): a ranker given that exact array takes a
 * part from here instead of building it, and builds it as before when none is attached. Parts are
 * made by the rankers' own `prebuild` methods, so what a search loads is what the ranker would have
 * built: the key of a part names every setting it depends on (analyzer, k1/b, encoder, pooling).
 */
import type { Document } from "@crossrank/datasets";
import type { Bm25Index, Bm25IndexBuilder } from "./bm25.js";
import type { PooledMatrix } from "./neural/memo.js";

/**
 * An approximate nearest-neighbour index over a collection's vectors (e.g. a LanceDB IVF table),
 * attached under the key of the vectors it indexes. The pooled rankers take their candidates from
 * it and score them exactly, so its approximations cost recall, never score accuracy.
 */
export interface VectorSearcher {
  /** What it is, for reports (e.g. "lancedb ivf-flat, 248 partitions, 20 probes"). */
  readonly name: string;
  /** Per query (a row of `queries`, as the vectors it indexes: unit rows for cosine, raw for dot), the positions of about `k` documents of highest dot product. */
  search(queries: PooledMatrix, k: number): Promise<Int32Array[]>;
}

/** One prebuilt part, as a ranker's `prebuild` returns it (or a store loads it). */
export type CollectionPart =
  | { kind: "bm25"; key: string; index: Bm25Index }
  | { kind: "vectors"; key: string; matrix: PooledMatrix }
  | { kind: "ann"; key: string; searcher: VectorSearcher };

/**
 * Builds one part from documents given in chunks, in order: the streaming form of a ranker's
 * `prebuild` (its `partBuilder`), for collections that are not held in memory at once. The part has
 * `prebuild`'s key, and its contents for the same documents in the same order.
 */
export interface CollectionPartBuilder {
  /** Adds `documents` after those added before. */
  add(documents: readonly Document[]): Promise<void>;
  /** The part of every document added (once). */
  finish(): Promise<CollectionPart>;
}

/** A BM25 part builder (`Bm25Ranker` and `Bm25PsqRanker` differ in the analyzer and the key only). */
export function bm25PartBuilder(key: string, builder: Bm25IndexBuilder): CollectionPartBuilder {
  return {
    add: (documents) => {
      builder.add(documents);
      return Promise.resolve();
    },
    finish: () => Promise.resolve({ kind: "bm25", key, index: builder.finish() }),
  };
}

/** The parts attached to one documents array. */
export interface CollectionParts {
  /** BM25 indexes by key (see `Bm25Ranker.partKey`, `Bm25PsqRanker.partKey`). */
  readonly bm25: Map<string, Bm25Index>;
  /** Pooled document vectors by key (see `PooledRanker.partKey`). */
  readonly vectors: Map<string, PooledMatrix>;
  /** Approximate indexes over those vectors, by the same key. */
  readonly ann: Map<string, VectorSearcher>;
  /** The documents' ids in order (built once instead of per search). */
  readonly ids: readonly string[];
  /** id → position, built on first use. */
  positions?: Map<string, number>;
}

const ATTACHED = new WeakMap<readonly Document[], CollectionParts>();

/**
 * Attaches prebuilt parts to `documents`. The caller vouches that the documents are what the parts
 * were built from, and that their ids are unique (rankers then skip their per-call duplicate check,
 * which costs a pass over the collection). Attaching again adds to the parts already there.
 */
export function attachCollectionParts(documents: readonly Document[], parts: readonly CollectionPart[]): CollectionParts {
  for (const part of parts) {
    if (part.kind === "bm25") {
      if (part.index.size !== documents.length) throw new Error(`BM25 part ${part.key} holds ${part.index.size} documents, the collection ${documents.length}`);
    } else if (part.kind === "vectors") {
      const { rows, dim, data } = part.matrix;
      if (rows !== documents.length || data.length !== rows * dim) {
        throw new Error(`vector part ${part.key} is ${rows}×${dim} (${data.length} values), the collection has ${documents.length} documents`);
      }
    }
  }
  let attached = ATTACHED.get(documents);
  if (attached === undefined) {
    attached = { bm25: new Map(), vectors: new Map(), ann: new Map(), ids: documents.map((d) => d.id) };
    ATTACHED.set(documents, attached);
  }
  for (const part of parts) {
    if (part.kind === "bm25") attached.bm25.set(part.key, part.index);
    else if (part.kind === "vectors") attached.vectors.set(part.key, part.matrix);
    else attached.ann.set(part.key, part.searcher);
  }
  return attached;
}

/** The parts attached to `documents` (this very array), if any. */
export function collectionParts(documents: readonly Document[]): CollectionParts | undefined {
  return ATTACHED.get(documents);
}

/** The documents' ids in order: the attached parts' copy, else a new array. */
export function documentIds(documents: readonly Document[]): readonly string[] {
  return ATTACHED.get(documents)?.ids ?? documents.map((d) => d.id);
}

/** id → position in `documents`: the attached parts' map (built once), else a new one. */
export function documentPositions(documents: readonly Document[]): ReadonlyMap<string, number> {
  const attached = ATTACHED.get(documents);
  if (attached?.positions !== undefined) return attached.positions;
  const positions = new Map<string, number>();
  documents.forEach((d, i) => positions.set(d.id, i));
  if (attached !== undefined) attached.positions = positions;
  return positions;
}
