// Throughput and latency of `crossrank serve` under load (autocannon), over the 61,486 English
// DDTP descriptions:
//
//   pnpm --filter @crossrank/server bench:http [--connections 8] [--seconds 10] [--lang de] [--index DIR]
//
// Opens the index in --index (or builds one into a temporary folder), starts the service on a free
// port in this process, and for each ranker configuration sends POST /search requests cycling
// through the DDTP dev (a) queries of --lang from --connections concurrent clients for --seconds.
// Prints requests/s, latency p50 / p99 and the error and non-2xx counts. Data: ../shared/datasets/ddtp
// (or $CROSSRANK_DATA); when missing, says so and exits 0.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { loadDdtpTask } from "@crossrank/datasets";
import { buildIndex, openIndex } from "@crossrank/index";
import { createServer } from "../dist/index.js";

const { values } = parseArgs({ options: { connections: { type: "string", default: "8" }, seconds: { type: "string", default: "10" }, lang: { type: "string", default: "de" }, index: { type: "string" } } });
let task;
try {
  task = await loadDdtpTask({ queryLang: values.lang, docLang: "en", queryField: "short", docField: "description", split: { part: "dev" } });
} catch (err) {
  console.log(`http-load: skipped: DDTP data not found (${err.message})`);
  process.exit(0);
}
const temporary = values.index === undefined ? await mkdtemp(join(tmpdir(), "crossrank-bench-http-")) : undefined;
const dir = values.index ?? join(temporary, "index");
if (temporary !== undefined) await buildIndex(dir, task.documents);
const index = await openIndex(dir);
const app = createServer(index, { timeoutMs: 30_000 });
const address = await app.listen({ port: 0, host: "127.0.0.1" });
const queries = [...task.queries].sort((a, b) => (a.id < b.id ? -1 : 1)).map((q) => q.text);
const configs = [
  ["bm25", { ranker: "bm25" }],
  ["bm25-psq", { ranker: "bm25-psq", queryLang: values.lang }],
  ["bi-encoder", { ranker: "bi-encoder" }],
  ["hybrid first stage (BM25-PSQ + bi-encoder)", { ranker: "hybrid", queryLang: values.lang, params: { dense: "bi-encoder" } }],
  ["hybrid (+ MaxSim re-ranking of the top 100)", { ranker: "hybrid", queryLang: values.lang }],
];
console.log(`${index.size} documents, ${values.connections} connections, ${values.seconds} s each; Node ${process.version}`);
console.log("configuration | requests/s | p50 ms | p99 ms | errors | non-2xx");
for (const [label, body] of configs) {
  // One warm-up request: dictionaries and the encoder load on first use.
  await fetch(`${address}/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, query: queries[0] }) });
  let next = 0;
  const result = await autocannon({
    url: `${address}/search`,
    connections: Number(values.connections),
    duration: Number(values.seconds),
    requests: [{ method: "POST", headers: { "content-type": "application/json" }, setupRequest: (req) => ({ ...req, body: JSON.stringify({ ...body, query: queries[next++ % queries.length], k: 10 }) }) }],
  });
  console.log(`${label} | ${result.requests.average.toFixed(1)} | ${result.latency.p50} | ${result.latency.p99} | ${result.errors} | ${result.non2xx}`);
}
await app.close();
if (temporary !== undefined) await rm(temporary, { recursive: true, force: true });
