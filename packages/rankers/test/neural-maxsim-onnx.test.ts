import { mulberry32 } from "@crossrank/ot";
import { describe, expect, it } from "vitest";
import { maxSim } from "../src/neural/maxsim-ranker.js";
import { chunkRows, MAX_CHUNK_BYTES, packChunks, queryBlock, queryGroups, type Rows, scoreBlock } from "../src/neural/maxsim-onnx.js";

/** `n` random unit rows of `dim` floats. */
function unitRows(random: () => number, n: number, dim: number): Rows {
  const data = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const v = random() * 2 - 1;
      data[r * dim + k] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let k = 0; k < dim; k++) data[r * dim + k]! *= inv;
  }
  return { data, length: n };
}

/** Every (query, document) score of the onnx path, as [query][doc]. */
async function onnxScores(queries: Rows[], docs: Rows[], dim: number, maxRows: number, maxQueryRows: number): Promise<Float64Array[]> {
  const rows: (Rows | undefined)[] = [...docs];
  const chunks = packChunks(
    docs.map((_, i) => i),
    rows,
    dim,
    { maxRows },
  );
  const out = queries.map(() => new Float64Array(docs.length).fill(Number.NaN));
  let start = 0;
  for (const end of queryGroups(
    queries.map((q) => q.length),
    maxQueryRows,
  )) {
    const block = queryBlock(queries.slice(start, end), dim);
    const first = start;
    await scoreBlock(block, chunks, dim, (i, doc, s) => {
      out[first + i]![doc] = s;
    });
    start = end;
  }
  return out;
}

function expectClose(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected)));
}

describe("MaxSim on onnxruntime equals the JS reference", () => {
  it("on random unit rows of mixed lengths (padding, several chunks and query blocks), to 1e-5 relative", async () => {
    for (const dim of [7, 32, 96]) {
      const random = mulberry32(dim);
      const docs = Array.from({ length: 37 }, () => unitRows(random, 1 + Math.floor(random() * 40), dim));
      const queries = Array.from({ length: 23 }, () => unitRows(random, 1 + Math.floor(random() * 30), dim));
      // A one-row query and a document opposite to it: its similarity is −1, so a zero (or
      // otherwise wrong) padding row would win the max (the document shares a chunk with longer ones).
      queries[0] = unitRows(random, 1, dim);
      docs.push({ data: queries[0].data.map((v) => -v), length: 1 });
      // A document longer than a chunk (gets a chunk of its own) and a copy of a query (score = its row count).
      docs.push(unitRows(random, 70, dim));
      docs.push({ data: queries[1]!.data.slice(), length: queries[1]!.length });
      const scores = await onnxScores(queries, docs, dim, 64, 48);
      queries.forEach((q, qi) => {
        docs.forEach((d, di) => {
          expectClose(scores[qi]![di]!, maxSim(q.data, q.length, d.data, d.length, dim), `dim ${dim} query ${qi} doc ${di}`);
        });
      });
      expectClose(scores[0]![37]!, -1, "opposite document");
      expectClose(scores[1]![39]!, queries[1]!.length, "copy of query 1");
    }
  });

  it("packs shortest first into chunks of at most maxRows padded rows, padding with the document's first row", () => {
    const dim = 3;
    const random = mulberry32(7);
    const lengths = [5, 1, 9, 3, 3, 20, 2];
    const rows: (Rows | undefined)[] = lengths.map((n) => unitRows(random, n, dim));
    const originals = rows.map((r) => r!);
    const chunks = packChunks([0, 1, 2, 3, 4, 5, 6], rows, dim, { maxRows: 10 });
    expect(chunks.map((c) => [...c.docs])).toEqual([[1, 6, 3], [4, 0], [2], [5]]);
    expect(chunks.map((c) => [c.B, c.L])).toEqual([
      [3, 3],
      [2, 5],
      [1, 9],
      [1, 20],
    ]);
    for (const c of chunks) {
      expect(c.data.length).toBe(c.B * c.L * dim);
      c.docs.forEach((doc, b) => {
        const r = originals[doc]!;
        for (let j = 0; j < c.L; j++) {
          const src = j < r.length ? j : 0;
          expect([...c.data.subarray((b * c.L + j) * dim, (b * c.L + j + 1) * dim)]).toEqual([...r.data.subarray(src * dim, (src + 1) * dim)]);
        }
      });
    }
    // Released rows are cleared once packed; a scratch buffer is reused across calls.
    const scratch = { buffer: new Float32Array(0) };
    const again = packChunks([0, 2], [...originals], dim, { scratch });
    expect(again[0]!.data.buffer).toBe(scratch.buffer.buffer);
    const released: (Rows | undefined)[] = [...originals];
    packChunks([0, 2], released, dim, { release: true });
    expect(released.map((r) => r === undefined)).toEqual([true, false, true, false, false, false, false]);
  });

  it("bounds chunks by rows and bytes, and query blocks by rows and queries", () => {
    expect(chunkRows(32)).toBe(4096);
    expect(chunkRows(768)).toBe(4096);
    expect(chunkRows(8192) * 8192 * 4).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
    expect(queryGroups([100, 100, 100, 300, 10, 10], 256)).toEqual([2, 3, 4, 6]);
    expect(queryGroups([1, 1, 1, 1, 1], 256, 2)).toEqual([2, 4, 5]);
    expect(queryGroups([])).toEqual([]);
  });
});
