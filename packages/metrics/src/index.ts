export type { Qrels, Run } from "./types.js";
export { type Measure, type MeasureKind, ACCEPTED_MEASURES, parseMeasure, parseMeasures } from "./measures.js";
export { type Evaluation, evaluate } from "./evaluate.js";
export { compareRanked, rankedDocuments } from "./ranking.js";
export {
  TrecFormatError,
  formatQrels,
  formatRun,
  parseQrels,
  parseRun,
  readQrels,
  readRun,
  writeQrels,
  writeRun,
} from "./trec.js";
