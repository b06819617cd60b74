// LanceDB's approximate indexes over an index's vectors: IVF_FLAT (crossrank's before) against
// IVF_HNSW_SQ (crossrank's now), each built from the same vectors into a temporary folder:
//
//   pnpm --filter @crossrank/index bench:ann --index DIR [--queries 100]
//
// DIR: an index with vectors (e.g. `bench:scale --documents 200000 --out DIR`). Queries: the first
// N DDTP dev (a) German short descriptions, encoded with the index's encoder and L2-normalised.
// Prints each index's build seconds and, per setting, the latency p50 / p95 of one client (after a
// warm-up query) and recall@100 against the exact scan of the same vectors.
// Data: ../shared/datasets/ddtp; when missing, says so and exits 0.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDdtpTask } from "@crossrank/datasets";
import { loadEncoder } from "@crossrank/encode";
import { collectionParts } from "@crossrank/rankers";
import * as lancedb from "@lancedb/lancedb";
import * as arrow from "apache-arrow";
import { DEFAULT_EF, defaultPartitions, HNSW_BUILD, openIndex } from "../dist/index.js";

const { values } = parseArgs({ options: { index: { type: "string" }, queries: { type: "string", default: "100" } } });
if (!values.index) {
  console.error("usage: bench:ann --index DIR [--queries 100]");
  process.exit(2);
}
let task;
try {
  task = await loadDdtpTask({ queryLang: "de", docLang: "en", queryField: "short", docField: "description", split: { part: "dev" } });
} catch (err) {
  console.log(`ann: skipped: DDTP data not found (${err.message})`);
  process.exit(0);
}
const K = 100;
const index = await openIndex(values.index);
const vectors = [...collectionParts(index.documents).vectors.values()][0];
if (vectors === undefined) throw new Error(`${values.index}: holds no vectors`);
const { rows, dim, data } = vectors;
const texts = [...task.queries].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, Number(values.queries)).map((q) => q.text);
const encoder = await loadEncoder(index.manifest.encoder.spec);
const queries = (await encoder.encode(texts)).data;
for (let i = 0; i < texts.length; i++) {
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += queries[i * dim + j] ** 2;
  for (let j = 0; j < dim; j++) queries[i * dim + j] /= Math.sqrt(norm);
}
// The exact top 100 of each query.
const exact = texts.map((_, i) => {
  const scores = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += queries[i * dim + j] * data[r * dim + j];
    scores[r] = dot;
  }
  return new Set(Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]).slice(0, K));
});

const folder = await mkdtemp(join(tmpdir(), "crossrank-bench-ann-"));
const vectorType = new arrow.FixedSizeList(dim, new arrow.Field("item", new arrow.Float32(), false));
const schema = new arrow.Schema([new arrow.Field("row", new arrow.Int32(), false), new arrow.Field("vector", vectorType, false)]);
const row = arrow.makeData({ type: new arrow.Int32(), length: rows, data: Int32Array.from({ length: rows }, (_, i) => i) });
const vector = arrow.makeData({ type: vectorType, length: rows, nullCount: 0, child: arrow.makeData({ type: new arrow.Float32(), length: rows * dim, data }) });
const table = () => new arrow.Table([new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows, nullCount: 0, children: [row, vector] }))]);
const db = await lancedb.connect(folder);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function measure(label, t, tune) {
  const search = (i) => tune(t.vectorSearch(Array.from(queries.subarray(i * dim, (i + 1) * dim))).distanceType("dot")).limit(K).select(["row"]).toArray();
  await search(0);
  const times = [];
  let found = 0;
  for (let i = 0; i < texts.length; i++) {
    const s = performance.now();
    const hits = await search(i);
    times.push(performance.now() - s);
    found += hits.filter((h) => exact[i].has(h.row)).length;
  }
  times.sort((a, b) => a - b);
  console.log(`${label} | ${pct(times, 50).toFixed(1)} / ${pct(times, 95).toFixed(1)} | ${(found / (K * texts.length)).toFixed(3)}`);
}

console.log(`Node ${process.version}; ${rows.toLocaleString("en")} vectors × ${dim}; ${texts.length} queries; recall@${K} against the exact scan`);
const partitions = Math.round(Math.sqrt(rows));
let started = performance.now();
const flat = await db.createTable("flat", table());
await flat.createIndex("vector", { config: lancedb.Index.ivfFlat({ numPartitions: partitions, distanceType: "dot" }) });
console.log(`IVF_FLAT (${partitions} partitions) built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
started = performance.now();
const hnsw = await db.createTable("hnsw", table());
const graphs = defaultPartitions(rows);
await hnsw.createIndex("vector", { config: lancedb.Index.hnswSq({ numPartitions: graphs, distanceType: "dot", ...HNSW_BUILD }) });
console.log(`IVF_HNSW_SQ (${graphs} partition${graphs > 1 ? "s" : ""}, m ${HNSW_BUILD.m}, ef_construction ${HNSW_BUILD.efConstruction}) built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log("index | p50 / p95 ms | recall@100");
for (const probes of [20, 40]) await measure(`IVF_FLAT, ${probes} probes`, flat, (q) => q.nprobes(probes));
for (const ef of [DEFAULT_EF, 2 * DEFAULT_EF]) await measure(`IVF_HNSW_SQ, ef ${ef}`, hnsw, (q) => q.nprobes(graphs).ef(ef));
db.close();
await index.close();
await encoder.dispose();
await rm(folder, { recursive: true, force: true });
