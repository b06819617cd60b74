/**
 * Brute-force dense scoring on onnxruntime-node (CPU, MLAS): one Gemm, scores = Q · Dᵀ, for a
 * block of queries against a whole collection (unit vectors for cosine, raw ones for dot products). A static model makes the first
 * stage so cheap to encode that this product is the cost of a bi-encoder over 61k documents:
 * 12.9 ms a query in the JavaScript loop of ./dense.ts (one thread, float64 sums), a small
 * fraction of that as a float32 GEMM on both cores, where a block of queries reads each document
 * row once.
 *
 *     q     float [M, d]   query vectors (a block)
 *     docs  float [N, d]   document vectors (the collection; Gemm reads it transposed in place)
 *     → scores float [M, N]
 *
 * Queries go in blocks of {@link QUERY_BLOCK}, so the [M, N] output of one run stays near
 * 16 MiB for a 61k-document collection. Scores are float32 sums (cosines to ~1e-7 of the
 * float64 loop's); ranking ties are broken by the same trec_eval order either way.
 *
 * Imported on first use only, so that BM25-only users never load onnxruntime.
 */
import { encodeModel, GraphBuilder } from "@crossrank/onnx";
import type { PooledMatrix } from "./memo.js";
import { lazyCpuSession } from "./ort-session.js";

/** Queries per session run. */
export const QUERY_BLOCK = 64;

/** The ONNX model bytes of the scoring graph (symbolic dimensions: one session serves every shape). */
export function buildDenseModel(): Uint8Array {
  const g = new GraphBuilder("dense");
  g.docString = "Dense scores: scores[m, n] = q[m] . docs[n].";
  const q = g.input("q", "float32", ["M", "d"]);
  const docs = g.input("docs", "float32", ["N", "d"]);
  g.output(g.op("Gemm", [q, docs], { transB: 1 }), "float32", ["M", "N"], "scores");
  return encodeModel(g, { opset: 18 });
}

/** Intra-op threads: every core, or $CROSSRANK_DENSE_ONNX_THREADS. */
const denseSession = lazyCpuSession(buildDenseModel, "CROSSRANK_DENSE_ONNX_THREADS");

/** Whether onnxruntime-node loads and makes the scoring session here (not in a browser, nor where its binary cannot load). */
export function denseOnnxAvailable(): Promise<boolean> {
  return denseSession().then(
    () => true,
    () => false,
  );
}

/**
 * Scores every query of `queries` against every document of `documents`, a block of
 * {@link QUERY_BLOCK} queries at a time: `emit(first, count, scores)` gets the block's
 * [count, documents.rows] row-major float32 scores (valid only during the call).
 */
export async function denseScoreAll(queries: PooledMatrix, documents: PooledMatrix, emit: (first: number, count: number, scores: Float32Array) => Promise<void> | void): Promise<void> {
  const dim = queries.dim;
  if (documents.dim !== dim) throw new Error(`query vectors have dim ${dim}, document vectors ${documents.dim}`);
  const { ort, session } = await denseSession();
  const docs = new ort.Tensor("float32", documents.data.subarray(0, documents.rows * dim), [documents.rows, dim]);
  for (let first = 0; first < queries.rows; first += QUERY_BLOCK) {
    const count = Math.min(QUERY_BLOCK, queries.rows - first);
    const q = new ort.Tensor("float32", queries.data.subarray(first * dim, (first + count) * dim), [count, dim]);
    const out = await session.run({ q, docs });
    await emit(first, count, out.scores!.data as Float32Array);
    for (const t of Object.values(out)) (t as { dispose?: () => void }).dispose?.();
  }
}
