/**
 * Batched entropic OT for LM-EMD-style ranking: many (query, document) token-embedding pairs,
 * cosine cost, a fixed number of Sinkhorn iterations, on the fastest backend available.
 * See the README section "Batched backends".
 */
import { type PairSolution, solveJs } from "./backend-js.js";
import { probeOnnx, solveOnnx } from "./backend-onnx.js";
import { type GpuJsMode, probeGpuJs, solveGpuJs } from "./backend-gpujs.js";
import { type Prepared, prepare, subset, tokenBatch } from "./prepare.js";
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
} from "./types.js";
import { mulberry32 } from "../random.js";

export { tokenBatch };

function solveOn(backend: ConcreteOtBackend, p: Prepared, domain: "kernel" | "log", batchSize: number | undefined): Promise<PairSolution[]> {
  switch (backend) {
    case "onnx":
      return solveOnnx(p, domain, batchSize);
    case "js":
      return Promise.resolve(solveJs(p, domain));
    default:
      return solveGpuJs(backend as GpuJsMode, p, domain, batchSize);
  }
}

function probe(backend: ConcreteOtBackend): Promise<void> {
  switch (backend) {
    case "onnx":
      return probeOnnx();
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
  const requested: OtBackend = options.backend ?? "auto";
  if (requested !== "auto" && !CONCRETE_BACKENDS.includes(requested)) {
    throw new Error(`batchedSinkhorn: unknown backend ${JSON.stringify(requested)} (one of auto, ${CONCRETE_BACKENDS.join(", ")})`);
  }
  const domainOpt = options.domain ?? "auto";
  if (domainOpt !== "auto" && domainOpt !== "kernel" && domainOpt !== "log") {
    throw new Error(`batchedSinkhorn: domain must be "auto", "kernel" or "log", got ${JSON.stringify(domainOpt)}`);
  }
  let backend: ConcreteOtBackend;
  if (requested === "auto") {
    backend = await resolveAutoBackend();
  } else {
    const a = await availability(requested);
    if (!a.available) throw new Error(`batchedSinkhorn: backend "${requested}" is not available here: ${a.reason ?? "unknown reason"}`);
    backend = requested;
  }
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
