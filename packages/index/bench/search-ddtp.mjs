// Index build and search latency over the 61,486 English DDTP descriptions:
//
//   pnpm --filter @crossrank/index bench:search [--queries 50] [--lang de] [--out DIR]
//
// Builds an index (into a temporary folder unless --out), opens it, then searches the first N DDTP
// dev task (a) queries of --lang (by md5) one at a time with bm25, bm25-psq, bi-encoder and hybrid
// (after one untimed warm-up query each: dictionaries and the encoder load on first use),
// and prints build and open seconds, size on disk, latency p50 / p95 / p99 and R@1. Data:
// ../shared/datasets/ddtp (or $CROSSRANK_DATA); when missing, says so and exits 0.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDdtpTask } from "@crossrank/datasets";
import { buildIndex, openIndex } from "../dist/index.js";

const { values } = parseArgs({ options: { queries: { type: "string", default: "50" }, lang: { type: "string", default: "de" }, out: { type: "string" } } });
const count = Number(values.queries);
let task;
try {
  task = await loadDdtpTask({ queryLang: values.lang, docLang: "en", queryField: "short", docField: "description", split: { part: "dev" } });
} catch (err) {
  console.log(`search-ddtp: skipped: DDTP data not found (${err.message})`);
  process.exit(0);
}
const dir = values.out ?? join(await mkdtemp(join(tmpdir(), "crossrank-bench-index-")), "index");
let t0 = performance.now();
const stages = {};
const manifest = await buildIndex(dir, task.documents, { onProgress: (stage) => (stages[stage] ??= performance.now()) });
const built = (performance.now() - t0) / 1000;
t0 = performance.now();
const index = await openIndex(dir);
const opened = (performance.now() - t0) / 1000;
const bytes = Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0);
console.log(`${task.documents.length} documents: built in ${built.toFixed(1)} s, ${(bytes / 1e6).toFixed(1)} MB, opened in ${opened.toFixed(1)} s`);
const queries = [...task.queries].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, count);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
console.log(`ranker       p50 ms   p95 ms   p99 ms   R@1   (${queries.length} ${values.lang} queries, one at a time, after one warm-up query)`);
for (const ranker of ["bm25", "bm25-psq", "bi-encoder", "hybrid"]) {
  let hits = 0;
  const times = [];
  // The first call loads what a running service keeps loaded (dictionaries, the encoder).
  await index.search(queries[0].text, { k: 10, ranker, queryLang: values.lang });
  for (const q of queries) {
    const s = performance.now();
    const found = await index.search(q.text, { k: 10, ranker, queryLang: values.lang });
    times.push(performance.now() - s);
    if (found[0] && task.qrels.get(q.id)?.get(found[0].id)) hits++;
  }
  times.sort((a, b) => a - b);
  console.log(`${ranker.padEnd(11)} ${pct(times, 50).toFixed(1).padStart(7)} ${pct(times, 95).toFixed(1).padStart(8)} ${pct(times, 99).toFixed(1).padStart(8)}   ${(hits / queries.length).toFixed(3)}`);
}
if (values.out === undefined) await rm(dir, { recursive: true, force: true });
