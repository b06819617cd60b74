/**
 * LM-EMD re-ranking speed on DDTP task (a): a translated short description → its English
 * description among all 61,486 English descriptions (dev split of the static trainer's md5 split).
 * The ranker is
 *
 *   createRanker("rerank", { encoder: MODEL, first: "bi-encoder", depth: 100, second: "lm-emd", marginals: "idf", firstWeight: 0, lengthGate: 0 })
 *
 * run over the first N queries (by id) twice in one process: "cold" (after `clearNeuralMemo()`: no
 * encoder, token rows, pooled vectors or idf tables in memory) and "warm" (a second, new ranker
 * instance right after, as a benchmark suite runs several rankers over one task). Reports for each
 * the first-stage seconds (bi-encoder over the whole collection), the total, the re-ranking stage
 * alone (total − first stage) in queries/s, and R@1. lengthGate 0 re-ranks every query: under the
 * default gate a short description against long ones keeps the bi-encoder's order at no cost.
 *
 *   pnpm --filter @crossrank/rankers bench:lm-emd [MODEL] [--lang de] [--queries 200] [--save-run FILE]
 *
 * MODEL: an encoder spec (default `crossrank-static`; e.g. an absolute model2vec folder).
 * `--save-run FILE` writes the warm run (query → [[doc, score], …]) as JSON, to compare runs of two
 * versions. Writes `<repo>/results/lm-emd-rerank.json`. Data: `$CROSSRANK_DATA/ddtp` or
 * `<repo>/../shared/datasets/ddtp`; when missing, says so and exits 0.
 *
 * The first stage's end is taken from the rerank's own progress: it reports the first stage into
 * [0, 500] of 1000 and the second into [500, 1000], so the first callback at ≥ 500 marks it.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { findRepoRoot, loadDdtpTask, resolveDatasetPath } from "@crossrank/datasets";
import type { Run } from "@crossrank/metrics";
import { clearNeuralMemo, createRanker, type RankingInput } from "../src/index.js";

const args = process.argv.slice(2).filter((a) => a !== "--");
let model = "crossrank-static";
let lang = "de";
let count = 200;
let saveRun: string | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  const value = (): string => {
    const v = args[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v!;
  };
  if (a === "--lang") lang = value();
  else if (a === "--queries") count = Number(value());
  else if (a === "--save-run") saveRun = value();
  else if (a.startsWith("--")) usage(`unknown option ${a}`);
  else model = a;
}
if (!Number.isInteger(count) || count < 1) usage(`--queries must be a positive integer`);

function usage(message: string): never {
  console.error(`lm-emd-rerank: ${message}\nusage: lm-emd-rerank [MODEL] [--lang de] [--queries 200] [--save-run FILE]`);
  process.exit(2);
}

let dir: string;
try {
  dir = dirname(await resolveDatasetPath("ddtp", `Translation-${lang}.gz`, { download: false }));
} catch (err) {
  console.log("lm-emd-rerank: skipped: DDTP data not found (set CROSSRANK_DATA, or see ../shared/datasets/ddtp).");
  console.log((err as Error).message);
  process.exit(0);
}

const loadStart = performance.now();
const task = await loadDdtpTask({ dir, queryLang: lang, docLang: "en", queryField: "short", docField: "description", split: { part: "dev" } });
const loadSeconds = (performance.now() - loadStart) / 1000;
const queries = [...task.queries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, count);
const input: RankingInput = { queries, documents: task.documents, queryLang: task.queryLang, docLang: task.docLang };
const params = { encoder: model, first: "bi-encoder", depth: 100, second: "lm-emd", marginals: "idf", firstWeight: 0, lengthGate: 0 } as const;

interface Measured {
  firstStageSeconds: number;
  totalSeconds: number;
  rerankSeconds: number;
  rerankQueriesPerSecond: number;
  "R@1": number;
}

async function measure(): Promise<{ m: Measured; run: Run }> {
  const ranker = createRanker("rerank", { ...params });
  let firstEnd: number | undefined;
  const t0 = performance.now();
  const run = await ranker.rank(input, {
    k: 100,
    onProgress: (done) => {
      if (firstEnd === undefined && done >= 500) firstEnd = performance.now();
    },
  });
  const t1 = performance.now();
  const first = ((firstEnd ?? t1) - t0) / 1000;
  const total = (t1 - t0) / 1000;
  let hits = 0;
  for (const q of queries) {
    const top = run.get(q.id);
    const best = top === undefined ? undefined : top.keys().next().value;
    if (best !== undefined && (task.qrels.get(q.id)?.get(best) ?? 0) > 0) hits++;
  }
  const rerank = total - first;
  return {
    m: { firstStageSeconds: round(first, 3), totalSeconds: round(total, 3), rerankSeconds: round(rerank, 3), rerankQueriesPerSecond: round(queries.length / rerank, 2), "R@1": round(hits / queries.length) },
    run,
  };
}

function round(x: number, digits = 4): number {
  return Number(x.toFixed(digits));
}

await clearNeuralMemo();
const cold = await measure();
const warm = await measure();
await clearNeuralMemo();

if (saveRun !== undefined) {
  const plain = Object.fromEntries([...warm.run].map(([q, hits]) => [q, [...hits]]));
  await writeFile(saveRun, `${JSON.stringify(plain)}\n`);
}

const repo = (await findRepoRoot()) ?? process.cwd();
const out = join(repo, "results", "lm-emd-rerank.json");
const report = {
  benchmark: "lm-emd-rerank",
  command: `pnpm --filter @crossrank/rankers bench:lm-emd ${model} --lang ${lang} --queries ${count}`,
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cpuCount: cpus().length,
  task: task.name,
  documents: task.documents.length,
  queries: queries.length,
  ranker: createRanker("rerank", { ...params }).name,
  loadSeconds: round(loadSeconds, 2),
  cold: cold.m,
  warm: warm.m,
};
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);

console.log(`${report.ranker}\n${task.name}: ${queries.length} queries, ${task.documents.length.toLocaleString("en-US")} documents; Node ${process.version}, ${report.cpu}`);
const rows = [
  ["memo", "first stage s", "total s", "rerank s", "rerank q/s", "R@1"],
  ...(
    [
      ["cold", cold.m],
      ["warm", warm.m],
    ] as const
  ).map(([name, m]) => [name, m.firstStageSeconds.toFixed(2), m.totalSeconds.toFixed(2), m.rerankSeconds.toFixed(2), m.rerankQueriesPerSecond.toFixed(1), m["R@1"].toFixed(4)]),
];
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
