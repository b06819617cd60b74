/**
 * What the explanation page (./page/) talks to: a search backend, over crossrank serve's HTTP API
 * (./server-backend.ts) or wholly in the browser (./browser-backend.ts). Ranker names and
 * parameters are the registry's (`createRanker` of @crossrank/rankers).
 */

export interface Hit {
  rank: number;
  id: string;
  score: number;
  title?: string;
  text: string;
}

export interface SearchRequest {
  query: string;
  /** A registry name: bm25, bi-encoder, hybrid, rerank (the server also bm25-psq…). */
  ranker: string;
  /** The ranker's registry parameters, e.g. rerank's {first, second: "lm-emd", depth}. */
  params?: Record<string, unknown>;
  /** How many hits (default 10). */
  k?: number;
  /** ISO 639 code of the query's language, when known. */
  queryLang?: string;
}

export interface SearchResponse {
  /** The ranker as requested. */
  ranker: string;
  took_ms: number;
  hits: Hit[];
}

export interface ExplainRequest {
  query: string;
  /** The document's id. */
  id: string;
  /** Entropic regularisation γ (LM-EMD's default 0.1). */
  gamma?: number;
  /** Sinkhorn iterations (default 100). */
  iterations?: number;
  /** Token masses: equal, or by smoothed idf over the collection (default "uniform"). */
  marginals?: "uniform" | "idf";
}

/** LM-EMD's transport between a query and a document (`explainPair` of @crossrank/rankers). */
export interface Explanation {
  id: string;
  queryTokens: string[];
  docTokens: string[];
  /** The entropic OT cost ⟨plan, cost⟩. */
  distance: number;
  /** [queryTokens.length][docTokens.length]: 1 − cosine of the token embeddings. */
  cost: number[][];
  /** [queryTokens.length][docTokens.length]: the transport plan (sums to 1). */
  plan: number[][];
  /** Mass of each query token (sums to 1). */
  queryMass: number[];
  /** Mass of each document token (sums to 1). */
  docMass: number[];
}

export interface BackendInfo {
  mode: "server" | "browser";
  documents: number;
  /** The collection's language when all documents share one, else null. */
  lang: string | null;
  /** Ranker names this backend offers. */
  rankers: string[];
}

/**
 * A backend's error may carry an HTTP-like status: 503 means "not ready yet, the work goes on"
 * (the server's first search in a language loads its dictionaries), so asking again later succeeds.
 */
export type BackendError = Error & { status?: number };

export interface SearchBackend {
  info(): Promise<BackendInfo>;
  search(r: SearchRequest): Promise<SearchResponse>;
  explain(r: ExplainRequest): Promise<Explanation>;
}
