/**
 * Evaluation of a run against qrels, with trec_eval's conventions (as `trec_eval -c`):
 *
 * - Each query's documents are re-sorted by score descending, ties broken by document id
 *   descending (`rankedDocuments`); the rank column of a run file plays no part.
 * - The evaluated queries are exactly the queries of the qrels, in the qrels' order. A qrels query
 *   without run lines scores 0 on every measure and still counts in the mean (`-c`); run queries
 *   absent from the qrels are ignored (trec_eval skips queries with no relevance information).
 * - A query whose qrels hold no relevant document (grade > 0) scores 0 on every measure.
 * - No depth limit: every retrieved document counts (trec_eval's `-M` is unlimited by default).
 */
import { type Measure, toMeasure } from "./measures.js";
import { sortedEntries } from "./ranking.js";
import { judgeRanking, scoreQuery } from "./scoring.js";
import type { Qrels, Run } from "./types.js";

/** The result of {@link evaluate}. */
export interface Evaluation {
  /** Measure names, in the order asked for, duplicates dropped: the keys of every record below. */
  measures: string[];
  /** Query id → measure name → value, for every qrels query, in the qrels' order. */
  perQuery: Map<string, Record<string, number>>;
  /** Measure name → arithmetic mean over the evaluated queries; 0 when there are none. */
  mean: Record<string, number>;
  /** Number of evaluated queries (the number of queries in the qrels). */
  queries: number;
}

/**
 * Scores `run` against `qrels` on each of `measures` (spec strings such as `"P@10"`, `"MAP"`,
 * `"nDCG@10"`, or {@link Measure} objects), per query and on average.
 *
 * Each query is sorted once and every measure computed from that one ranking, so cost is
 * O(Σ n log n) for the sort plus O(n) per measure per query, n being the documents of a query.
 *
 * The mean over zero queries (empty qrels) is reported as 0 rather than NaN, so results stay valid
 * JSON and comparisons stay total; `queries: 0` tells the case apart.
 *
 * @throws Error for an invalid measure, before any work is done; RangeError for a NaN score.
 */
export function evaluate(qrels: Qrels, run: Run, measures: readonly (string | Measure)[]): Evaluation {
  const checked = uniqueByName(measures.map(toMeasure));
  const names = checked.map((measure) => measure.name);
  const sums = new Float64Array(checked.length);
  const perQuery = new Map<string, Record<string, number>>();

  for (const [qid, judgments] of qrels) {
    const scores = run.get(qid);
    const ranking = scores === undefined ? [] : sortedEntries(scores, qid).map((entry) => entry[0]);
    const judged = judgeRanking(ranking, judgments);
    const values: Record<string, number> = {};
    checked.forEach((measure, i) => {
      const value = scoreQuery(measure, judged);
      values[measure.name] = value;
      sums[i] = sums[i]! + value;
    });
    perQuery.set(qid, values);
  }

  const queries = perQuery.size;
  const mean: Record<string, number> = {};
  checked.forEach((measure, i) => {
    mean[measure.name] = queries === 0 ? 0 : sums[i]! / queries;
  });
  return { measures: names, perQuery, mean, queries };
}

/** Keeps the first measure of each name: a name is a key in the results, so it must be unique. */
function uniqueByName(measures: readonly Measure[]): Measure[] {
  const byName = new Map<string, Measure>();
  for (const measure of measures) if (!byName.has(measure.name)) byName.set(measure.name, measure);
  return [...byName.values()];
}
