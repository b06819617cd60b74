/**
 * The `onnx` backend: each batch is ONE onnxruntime-node (CPU, MLAS) session run of the graph of
 * ./onnx-sinkhorn-graph.ts — cost product, kernel, all iterations (an ONNX `Loop`), cost and plan
 * — so no data crosses back to JavaScript between iterations.
 *
 * Sessions are built once per (domain, normalisation, plans, threads) and cached for the process
 * (all dimensions are symbolic, so one session serves every shape). Threading: `ONNX_THREADS`
 * intra-op threads per session (1 for batches under `ONNX_SMALL_WORK`) and `ONNX_CONCURRENCY`
 * batches in flight at once, chosen by measurement on the 2-core machines (see README).
 */
import { availableParallelism } from "node:os";
import type * as Ort from "onnxruntime-node";
import { buildSinkhornModel } from "./onnx-sinkhorn-graph.js";
import type { PairSolution } from "./backend-js.js";
import { lengthMask, type Prepared, plan, SCALING_LIMITS, trimPlan } from "./prepare.js";

type OrtModule = typeof Ort;

let ortPromise: Promise<OrtModule> | undefined;
/** Loads onnxruntime-node once (rejects with the loader's error when the binary can't load). */
export function loadOrt(): Promise<OrtModule> {
  ortPromise ??= import("onnxruntime-node").then((m) => ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule);
  return ortPromise;
}

const cores = Math.max(1, availableParallelism());
const threadsOverride = Number(process.env.CROSSRANK_OT_ONNX_THREADS ?? 0) || undefined;
/** Intra-op threads per session run (of batches of at least {@link ONNX_SMALL_WORK}). */
export const ONNX_THREADS = threadsOverride ?? cores;
/**
 * Batches whose per-iteration product is smaller than this many kernel entries (B·n·m) run on a
 * single-threaded session: each Sinkhorn iteration is two batched products, and MLAS hands every
 * one of them out to the intra-op threads, which for products this small (LM-EMD re-ranking: ~128
 * pairs of ~11 × ~90 tokens, ~100k multiply-adds) costs about as much as it saves on an idle
 * machine and twice the time on a loaded one, where a spinning thread waits for a descheduled
 * one (measured 11,000 against 5,600 pairs/s on 128 × 11 × 90 pairs, dim 256, with other jobs
 * running). W1 batches (64 × 32 × 256 = 2^19) keep every core. `CROSSRANK_OT_ONNX_THREADS`
 * overrides both.
 */
export const ONNX_SMALL_WORK = 2 ** 19;
/** Session runs in flight at once. */
export const ONNX_CONCURRENCY = Number(process.env.CROSSRANK_OT_ONNX_CONCURRENCY ?? 0) || 1;

const sessions = new Map<string, Promise<Ort.InferenceSession>>();

type NormalizeMode = "graph" | "inputs" | "none";

/** Intra-op threads for a batch of `B` pairs padded to n × m. */
export function onnxThreads(B: number, n: number, m: number): number {
  return threadsOverride ?? (B * n * m < ONNX_SMALL_WORK ? 1 : ONNX_THREADS);
}

function session(ort: OrtModule, domain: "kernel" | "log", normalize: NormalizeMode, plans: boolean, threads: number = ONNX_THREADS): Promise<Ort.InferenceSession> {
  const key = `${domain}|${normalize}|${plans}|${threads}`;
  let s = sessions.get(key);
  if (s === undefined) {
    const bytes = buildSinkhornModel({ domain, normalize, plans, iterations: "loop" });
    s = ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      logSeverityLevel: 3,
      // Flush float32 denormals to zero: tiny kernel entries would otherwise make MLAS crawl.
      extra: { session: { set_denormal_as_zero: "1" } },
    });
    s.catch(() => sessions.delete(key));
    sessions.set(key, s);
  }
  return s;
}

/**
 * Default pairs per session run: ~64 MB of float32 working set per batch (W1: 64 pairs, the best
 * of 16–128 measured), a multiple of 8 in [8, 128].
 */
export function defaultOnnxBatch(p: Prepared): number {
  const perPair = p.m * p.d + 6 * p.n * p.m + (p.qCount === 1 ? 0 : p.n * p.d);
  return Math.max(8, Math.min(128, Math.floor(16e6 / perPair / 8) * 8));
}

