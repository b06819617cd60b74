import type { Document, Query } from "@crossrank/datasets";
import type { Run } from "@crossrank/metrics";

/** What a ranker needs of a task: the queries, the collection, and their languages when known. */
export interface RankingInput {
  queries: readonly Query[];
  documents: readonly Document[];
  queryLang?: string;
  docLang?: string;
}

export interface RankOptions {
  /** How many documents to keep per query (top-k). Default 100. */
  k?: number;
  /** Called as work advances, e.g. to drive a progress bar; `total` is fixed for one call. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The interface every ranker shares (BM25 now; CLS/MAX/MEAN, LM-EMD, bi-encoder and MaxSim later):
 * rank each query of the input against the input's documents and return a run with the top k
 * documents of each query and their scores (higher is better).
 */
export interface Ranker {
  /** Registry name plus parameters, e.g. `bm25(k1=1.2,b=0.75)`; used as the row label in reports. */
  readonly name: string;
  rank(input: RankingInput, options?: RankOptions): Promise<Run>;
}
