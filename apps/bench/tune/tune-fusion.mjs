// How the weights of rerank (firstWeight) and hybrid (fusion, lexicalWeight, dense list) were
// chosen: on dev data only (datasets/everyday, datasets/everyday-dev and the DDTP dev split), each component's run
// (bi-encoder, its top 100 re-ranked by LM-EMD and by MaxSim, BM25, BM25-PSQ) is computed once and
// cached under runs/tune-cache/<model>/, then every fusion of a grid is evaluated from the cache.
//
//   pnpm --filter @crossrank/bench tune:fusion            # = SETS=everyday,hard,ddtp-a,ddtp-b HARD_LIMIT=400 DDTP_LIMIT=100
//
// Prints, per dev set, the mean R@1 of each configuration and in how many languages it is at least
// as good as the bi-encoder (re-ranking) or as the better of its two parts (fusion). LM-EMD's
// length gate (rerank's lengthGate) is evaluated from the same runs: lmemd@w/g = firstWeight w, and
// a query with fewer tokens than g × the median token count of its 100 candidates keeps the
// bi-encoder's order. The full grid
// goes to runs/tune-cache/<model>/grid-<sets>.json. MODEL (argv) defaults to crossrank-static.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRanker, fuseRuns, fuseScores, HybridRanker, topKScores } from "@crossrank/rankers";
import { loadDdtpTask, loadParallelTask } from "@crossrank/datasets";
import { evaluate } from "@crossrank/metrics";

// Paths below are relative to the repository root.
process.chdir(fileURLToPath(new URL("../../../", import.meta.url)));

const MODEL = process.argv[2] ?? "crossrank-static";
const LIMIT = Number(process.env.DDTP_LIMIT ?? 100);
const HARD_LIMIT = Number(process.env.HARD_LIMIT ?? 400);
const cacheDir = join("runs/tune-cache", MODEL.replace(/[^\w.-]+/g, "_"));
await mkdir(cacheDir, { recursive: true });

const SETS = (process.env.SETS ?? "everyday,hard,ddtp-a,ddtp-b").split(",");
const tasks = [];
for (const l of ["da", "it", "fr", "de", "ja", "pt_BR", "uk", "ko", "pl", "ru", "es", "cs", "zh_CN", "fi"]) {
  tasks.push({ set: "everyday", lang: l, load: () => loadParallelTask(`datasets/everyday/${l}.txt`, "datasets/everyday/en.txt", { queryLang: l.replace("_", "-"), docLang: "en" }) });
}
for (const l of ["ar", "cs", "da", "de", "el", "es", "fi", "fr", "it", "ja", "ko", "pl", "pt_BR", "ru", "uk", "zh_CN"]) {
  tasks.push({ set: "hard", lang: l, load: async () => {
    const t = await loadParallelTask(`datasets/everyday-dev/${l}.txt`, "datasets/everyday-dev/en.txt", { queryLang: l.replace("_", "-"), docLang: "en" });
    const n = t.queries.length, m = Math.min(n, HARD_LIMIT);
    const queries = Array.from({ length: m }, (_, i) => t.queries[Math.floor((i * n) / m)]);
    return { ...t, queries, qrels: new Map(queries.map((q) => [q.id, t.qrels.get(q.id)])) };
  } });
}
for (const [set, field] of [["ddtp-a", "short"], ["ddtp-b", "description"]]) {
  for (const l of ["da", "it", "fr", "de", "ja", "pt_BR", "uk", "ko", "pl", "ru", "es", "cs", "zh_CN", "fi"]) {
    tasks.push({
      set, lang: l,
      load: async () => {
        const t = await loadDdtpTask({ queryLang: l, docLang: "en", queryField: field, docField: "description", split: { part: "dev" } });
        const queries = [...t.queries].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, LIMIT);
        return { ...t, queries, qrels: new Map(queries.map((q) => [q.id, t.qrels.get(q.id)])) };
      },
    });
  }
}

const toJson = (run) => Object.fromEntries([...run].map(([q, m]) => [q, [...m]]));
const fromJson = (o) => new Map(Object.entries(o).map(([q, l]) => [q, new Map(l)]));
async function cached(name, f) {
  const path = join(cacheDir, `${name}.json`);
  try { return fromJson(JSON.parse(await readFile(path, "utf8"))); } catch {}
  const run = await f();
  await writeFile(path, JSON.stringify(toJson(run)));
  return run;
}

