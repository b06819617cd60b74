import { describe, expect, it } from "vitest";
import { cosineCost, costMatrix, squaredEuclideanCost } from "../src/geometry.js";
import { matrix, matrixFromRows, toRows } from "../src/matrix.js";

describe("cosineCost", () => {
  it("is 1 − cosine: 0 for the same direction, 1 orthogonal, 2 opposite", () => {
    const x = matrixFromRows([[1, 0]]);
    const y = matrixFromRows([[3, 0], [0, 2], [-1, 0], [1, 1]]);
    const c = cosineCost(x, y);
    expect([c.rows, c.cols]).toEqual([1, 4]);
    expect(c.data[0]).toBe(0);
    expect(c.data[1]).toBe(1);
    expect(c.data[2]).toBe(2);
    expect(c.data[3]).toBeCloseTo(1 - Math.SQRT1_2, 15);
  });

  it("gives a zero vector cosine 0 (cost 1) instead of NaN", () => {
    const c = cosineCost(matrixFromRows([[0, 0, 0], [1, 2, 3]]), matrixFromRows([[1, 2, 3], [0, 0, 0]]));
    expect(toRows(c)).toEqual([
      [1, 1],
      [0, 1],
    ]);
  });

  it("clamps rounding: parallel vectors cost exactly 0 and every cost lies in [0, 2]", () => {
    const x = matrixFromRows([[0.1, 0.2, 0.3], [1e-3, 7, -2]]);
    const y = matrixFromRows([[0.3, 0.6, 0.9], [-1e-3, -7, 2], [1, 1, 1]]);
    const c = cosineCost(x, y);
    expect(c.data[0]).toBe(0);
    expect(c.data[4]).toBe(2);
    for (const v of c.data) expect(v >= 0 && v <= 2).toBe(true);
  });

  it("rejects points of different dimensions and non-finite coordinates", () => {
    expect(() => cosineCost(matrix(2, 3), matrix(2, 4))).toThrow("x has points of dimension 3, y of dimension 4");
    expect(() => cosineCost(matrix(1, 2, [1, Number.NaN]), matrix(1, 2))).toThrow("x: row 0, column 1 is NaN");
  });
});

describe("squaredEuclideanCost", () => {
  it("is |x − y|², exactly 0 for equal points", () => {
    const x = matrixFromRows([[1, 2], [0.1, 0.7]]);
    const y = matrixFromRows([[1, 2], [4, 6], [0.1, 0.7]]);
    expect(toRows(squaredEuclideanCost(x, y))).toEqual([
      [0, 25, (1 - 0.1) ** 2 + (2 - 0.7) ** 2],
      [(0.1 - 1) ** 2 + (0.7 - 2) ** 2, (0.1 - 4) ** 2 + (0.7 - 6) ** 2, 0],
    ]);
  });

  it("rejects points of different dimensions", () => {
    expect(() => squaredEuclideanCost(matrix(1, 1), matrix(1, 2))).toThrow("dimension");
  });
});

describe("costMatrix", () => {
  it("copies a finite matrix, negative entries allowed", () => {
    const given = matrix(1, 2, [-1, 3]);
    const c = costMatrix(given);
    given.data[0] = 5;
    expect(Array.from(c.data)).toEqual([-1, 3]);
  });

  it("names the first non-finite entry", () => {
    expect(() => costMatrix(matrix(2, 2, [0, 1, Number.NaN, 2]))).toThrow("cost: row 1, column 0 is NaN");
    expect(() => costMatrix({ rows: 2, cols: 2, data: new Float64Array(3) })).toThrow("2×2 needs 4 values, got 3");
  });
});
