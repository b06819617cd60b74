/**
 * What of this package runs in a browser, the entry bundlers pick under the "browser" export
 * condition: the measures, evaluation and rank order. TREC run and qrels files (./trec.ts) are read
 * and written with Node's file system and are left out.
 */
export type { Qrels, Run } from "./types.js";
export { type Measure, type MeasureKind, ACCEPTED_MEASURES, parseMeasure, parseMeasures } from "./measures.js";
export { type Evaluation, evaluate } from "./evaluate.js";
export { compareRanked, rankedDocuments } from "./ranking.js";
