/**
 * Batched entropic OT for LM-EMD-style ranking: many (query, document) token-embedding pairs,
 * cosine cost, a fixed number of Sinkhorn iterations, on the fastest backend available.
 * See the README section "Batched backends".
 */
import { type PairSolution, solveJs } from "./backend-js.js";
import { type GpuJsMode, probeGpuJs, solveGpuJs } from "./backend-gpujs.js";
import { type CheckedPairs, checkPairs, cutBatches, packBatch, PackScratch, pairOrder } from "./pairs.js";
import { checkOptions, type Prepared, prepare, subset, tokenBatch } from "./prepare.js";
import {
  type BackendAvailability,
  type BatchedSinkhornOptions,
  type BatchedSinkhornResult,
  CONCRETE_BACKENDS,
  type ConcreteOtBackend,
  type OtBackend,
  type OtBenchOptions,
  type OtBenchResult,
  type TokenBatch,
  type TokenPairs,
} from "./types.js";
import { mulberry32 } from "../random.js";

export { tokenBatch };

/**
 * The onnxruntime-node backend, imported on first use: it reads Node's core count and environment
 * when loaded. "#onnx-backend" is ./backend-onnx.js, or under the "browser" condition a module that
 * fails to load (package.json "imports"), so that `auto` in a browser finds it unavailable without
 * the page fetching a Node module.
 */
function onnxBackend(): Promise<typeof import("./backend-onnx.js")> {
  return import("#onnx-backend");
}

async function solveOn(backend: ConcreteOtBackend, p: Prepared, domain: "kernel" | "log", batchSize: number | undefined): Promise<PairSolution[]> {
  switch (backend) {
    case "onnx":
      return (await onnxBackend()).solveOnnx(p, domain, batchSize);
    case "js":
      return Promise.resolve(solveJs(p, domain));
    default:
      return solveGpuJs(backend as GpuJsMode, p, domain, batchSize);
  }
}

async function probe(backend: ConcreteOtBackend): Promise<void> {
  switch (backend) {
    case "onnx":
      return (await onnxBackend()).probeOnnx();
    case "js":
      return Promise.resolve();
    default:
      return probeGpuJs(backend as GpuJsMode);
  }
}

const probes = new Map<ConcreteOtBackend, Promise<BackendAvailability>>();

function availability(backend: ConcreteOtBackend): Promise<BackendAvailability> {
  let a = probes.get(backend);
  if (a === undefined) {
    a = probe(backend).then(
      (): BackendAvailability => ({ backend, available: true }),
      (err: unknown): BackendAvailability => ({ backend, available: false, reason: firstLine(err) }),
    );
    probes.set(backend, a);
  }
  return a;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n").find((l) => l.trim() !== "")?.trim() ?? "unknown error";
}

/** Whether `backend` loads and solves a tiny problem correctly in this process (probed once, then cached); never throws. */
export function backendAvailability(backend: ConcreteOtBackend): Promise<BackendAvailability> {
  if (!CONCRETE_BACKENDS.includes(backend)) return Promise.resolve({ backend, available: false, reason: `unknown backend ${JSON.stringify(backend)} (one of ${CONCRETE_BACKENDS.join(", ")})` });
  return availability(backend);
}

/**
 * Which backends load and solve a tiny problem correctly in this process (probed once each, then
 * cached); unavailable ones carry the reason. Never throws.
 */
export async function availableBackends(): Promise<BackendAvailability[]> {
  const out: BackendAvailability[] = [];
  for (const b of CONCRETE_BACKENDS) out.push(await availability(b));
  return out;
}

/**
 * Static preference of `auto`, fastest first, from the W1 benchmark (README): onnxruntime's MLAS
 * GEMMs beat everything on a CPU; a WebGPU adapter (a real GPU) is tried first when one exists,
 * by measurement (see {@link resolveAutoBackend}).
 */
const AUTO_ORDER: readonly ConcreteOtBackend[] = ["onnx", "js", "webasm", "cpu"];

let autoPromise: Promise<ConcreteOtBackend> | undefined;

