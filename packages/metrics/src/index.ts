export type { Qrels, Run } from "./types.js";
