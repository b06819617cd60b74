/**
 * Relevance judgments: query id → document id → graded relevance.
 * Relevance > 0 counts as relevant (trec_eval's default `-l 1`); 0 and negative grades are judged
 * non-relevant.
 */
export type Qrels = Map<string, Map<string, number>>;

/**
 * A ranking run: query id → document id → score, higher is better.
 * The order of insertion carries no meaning: evaluation re-sorts (see `rankedDocuments`).
 */
export type Run = Map<string, Map<string, number>>;
