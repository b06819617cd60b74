// The PostgreSQL + pgvector store against the embedded index it was written from:
//
//   pnpm --filter @crossrank/index bench:postgres --index DIR --url postgres://… [--queries 100] [--lang de]
//
// Writes the index in DIR (built by `crossrank index`) into PostgreSQL (schema crossrank_bench),
// then for the first N DDTP dev (a) queries of --lang (English: the English short descriptions)
// checks that BM25's top 10 and scores equal the embedded index's, and measures the latency of
// BM25, the bi-encoder through HNSW and by a full scan, and HNSW's recall@10 against the scan.
// Data: ../shared/datasets/ddtp; when missing, says so and exits 0.
import { parseArgs } from "node:util";
import { loadDdtpTask } from "@crossrank/datasets";
import { openIndex, openPostgresIndex, writePostgresIndex } from "../dist/index.js";

const { values } = parseArgs({ options: { index: { type: "string" }, url: { type: "string" }, queries: { type: "string", default: "100" }, lang: { type: "string", default: "en" } } });
if (!values.index || !values.url) {
  console.error("usage: bench:postgres --index DIR --url postgres://… [--queries 100] [--lang en]");
  process.exit(2);
}
let task;
try {
  task = await loadDdtpTask({ queryLang: values.lang, docLang: "en", queryField: "short", docField: "description", split: { part: "dev" } });
} catch (err) {
  console.log(`postgres: skipped: DDTP data not found (${err.message})`);
  process.exit(0);
}
const index = await openIndex(values.index);
const { seconds } = await writePostgresIndex(index, values.url, { schema: "crossrank_bench" });
console.log(`${index.size} documents written to PostgreSQL in ${seconds.toFixed(1)} s (documents, BM25 postings, vectors, HNSW m 16 / ef_construction 64)`);
const pgIndex = await openPostgresIndex(values.url, { schema: "crossrank_bench" });
const queries = [...task.queries].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, Number(values.queries)).map((q) => q.text);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
async function timed(f) {
  await f(queries[0]);
  const times = [];
  const out = [];
  for (const q of queries) {
    const s = performance.now();
    out.push(await f(q));
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return { out, text: `p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms` };
}
const embedded = await timed((q) => index.search(q, { ranker: "bm25", k: 10, queryLang: values.lang }));
const sql = await timed((q) => pgIndex.search(q, { ranker: "bm25", k: 10, queryLang: values.lang }));
let sameTop = 0;
let maxDiff = 0;
sql.out.forEach((hits, i) => {
  const want = embedded.out[i];
  if (hits.map((h) => h.id).join() === want.map((h) => h.id).join()) sameTop++;
  hits.forEach((h, r) => want[r] && (maxDiff = Math.max(maxDiff, Math.abs(h.score - want[r].score))));
});
console.log(`bm25 embedded: ${embedded.text}; PostgreSQL: ${sql.text}; same top 10 in ${sameTop}/${queries.length} queries, largest score difference ${maxDiff.toExponential(1)}`);
const hnsw = await timed((q) => pgIndex.search(q, { ranker: "bi-encoder", k: 10 }));
const scan = await timed((q) => pgIndex.search(q, { ranker: "bi-encoder", k: 10, exact: true }));
let found = 0;
hnsw.out.forEach((hits, i) => {
  const exact = new Set(scan.out[i].map((h) => h.id));
  found += hits.filter((h) => exact.has(h.id)).length;
});
console.log(`bi-encoder HNSW (ef_search 40): ${hnsw.text}; full scan: ${scan.text}; HNSW recall@10 against the scan ${(found / (10 * queries.length)).toFixed(3)}`);
await pgIndex.close();
