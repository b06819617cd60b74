import { describe, expect, it } from "vitest";
import { applyDense, l2normalizeRows, poolBatch, type PoolOptions } from "../src/index.js";

// Two texts, seqLength 4, dim 2:
//   item 0: [CLS] a b [SEP]      (no padding)
//   item 1: [CLS] c [SEP] [PAD]  (one padded row, deliberately huge so any leak shows)
const hidden = Float32Array.from([
  ...[1, -2], ...[3, -1], ...[-1, -4], ...[0, -3],
  ...[2, -1], ...[4, -2], ...[-2, -5], ...[100, 100],
]);
const mask = BigInt64Array.from([1n, 1n, 1n, 1n, 1n, 1n, 1n, 0n]);
const special = [1, 0, 0, 1, 1, 0, 1, 0];
const shape = { batchSize: 2, seqLength: 4, dim: 2 };

function pool(options: PoolOptions): number[] {
  return Array.from(poolBatch(hidden, mask, special, shape, options));
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tol);
}

describe("poolBatch", () => {
  it("cls takes the first row", () => {
    expectClose(pool({ pooling: "cls" }), [1, -2, 2, -1]);
  });

  it("mean averages the attention-masked rows, CLS and SEP included by default", () => {
    // item 0: (1+3−1+0)/4, (−2−1−4−3)/4; item 1: (2+4−2)/3, (−1−2−5)/3
    expectClose(pool({ pooling: "mean" }), [0.75, -2.5, 4 / 3, -8 / 3]);
  });

  it("includeSpecial false leaves CLS/SEP out", () => {
    expectClose(pool({ pooling: "mean", includeSpecial: false }), [1, -2.5, 4, -2]);
    expectClose(pool({ pooling: "max", includeSpecial: false }), [3, -1, 4, -2]);
  });

  it("max over the real rows", () => {
    expectClose(pool({ pooling: "max" }), [3, -1, 4, -1]);
  });

  it("padding never enters, whatever the padded rows hold", () => {
    const other = hidden.slice();
    other.set([-7, 55], 7 * 2);
    for (const pooling of ["cls", "mean", "max"] as const) {
      expect(Array.from(poolBatch(other, mask, special, shape, { pooling }))).toEqual(pool({ pooling }));
    }
  });

  it("paddedPooling reproduces the LM-EMD study's quirks", () => {
    // mean: sum of the real rows / padded length 4 → item 1: (4, −8)/4
    expectClose(pool({ pooling: "mean", paddedPooling: true }), [0.75, -2.5, 1, -2]);
    // max: item 1's padded row counts as a zero row, so its all-negative dimension pools to 0
    expectClose(pool({ pooling: "max", paddedPooling: true }), [3, -1, 4, 0]);
    // unselected specials count as zero rows too
    expectClose(pool({ pooling: "mean", paddedPooling: true, includeSpecial: false }), [0.5, -1.25, 1, -0.5]);
    expectClose(pool({ pooling: "max", paddedPooling: true, includeSpecial: false }), [3, 0, 4, 0]);
    // cls is unaffected
    expectClose(pool({ pooling: "cls", paddedPooling: true }), [1, -2, 2, -1]);
  });

  it("an item with no selected row pools to zeros, not NaN", () => {
    const h = Float32Array.from([5, -5, 6, -6]); // [CLS] [SEP] only
    for (const pooling of ["mean", "max"] as const) {
      for (const paddedPooling of [false, true]) {
        const out = poolBatch(h, [1, 1], [1, 1], { batchSize: 1, seqLength: 2, dim: 2 }, { pooling, includeSpecial: false, paddedPooling });
        expect(Array.from(out)).toEqual([0, 0]);
      }
    }
  });

  it("checks the shapes", () => {
    expect(() => poolBatch(hidden, mask, special, { ...shape, dim: 3 }, { pooling: "mean" })).toThrow(/expected 2×4×3/);
    expect(() => poolBatch(hidden, [1, 1], special, shape, { pooling: "mean" })).toThrow(/mask and special/);
  });
});

describe("l2normalizeRows", () => {
  it("scales rows to unit length and keeps a zero row zero", () => {
    const out = l2normalizeRows(Float32Array.from([3, 4, 0, 0, -1, 0]), 2);
    expectClose(out, [0.6, 0.8, 0, 0, -1, 0]);
    expect(out.some(Number.isNaN)).toBe(false);
  });

  it("rejects a length that is not whole rows", () => {
    expect(() => l2normalizeRows(new Float32Array(5), 2)).toThrow(/rows of width 2/);
  });
});

describe("applyDense", () => {
  // W = [[1, 2], [−1, 0.5]] ([out, in] as torch stores it), b = [0.5, −1]
  const layer = { inFeatures: 2, outFeatures: 2, weight: Float32Array.from([1, 2, -1, 0.5]), bias: Float32Array.from([0.5, -1]) };

  it("y = tanh(W x + b), row by row", () => {
    // x0 = (1, −1): W x + b = (1 − 2 + 0.5, −1 − 0.5 − 1) = (−0.5, −2.5)
    // x1 = (0, 2):  W x + b = (4.5, 0)
    const out = applyDense(Float32Array.from([1, -1, 0, 2]), { ...layer, activation: "tanh" });
    expectClose(out, [Math.tanh(-0.5), Math.tanh(-2.5), Math.tanh(4.5), 0]);
  });

  it("other activations and no bias", () => {
    const x = Float32Array.from([1, -1]);
    expectClose(applyDense(x, { ...layer, activation: "identity" }), [-0.5, -2.5]);
    expectClose(applyDense(x, { ...layer, activation: "relu" }), [0, 0]);
    const { bias: _bias, ...noBias } = layer;
    expectClose(applyDense(x, { ...noBias, activation: "identity" }), [-1, -1.5]);
    // GELU (erf form): gelu(1) = Φ(1), gelu(−1) = −(1 − Φ(1))
    const eye = { inFeatures: 2, outFeatures: 2, weight: Float32Array.from([1, 0, 0, 1]), activation: "gelu" as const };
    expectClose(applyDense(x, eye), [0.8413447460685429, -0.15865525393145707]);
  });

  it("maps [rows, in] to [rows, out]", () => {
    const wide = { inFeatures: 2, outFeatures: 3, weight: Float32Array.from([1, 0, 0, 1, 1, 1]), activation: "identity" as const };
    expectClose(applyDense(Float32Array.from([2, 3, -1, 1]), wide), [2, 3, 5, -1, 1, 0]);
    expect(() => applyDense(new Float32Array(3), wide)).toThrow(/rows of width 2/);
  });
});