/** Solves every pair of `p` (results in pair order). */
export async function solveOnnx(p: Prepared, domain: "kernel" | "log", batchSize?: number): Promise<PairSolution[]> {
  const ort = await loadOrt();
  const mode: NormalizeMode = !p.normalize ? "none" : p.ix !== undefined && p.iy !== undefined ? "inputs" : "graph";
  const results: PairSolution[] = new Array<PairSolution>(p.pairs);
  const batches = plan(p, batchSize ?? defaultOnnxBatch(p));
  const regT = new ort.Tensor("float32", new Float32Array([p.reg]), []);
  const itT = new ort.Tensor("int64", new BigInt64Array([BigInt(p.iterations)]), []);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const { batch: q, pairs } = batches[next++]!;
      const B = q.pairs;
      const sess = await session(ort, domain, mode, p.returnPlans, onnxThreads(B, q.n, q.m));
      const feeds: Record<string, Ort.Tensor> = {
        X: new ort.Tensor("float32", q.X, [q.qCount, q.n, q.d]),
        Y: new ort.Tensor("float32", q.Y, [B, q.m, q.d]),
        a: new ort.Tensor("float32", q.a, [q.qCount, q.n]),
        b: new ort.Tensor("float32", q.b, [B, q.m]),
        mx: new ort.Tensor("float32", lengthMask(q.qLen, q.n), [q.qCount, q.n]),
        my: new ort.Tensor("float32", lengthMask(q.dLen, q.m), [B, q.m]),
        reg: regT,
        iterations: itT,
      };
      if (mode === "inputs") {
        feeds.ix = new ort.Tensor("float32", q.ix!, [q.qCount, q.n]);
        feeds.iy = new ort.Tensor("float32", q.iy!, [B, q.m]);
      }
      const out = await sess.run(feeds);
      const cost = out.cost!.data as Float32Array;
      const mass = out.mass!.data as Float32Array;
      const sMin = out.scaleMin?.data as Float32Array | undefined;
      const sMax = out.scaleMax?.data as Float32Array | undefined;
      const P = out.plan?.data as Float32Array | undefined;
      for (let k = 0; k < B; k++) {
        const c = cost[k]!;
        let healthy = Number.isFinite(c) && Math.abs(mass[k]! - 1) < 1e-3;
        if (sMin !== undefined && sMax !== undefined) healthy &&= sMin[k]! >= SCALING_LIMITS.min && sMax[k]! <= SCALING_LIMITS.max;
        const sol: PairSolution = { cost: c, healthy };
        if (P !== undefined) {
          const nq = q.qLen[q.qCount === 1 ? 0 : k]!;
          sol.plan = trimPlan(P, k * q.n * q.m, q.m, nq, q.dLen[k]!);
        }
        results[pairs[k]!] = sol;
      }
      for (const t of Object.values(out)) (t as { dispose?: () => void }).dispose?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(ONNX_CONCURRENCY, batches.length) }, worker));
  return results;
}

/** Whether onnxruntime-node loads and runs a tiny Sinkhorn here. */
export async function probeOnnx(): Promise<void> {
  const ort = await loadOrt();
  const sess = await session(ort, "kernel", "graph", false);
  const out = await sess.run({
    X: new ort.Tensor("float32", new Float32Array([1, 0]), [1, 1, 2]),
    Y: new ort.Tensor("float32", new Float32Array([1, 0, 0, 1]), [1, 2, 2]),
    a: new ort.Tensor("float32", new Float32Array([1]), [1, 1]),
    b: new ort.Tensor("float32", new Float32Array([0.5, 0.5]), [1, 2]),
    mx: new ort.Tensor("float32", new Float32Array([1]), [1, 1]),
    my: new ort.Tensor("float32", new Float32Array([1, 1]), [1, 2]),
    reg: new ort.Tensor("float32", new Float32Array([0.1]), []),
    iterations: new ort.Tensor("int64", new BigInt64Array([5n]), []),
  });
  const c = (out.cost!.data as Float32Array)[0]!;
  if (!(Math.abs(c - 0.5) < 1e-4)) throw new Error(`onnx probe: cost ${c}, expected 0.5`);
}
