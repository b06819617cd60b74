import { describe, expect, it } from "vitest";
import { matrix, matrixFromRows, toRows } from "../src/matrix.js";

describe("matrix", () => {
  it("is row-major, copies its data and defaults to zeros", () => {
    const source = [1, 2, 3, 4, 5, 6];
    const m = matrix(2, 3, source);
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(3);
    expect(m.data[1 * 3 + 2]).toBe(6);
    source[0] = 99;
    expect(m.data[0]).toBe(1);
    expect(Array.from(matrix(2, 2).data)).toEqual([0, 0, 0, 0]);
    expect(matrix(0, 0).data.length).toBe(0);
  });

  it("rejects bad dimensions and data of the wrong length", () => {
    expect(() => matrix(2, 3, [1, 2])).toThrow("2×3 needs 6 values, got 2");
    expect(() => matrix(-1, 2)).toThrow("non-negative integers");
    expect(() => matrix(1.5, 2)).toThrow("non-negative integers");
  });
});

describe("matrixFromRows / toRows", () => {
  it("round-trips", () => {
    const rows = [
      [1, 2],
      [3, 4],
      [5, 6],
    ];
    const m = matrixFromRows(rows);
    expect(m.rows).toBe(3);
    expect(m.cols).toBe(2);
    expect(toRows(m)).toEqual(rows);
    expect(toRows(matrixFromRows([]))).toEqual([]);
  });

  it("names the matrix and the row in its errors", () => {
    expect(() => matrixFromRows([[1, 2], [3]], "query embeddings")).toThrow("query embeddings: row 1 has 1 values, expected 2");
    expect(() => matrixFromRows([[1, 2], [3, Number.NaN]], "doc")).toThrow("doc: row 1, column 1 is NaN, expected a finite number");
    expect(() => matrixFromRows([[Infinity]])).toThrow("matrix: row 0, column 0 is Infinity");
    expect(() => matrixFromRows([["1" as unknown as number]], "x")).toThrow("x: row 0, column 0 is 1");
  });
});
