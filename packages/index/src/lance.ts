/**
 * The approximate dense stage on LanceDB (embedded, native, offline): the documents' vectors in a
 * Lance table `vectors` (row = document position) with an IVF_HNSW_SQ index on dot product (an
 * HNSW graph over 8-bit scalar-quantized vectors per IVF partition), inside the generation's
 * `lancedb/` folder. Searched through `VectorSearcher`: the pooled rankers take its candidates and
 * score them exactly with the index's own vectors, so the quantization costs recall, never score
 * accuracy.
 *
 * Why HNSW rather than IVF_FLAT: over 200k DDTP-like descriptions (100 German DDTP dev queries,
 * top 100 against the exact scan, one client), IVF_FLAT with √n partitions answered in p50 5.9 /
 * p95 9.1 ms at recall@100 0.711 (20 probes; 0.793 at 40 probes, 7.5 / 10.6 ms), IVF_HNSW_SQ in
 * 4.4 / 6.9 ms at 0.907 (ef 100) and 5.9 / 8.6 ms at 0.949 (ef 200). It takes longer to build
 * (93 s for the 200k, against seconds).
 */
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import type { PooledMatrix, VectorSearcher } from "@crossrank/rankers";

export const LANCE_FOLDER = "lancedb";
const TABLE = "vectors";
/** What the manifest records as the index's kind. */
export const LANCE_INDEX = "ivf-hnsw-sq";
/** Vectors per IVF partition (one HNSW graph each); every partition is probed. */
const VECTORS_PER_PARTITION = 500_000;
/** Candidates kept while searching a graph (HNSW's ef), at least k. */
export const DEFAULT_EF = 100;
/**
 * The graph's neighbours per vector and build-time candidates: lower than LanceDB's defaults
 * (20, 300), which took 16 minutes over a million vectors on two cores, so that a million-document
 * index builds in under 15 minutes; recall at ef 100 is what the README's table reports.
 */
export const HNSW_BUILD = { m: 16, efConstruction: 100 } as const;

/** IVF partitions for n vectors: one HNSW graph per {@link VECTORS_PER_PARTITION} vectors, at least 1. */
export function defaultPartitions(n: number): number {
  return Math.max(1, Math.ceil(n / VECTORS_PER_PARTITION));
}

/** Writes `matrix` as a Lance table with an IVF_HNSW_SQ index into `dir/lancedb`; returns the files written, relative to `dir`. */
export async function writeLanceVectors(dir: string, matrix: PooledMatrix, partitions: number = defaultPartitions(matrix.rows)): Promise<string[]> {
  const [lancedb, arrow] = await Promise.all([import("@lancedb/lancedb"), import("apache-arrow")]);
  const { rows, dim, data } = matrix;
  const vectorType = new arrow.FixedSizeList(dim, new arrow.Field("item", new arrow.Float32(), false));
  const schema = new arrow.Schema([new arrow.Field("row", new arrow.Int32(), false), new arrow.Field("vector", vectorType, false)]);
  const row = arrow.makeData({ type: new arrow.Int32(), length: rows, data: Int32Array.from({ length: rows }, (_, i) => i) });
  const vector = arrow.makeData({ type: vectorType, length: rows, nullCount: 0, child: arrow.makeData({ type: new arrow.Float32(), length: rows * dim, data }) });
  const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows, nullCount: 0, children: [row, vector] }));
  const folder = join(dir, LANCE_FOLDER);
  const db = await lancedb.connect(folder);
  const table = await db.createTable(TABLE, new arrow.Table([batch]), { mode: "overwrite" });
  // The quantizer and IVF need some vectors to train on; a tiny collection gets a flat table.
  if (rows >= 256) await table.createIndex("vector", { config: lancedb.Index.hnswSq({ numPartitions: partitions, distanceType: "dot", ...HNSW_BUILD }) });
  table.close();
  db.close();
  return (await filesUnder(folder)).map((f) => relative(dir, f));
}

async function filesUnder(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out.sort();
}

/** Partitions probed in an index of the previous kind, "ivf-flat" (LanceDB's default). */
const IVF_FLAT_NPROBES = 20;

/**
 * The Lance table in `dir/lancedb` as a `VectorSearcher` (queries run concurrently: LanceDB is
 * multi-threaded). `kind` is the manifest's record: indexes built before IVF_HNSW_SQ hold an
 * IVF_FLAT index (√n partitions), searched with 20 probes.
 */
export async function openLanceVectors(dir: string, kind: string = LANCE_INDEX, ef: number = DEFAULT_EF): Promise<VectorSearcher & { close(): void }> {
  if (kind !== LANCE_INDEX && kind !== "ivf-flat") throw new Error(`an approximate index of kind ${JSON.stringify(kind)}, which this crossrank does not read`);
  const lancedb = await import("@lancedb/lancedb");
  const db = await lancedb.connect(join(dir, LANCE_FOLDER));
  const table = await db.openTable(TABLE);
  const index = (await table.listIndices()).find((i) => i.columns.includes("vector"));
  const hnsw = index !== undefined && kind === LANCE_INDEX;
  const partitions = hnsw ? defaultPartitions(await table.countRows()) : IVF_FLAT_NPROBES;
  return {
    name: `lancedb ${index === undefined ? "flat" : hnsw ? `${LANCE_INDEX}, ${partitions} partitions, ef ${ef}` : `ivf-flat, ${IVF_FLAT_NPROBES} probes`}`,
    async search(queries: PooledMatrix, k: number): Promise<Int32Array[]> {
      const { rows, dim, data } = queries;
      return Promise.all(
        Array.from({ length: rows }, async (_, q) => {
          const search = table.vectorSearch(Array.from(data.subarray(q * dim, (q + 1) * dim))).distanceType("dot").nprobes(partitions);
          const found = await (hnsw ? search.ef(Math.max(ef, k)) : search)
            .limit(k)
            .select(["row", "_distance"])
            .toArray();
          return Int32Array.from(found, (r: { row: number }) => r.row);
        }),
      );
    },
    close: () => {
      table.close();
      db.close();
    },
  };
}
