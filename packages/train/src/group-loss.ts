/**
 * The training loss shared by the heads trained on groups (a query, its relevant document first,
 * then negatives): LM-EMD's Sinkhorn distance (lm-emd-trainer.ts) and the CLS / MAX / MEAN
 * baselines' pooled cosine (pooled-scorer.ts) both give, per candidate, a distance and its backward
 * in the token rows; the LM-EMD study's two losses are taken over s = 1 − distance:
 *
 *  - "pairwise": PyTorch's `MarginRankingLoss(margin)` between the relevant document and each
 *    negative, L = mean max(0, margin − (s⁺ − s⁻)) over every pair of the batch;
 *  - "cross-entropy": `CrossEntropyLoss` over each group's raw scores, target 0, averaged over groups.
 */
import type { TrainableHead } from "./head-trainer.js";
import { candidateCrossEntropyLoss } from "./losses/cross-entropy.js";
import { pairwiseHingeLoss } from "./losses/pairwise.js";

/** The LM-EMD study's two losses. */
export type GroupLoss = "pairwise" | "cross-entropy";

/** A batch's loss and its gradient in the head's parameters. */
export interface GroupBatchLoss {
  /** Pairwise: the mean over every (relevant, negative) pair of the batch; cross-entropy: the mean over groups. */
  loss: number;
  /** ∂loss/∂head parameters, in the order of `head.params()`. */
  grads: Float32Array[];
  /** Per group, the distances of its candidates (relevant first). */
  distances: Float64Array[];
}

/** One group after the head: the forward caches and, per candidate, the distance and a backward in the rows. */
export interface SolvedGroup {
  q: ReturnType<TrainableHead["forward"]>;
  docs: ReturnType<TrainableHead["forward"]>[];
  distances: Float64Array;
  /** ∂L/∂distance per candidate → ∂L/∂(query rows), ∂L/∂(candidate rows). */
  backward(dDistances: Float64Array): { gradQuery: Float32Array; gradDocs: Float32Array[] };
}

/**
 * The loss over s = 1 − distance and its backward through every group to the head's parameters:
 * ∂L/∂distance = −∂L/∂s, through the group's scorer (the Sinkhorn plan and the cosine cost, or the
 * pooling and the cosine) to the rows, then the head.
 */
export function groupLoss(head: TrainableHead, solved: readonly SolvedGroup[], loss: GroupLoss = "pairwise", margin = 0): GroupBatchLoss {
  const { value, dScores } = scoreLoss(
    solved.map((f) => f.distances),
    loss,
    margin,
  );
  const grads = head.zeroGrads();
  solved.forEach((f, gi) => {
    const { gradQuery, gradDocs } = f.backward(Float64Array.from(dScores[gi]!, (g) => -g));
    head.backward(f.q.cache, gradQuery, grads);
    f.docs.forEach((d, j) => head.backward(d.cache, gradDocs[j]!, grads));
  });
  return { loss: value, grads: head.gradList(grads), distances: solved.map((f) => f.distances) };
}

/** The study's losses over the groups' scores s = 1 − distance (relevant first), and ∂L/∂s per group. */
function scoreLoss(distances: readonly Float64Array[], loss: GroupLoss, margin: number): { value: number; dScores: Float64Array[] } {
  const dScores = distances.map((d) => new Float64Array(d.length));
  if (loss === "pairwise") {
    // MarginRankingLoss over every (relevant, negative) pair of the batch.
    const pos: number[] = [];
    const neg: number[] = [];
    for (const d of distances) {
      for (let j = 1; j < d.length; j++) {
        pos.push(1 - d[0]!);
        neg.push(1 - d[j]!);
      }
    }
    const out = pairwiseHingeLoss(Float64Array.from(pos), Float64Array.from(neg), margin);
    const [gPos, gNeg] = out.grads as [Float32Array, Float32Array];
    let k = 0;
    distances.forEach((d, gi) => {
      const ds = dScores[gi]!;
      for (let j = 1; j < d.length; j++, k++) {
        ds[0] = ds[0]! + gPos[k]!;
        ds[j] = ds[j]! + gNeg[k]!;
      }
    });
    return { value: out.loss, dScores };
  }
  // Cross-entropy: one row per group (groups may differ in size), averaged over the groups.
  let value = 0;
  distances.forEach((d, gi) => {
    const out = candidateCrossEntropyLoss(
      Float64Array.from(d, (x) => 1 - x),
      1,
      d.length,
      [0],
    );
    value += out.loss / distances.length;
    const g = out.grads[0]!;
    const ds = dScores[gi]!;
    for (let j = 0; j < ds.length; j++) ds[j] = g[j]! / distances.length;
  });
  return { value, dScores };
}

