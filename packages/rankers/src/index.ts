export type { Ranker, RankingInput, RankOptions } from "./ranker.js";