/**
 * The backend `auto` uses in this process: when a WebGPU adapter is available, whichever of
 * webgpu and the best CPU backend solves a small W1-shaped calibration batch faster (measured once);
 * otherwise the first available of onnx → js → webasm → cpu (their W1 order on the 2-core
 * machines). Cached.
 */
export function resolveAutoBackend(): Promise<ConcreteOtBackend> {
  autoPromise ??= (async () => {
    let cpuBest: ConcreteOtBackend = "js";
    for (const b of AUTO_ORDER) {
      if ((await availability(b)).available) {
        cpuBest = b;
        break;
      }
    }
    if (!(await availability("webgpu")).available) return cpuBest;
    const calib = calibrationProblem();
    const time = async (b: ConcreteOtBackend): Promise<number> => {
      await solveOn(b, calib, "kernel", undefined); // warm-up (compiles)
      const t = performance.now();
      await solveOn(b, calib, "kernel", undefined);
      return performance.now() - t;
    };
    try {
      return (await time("webgpu")) < (await time(cpuBest)) ? "webgpu" : cpuBest;
    } catch {
      return cpuBest;
    }
  })();
  return autoPromise;
}

function calibrationProblem(): Prepared {
  const q = randomBatch(1, 32, 256, 7);
  const d = randomBatch(64, 256, 256, 8);
  return prepare(q, d, { reg: 0.1, iterations: 20 });
}

/**
 * Solves pair i = (queries[i], documents[i]) for every document — or, when `queries` holds one
 * item, (queries[0], documents[i]) — with entropic OT on the cosine cost, exactly
 * `options.iterations` Sinkhorn iterations (POT `sinkhorn_knopp` order: v then u, from u = 1).
 *
 * @throws Error for bad shapes or options, or a forced backend that is unavailable (with the reason).
 */
export async function batchedSinkhorn(queries: TokenBatch, documents: TokenBatch, options: BatchedSinkhornOptions): Promise<BatchedSinkhornResult> {
  const p = prepare(queries, documents, options);
  checkBackendName(options, "batchedSinkhorn");
  const domainOpt = checkDomain(options, "batchedSinkhorn");
  const backend = await backendFor(options, "batchedSinkhorn");
  const start = performance.now();
  if (p.pairs === 0) return { costs: new Float64Array(0), ...(p.returnPlans ? { plans: [] } : {}), backend, seconds: 0, logDomainPairs: 0 };
  const first = await solveOn(backend, p, domainOpt === "log" ? "log" : "kernel", options.batchSize);
  let logDomainPairs = domainOpt === "log" ? p.pairs : 0;
  if (domainOpt === "auto") {
    const bad: number[] = [];
    first.forEach((s, i) => {
      if (!s.healthy) bad.push(i);
    });
    if (bad.length > 0) {
      const again = await solveOn(backend, subset(p, bad), "log", options.batchSize);
      bad.forEach((pair, k) => {
        first[pair] = again[k]!;
      });
      logDomainPairs = bad.length;
    }
  }
  const costs = Float64Array.from(first, (s) => s.cost);
  const seconds = (performance.now() - start) / 1000;
  const result: BatchedSinkhornResult = { costs, backend, seconds, logDomainPairs };
  if (p.returnPlans) result.plans = first.map((s) => s.plan ?? new Float32Array(0));
  return result;
}

/** The checked `domain` option. */
function checkDomain(options: BatchedSinkhornOptions, caller: string): "auto" | "kernel" | "log" {
  const domain = options.domain ?? "auto";
  if (domain !== "auto" && domain !== "kernel" && domain !== "log") {
    throw new Error(`${caller}: domain must be "auto", "kernel" or "log", got ${JSON.stringify(domain)}`);
  }
  return domain;
}

/** Throws for a `backend` option that names no backend. */
function checkBackendName(options: BatchedSinkhornOptions, caller: string): void {
  const requested: OtBackend = options.backend ?? "auto";
  if (requested !== "auto" && !CONCRETE_BACKENDS.includes(requested)) {
    throw new Error(`${caller}: unknown backend ${JSON.stringify(requested)} (one of auto, ${CONCRETE_BACKENDS.join(", ")})`);
  }
}

