/**
 * One process-wide onnxruntime-node CPU session per small graph that a ranker builds itself
 * (MaxSim, dense scoring): created on first use, so that BM25-only users never load onnxruntime,
 * and forgotten when creation fails, so that a later call retries.
 */
import type * as Ort from "onnxruntime-node";

export type OrtModule = typeof Ort;

/** onnxruntime-node and a session of one model. */
export interface CpuSession {
  ort: OrtModule;
  session: Ort.InferenceSession;
}

let ortPromise: Promise<OrtModule> | undefined;

/** onnxruntime-node, loaded once (rejects with the loader's error when the binary can't load). */
export function loadOrt(): Promise<OrtModule> {
  ortPromise ??= import("onnxruntime-node").then((m) => ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule);
  return ortPromise;
}

/**
 * A getter of the session of the model `build()` returns, run sequentially with `threads`
 * intra-op threads (runs of one ranker never overlap, so inter-op parallelism would only add
 * threads).
 */
export function lazyCpuSession(build: () => Uint8Array, threads: number): () => Promise<CpuSession> {
  let pending: Promise<CpuSession> | undefined;
  return () => {
    if (pending === undefined) {
      const p = loadOrt().then(async (ort) => ({
        ort,
        session: await ort.InferenceSession.create(build(), {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: "all",
          executionMode: "sequential",
          logSeverityLevel: 3,
        }),
      }));
      p.catch(() => {
        if (pending === p) pending = undefined;
      });
      pending = p;
    }
    return pending;
  };
}
