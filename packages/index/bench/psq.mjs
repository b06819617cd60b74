// BM25-PSQ latency over an index built before (e.g. bench:scale --out DIR for a million documents):
//
//   pnpm --filter @crossrank/index bench:psq --index DIR [--queries 100]
//
// Opens the index, runs one untimed German query (the dictionaries load on first use), then the
// first N DDTP dev German short descriptions (scale-queries.mjs) one at a time with bm25-psq, and
// prints latency p50 / p95 / p99 / max and R@1 against their English descriptions. Data:
// ../shared/datasets/ddtp (or $CROSSRANK_DATA); when missing, says so and exits 0.
import { parseArgs } from "node:util";
import { openIndex } from "../dist/index.js";
import { scaleQueries } from "./scale-queries.mjs";

const { values } = parseArgs({ options: { index: { type: "string" }, queries: { type: "string", default: "100" } } });
if (values.index === undefined) {
  console.error("usage: bench:psq --index DIR [--queries N]");
  process.exit(2);
}
const { querySets } = await scaleQueries("psq", Number(values.queries));
const [, queries, queryLang, qrels] = querySets[0];
let t0 = performance.now();
const index = await openIndex(values.index);
console.log(`psq: ${values.index}: ${index.size.toLocaleString("en")} documents, opened in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
t0 = performance.now();
await index.search("Werkzeug", { ranker: "bm25-psq", queryLang, k: 10 });
console.log(`psq: dictionaries loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const times = [];
let hits1 = 0;
for (const q of queries) {
  const started = performance.now();
  const hits = await index.search(q.text, { ranker: "bm25-psq", queryLang, k: 10 });
  times.push(performance.now() - started);
  if (hits.length > 0 && (qrels.get(q.id)?.get(hits[0].id) ?? 0) > 0) hits1++;
}
times.sort((a, b) => a - b);
const at = (p) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)].toFixed(1);
console.log(`psq: ${queries.length} de → en queries, k 10: p50 ${at(0.5)} / p95 ${at(0.95)} / p99 ${at(0.99)} / max ${times.at(-1).toFixed(1)} ms, R@1 ${(hits1 / queries.length).toFixed(3)}`);
await index.close();
