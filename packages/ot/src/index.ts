export { type Matrix, matrix, matrixFromRows, toRows } from "./matrix.js";
export { cosineCost, costMatrix, squaredEuclideanCost } from "./geometry.js";
export { type Problem, linearProblem } from "./problem.js";
export { type SinkhornOptions, type SinkhornOutput, KERNEL_SAFE_RANGE, sinkhorn, sinkhornKernel, sinkhornLog } from "./sinkhorn.js";
export { cosineCostBackward, sinkhornCostGradient } from "./gradients.js";
export { heatmapSvg, writeHeatmap, type HeatmapMatrix, type HeatmapOptions, type HeatmapPanel } from "./heatmap.js";
export { availableBackends, backendAvailability, batchedSinkhorn, batchedSinkhornPairs, otBench, randomBatch, resolveAutoBackend, tokenBatch } from "./batched/index.js";
export type {
  BackendAvailability,
  BatchedSinkhornOptions,
  BatchedSinkhornResult,
  ConcreteOtBackend,
  OtBackend,
  OtBenchOptions,
  OtBenchResult,
  SinkhornDomain,
  TokenBatch,
  TokenItem,
  TokenPairs,
} from "./batched/types.js";
export { mulberry32 } from "./random.js";
