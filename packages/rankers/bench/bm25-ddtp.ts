/**
 * BM25 speed and quality on DDTP (Debian package descriptions): index the 61,486 distinct English
 * descriptions (short + long), then rank them for
 *  - de→en: the German short descriptions (first line of `Description-de`) as queries, and
 *  - en→en: the English short descriptions of the same packages as queries,
 * each query's one relevant document being the English description with its md5 (known-item
 * search). Reports index time, queries per second (analysis + scoring + top 100, one thread) and
 * R@1 / R@10 (the share of queries whose description is ranked first / in the top 10).
 *
 *   pnpm --filter @crossrank/rankers bench                 # this package's BM25
 *   pnpm --filter @crossrank/rankers bench --compare       # plus MiniSearch and wink-bm25-text-search
 *
 * Prints a table and writes `<repo>/results/bm25-ddtp.json` (with --compare, also
 * `bm25-ddtp-compare.json`, so a plain run does not overwrite the comparison). Data: `$CROSSRANK_DATA/ddtp` or
 * `<repo>/../shared/datasets/ddtp` (see `resolveDatasetPath`); when missing, says so and exits 0.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { findRepoRoot, loadDdtpTask, resolveDatasetPath, type RetrievalTask } from "@crossrank/datasets";
import { Bm25Index, createAnalyzer, DEFAULT_B, DEFAULT_K1 } from "../src/index.js";
import { BASELINES, type SearcherFor } from "./baselines.js";

const K = 100;
const WARMUP_QUERIES = 200;
/** Queries per task for --compare: the other engines take 0.1–0.25 s per English query. */
const COMPARE_QUERIES = 500;

interface TaskResult {
  queries: number;
  queriesPerSecond: number;
  "R@1": number;
  "R@10": number;
}

interface EngineResult {
  engine: string;
  indexSeconds: number;
  tasks: Record<string, TaskResult>;
}

const args = process.argv.slice(2).filter((a) => a !== "--"); // pnpm passes a "--" separator through
for (const a of args) {
  if (a !== "--compare") {
    console.error(`bm25-ddtp: unknown argument ${JSON.stringify(a)}; accepted: --compare`);
    process.exit(2);
  }
}
const compare = args.includes("--compare");

let dir: string;
try {
  dir = dirname(await resolveDatasetPath("ddtp", "Translation-de.gz", { download: false }));
} catch (err) {
  console.log("bm25-ddtp: skipped: DDTP data not found (set CROSSRANK_DATA, or see ../shared/datasets/ddtp).");
  console.log((err as Error).message);
  process.exit(0);
}

const loadStart = performance.now();
const de = await loadDdtpTask({ dir, queryLang: "de", queryField: "short", docField: "description" });
const deIds = new Set(de.queries.map((q) => q.id));
const en = await loadDdtpTask({
  dir,
  queryLang: "en",
  queryField: "short",
  docField: "description",
  md5Filter: (md5) => deIds.has(md5),
});
const loadSeconds = (performance.now() - loadStart) / 1000;
const documents = de.documents;
const tasks: [string, RetrievalTask][] = [
  ["de-en", de],
  ["en-en", en],
];

// --- this package's BM25 -------------------------------------------------------------------------

const docAnalyzer = createAnalyzer({ lang: "en" });
const builds: number[] = [];
let index: Bm25Index | undefined;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  index = Bm25Index.build(documents, { analyzer: docAnalyzer });
  builds.push((performance.now() - t0) / 1000);
}
const bm25 = index!;
const OURS = "crossrank Bm25Index";
const ours: SearcherFor = (lang) => {
  const analyzer = createAnalyzer({ lang });
  return (text, k) => bm25.searchTerms(analyzer.analyze(text), k).map((h) => h.id);
};

const results: Record<string, TaskResult> = {};
for (const [name, task] of tasks) results[name] = runQueries(ours, task, task.queries.length);

function runQueries(searcherFor: SearcherFor, task: RetrievalTask, limit: number): TaskResult {
  const search = searcherFor(task.queryLang ?? "en");
  const queries = sample(task.queries, limit);
  for (const q of queries.slice(0, Math.min(WARMUP_QUERIES, Math.ceil(queries.length / 10)))) search(q.text, K);
  let top1 = 0;
  let top10 = 0;
  const t0 = performance.now();
  for (const q of queries) {
    const ids = search(q.text, K);
    if (ids[0] === q.id) top1++;
    if (ids.slice(0, 10).includes(q.id)) top10++;
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    queries: queries.length,
    queriesPerSecond: Math.round(queries.length / seconds),
    "R@1": round(top1 / queries.length),
    "R@10": round(top10 / queries.length),
  };
}