/** The concrete backend the options ask for (auto resolved); throws for an unknown or unavailable one. */
async function backendFor(options: BatchedSinkhornOptions, caller: string): Promise<ConcreteOtBackend> {
  checkBackendName(options, caller);
  const requested: OtBackend = options.backend ?? "auto";
  if (requested === "auto") return resolveAutoBackend();
  const a = await availability(requested);
  if (!a.available) throw new Error(`${caller}: backend "${requested}" is not available here: ${a.reason ?? "unknown reason"}`);
  return requested;
}

/** Most pairs in one batch of {@link batchedSinkhornPairs} (onnx: the largest default batch). */
const PAIR_BATCH_MAX = 128;
/** Padded document floats per batch on the other backends (they split it further as they like). */
const PAIR_BATCH_FLOATS = 2 ** 24;

/**
 * Solves the pairs of a ragged problem: pair k = (queries[query[k]], documents[document[k]]),
 * items unpadded and given once however many pairs use them (LM-EMD re-ranking: every query's
 * candidates in one call). The same options, iteration and health checks as
 * {@link batchedSinkhorn}, and the same result: pair k's cost is the one
 * `batchedSinkhorn(tokenBatch([queries[q]], dim), tokenBatch([documents[d]], dim), options)` gives,
 * up to float32 rounding (padding takes no mass, so only the order of float32 sums can differ).
 *
 * The pairs are sorted by length (query, then document) and cut into batches padded to their own
 * longest members, growing while the padding stays within `PAD_SLACK` (25 %) of the pairs' own
 * work — onnx: at most 128 pairs and ~64 MB of working set per session run, as `batchedSinkhorn`'s
 * default — so neither one long document nor one query's small candidate list sets a run's shape.
 * A batch whose pairs share one query broadcasts it. Results come back in pair order. `batchSize`
 * caps the pairs per batch.
 *
 * @throws Error for bad items, indices or options, or a forced backend that is unavailable.
 */
export async function batchedSinkhornPairs(pairs: TokenPairs, options: BatchedSinkhornOptions): Promise<BatchedSinkhornResult> {
  checkOptions(options, "batchedSinkhornPairs");
  checkBackendName(options, "batchedSinkhornPairs");
  const domain = checkDomain(options, "batchedSinkhornPairs");
  const normalize = options.normalize ?? true;
  const returnPlans = options.returnPlans ?? false;
  const c = checkPairs(pairs, normalize);
  const backend = await backendFor(options, "batchedSinkhornPairs");
  const start = performance.now();
  const solutions = await solvePairs(backend, c, Int32Array.from({ length: c.pairs }, (_, k) => k), domain === "log" ? "log" : "kernel", options, normalize, returnPlans);
  let logDomainPairs = domain === "log" ? c.pairs : 0;
  if (domain === "auto") {
    const bad: number[] = [];
    solutions.forEach((s, k) => {
      if (!s.healthy) bad.push(k);
    });
    if (bad.length > 0) {
      const again = await solvePairs(backend, c, Int32Array.from(bad), "log", options, normalize, returnPlans);
      for (const k of bad) solutions[k] = again[k]!;
      logDomainPairs = bad.length;
    }
  }
  const costs = Float64Array.from(solutions, (s) => s.cost);
  const seconds = (performance.now() - start) / 1000;
  const result: BatchedSinkhornResult = { costs, backend, seconds, logDomainPairs };
  if (returnPlans) result.plans = solutions.map((s) => s.plan ?? new Float32Array(0));
  return result;
}

