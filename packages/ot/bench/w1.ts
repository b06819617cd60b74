/**
 * W1: the LM-EMD scoring workload — one query of 32 tokens against documents of 256 tokens,
 * dim 768, cosine cost, reg 0.1, exactly 100 Sinkhorn iterations per pair — on every available
 * batched backend, against POT (numpy cosine cost + `ot.sinkhorn` per pair) when Debian's
 * /usr/bin/python3 has `ot` (python3-pot).
 *
 *   pnpm --filter @crossrank/ot bench                       # every available backend + POT
 *   pnpm --filter @crossrank/ot bench -- --pairs 4096       # onnx pairs (default 2048)
 *   pnpm --filter @crossrank/ot bench -- --backends onnx,js # a subset
 *
 * The onnx backend runs `--pairs` pairs; the slower backends run as many pairs as fit in about
 * 5 s at the rate of a short pilot (at least 16). Timings exclude a warm-up call that builds the
 * sessions/kernels. Token norms come with the batches (as `tokenBatch` computes them while
 * packing); the "onnx, norms in graph" row shows the cost of normalising inside the graph instead.
 *
 * POT runs in a subprocess with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from ITS
 * environment only: the values set on these machines make numpy's BLAS slower.
 *
 * Prints a table and writes `<repo>/results/ot-w1.json`.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { availableBackends, batchedSinkhorn, otBench, randomBatch, resolveAutoBackend } from "../src/batched/index.js";
import type { ConcreteOtBackend, OtBenchResult } from "../src/batched/types.js";

const W1 = { queryTokens: 32, docTokens: 256, dim: 768, reg: 0.1, iterations: 100 } as const;
const PILOT_SECONDS = 5;

const args = process.argv.slice(2).filter((a) => a !== "--");
let pairs = 2048;
let only: string[] | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === "--pairs") pairs = Number(args[++i]);
  else if (a === "--backends") only = (args[++i] ?? "").split(",").filter(Boolean);
  else {
    console.error(`w1: unknown argument ${JSON.stringify(a)}; accepted: --pairs N, --backends a,b`);
    process.exit(2);
  }
}
if (!Number.isInteger(pairs) || pairs < 1) {
  console.error("w1: --pairs must be a positive integer");
  process.exit(2);
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
    dir = up;
  }
}

const availability = await availableBackends();
console.log("backends:");
for (const a of availability) console.log(`  ${a.backend.padEnd(7)} ${a.available ? "available" : `unavailable: ${a.reason ?? ""}`}`);
const auto = await resolveAutoBackend();
console.log(`auto → ${auto}\n`);

interface Row extends OtBenchResult {
  label: string;
}
const rows: Row[] = [];

for (const { backend, available } of availability) {
  if (!available || (only !== undefined && !only.includes(backend))) continue;
  let n = pairs;
  if (backend !== "onnx") {
    const pilot = await otBench({ ...W1, pairs: 16, backend, seed: 3 });
    n = Math.max(16, Math.min(pairs, Math.round((pilot.pairsPerSecond * PILOT_SECONDS) / 16) * 16));
  }
  const r = await otBench({ ...W1, pairs: n, backend, seed: 1 });
  rows.push({ ...r, label: backend });
  console.log(`${backend.padEnd(7)} ${n} pairs in ${r.seconds.toFixed(2)} s: ${r.pairsPerSecond.toFixed(0)} pairs/s`);
  if (backend === "onnx") {
    // The same with the token norms computed in the graph (batches without `norms`).
    const query = randomBatch(1, W1.queryTokens, W1.dim, 1);
    const docs = randomBatch(n, W1.docTokens, W1.dim, 2);
    delete query.norms;
    delete docs.norms;
    const warm = randomBatch(64, W1.docTokens, W1.dim, 4);
    delete warm.norms;
    const opts = { reg: W1.reg, iterations: W1.iterations, backend: "onnx" as ConcreteOtBackend, domain: "kernel" as const };
    await batchedSinkhorn(query, warm, opts);
    const g = await batchedSinkhorn(query, docs, opts);
    const label = "onnx, norms in graph";
    rows.push({ ...r, label, seconds: g.seconds, pairsPerSecond: n / g.seconds, gflops: (2 * n * W1.queryTokens * W1.docTokens * W1.dim) / g.seconds / 1e9 });
    console.log(`${label}: ${(n / g.seconds).toFixed(0)} pairs/s`);
  }
}

// ---- POT ----------------------------------------------------------------------------------------
interface PotResult {
  pairs: number;
  seconds: number;
  pairsPerSecond: number;
  pot: string;
  numpy: string;
}
let pot: PotResult | undefined;
let potNote: string | undefined;
const python = "/usr/bin/python3";
const run = promisify(execFile);
try {
  await run(python, ["-c", "import ot"]);
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const script = resolve(dirname(fileURLToPath(import.meta.url)), "../../bench/pot_w1.py");
  const potPairs = Math.min(pairs, 1024);
  const { stdout } = await run(python, [script, String(potPairs), String(W1.queryTokens), String(W1.docTokens), String(W1.dim), String(W1.reg), String(W1.iterations)], { env, maxBuffer: 1 << 20 });
  pot = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as PotResult;
  console.log(`POT     ${pot.pairs} pairs in ${pot.seconds.toFixed(2)} s: ${pot.pairsPerSecond.toFixed(0)} pairs/s (POT ${pot.pot}, numpy ${pot.numpy})`);
} catch (err) {
  potNote = `POT not run: ${(err as Error).message.split("\n")[0]}`;
  console.log(potNote);
}

// ---- table + JSON -------------------------------------------------------------------------------
console.log(`\nW1: ${W1.queryTokens}×${W1.docTokens} tokens, dim ${W1.dim}, reg ${W1.reg}, ${W1.iterations} iterations, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"})`);
console.log("| backend | pairs | pairs/s | vs POT | GFLOP/s (cost product) |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  const ratio = pot === undefined ? "–" : `${(r.pairsPerSecond / pot.pairsPerSecond).toFixed(1)}×`;
  console.log(`| ${r.label} | ${r.pairs} | ${r.pairsPerSecond.toFixed(0)} | ${ratio} | ${(r.gflops ?? 0).toFixed(1)} |`);
}
if (pot !== undefined) console.log(`| POT ${pot.pot} (numpy ${pot.numpy}), per pair | ${pot.pairs} | ${pot.pairsPerSecond.toFixed(0)} | 1.0× | – |`);

const out = join(repoRoot(), "results", "ot-w1.json");
await mkdir(dirname(out), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify(
    {
      workload: { name: "W1", ...W1, broadcastQuery: true },
      machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? null, node: process.version },
      backends: availability,
      auto,
      results: rows.map(({ label, pairs: p, seconds, pairsPerSecond, gflops }) => ({ backend: label, pairs: p, seconds, pairsPerSecond, gflops })),
      pot: pot ?? null,
      potNote: potNote ?? null,
      ratioBestToPot: pot === undefined || rows.length === 0 ? null : Math.max(...rows.map((r) => r.pairsPerSecond)) / pot.pairsPerSecond,
      command: "pnpm --filter @crossrank/ot bench",
      date: new Date().toISOString(),
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${out}`);
