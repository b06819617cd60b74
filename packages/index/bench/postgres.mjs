// The PostgreSQL + pgvector store side by side with the embedded index it is written from:
//
//   pnpm --filter @crossrank/index bench:postgres --index DIR --url postgres://… [--queries 100] [--reuse]
//
// Writes the index in DIR (built by `crossrank index`, or by `bench:scale --out DIR` for the
// DDTP descriptions with distractors) into PostgreSQL (schema crossrank_bench), then queries both
// with the first N DDTP dev (a) German short descriptions (de → en) and the same packages' English
// short descriptions (en → en), as bench:scale does: per ranker, latency p50 / p95 / p99 of one
// client (after a warm-up query) and R@1 on each store; for BM25 and BM25-PSQ whether PostgreSQL's
// top 10 and scores equal the embedded index's; HNSW's recall@10 against PostgreSQL's full scan.
// --reuse searches the tables a previous run wrote (same documents) instead of writing them again.
// Data: ../shared/datasets/ddtp; when missing, says so and exits 0.
import { parseArgs } from "node:util";
import { openIndex, openPostgresIndex, writePostgresIndex } from "../dist/index.js";
import { scaleQueries } from "./scale-queries.mjs";

const { values } = parseArgs({ options: { index: { type: "string" }, url: { type: "string" }, queries: { type: "string", default: "100" }, reuse: { type: "boolean", default: false } } });
if (!values.index || !values.url) {
  console.error("usage: bench:postgres --index DIR --url postgres://… [--queries 100] [--reuse]");
  process.exit(2);
}
const count = Number(values.queries);
const { querySets } = await scaleQueries("postgres", count);
const rankers = [
  ["bm25", { ranker: "bm25" }],
  ["bm25-psq", { ranker: "bm25-psq" }],
  ["bi-encoder, approximate", { ranker: "bi-encoder" }],
  ["bi-encoder, exact", { ranker: "bi-encoder", params: { exact: true } }],
  ["hybrid first stage", { ranker: "hybrid", params: { dense: "bi-encoder" } }],
  ["hybrid + LM-EMD re-ranking of the top 20", { ranker: "hybrid", params: { second: "lm-emd", depth: 20 } }],
];

const index = await openIndex(values.index);
if (values.reuse) {
  console.log(`Node ${process.version}; ${index.size.toLocaleString("en")} documents, searching the tables of a previous run`);
} else {
  const { seconds } = await writePostgresIndex(index, values.url, { schema: "crossrank_bench" });
  console.log(`Node ${process.version}; ${index.size.toLocaleString("en")} documents written to PostgreSQL in ${seconds.toFixed(1)} s (documents, BM25 and BM25-PSQ postings, vectors, HNSW m 16 / ef_construction 64)`);
}
const pgIndex = await openPostgresIndex(values.url, { schema: "crossrank_bench" });
if (pgIndex.size !== index.size) throw new Error(`--reuse: PostgreSQL holds ${pgIndex.size} documents, the index ${index.size}: run without --reuse`);
const stores = [
  ["embedded", index],
  ["PostgreSQL", pgIndex],
];
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function run(store, queries, options, qrels) {
  await store.search(queries[0].text, options);
  const times = [];
  const out = [];
  let hits = 0;
  for (const q of queries) {
    const s = performance.now();
    const found = await store.search(q.text, options);
    times.push(performance.now() - s);
    out.push(found);
    if (found[0] && qrels.get(q.id)?.get(found[0].id)) hits++;
  }
  times.sort((a, b) => a - b);
  return { out, cells: `${pct(times, 50).toFixed(1)} / ${pct(times, 95).toFixed(1)} / ${pct(times, 99).toFixed(1)}`, r1: (hits / queries.length).toFixed(3) };
}

/** How many queries have the same top 10 on both stores, and the largest score difference. */
function agreement(a, b) {
  let same = 0;
  let maxDiff = 0;
  a.forEach((hits, i) => {
    if (hits.map((h) => h.id).join() === b[i].map((h) => h.id).join()) same++;
    hits.forEach((h, r) => b[i][r] && (maxDiff = Math.max(maxDiff, Math.abs(h.score - b[i][r].score))));
  });
  return `${same}/${a.length}, ${maxDiff.toExponential(1)}`;
}

console.log("queries | ranker | embedded p50 / p95 / p99 ms | PostgreSQL p50 / p95 / p99 ms | R@1 embedded | R@1 PostgreSQL | same top 10, largest score difference");
for (const [label, queries, lang, qrels] of querySets) {
  for (const [name, spec] of rankers) {
    if (name === "bm25-psq" && lang === "en") continue;
    const options = { k: 10, queryLang: lang, ...spec };
    const results = [];
    for (const [, store] of stores) results.push(await run(store, queries, options, qrels));
    const same = name.startsWith("bm25") || name.endsWith("exact") ? agreement(results[1].out, results[0].out) : "";
    console.log(`${label} | ${name} | ${results[0].cells} | ${results[1].cells} | ${results[0].r1} | ${results[1].r1} | ${same}`);
  }
}
// HNSW against PostgreSQL's own full scan (both score with pgvector).
const queries = querySets[0][1];
let found = 0;
for (const q of queries) {
  const approx = await pgIndex.search(q.text, { ranker: "bi-encoder", k: 10 });
  const exact = new Set((await pgIndex.search(q.text, { ranker: "bi-encoder", k: 10, params: { exact: true } })).map((h) => h.id));
  found += approx.filter((h) => exact.has(h.id)).length;
}
console.log(`HNSW (ef_search 100) recall@10 against the full scan, de → en: ${(found / (10 * queries.length)).toFixed(3)}`);
await pgIndex.close();
await index.close();
