/**
 * MaxSim on onnxruntime-node (CPU, MLAS): one small ONNX graph (built with `@crossrank/onnx`)
 * scores a block of query rows against a chunk of documents in one session run,
 *
 *     docs  float [B, L, d]  unit rows of B documents, each padded to L rows (see below)
 *     q     float [R, d]     unit rows of one or several queries, concatenated
 *     seg   float [R, Q]     seg[r, i] = 1 when row r belongs to query i, else 0
 *     → S = docs · qᵀ [B, L, R] → max over L [B, R] → · seg → scores [B, Q]
 *
 * so score[b, i] = Σ_{r ∈ query i} max_j docs[b, j]·q[r]: the JS `maxSim` of
 * ./maxsim-ranker.ts, in float32. Choices, each measured on synthetic XQuAD-sized tasks (240 documents of
 * 60–128 rows; 240 queries of 60–128 rows or 1,190 of 8–25 rows; d = 32 and 256; 2 cores):
 *
 * - Padding repeats the document's first row instead of adding a large negative bias to padded
 *   entries: a repeated row never changes a maximum, and it saves a full pass over S (the bias Add
 *   made the run 1.8–3.7× slower).
 * - docs · qᵀ (documents as the left operand, leading axes collapsed into one GEMM) then a max over
 *   the middle axis, rather than q · docsᵀ and a last-axis max: 10–13 % faster at d = 32 and for
 *   short queries at d = 256, 20 % slower for 128-row queries at d = 256, and up to 1.7× faster
 *   for one short query against 20 candidates at d = 768 (MLAS packs the right operand, here the
 *   small one). One graph serves both uses.
 * - The per-query sum as a MatMul with the 0/1 segment matrix, in the graph, was as fast as or
 *   faster than summing [B, R] in JavaScript.
 * - Block sizes: S is written to memory and read back by the max, so it is kept near the caches:
 *   documents are packed into chunks of ≤ {@link CHUNK_ROWS} padded rows (shortest first, so
 *   each chunk is padded little) and queries are batched up to {@link QUERY_ROWS} rows, S ≤ 4 MiB.
 *   Of chunks 2,048–65,536 rows × batches 32–4,096 rows, 4,096 × 256 was best or within noise
 *   of the best; S of 64 MiB and more was 2–20× slower.
 *
 * This module is imported on first use only, so that BM25-only users never load onnxruntime.
 */
import { encodeModel, GraphBuilder } from "@crossrank/onnx";
import { type CpuSession, lazyCpuSession } from "./ort-session.js";

/** Padded document rows per packed chunk (capped so that a chunk stays ≤ {@link MAX_CHUNK_BYTES}). */
export const CHUNK_ROWS = 4096;
/** Query rows per session run (a longer single query goes alone). */
export const QUERY_ROWS = 256;
/** Queries per session run at most (bounds the [Q, documents] score block of a batch). */
export const QUERY_BATCH = 64;
/** Bytes of one packed chunk at most (large dimensions get fewer rows per chunk). */
export const MAX_CHUNK_BYTES = 64 * 2 ** 20;

/** The ONNX model bytes of the MaxSim graph (all dimensions symbolic: one session serves every shape). */
export function buildMaxSimModel(): Uint8Array {
  const g = new GraphBuilder("maxsim");
  g.docString = "ColBERT MaxSim: scores[b, i] = sum over the rows r of query i of max_j docs[b, j] . q[r].";
  const docs = g.input("docs", "float32", ["B", "L", "d"]);
  const q = g.input("q", "float32", ["R", "d"]);
  const seg = g.input("seg", "float32", ["R", "Q"]);
  const sim = g.op("MatMul", [docs, g.op("Transpose", [q], { perm: [1, 0] })]); // [B, L, R]
  const best = g.op("ReduceMax", [sim, g.ints64([1])], { keepdims: 0 }); // [B, R]
  g.output(g.op("MatMul", [best, seg]), "float32", ["B", "Q"], "scores"); // [B, Q]
  return encodeModel(g, { opset: 18 });
}

/** The process-wide MaxSim session, created on first use (a failure is forgotten, so a later call retries); intra-op threads: every core (runs are sequential) or $CROSSRANK_MAXSIM_ONNX_THREADS. */
export const maxSimSession: () => Promise<CpuSession> = lazyCpuSession(buildMaxSimModel, "CROSSRANK_MAXSIM_ONNX_THREADS");

/** Rows of one text: [length, dim] row-major unit rows. */
export interface Rows {
  data: Float32Array;
  length: number;
}

/** B documents padded to L rows each: [B, L, dim] in `data`; `docs[b]` is the document index of item b. */
export interface PackedChunk {
  data: Float32Array;
  B: number;
  L: number;
  docs: Int32Array;
}

/** Padded rows per chunk for this dimension. */
export function chunkRows(dim: number): number {
  return Math.max(1, Math.min(CHUNK_ROWS, Math.floor(MAX_CHUNK_BYTES / 4 / dim)));
}

