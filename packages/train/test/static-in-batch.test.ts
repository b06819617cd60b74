import { describe, expect, it } from "vitest";
import { finiteDifference, seeded, uniformArray } from "./grad-check.js";
import { InBatchSoftmax } from "../src/index.js";

/** The symmetric in-batch softmax loss in float64, written out from its definition. */
function referenceLoss(a: Float64Array, b: Float64Array, n: number, dim: number, tau: number): number {
  const s = (i: number, j: number) => {
    let v = 0;
    for (let k = 0; k < dim; k++) v += a[i * dim + k]! * b[j * dim + k]!;
    return v / tau;
  };
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    let col = 0;
    for (let j = 0; j < n; j++) {
      row += Math.exp(s(i, j));
      col += Math.exp(s(j, i));
    }
    loss += Math.log(row) - s(i, i) + Math.log(col) - s(i, i);
  }
  return loss / (2 * n);
}

describe("InBatchSoftmax (onnxruntime)", () => {
  it("gives the loss and its gradient with respect to both sides (finite differences in float64)", async () => {
    const [n, dim, tau] = [5, 7, 0.3];
    const rng = seeded(7);
    const a = uniformArray(rng, n * dim);
    const b = uniformArray(rng, n * dim);
    const session = await InBatchSoftmax.create(n, tau, 1);
    const out = await session.run(Float32Array.from(a), Float32Array.from(b), dim);
    await session.release();
    // Diagonal pairs do not dominate at this temperature, so every entry of the gradient is non-trivial.
    expect(out.loss).toBeCloseTo(referenceLoss(a, b, n, dim, tau), 4);
    const fa = finiteDifference(() => referenceLoss(a, b, n, dim, tau), a);
    const fb = finiteDifference(() => referenceLoss(a, b, n, dim, tau), b);
    for (let k = 0; k < n * dim; k++) {
      expect(out.gradA[k]).toBeCloseTo(fa[k]!, 4);
      expect(out.gradB[k]).toBeCloseTo(fb[k]!, 4);
    }
  });

  it("rejects rows of the wrong size and bad settings", async () => {
    await expect(InBatchSoftmax.create(0, 0.05)).rejects.toThrow(/batchSize/);
    await expect(InBatchSoftmax.create(4, 0)).rejects.toThrow(/temperature/);
    const session = await InBatchSoftmax.create(4, 0.05, 1);
    await expect(session.run(new Float32Array(12), new Float32Array(16), 4)).rejects.toThrow(/4 × 4 rows/);
    await session.release();
  });
});
