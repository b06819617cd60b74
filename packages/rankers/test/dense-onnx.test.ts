import { describe, expect, it } from "vitest";
import { denseScoreBlock } from "../src/neural/dense.js";
import { denseScoreAll, QUERY_BLOCK } from "../src/neural/dense-onnx.js";

function unitRows(rows: number, dim: number, seed: number): { rows: number; dim: number; data: Float32Array } {
  let s = seed >>> 0;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let k = 0; k < dim; k++) n += (data[r * dim + k] = next()) ** 2;
    for (let k = 0; k < dim; k++) data[r * dim + k]! /= Math.sqrt(n);
  }
  return { rows, dim, data };
}

describe("denseScoreAll (onnxruntime Gemm)", () => {
  it("gives the JavaScript loop's cosines for every query block, the last one short", async () => {
    const dim = 48;
    const docs = unitRows(700, dim, 1);
    const queries = unitRows(QUERY_BLOCK + 5, dim, 2);
    const all = Int32Array.from({ length: docs.rows }, (_, i) => i);
    const seen: number[] = [];
    await denseScoreAll(queries, docs, (first, count, scores) => {
      expect(scores.length).toBe(count * docs.rows);
      for (let b = 0; b < count; b++) {
        seen.push(first + b);
        const out = [new Float64Array(docs.rows)];
        denseScoreBlock(queries, first + b, 1, docs, all, out);
        for (let d = 0; d < docs.rows; d++) expect(Math.abs(scores[b * docs.rows + d]! - out[0]![d]!)).toBeLessThan(1e-5);
      }
    });
    expect(seen).toEqual(Array.from({ length: queries.rows }, (_, i) => i));
  });

  it("refuses vectors of different widths", async () => {
    await expect(denseScoreAll(unitRows(2, 8, 1), unitRows(3, 16, 2), () => {})).rejects.toThrow("query vectors have dim 8, document vectors 16");
  });
});