/**
 * Packs documents `docs` (indices into `rows`, each with ≥ 1 row) into chunks of ≤ `maxRows`
 * padded rows (a document longer than that gets a chunk of its own), shortest first; each
 * document's padding rows repeat its first row. With `scratch`, the chunks are views into one
 * reused buffer (valid until the next call with the same scratch); with `release`, each
 * document's entry in `rows` is cleared once copied, so the unpacked rows can be collected while
 * packing goes on.
 */
export function packChunks(
  docs: ArrayLike<number>,
  rows: (Rows | undefined)[],
  dim: number,
  options: { maxRows?: number; scratch?: { buffer: Float32Array }; release?: boolean } = {},
): PackedChunk[] {
  const maxRows = options.maxRows ?? chunkRows(dim);
  const len = (d: number): number => rows[d]!.length;
  const order = Array.from(docs);
  order.sort((a, b) => len(a) - len(b) || a - b);
  // Chunk boundaries first (sorted ascending, a chunk's padded length is its last document's).
  const bounds: number[] = [0];
  let total = 0;
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && (end - start + 1) * len(order[end]!) <= maxRows) end++;
    total += (end - start) * len(order[end - 1]!) * dim;
    bounds.push(end);
    start = end;
  }
  let buffer: Float32Array | undefined;
  if (options.scratch !== undefined) {
    if (options.scratch.buffer.length < total) options.scratch.buffer = new Float32Array(Math.max(total, 2 * options.scratch.buffer.length));
    buffer = options.scratch.buffer;
  }
  const chunks: PackedChunk[] = [];
  let offset = 0;
  for (let c = 0; c + 1 < bounds.length; c++) {
    const part = order.slice(bounds[c], bounds[c + 1]);
    const B = part.length;
    const L = len(part[B - 1]!);
    const size = B * L * dim;
    const data = buffer !== undefined ? buffer.subarray(offset, offset + size) : new Float32Array(size);
    offset += size;
    part.forEach((d, b) => {
      const r = rows[d]!;
      const base = b * L * dim;
      data.set(r.data.subarray(0, r.length * dim), base);
      for (let j = r.length; j < L; j++) data.copyWithin(base + j * dim, base, base + dim);
      if (options.release) rows[d] = undefined;
    });
    chunks.push({ data, B, L, docs: Int32Array.from(part) });
  }
  return chunks;
}

/** Query rows concatenated for one run, with their segment matrix. */
export interface QueryBlock {
  /** [R, dim] */
  data: Float32Array;
  R: number;
  /** [R, Q], 1 where row r belongs to query i. */
  seg: Float32Array;
  Q: number;
}

/** Concatenates the rows of `queries` (each with ≥ 1 row) into one block. */
export function queryBlock(queries: readonly Rows[], dim: number): QueryBlock {
  let R = 0;
  for (const q of queries) R += q.length;
  const Q = queries.length;
  const data = new Float32Array(R * dim);
  const seg = new Float32Array(R * Q);
  let r = 0;
  queries.forEach((q, i) => {
    data.set(q.data.subarray(0, q.length * dim), r * dim);
    for (let k = 0; k < q.length; k++) seg[(r + k) * Q + i] = 1;
    r += q.length;
  });
  return { data, R, seg, Q };
}

/**
 * Scores the queries of `block` against every document of `chunks`: `emit(i, doc, score)` for
 * query i of the block and each document of the chunks.
 */
export async function scoreBlock(block: QueryBlock, chunks: readonly PackedChunk[], dim: number, emit: (query: number, doc: number, score: number) => void): Promise<void> {
  const { ort, session } = await maxSimSession();
  const q = new ort.Tensor("float32", block.data, [block.R, dim]);
  const seg = new ort.Tensor("float32", block.seg, [block.R, block.Q]);
  for (const chunk of chunks) {
    const out = await session.run({ docs: new ort.Tensor("float32", chunk.data, [chunk.B, chunk.L, dim]), q, seg });
    const s = out.scores!.data as Float32Array;
    const Q = block.Q;
    for (let b = 0; b < chunk.B; b++) {
      const doc = chunk.docs[b]!;
      for (let i = 0; i < Q; i++) emit(i, doc, s[b * Q + i]!);
    }
    for (const t of Object.values(out)) (t as { dispose?: () => void }).dispose?.();
  }
}

/**
 * Groups consecutive queries into blocks of ≤ {@link QUERY_ROWS} rows and ≤ {@link QUERY_BATCH}
 * queries (a query longer than QUERY_ROWS alone): returns the end index of each group.
 */
export function queryGroups(lengths: readonly number[], maxRows = QUERY_ROWS, maxQueries = QUERY_BATCH): number[] {
  const ends: number[] = [];
  for (let start = 0; start < lengths.length; ) {
    let end = start + 1;
    let rows = lengths[start]!;
    while (end < lengths.length && end - start < maxQueries && rows + lengths[end]! <= maxRows) rows += lengths[end++]!;
    ends.push(end);
    start = end;
  }
  return ends;
}