/** Solves the pairs `which` of `c` (results indexed by pair; other entries left empty). */
async function solvePairs(
  backend: ConcreteOtBackend,
  c: CheckedPairs,
  which: Int32Array,
  domain: "kernel" | "log",
  options: BatchedSinkhornOptions,
  normalize: boolean,
  returnPlans: boolean,
): Promise<PairSolution[]> {
  const out = new Array<PairSolution>(c.pairs);
  const maxPairs = options.batchSize ?? (backend === "onnx" ? PAIR_BATCH_MAX : Number.MAX_SAFE_INTEGER);
  const onnx = backend === "onnx" ? await onnxBackend() : undefined;
  const size =
    onnx !== undefined
      ? (n: number, m: number) => (options.batchSize ?? onnx.defaultOnnxBatch({ n, m, d: c.dim, qCount: 2 } as Prepared))
      : (_n: number, m: number) => Math.max(1, Math.floor(PAIR_BATCH_FLOATS / (m * c.dim)));
  const packOptions = { reg: options.reg, iterations: options.iterations, normalize, returnPlans };
  // Batches are solved one at a time, so they share their padded buffers (onnx and js copy or
  // read them during the call; gpu.js gets its own copies: its pipelines may keep references).
  const scratch = backend === "onnx" || backend === "js" ? new PackScratch() : undefined;
  for (const batch of cutBatches(c, pairOrder(c, which), maxPairs, size)) {
    const p = packBatch(c, batch, packOptions, scratch);
    // onnx: the batch is one session run; the others split it by their own defaults.
    const solved = await solveOn(backend, p, domain, backend === "onnx" ? batch.length : options.batchSize);
    for (let k = 0; k < batch.length; k++) out[batch[k]!] = solved[k]!;
  }
  return out;
}

/**
 * A seeded batch of `count` items of `len` random unit vectors (mulberry32 numbers uniform in
 * [−1, 1) per coordinate, then L2-normalised; cheap to generate for large benchmarks), with their
 * `norms` (as `tokenBatch` fills them).
 */
export function randomBatch(count: number, len: number, dim: number, seed: number): TokenBatch {
  const random = mulberry32(seed);
  const data = new Float32Array(count * len * dim);
  const norms = new Float32Array(count * len);
  for (let r = 0; r < count * len; r++) {
    const o = r * dim;
    let sum = 0;
    for (let k = 0; k < dim; k++) {
      const x = random() * 2 - 1;
      data[o + k] = x;
      sum += x * x;
    }
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    let again = 0;
    for (let k = 0; k < dim; k++) {
      const x = data[o + k]! * inv;
      data[o + k] = x;
      again += x * x;
    }
    norms[r] = Math.sqrt(again);
  }
  return { data, lengths: new Int32Array(count).fill(len), maxLength: len, dim, norms };
}

/**
 * Throughput of {@link batchedSinkhorn} on random unit-vector tokens (seeded): `pairs` documents of
 * `docTokens` tokens against one query of `queryTokens` tokens (broadcast, as LM-EMD scores one
 * query's candidates), cosine cost, exactly `iterations` iterations, kernel domain. A warm-up call
 * on a batch of the same shape (compiling sessions/kernels) is excluded from the timing.
 */
export async function otBench(options: OtBenchOptions): Promise<OtBenchResult> {
  const { pairs, queryTokens, docTokens, dim, reg, iterations } = options;
  for (const [k, v] of Object.entries({ pairs, queryTokens, docTokens, dim, iterations })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`otBench: ${k} must be a positive integer, got ${v}`);
  }
  const seed = options.seed ?? 1;
  const query = randomBatch(1, queryTokens, dim, seed);
  const docs = randomBatch(pairs, docTokens, dim, seed + 1);
  const solveOptions: BatchedSinkhornOptions = { reg, iterations, backend: options.backend ?? "auto", domain: "kernel" };
  if (options.batchSize !== undefined) solveOptions.batchSize = options.batchSize;
  // Warm-up on a batch of the same shapes (sessions/kernels compile on first use).
  const warmPairs = Math.min(pairs, options.batchSize ?? 64);
  const warm = randomBatch(warmPairs, docTokens, dim, seed + 2);
  await batchedSinkhorn(query, warm, solveOptions);
  const result = await batchedSinkhorn(query, docs, solveOptions);
  const seconds = result.seconds;
  const out: OtBenchResult = {
    pairsPerSecond: pairs / seconds,
    backend: result.backend,
    pairs,
    seconds,
    queryTokens,
    docTokens,
    dim,
    reg,
    iterations,
    gflops: (2 * pairs * queryTokens * docTokens * dim) / seconds / 1e9,
  };
  return out;
}
