// A million documents: index build, size, peak memory, query latency and R@1 at 61k against 1M.
//
//   pnpm --filter @crossrank/index bench:scale [--documents 1000000] [--queries 200] [--out DIR] [--skip-small]
//
// Collection: the 61,486 English DDTP descriptions plus distractors made deterministically from
// them (seed 1): each distractor is 2 to 6 sentences drawn from different descriptions, so it reads
// like a package description and shares its vocabulary (hard negatives for BM25 and the
// bi-encoder alike). Queries: the first N DDTP dev split (task a) German short descriptions
// (cross-lingual) and the English short descriptions of the same packages (monolingual), each
// relevant to its own English description. Prints the build (seconds, MB on disk, peak RSS), the
// open, and per ranker the latency p50 / p95 / p99 of one client (after a warm-up query) and R@1,
// first over the 61,486 descriptions alone, then over the whole collection. --out keeps the big
// index (for `bench:http --index DIR`). Data: ../shared/datasets/ddtp; when missing, exits 0.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { splitSentences } from "@crossrank/datasets";
import { mulberry32 } from "@crossrank/ot";
import { buildIndex, openIndex } from "../dist/index.js";
import { scaleQueries } from "./scale-queries.mjs";

const { values } = parseArgs({ options: { documents: { type: "string", default: "1000000" }, queries: { type: "string", default: "200" }, out: { type: "string" }, "skip-small": { type: "boolean", default: false } } });
const total = Number(values.documents);
const count = Number(values.queries);
const { base, querySets } = await scaleQueries("scale", count);

// The distractors are made as the build takes them (a generator), so that, as with
// `crossrank index --docs`, the collection's texts are never all in memory at once.
const pool = [];
for (const d of base) for (const s of splitSentences(d.text, "en")) if (s.end - s.start >= 20) pool.push(d.text.slice(s.start, s.end));
function* distractors(n) {
  const rng = mulberry32(1);
  for (let i = 0; i < n; i++) {
    const k = 2 + Math.floor(rng() * 5);
    const parts = [];
    for (let j = 0; j < k; j++) parts.push(pool[Math.floor(rng() * pool.length)]);
    yield { id: `x${i}`, text: parts.join(" "), lang: "en" };
  }
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const rankers = [
  ["bm25", {}],
  ["bm25-psq", {}],
  ["bi-encoder (approximate)", { ranker: "bi-encoder" }],
  ["bi-encoder (exact)", { ranker: "bi-encoder", params: { exact: true } }],
  ["hybrid first stage", { ranker: "hybrid", params: { dense: "bi-encoder" } }],
  ["hybrid + LM-EMD re-ranking of the top 20", { ranker: "hybrid", params: { second: "lm-emd", depth: 20 } }],
];

async function measure(label, documents, size, dir) {
  console.log(`\n== ${label}: ${size.toLocaleString("en")} documents`);
  const t0 = performance.now();
  const manifest = await buildIndex(dir, documents);
  const built = (performance.now() - t0) / 1000;
  const bytes = Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0);
  console.log(`build ${built.toFixed(1)} s, ${(bytes / 1e6).toFixed(0)} MB on disk (${manifest.parts.map((p) => p.kind === "ann" ? "lancedb" : p.ranker).join(", ")}), peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  const t1 = performance.now();
  const index = await openIndex(dir);
  console.log(`open ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  console.log("queries | ranker | p50 ms | p95 ms | p99 ms | R@1");
  const rows = {};
  for (const [qlabel, queries, lang, qrels] of querySets) {
    for (const [name, spec] of rankers) {
      const options = { k: 10, ranker: spec.ranker ?? name, queryLang: lang, ...(spec.params ? { params: spec.params } : {}) };
      if (name === "bm25-psq" && lang === "en") continue;
      await index.search(queries[0].text, options);
      const times = [];
      let hits = 0;
      for (const q of queries) {
        const s = performance.now();
        const found = await index.search(q.text, options);
        times.push(performance.now() - s);
        if (found[0] && qrels.get(q.id)?.get(found[0].id)) hits++;
      }
      times.sort((a, b) => a - b);
      rows[`${qlabel} ${name}`] = hits / queries.length;
      console.log(`${qlabel} | ${name} | ${pct(times, 50).toFixed(1)} | ${pct(times, 95).toFixed(1)} | ${pct(times, 99).toFixed(1)} | ${(hits / queries.length).toFixed(3)}`);
    }
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  return rows;
}

const temporary = await mkdtemp(join(tmpdir(), "crossrank-bench-scale-"));
console.log(`Node ${process.version}; ${count} queries per set; distractors seed 1`);
if (!values["skip-small"]) await measure("DDTP English descriptions", base, base.length, join(temporary, "small"));
console.log(`\n${(total - base.length).toLocaleString("en")} distractors from ${pool.length.toLocaleString("en")} DDTP sentences`);
function* collection() {
  yield* base;
  yield* distractors(total - base.length);
}
await measure("with distractors", collection(), total, values.out ?? join(temporary, "large"));
await rm(temporary, { recursive: true, force: true });
