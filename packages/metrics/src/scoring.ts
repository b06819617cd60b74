/**
 * Per-query arithmetic of every measure, following trec_eval (usnistgov/trec_eval, `m_*.c`).
 *
 * A query's ranking is first reduced to a {@link JudgedRanking} (the grade at each rank plus counts
 * from the qrels); every measure is then one pass over at most its cutoff's worth of that array, so
 * a query is sorted and looked up in the qrels once however many measures are asked for.
 *
 * Relevant means grade > 0 (trec_eval's default relevance level `-l 1` on integer grades).
 * Unjudged documents count as non-relevant with gain 0. Documents below the cutoff k, or beyond the
 * end of a short ranking, contribute nothing; the denominators below do not shrink for short rankings.
 */
import type { Measure } from "./measures.js";

/** One query's ranking reduced to what the measures need. */
export interface JudgedRanking {
  /** `grades[i]` is the qrels grade of the document at rank i + 1; 0 when the document is unjudged. */
  grades: Float64Array;
  /** Relevant documents (grade > 0) for the query in the qrels, retrieved or not. */
  relevant: number;
  /** The qrels' positive grades sorted descending: the gains of the ideal ranking, for nDCG. */
  idealGains: Float64Array;
}

/**
 * Looks up the grade of each ranked document and summarizes the query's judgments.
 *
 * @param ranking document ids in rank order (see `rankedDocuments`); empty if the run has no lines for the query.
 * @param judgments the query's qrels (document id → grade); undefined behaves as no judgments.
 */
export function judgeRanking(
  ranking: readonly string[],
  judgments: ReadonlyMap<string, number> | undefined,
): JudgedRanking {
  const grades = new Float64Array(ranking.length);
  if (judgments !== undefined && judgments.size > 0) {
    for (let i = 0; i < ranking.length; i++) grades[i] = judgments.get(ranking[i]!) ?? 0;
  }
  const positive: number[] = [];
  if (judgments !== undefined) for (const grade of judgments.values()) if (grade > 0) positive.push(grade);
  const idealGains = Float64Array.from(positive).sort().reverse();
  return { grades, relevant: positive.length, idealGains };
}

/** The value of `measure` for one query. A query with no relevant documents scores 0 on every measure. */
export function scoreQuery(measure: Measure, judged: JudgedRanking): number {
  const { grades, relevant, idealGains } = judged;
  if (relevant === 0) return 0;
  const k = measure.cutoff ?? Number.POSITIVE_INFINITY;
  const depth = Math.min(k, grades.length);
  switch (measure.kind) {
    case "P":
      // trec_eval P_k: relevant in the top k / k, with k fixed even when fewer than k were retrieved.
      return relevantInTop(grades, depth) / k;
    case "R":
      // trec_eval recall_k: relevant in the top k / all relevant in the qrels.
      return relevantInTop(grades, depth) / relevant;
    case "AP":
      return averagePrecision(grades, depth, relevant);
    case "RR":
      return reciprocalRank(grades, depth);
    case "Success":
      // trec_eval success_k: 1 if at least one relevant document is in the top k.
      return relevantInTop(grades, depth) > 0 ? 1 : 0;
    case "nDCG":
      return ndcg(grades, depth, Math.min(k, idealGains.length), idealGains);
  }
}

/** Number of relevant documents among ranks 1..depth. */
function relevantInTop(grades: Float64Array, depth: number): number {
  let count = 0;
  for (let i = 0; i < depth; i++) if (grades[i]! > 0) count++;
  return count;
}

/**
 * Average precision (trec_eval `map`; with a cutoff, `map_cut`): the precision at the rank of each
 * relevant retrieved document, summed, divided by the number of relevant documents in the qrels, so
 * relevant documents never retrieved contribute precision 0.
 *   AP = (1 / R) · Σ_{r ≤ depth, doc r relevant} (relevant in top r) / r
 */
function averagePrecision(grades: Float64Array, depth: number, relevant: number): number {
  let found = 0;
  let sum = 0;
  for (let i = 0; i < depth; i++) {
    if (grades[i]! > 0) {
      found++;
      sum += found / (i + 1);
    }
  }
  return sum / relevant;
}

/** Reciprocal rank (trec_eval `recip_rank`): 1 / rank of the first relevant document within depth, else 0. */
function reciprocalRank(grades: Float64Array, depth: number): number {
  for (let i = 0; i < depth; i++) if (grades[i]! > 0) return 1 / (i + 1);
  return 0;
}

/**
 * Normalized discounted cumulative gain (trec_eval `ndcg_cut`, and `ndcg` without a cutoff, with
 * its default gains): the gain of a document is its qrels grade itself (grade ≤ 0 gains nothing),
 * discounted by log2(rank + 1), so rank 1 is undiscounted:
 *   DCG@k  = Σ_{r ≤ k} gain(r) / log2(r + 1)
 *   IDCG@k = the same sum over the qrels' positive grades sorted descending (the ideal ranking)
 *   nDCG@k = DCG@k / IDCG@k
 * The ideal ranking is built from the qrels, not from what was retrieved, so unretrieved relevant
 * documents lower the score.
 *
 * @param depth ranks of the run to sum: min(k, number retrieved).
 * @param idealDepth ranks of the ideal ranking to sum: min(k, number of relevant documents).
 */
function ndcg(grades: Float64Array, depth: number, idealDepth: number, idealGains: Float64Array): number {
  let dcg = 0;
  for (let i = 0; i < depth; i++) {
    const gain = grades[i]!;
    if (gain > 0) dcg += gain / Math.log2(i + 2);
  }
  if (dcg === 0) return 0;
  let ideal = 0;
  for (let i = 0; i < idealDepth; i++) ideal += idealGains[i]! / Math.log2(i + 2);
  return dcg / ideal;
}
