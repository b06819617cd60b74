/** What every loss returns. */
export interface LossOutput {
  /** The loss value (float64). */
  loss: number;
  /**
   * ∂loss/∂input, one array per differentiable input in the order the loss documents, each of
   * that input's shape (row-major, float32).
   */
  grads: Float32Array[];
  /** Named parts of a composite loss (e.g. the three distillation terms, weighted), for logging. */
  parts?: Record<string, number>;
}

/** How per-example losses are combined: averaged over the examples (PyTorch's default) or summed. */
export type Reduction = "mean" | "sum";

/** 1/n for "mean" (0 when there are no examples, so an empty batch gives loss 0, not NaN), 1 for "sum". */
export function reductionScale(reduction: Reduction, n: number, fn: string): number {
  if (reduction !== "mean" && reduction !== "sum") throw new Error(`${fn}: reduction must be "mean" or "sum", got ${JSON.stringify(reduction)}`);
  if (reduction === "sum") return 1;
  return n === 0 ? 0 : 1 / n;
}
