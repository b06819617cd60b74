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
  // "#onnxruntime-node" is onnxruntime-node itself, or under the "browser" condition a module that
  // fails to load (package.json "imports"): a browser page never fetches a Node module.
  ortPromise ??= import("#onnxruntime-node").then((m) => ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule);
  return ortPromise;
}

/**
 * Intra-op threads of a session: the environment variable `variable` when it holds a positive
 * number, else every core. Read when the first session is made (after onnxruntime-node loaded), so
 * that nothing of Node's is touched before.
 */
async function cpuThreads(variable: string): Promise<number> {
  const { availableParallelism } = await import("node:os");
  return Number(process.env[variable] ?? 0) || Math.max(1, availableParallelism());
}

/**
 * A getter of the session of the model `build()` returns, run sequentially with the intra-op
 * threads of {@link cpuThreads} (runs of one ranker never overlap, so inter-op parallelism would only add
 * threads).
 */
export function lazyCpuSession(build: () => Uint8Array, threadsVariable: string): () => Promise<CpuSession> {
  let pending: Promise<CpuSession> | undefined;
  return () => {
    if (pending === undefined) {
      const p = loadOrt().then(async (ort) => ({
        ort,
        session: await ort.InferenceSession.create(build(), {
          intraOpNumThreads: await cpuThreads(threadsVariable),
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