const components = {
  bi: () => createRanker("bi-encoder", { encoder: MODEL }),
  lmemd: () => createRanker("rerank", { encoder: MODEL, first: "bi-encoder", depth: 100, second: "lm-emd", marginals: "idf", firstWeight: 0 }),
  maxsim: () => createRanker("rerank", { encoder: MODEL, first: "bi-encoder", depth: 100, second: "maxsim", firstWeight: 0 }),
  bm25: () => createRanker("bm25"),
  psq: () => createRanker("bm25-psq"),
};
const results = [];
const r1 = (task, run) => evaluate(task.qrels, run, ["R@1"]).mean["R@1"];
const hybridProbe = new HybridRanker({ dense: createRanker("bi-encoder", { encoder: MODEL }) });
// Token counts as LM-EMD sees them (rerank's lengthGate compares these).
const counter = createRanker("lm-emd", { encoder: MODEL });
for (const t of tasks.filter((x) => SETS.includes(x.set))) {
  const task = await t.load();
  const key = t.set === "everyday" ? `everyday-${t.lang}` : `${t.set}-${t.lang}-${t.set === "hard" ? HARD_LIMIT : LIMIT}`;
  const input = { queries: task.queries, documents: task.documents, queryLang: task.queryLang, docLang: task.docLang };
  const runs = {};
  for (const [name, make] of Object.entries(components)) {
    if (name === "psq" && (await hybridProbe.lexicalFor(task.queryLang, task.docLang)) === "bm25") { runs.psq = undefined; continue; }
    const t0 = Date.now();
    runs[name] = await cached(`${key}-${name}`, () => make().rank(input, { k: 100 }));
    if (Date.now() - t0 > 2000) console.error(`${key} ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const lex = runs.psq ?? runs.bm25;
  const row = { set: t.set, lang: t.lang, bi: r1(task, runs.bi), lex: r1(task, lex), bm25: r1(task, runs.bm25), psq: runs.psq ? r1(task, runs.psq) : null };
  // Per query: its token count over the median token count of its bi-encoder candidates.
  const docText = new Map(task.documents.map((d) => [d.id, d.text]));
  const candidateIds = [...new Set(task.queries.flatMap((q) => [...(runs.bi.get(q.id)?.keys() ?? [])]))];
  const docTokens = new Map();
  (await counter.tokenCounts(candidateIds.map((id) => docText.get(id)))).forEach((n, i) => docTokens.set(candidateIds[i], n));
  const queryTokens = await counter.tokenCounts(task.queries.map((q) => q.text));
  const ratio = new Map();
  task.queries.forEach((q, i) => {
    const lengths = [...(runs.bi.get(q.id)?.keys() ?? [])].map((id) => docTokens.get(id)).sort((a, b) => a - b);
    const h = lengths.length >> 1;
    const median = lengths.length % 2 === 1 ? lengths[h] : (lengths[h - 1] + lengths[h]) / 2;
    ratio.set(q.id, lengths.length === 0 ? Infinity : queryTokens[i] / median);
  });
  const gatedLm = (w, g) => {
    const run = new Map();
    for (const q of task.queries) {
      const weight = ratio.get(q.id) < g ? 1 : w;
      run.set(q.id, topKScores(fuseScores(runs.bi.get(q.id) ?? new Map(), runs.lmemd.get(q.id) ?? new Map(), { method: "interpolate", weight }), 100));
    }
    return run;
  };
  for (const g of [0.15, 0.25, 0.35, 0.4, 0.5, 0.6]) for (const w of [0.3, 0.4, 0.5, 0.6, 0.7]) row[`lmemd@${w}/${g}`] = r1(task, gatedLm(w, g));
  for (const w of [0.85, 0.9, 0.95]) row[`lmemd@${w}`] = r1(task, fuseRuns(runs.bi, runs.lmemd, { method: "interpolate", weight: w, k: 100 }));
  for (const w of [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) {
    const lm = fuseRuns(runs.bi, runs.lmemd, { method: "interpolate", weight: w, k: 100 });
    const ms = fuseRuns(runs.bi, runs.maxsim, { method: "interpolate", weight: w, k: 100 });
    row[`lmemd@${w}`] = r1(task, lm);
    row[`maxsim@${w}`] = r1(task, ms);
    for (const [dn, dense] of [["bi", runs.bi], [`lm${w}`, lm], [`ms${w}`, ms]]) {
      if (dn === "bi" && w !== 0) continue;
      for (const lw of [0.2, 0.3, 0.4, 0.5, 0.6]) {
        row[`rrf(${dn})@${lw}`] = r1(task, fuseRuns(lex, dense, { method: "rrf", weight: lw, rrfK: 60, k: 100 }));
        row[`int(${dn})@${lw}`] = r1(task, fuseRuns(lex, dense, { method: "interpolate", weight: lw, k: 100 }));
      }
    }
  }
  results.push(row);
  console.error(`${key}: bi ${row.bi.toFixed(3)} lex ${row.lex.toFixed(3)} lmemd@0.5 ${row["lmemd@0.5"].toFixed(3)} rrf(bi)@0.5 ${row["rrf(bi)@0.5"].toFixed(3)}`);
}
await writeFile(join(cacheDir, `grid-${SETS.join("+")}.json`), JSON.stringify(results, null, 1));
// Summary: mean per set for every configuration, and the number of languages where it is >= max(bi, lex) (hybrid) or >= bi (rerank).
const cfgs = Object.keys(results[0]).filter((k) => !["set", "lang"].includes(k));
for (const set of SETS) {
  const rows = results.filter((r) => r.set === set);
  const line = cfgs.map((c) => {
    const mean = rows.reduce((s, r) => s + (r[c] ?? 0), 0) / rows.length;
    const ok = rows.filter((r) => (c.startsWith("rrf") || c.startsWith("int") ? r[c] >= Math.max(r.bi, r.lex) - 1e-9 : c.startsWith("lmemd") || c.startsWith("maxsim") ? r[c] >= r.bi - 1e-9 : true)).length;
    return [c, mean, ok];
  });
  console.log(`== ${set} (${rows.length} languages)`);
  for (const [c, m, ok] of line.sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40))) console.log(`${c.padEnd(22)} ${m.toFixed(4)} ok=${ok}`);
}
