export { type LossOutput, type Reduction } from "./types.js";
export { pairwiseHingeLoss, pairwiseSoftplusLoss } from "./pairwise.js";
export { candidateCrossEntropyLoss, relevanceRankingLoss } from "./cross-entropy.js";
export { tripletLoss, type TripletDistance, type TripletOptions } from "./triplet.js";
export { inBatchSoftmaxLoss, type InBatchSoftmaxOptions } from "./in-batch.js";
export { DEFAULT_DISTILL_WEIGHTS, distillLoss, type DistillTerms, type DistillWeights, mseLoss } from "./mse.js";
