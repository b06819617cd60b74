/**
 * In-batch sampled softmax (multiple negatives ranking): every other document of the batch is a
 * negative for each query.
 */
import { checkCount, checkFloats, checkScalar, type Floats, logSumExp, similarityBackward, similarityMatrix } from "../math.js";
import type { LossOutput } from "./types.js";

/** Options of {@link inBatchSoftmaxLoss}. */
export interface InBatchSoftmaxOptions {
  /**
   * Temperature τ > 0: similarities are multiplied by the scale 1/τ. sentence-transformers'
   * MultipleNegativesRankingLoss uses scale 20 (τ = 0.05) over cosine; DPR uses τ = 1 over dot.
   */
  temperature: number;
  /**
   * Also the document → query direction (sentence-transformers'
   * MultipleNegativesSymmetricRankingLoss): L = (L_q→d + L_d→q)/2. Default false.
   */
  symmetric?: boolean;
  /** Default "cosine" (sentence-transformers' `cos_sim`; 0 for a zero row, gradient 0); "dot" for DPR. */
  similarity?: "cosine" | "dot";
}

/**
 * In-batch softmax cross-entropy (InfoNCE / MultipleNegativesRankingLoss). With S_ij = sim(q_i, d_j)/τ,
 *
 *     L_q→d = (1/n) Σ_i ( logsumexp_{j<m} S_ij − S_ii )
 *     L_d→q = (1/n) Σ_j ( logsumexp_{i<n} S_ij − S_jj )          (symmetric only; columns j < n)
 *
 * `docs` holds the n positives (row i is query i's) optionally followed by extra hard negatives,
 * m = docs.length / d ≥ n rows in all, which every query sees (sentence-transformers' (anchor,
 * positive, negative) input). The symmetric term, as sentence-transformers, uses the first n columns.
 *
 * Gradient in S: G_ij = (softmax_j(S_i)_j − [i = j]) / n (forward), plus, symmetric,
 * (softmax_i(S_·j)_i − [i = j]) / n on the first n columns, the total halved; then chained through
 * the similarity (see `similarityBackward` in math.ts) and the scale 1/τ.
 *
 * @param queries [n, d] row-major
 * @param docs [m, d] row-major, m ≥ n, row i < n the positive of query i
 * @returns loss and grads [∂L/∂queries, ∂L/∂docs]
 *
 * References: Henderson et al., "Efficient Natural Language Response Suggestion for Smart Reply"
 * (2017); Karpukhin et al., "Dense Passage Retrieval" (DPR, EMNLP 2020); van den Oord et al.,
 * "Representation Learning with Contrastive Predictive Coding" (InfoNCE, 2018); sentence-transformers
 * `losses.MultipleNegativesRankingLoss` and `MultipleNegativesSymmetricRankingLoss` (scale 20, cos_sim).
 */
export function inBatchSoftmaxLoss(queries: Floats, docs: Floats, n: number, d: number, opts: InBatchSoftmaxOptions): LossOutput {
  const fn = "inBatchSoftmaxLoss";
  checkCount(n, "n", fn);
  checkCount(d, "d", fn);
  checkScalar(opts.temperature, "temperature", fn, "positive");
  const similarity = opts.similarity ?? "cosine";
  if (similarity !== "cosine" && similarity !== "dot") throw new Error(`${fn}: similarity must be "cosine" or "dot", got ${JSON.stringify(similarity)}`);
  checkFloats(queries, n * d, "queries", fn);
  if (d === 0 ? docs.length !== 0 : docs.length % d !== 0) throw new Error(`${fn}: docs has ${docs.length} values, not rows of width ${d}`);
  const m = d === 0 ? n : docs.length / d;
  if (m < n) throw new Error(`${fn}: docs has ${m} rows, expected at least n = ${n} (row i the positive of query i)`);
  checkFloats(docs, m * d, "docs", fn);
  if (n === 0) return { loss: 0, grads: [new Float32Array(0), new Float32Array(docs.length)] };

  const scale = 1 / opts.temperature;
  const fwd = similarityMatrix(queries, n, docs, m, d, similarity);
  const s = new Float64Array(n * m);
  for (let k = 0; k < s.length; k++) s[k] = fwd.s[k]! * scale;
  const g = new Float64Array(n * m);
  const symmetric = opts.symmetric ?? false;
  const weight = symmetric ? 0.5 / n : 1 / n;
  let forward = 0;
  for (let i = 0; i < n; i++) {
    const lse = logSumExp(s, i * m, m);
    forward += lse - s[i * m + i]!;
    for (let j = 0; j < m; j++) g[i * m + j] = (Math.exp(s[i * m + j]! - lse) - (i === j ? 1 : 0)) * weight;
  }
  forward /= n;
  let backward = 0;
  if (symmetric) {
    const column = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) column[i] = s[i * m + j]!;
      const lse = logSumExp(column, 0, n);
      backward += lse - column[j]!;
      for (let i = 0; i < n; i++) g[i * m + j] = g[i * m + j]! + (Math.exp(column[i]! - lse) - (i === j ? 1 : 0)) * weight;
    }
    backward /= n;
  }
  // ∂L/∂sim = ∂L/∂S · scale.
  for (let k = 0; k < g.length; k++) g[k] = g[k]! * scale;
  const { ga, gb } = similarityBackward(fwd, g);
  const loss = symmetric ? (forward + backward) / 2 : forward;
  const parts: Record<string, number> = symmetric ? { queryToDoc: forward, docToQuery: backward } : { queryToDoc: forward };
  return { loss, grads: [Float32Array.from(ga), Float32Array.from(gb)], parts };
}
