import { describe, expect, it } from "vitest";
import { matrix } from "../src/matrix.js";
import { checkProblem, linearProblem } from "../src/problem.js";

const cost = matrix(2, 3, [0, 1, 2, 3, 4, 5]);

describe("linearProblem", () => {
  it("defaults to uniform marginals", () => {
    const p = linearProblem(cost);
    expect(Array.from(p.a)).toEqual([0.5, 0.5]);
    expect(Array.from(p.b)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(p.cost).toBe(cost);
  });

  it("normalizes weights to sum 1, zero weights allowed", () => {
    const p = linearProblem(cost, [3, 1], [0, 2, 6]);
    expect(Array.from(p.a)).toEqual([0.75, 0.25]);
    expect(Array.from(p.b)).toEqual([0, 0.25, 0.75]);
  });

  it("rejects mismatched lengths, negative, non-finite and all-zero weights", () => {
    expect(() => linearProblem(cost, [1, 2, 3])).toThrow("a has 3 weights but the cost has 2 rows");
    expect(() => linearProblem(cost, undefined, [1, 1])).toThrow("b has 2 weights but the cost has 3 columns");
    expect(() => linearProblem(cost, [1, -1])).toThrow("a[1] is -1; weights must be finite and >= 0");
    expect(() => linearProblem(cost, [1, Number.NaN])).toThrow("a[1] is NaN");
    expect(() => linearProblem(cost, [Infinity, 1])).toThrow("a[0] is Infinity");
    expect(() => linearProblem(cost, undefined, [0, 0, 0])).toThrow("the weights b sum to 0");
    expect(() => linearProblem(cost, [1e308, 1e308])).toThrow("the weights a sum to Infinity");
  });

  it("rejects a non-finite or empty cost", () => {
    expect(() => linearProblem(matrix(1, 2, [0, Number.NaN]))).toThrow("cost: row 0, column 1 is NaN");
    expect(() => linearProblem(matrix(0, 3))).toThrow("both sides need at least one point");
  });
});

describe("checkProblem", () => {
  it("accepts equal unnormalized masses and rejects unequal ones", () => {
    const a = Float64Array.of(2, 2);
    expect(() => checkProblem({ cost, a, b: Float64Array.of(1, 1, 2) })).not.toThrow();
    expect(() => checkProblem({ cost, a, b: Float64Array.of(1, 1, 1) })).toThrow("a sums to 4 but b to 3");
    expect(() => checkProblem({ cost: matrix(2, 3, [0, 0, 0, 0, Infinity, 0]), a, b: Float64Array.of(1, 1, 2) })).toThrow(
      "cost: row 1, column 1 is Infinity",
    );
  });
});