/** Every ⌈n/limit⌉-th item, so a subset spreads over the whole file. */
function sample<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  const step = items.length / limit;
  return Array.from({ length: limit }, (_, i) => items[Math.floor(i * step)]!);
}

function round(x: number, digits = 4): number {
  return Number(x.toFixed(digits));
}

// --- baselines (--compare) -----------------------------------------------------------------------

const comparison: EngineResult[] = [];
if (compare) {
  const oursOnSubset: Record<string, TaskResult> = {};
  for (const [name, task] of tasks) oursOnSubset[name] = runQueries(ours, task, COMPARE_QUERIES);
  comparison.push({ engine: OURS, indexSeconds: round(builds[0]!, 2), tasks: oursOnSubset });
  for (const engine of BASELINES) {
    process.stderr.write(`bm25-ddtp: indexing with ${engine.name}…\n`);
    const t0 = performance.now();
    const searcherFor = await engine.build(documents, docAnalyzer);
    const indexSeconds = round((performance.now() - t0) / 1000, 2);
    const engineTasks: Record<string, TaskResult> = {};
    for (const [name, task] of tasks) engineTasks[name] = runQueries(searcherFor, task, COMPARE_QUERIES);
    comparison.push({ engine: engine.name, indexSeconds, tasks: engineTasks });
  }
}

// --- report --------------------------------------------------------------------------------------

const repo = (await findRepoRoot()) ?? process.cwd();
const out = join(repo, "results", "bm25-ddtp.json");
const compareOut = join(repo, "results", "bm25-ddtp-compare.json");
const main = results["de-en"]!;
const report = {
  benchmark: "bm25-ddtp",
  command: `pnpm --filter @crossrank/rankers bench${compare ? " --compare" : ""}`,
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cpuCount: cpus().length,
  data: dir,
  documents: bm25.size,
  vocabulary: bm25.vocabularySize,
  postings: bm25.postingsCount,
  averageDocumentLength: round(bm25.averageDocumentLength, 2),
  parameters: { k1: DEFAULT_K1, b: DEFAULT_B, k: K },
  loadSeconds: round(loadSeconds, 2),
  indexSeconds: round(builds[0]!, 2),
  indexSecondsWarm: round(Math.min(...builds.slice(1)), 2),
  queriesPerSecond: main.queriesPerSecond,
  "R@1": main["R@1"],
  "R@10": main["R@10"],
  tasks: results,
};
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
if (compare) {
  const { benchmark, command, date, node, cpu, cpuCount, documents: docs, parameters } = report;
  const comparisonReport = { benchmark, command, date, node, cpu, cpuCount, documents: docs, parameters, queriesPerTask: COMPARE_QUERIES, engines: comparison };
  await writeFile(compareOut, `${JSON.stringify(comparisonReport, null, 2)}\n`);
}

const n = (x: number) => x.toLocaleString("en-US");
console.log(
  `BM25 (k1=${DEFAULT_K1}, b=${DEFAULT_B}, top ${K}) on DDTP: ${n(bm25.size)} English descriptions, ` +
    `${n(bm25.vocabularySize)} terms, ${n(bm25.postingsCount)} postings; Node ${process.version}, ${report.cpu}`,
);
console.log(`index: ${report.indexSeconds.toFixed(2)} s (first build), ${report.indexSecondsWarm.toFixed(2)} s (warm)\n`);
printTable(
  ["task", "queries", "queries/s", "R@1", "R@10"],
  tasks.map(([name]) => {
    const r = results[name]!;
    return [name.replace("-", "→"), n(r.queries), n(r.queriesPerSecond), r["R@1"].toFixed(4), r["R@10"].toFixed(4)];
  }),
);
if (compare) {
  console.log(`\ncomparison on ${n(COMPARE_QUERIES)} queries per task (same analyzer for every engine):`);
  printTable(
    ["engine", "index s", "de→en q/s", "R@1", "R@10", "en→en q/s", "R@1", "R@10"],
    comparison.map((e) => {
      const d = e.tasks["de-en"]!;
      const x = e.tasks["en-en"]!;
      return [
        e.engine,
        e.indexSeconds.toFixed(2),
        n(d.queriesPerSecond),
        d["R@1"].toFixed(4),
        d["R@10"].toFixed(4),
        n(x.queriesPerSecond),
        x["R@1"].toFixed(4),
        x["R@10"].toFixed(4),
      ];
    }),
  );
}
console.log(`\nwrote ${out}${compare ? ` and ${compareOut}` : ""}`);

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}
