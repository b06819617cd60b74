/**
 * A small deterministic training problem for the trainer tests: linear regression y = W x + b with
 * an MSE loss on seeded data, shuffled mini-batches (the last one partial), a dev evaluation, and
 * caller state ("mined" hard examples chosen at each epoch end and appended to the next epoch's
 * data) so that resumption has to restore more than parameters and RNG.
 *
 * Imports only the package's sources (no vitest): the resume test also runs it in a child process.
 */
import { Rng, permutation } from "../../src/rng.js";
import type { TrainLoopOptions } from "../../src/trainer.js";

export const DIN = 4;
export const DOUT = 2;
export const N = 48;
export const BATCH = 5;

export interface ProblemOptions {
  /** Throw from step() on its `crashAtCall`-th call in this run (1-based). */
  crashAtCall?: number;
  /** Throw from evaluate() on its `crashAtEvaluation`-th call in this run (1-based). */
  crashAtEvaluation?: number;
  /** Busy-wait this many milliseconds in every step (for the SIGKILL test). */
  slowMs?: number;
  epochs?: number;
  checkpointEvery?: number;
  /** Write the plot (default false). */
  plot?: boolean;
  /** fsync checkpoints (default false here: the tests simulate process crashes, not power loss). */
  fsync?: boolean;
}

export interface Problem {
  params: Float32Array[];
  /** step() calls so far. */
  calls(): number;
  options(dir: string): TrainLoopOptions<number[]>;
}

export function makeProblem(p: ProblemOptions = {}): Problem {
  const data = new Rng(12345);
  const trueW = Array.from({ length: DOUT * DIN }, () => data.normal());
  const x = new Float32Array(N * DIN).map(() => data.normal());
  const y = new Float32Array(N * DOUT);
  for (let i = 0; i < N; i++) {
    for (let o = 0; o < DOUT; o++) {
      let s = 0.3 * (o + 1);
      for (let k = 0; k < DIN; k++) s += (trueW[o * DIN + k] as number) * (x[i * DIN + k] as number);
      y[i * DOUT + o] = s + 0.1 * data.normal();
    }
  }
  const W = new Float32Array(DOUT * DIN).map(() => 0.1 * data.normal());
  const b = new Float32Array(DOUT);
  const params = [W, b];

  let hard: number[] = [];
  let calls = 0;
  let evaluations = 0;

  const predict = (i: number, o: number): number => {
    let s = b[o] as number;
    for (let k = 0; k < DIN; k++) s += (W[o * DIN + k] as number) * (x[i * DIN + k] as number);
    return s;
  };
  const residual = (i: number): number => {
    let r = 0;
    for (let o = 0; o < DOUT; o++) r += (predict(i, o) - (y[i * DOUT + o] as number)) ** 2;
    return r;
  };
  const sleep = (ms: number): void => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  };

  return {
    params,
    calls: () => calls,
    options: (dir) => ({
      dir,
      params,
      paramNames: ["weight", "bias"],
      paramShapes: [[DOUT, DIN], [DOUT]],
      epochs: p.epochs ?? 6,
      seed: 7,
      checkpointEvery: p.checkpointEvery ?? 3,
      clock: () => 0,
      plot: p.plot ?? false,
      fsync: p.fsync ?? false,
      optimizer: { lr: 0.05, weightDecay: 0.01, warmupSteps: 3, schedule: "linear", maxGradNorm: 5 },
      batches(_epoch, rng) {
        const order = [...permutation(N, rng), ...hard];
        const out: number[][] = [];
        for (let s = 0; s < order.length; s += BATCH) out.push(order.slice(s, s + BATCH));
        return out;
      },
      step(batch) {
        calls += 1;
        if (p.crashAtCall !== undefined && calls === p.crashAtCall) throw new Error(`simulated crash at call ${calls}`);
        if (p.slowMs !== undefined) sleep(p.slowMs);
        const gW = new Float32Array(DOUT * DIN);
        const gb = new Float32Array(DOUT);
        let loss = 0;
        const scale = 1 / (batch.length * DOUT);
        for (const i of batch) {
          for (let o = 0; o < DOUT; o++) {
            const e = predict(i, o) - (y[i * DOUT + o] as number);
            loss += e * e * scale;
            const g = 2 * e * scale;
            gb[o] = (gb[o] as number) + g;
            for (let k = 0; k < DIN; k++) gW[o * DIN + k] = (gW[o * DIN + k] as number) + g * (x[i * DIN + k] as number);
          }
        }
        return { loss, grads: [gW, gb] };
      },
      evaluate() {
        evaluations += 1;
        if (p.crashAtEvaluation !== undefined && evaluations === p.crashAtEvaluation) throw new Error("simulated crash in evaluate");
        let mse = 0;
        for (let i = 0; i < 8; i++) mse += residual(i) / 8;
        // Coarse, so that some epochs bring no gain (exercises patience and lr halving).
        return { mse: Math.round(mse * 20) / 20, rows: 8 };
      },
      earlyStopping: { measure: "mse", mode: "min", patience: 3, halveLrOnNoGain: true },
      onEpochEnd() {
        // "Mining": the two rows with the largest residual are repeated in the next epoch.
        hard = Array.from({ length: N }, (_, i) => i)
          .sort((a, c) => residual(c) - residual(a) || a - c)
          .slice(0, 2);
      },
      userState: {
        save: () => ({ hard }),
        load: (value) => {
          hard = [...((value as { hard: number[] }).hard ?? [])];
        },
      },
    }),
  };
}
