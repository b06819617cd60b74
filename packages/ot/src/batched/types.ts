/** Public types of the batched Sinkhorn solvers. */

/** Where a batch is solved; "auto" picks the fastest available (see `resolveAutoBackend`). */
export type OtBackend = "auto" | "onnx" | "webasm" | "cpu" | "webgpu" | "webgl" | "js";

/** A concrete backend. */
export type ConcreteOtBackend = Exclude<OtBackend, "auto">;

/** Every concrete backend, in the order `availableBackends()` reports them. */
export const CONCRETE_BACKENDS: readonly ConcreteOtBackend[] = ["onnx", "webgpu", "webgl", "webasm", "js", "cpu"];

/**
 * A batch of token sequences: `lengths.length` items, each `lengths[i]` token vectors of `dim`
 * floats, stored zero-padded to `maxLength` tokens.
 */
export interface TokenBatch {
  /** [count, maxLength, dim], zero-padded. */
  data: Float32Array;
  /** Tokens per item, each in [1, maxLength]. */
  lengths: Int32Array;
  maxLength: number;
  dim: number;
  /**
   * [count, maxLength] marginal weights (e.g. idf), ≥ 0; each item's weights over its first
   * `lengths[i]` tokens are normalised to sum 1 (so they need a positive sum; padding entries are
   * ignored). Default: uniform over the first `lengths[i]` tokens. A token of weight 0 takes no mass.
   */
  weights?: Float32Array;
  /**
   * [count, maxLength] L2 norm of each token vector (0 on padding). Filled by `tokenBatch` while it
   * packs the vectors, so that normalising costs nothing later; when absent the backends compute
   * the norms themselves (in the ONNX graph: one more pass over the document tensor). Must match
   * `data` — rebuild the batch (or drop `norms`) after changing `data`.
   */
  norms?: Float32Array;
}

/**
 * One unpadded token sequence of a ragged pair problem (see `batchedSinkhornPairs`): its vectors
 * given directly (`embeddings`, [len, dim] row-major, len ≥ 1) or as row indices into a shared
 * row-major table of `dim`-float rows (`table` + `rows`, len = rows.length ≥ 1: a static
 * embedding model's tokens, stored once per vocabulary row however many texts hold them).
 * `weights`: `len` marginal weights ≥ 0 with a positive sum (normalised per item); default uniform.
 */
export type TokenItem = { embeddings: Float32Array; weights?: ArrayLike<number> } | { table: Float32Array; rows: ArrayLike<number>; weights?: ArrayLike<number> };

/**
 * A ragged pair problem: queries and documents given once each, unpadded, and the pairs to solve,
 * pair k = (queries[query[k]], documents[document[k]]). An item may take part in many pairs; items
 * no pair names are neither read nor checked.
 */
export interface TokenPairs {
  queries: readonly TokenItem[];
  documents: readonly TokenItem[];
  query: ArrayLike<number>;
  document: ArrayLike<number>;
  dim: number;
}

/** Iteration domain: see the README ("Batched backends") for when to use which. */
export type SinkhornDomain = "auto" | "kernel" | "log";

export interface BatchedSinkhornOptions {
  /** Entropic regularisation ε > 0, in cost units (cosine costs lie in [0, 2]). */
  reg: number;
  /** Exactly this many Sinkhorn iterations per pair, no early stop (LM-EMD's protocol); ≥ 1. */
  iterations: number;
  /** Default "auto". */
  backend?: OtBackend;
  /** Also return each pair's plan, [len_q, len_d] without padding. Default false. */
  returnPlans?: boolean;
  /**
   * L2-normalise the token vectors first (cost = 1 − cosine), default true. With false the inputs
   * must already be unit vectors and the cost is 1 − x·y.
   */
  normalize?: boolean;
  /**
   * "kernel": scaling iteration on K = exp(−C/reg) with a row/column-min shift (fast); "log":
   * log-sum-exp iteration on the potentials (never under/overflows, several times slower);
   * "auto" (default): kernel, then pairs whose result is unreliable (non-finite cost, lost mass, or
   * scalings outside [1e-30, 1e30]) are solved again in log domain.
   */
  domain?: SinkhornDomain;
  /** Pairs per backend call (default: chosen per backend and shape). */
  batchSize?: number;
}

export interface BatchedSinkhornResult {
  /** <P, C> per pair (C = 1 − cos), the LM-EMD score. */
  costs: Float64Array;
  /** Per pair [len_q, len_d] row-major, without padding (with `returnPlans`). */
  plans?: Float32Array[];
  backend: ConcreteOtBackend;
  /** Wall-clock seconds of the solve, without backend probing; a first call for a shape includes building its session/kernels. */
  seconds: number;
  /** Pairs that were solved (or re-solved) in log domain. */
  logDomainPairs: number;
}

export interface BackendAvailability {
  backend: ConcreteOtBackend;
  available: boolean;
  reason?: string;
}

export interface OtBenchOptions {
  pairs: number;
  queryTokens: number;
  docTokens: number;
  dim: number;
  reg: number;
  iterations: number;
  backend?: OtBackend;
  seed?: number;
  batchSize?: number;
}

export interface OtBenchResult {
  pairsPerSecond: number;
  backend: string;
  pairs: number;
  seconds: number;
  queryTokens: number;
  docTokens: number;
  dim: number;
  reg: number;
  iterations: number;
  /** Floating-point throughput of the cost products alone (2·n·m·d per pair), GFLOP/s. */
  gflops?: number;
}
