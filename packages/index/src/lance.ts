/**
 * The approximate dense stage on LanceDB (embedded, native, offline): the documents' vectors in a
 * Lance table `vectors` (row = document position) with an IVF_FLAT index on dot product, inside the
 * generation's `lancedb/` folder. Searched through `VectorSearcher`: the pooled rankers take its
 * candidates and score them exactly with the index's own vectors.
 */
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import type { PooledMatrix, VectorSearcher } from "@crossrank/rankers";

export const LANCE_FOLDER = "lancedb";
const TABLE = "vectors";
/** Probed partitions per query: LanceDB's default. */
export const DEFAULT_NPROBES = 20;

/** IVF partitions for n vectors: about √n (LanceDB's advice), at least 1. */
export function defaultPartitions(n: number): number {
  return Math.max(1, Math.min(4096, Math.round(Math.sqrt(n))));
}

/** Writes `matrix` as a Lance table with an IVF_FLAT index into `dir/lancedb`; returns the files written, relative to `dir`. */
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
  // IVF needs at least as many vectors as partitions; a tiny collection gets a flat table.
  if (rows >= 2 * partitions) await table.createIndex("vector", { config: lancedb.Index.ivfFlat({ numPartitions: partitions, distanceType: "dot" }) });
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

/** The Lance table in `dir/lancedb` as a `VectorSearcher` (queries run concurrently: LanceDB is multi-threaded). */
export async function openLanceVectors(dir: string, nprobes: number = DEFAULT_NPROBES): Promise<VectorSearcher & { close(): void }> {
  const lancedb = await import("@lancedb/lancedb");
  const db = await lancedb.connect(join(dir, LANCE_FOLDER));
  const table = await db.openTable(TABLE);
  const indexed = (await table.listIndices()).some((i) => i.columns.includes("vector"));
  return {
    name: `lancedb ${indexed ? `ivf-flat, ${nprobes} probes` : "flat"}`,
    async search(queries: PooledMatrix, k: number): Promise<Int32Array[]> {
      const { rows, dim, data } = queries;
      return Promise.all(
        Array.from({ length: rows }, async (_, q) => {
          const found = await table
            .vectorSearch(Array.from(data.subarray(q * dim, (q + 1) * dim)))
            .distanceType("dot")
            .nprobes(nprobes)
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
