import type { Qrels } from "@crossrank/metrics";

/** A query of a retrieval task. `lang` is a BCP 47 tag (`de`, `zh`, `pt-BR`) when known. */
export interface Query {
  id: string;
  text: string;
  lang?: string;
}

/** A document of a retrieval task's collection. */
export interface Document {
  id: string;
  text: string;
  title?: string;
  url?: string;
  lang?: string;
}

/**
 * A retrieval task: rank `documents` for each of `queries`; `qrels` says which are relevant.
 * Every query id in `qrels` is in `queries` and every judged document id is in `documents`
 * (loaders check this and fail with the file and line otherwise).
 */
export interface RetrievalTask {
  /** Stable, human-readable name, e.g. `xquad/question-paragraph/de-en`. */
  name: string;
  queryLang?: string;
  docLang?: string;
  queries: Query[];
  documents: Document[];
  qrels: Qrels;
  /**
   * Per query, the ids of the documents it is ranked against, when the dataset's protocol re-ranks
   * given candidate sets (sasaki18: each query's lines of the file) rather than the whole
   * collection; absent, every document is a candidate of every query. Every id is in `documents`.
   */
  candidates?: ReadonlyMap<string, readonly string[]>;
  /**
   * What the loader skipped where skipping is its documented behaviour (e.g. a query whose id has
   * no document counterpart), one line per kind with its count; empty or absent when nothing was.
   */
  warnings?: string[];
}
