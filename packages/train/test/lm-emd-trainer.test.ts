import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type HeadConfig, loadEncoder } from "@crossrank/encode";
import { evaluate } from "@crossrank/metrics";
import { LmEmdRanker } from "@crossrank/rankers";
import { describe, expect, it } from "vitest";
import { emdScoreAndGrad } from "../src/emd.js";
import { TrainableHead } from "../src/head-trainer.js";
import { type LmEmdGroup, type LmEmdLossOptions, lmEmdBatchLoss, lmEmdBatchLossBatched, trainLmEmdHead } from "../src/lm-emd-trainer.js";
import { pairwiseHingeLoss } from "../src/losses/index.js";
import { expectGradient, finiteDifferenceF32, relativeError, randomGroups, seeded, uniformArray } from "./grad-check.js";
import { parallelTask } from "./helpers/parallel-task.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

const tmp = useTemporaryCache("crossrank-lm-emd-train-");

/**
 * Which quantity the gradient is exact for. lmEmdBatchLoss's gradient holds the Sinkhorn plan
 * fixed: ∂distance/∂C = P. That is the exact gradient of the entropic value W_γ = <C, P*> + γ Σ P*
 * (log P* − 1) at convergence (envelope theorem), so the check builds the scores from W_γ
 * (`distance: "entropic"`), solves tightly (tol 1e-13, up to 20000 iterations) and compares with
 * central differences of the whole batch loss, the plan re-solved at every perturbed weight. For
 * the transport cost <C, P*> (what the ranker computes, `distance: "transport"`) the same gradient
 * leaves out <C, ∂P* / ∂C>: a surrogate, measured in emd.test.ts, not claimed exact here.
 */
const TIGHT: LmEmdLossOptions = { gamma: 0.5, iterations: 20000, tol: 1e-13, distance: "entropic" };

describe("lmEmdBatchLoss: gradient in the head's parameters vs finite differences (envelope-exact quantity)", () => {
  const heads: [string, HeadConfig][] = [
    ["linear", { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "linear", input: 4, output: 3, appliesTo: "tokens" }],
    ["mlp tanh", { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "mlp", input: 3, output: 3, hidden: 4, activation: "tanh", appliesTo: "tokens" }],
  ];
  const cases: [string, LmEmdLossOptions][] = [
    ["cross-entropy", { loss: "cross-entropy" }],
    ["pairwise, margin 0", { loss: "pairwise", margin: 0 }],
    ["pairwise, margin 0.5", { loss: "pairwise", margin: 0.5 }],
  ];
  for (const [headName, config] of heads) {
    for (const [lossName, lossOptions] of cases) {
      it(`${headName}, ${lossName}, a batch of 2 groups of 4`, () => {
        const rng = seeded(headName.length * 31 + lossName.length);
        const head = TrainableHead.init(config, rng);
        for (const p of head.params()) for (let k = 0; k < p.length; k++) p[k] = (2 * rng() - 1) * 0.7;
        const groups = randomGroups(rng, config.input, 2, 4);
        const options = { ...TIGHT, ...lossOptions };
        const out = lmEmdBatchLoss(head, groups, options);
        expect(out.distances.map((d) => d.length)).toEqual([4, 4]);
        if (lossOptions.loss === "pairwise") {
          // The hinge has kinks: the check needs every pair away from one (and some pairs active).
          const gaps = out.distances.flatMap((d) => Array.from(d.subarray(1), (x) => (lossOptions.margin ?? 0) - (d[0]! - x)));
          expect(Math.min(...gaps.map(Math.abs))).toBeGreaterThan(0.01);
          expect(gaps.some((g) => g > 0)).toBe(true);
        }
        const lossOf = (): number => lmEmdBatchLoss(head, groups, options).loss;
        const h = 3e-3;
        head.paramNames().forEach((name, k) => {
          expectGradient(out.grads[k]!, finiteDifferenceF32(lossOf, head.weights[name]!, h), `${headName} ${lossName} ∂L/∂${name}`);
        });
      });
    }
  }

  it("for the transport distance (the ranker's score) the same gradient is a surrogate: close for small γ, not for large", () => {
    // Measured, not hidden: central differences of the cross-entropy over 1 − <C, P*(C)> (plan
    // re-solved) against the plan-fixed gradient. Seed 7 gives relative gaps 0.030 (γ 0.05),
    // 0.089 (γ 0.1), 0.53 (γ 0.5), 0.52 (γ 1): the missing term <C, ∂P* / ∂C> matters at the
    // sweep's γ = 1 (training there descends W_γ, which ranks like the ranker's distance but is not it).
    const gap = (gamma: number): number => {
      const rng = seeded(7);
      const config = heads[0]![1];
      const head = TrainableHead.init(config, rng);
      for (const p of head.params()) for (let k = 0; k < p.length; k++) p[k] = (2 * rng() - 1) * 0.7;
      const mk = (n: number) => ({ rows: Float32Array.from(uniformArray(rng, n * config.input)), length: n });
      const groups = [{ query: mk(3), docs: [mk(3), mk(4), mk(2)] }];
      const o: LmEmdLossOptions = { gamma, iterations: 50000, tol: 1e-14, loss: "cross-entropy", distance: "transport" };
      const analytic = lmEmdBatchLoss(head, groups, o).grads[0]!;
      return relativeError(analytic, finiteDifferenceF32(() => lmEmdBatchLoss(head, groups, o).loss, head.weights.weight!, 3e-3));
    };
    expect(gap(0.05)).toBeLessThan(0.05);
    expect(gap(0.5)).toBeGreaterThan(0.2);
  });

  it('gradient "unrolled" is exact for the transport distance after a fixed number of iterations (the study\'s autograd)', () => {
    // Backpropagation through exactly `iterations` kernel-domain iterations: central differences of
    // the loss over 1 − <C, P_k(C)> (k iterations, re-run at every perturbed weight) must match, at a
    // γ where the envelope gradient is 50% off (previous test).
    const rng = seeded(7);
    const config = heads[0]![1];
    const head = TrainableHead.init(config, rng);
    for (const p of head.params()) for (let k = 0; k < p.length; k++) p[k] = (2 * rng() - 1) * 0.7;
    const mk = (n: number) => ({ rows: Float32Array.from(uniformArray(rng, n * config.input)), length: n });
    const groups = [{ query: mk(3), docs: [mk(3), mk(4), mk(2)] }];
    const o: LmEmdLossOptions = { gamma: 0.5, iterations: 60, method: "kernel", loss: "cross-entropy", gradient: "unrolled" };
    const analytic = lmEmdBatchLoss(head, groups, o).grads[0]!;
    expectGradient(analytic, finiteDifferenceF32(() => lmEmdBatchLoss(head, groups, o).loss, head.weights.weight!, 3e-3), "unrolled ∂L/∂weight");
  });
});

describe("lmEmdBatchLoss: the study's losses on s = 1 − distance", () => {
  it("pairwise = MarginRankingLoss(margin 0) between the relevant document and each negative, over the batch", () => {
    const rng = seeded(3);
    const config: HeadConfig = { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "linear", input: 3, output: 3, appliesTo: "tokens" };
    const head = TrainableHead.init(config, rng); // identity
    const groups = randomGroups(rng, 3, 2, 5);
    const opts = { gamma: 0.3, iterations: 200 };
    const out = lmEmdBatchLoss(head, groups, { ...opts, loss: "pairwise" });
    const pos: number[] = [];
    const neg: number[] = [];
    for (const g of groups) {
      const d = g.docs.map((doc) => emdScoreAndGrad(g.query.rows, g.query.length, doc.rows, doc.length, 3, opts).distance);
      for (let j = 1; j < d.length; j++) {
        pos.push(1 - d[0]!);
        neg.push(1 - d[j]!);
      }
    }
    expect(out.loss).toBeCloseTo(pairwiseHingeLoss(pos, neg, 0).loss, 6);
  });

  it("cross-entropy over raw scores: log 5 when the 5 distances are equal", () => {
    const rows = Float32Array.from([1, 0, 0, 0, 1, 0]);
    const group: LmEmdGroup = { query: { rows, length: 2 }, docs: Array.from({ length: 5 }, () => ({ rows, length: 2 })) };
    const config: HeadConfig = { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "linear", input: 3, output: 3, appliesTo: "tokens" };
    const head = TrainableHead.init(config, () => 0);
    const out = lmEmdBatchLoss(head, [group], { loss: "cross-entropy", gamma: 0.1 });
    expect(out.loss).toBeCloseTo(Math.log(5), 10);
    // Equal scores: softmax 1/5 each, ∂L/∂s_0 = 1/5 − 1: a non-zero gradient pulling the relevant rows together.
    expect(out.grads.some((g) => g.some((x) => x !== 0))).toBe(true);
  });

  it("the batched solver (the ranker's) gives the reference's loss, distances and gradients to float32 accuracy", async () => {
    const rng = seeded(11);
    const config: HeadConfig = { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "mlp", input: 6, output: 6, hidden: 5, activation: "gelu", appliesTo: "tokens" };
    const head = TrainableHead.init(config, rng);
    for (const p of head.params()) for (let k = 0; k < p.length; k++) p[k] = (2 * rng() - 1) * 0.5;
    const groups = randomGroups(rng, 6, 3, 5);
    for (const loss of ["pairwise", "cross-entropy"] as const) {
      const opts: LmEmdLossOptions = { loss, gamma: 0.2, iterations: 100, method: "kernel" };
      const reference = lmEmdBatchLoss(head, groups, opts);
      const batched = await lmEmdBatchLossBatched(head, groups, opts);
      expect(batched.loss).toBeCloseTo(reference.loss, 5);
      batched.distances.forEach((d, g) => d.forEach((x, j) => expect(x).toBeCloseTo(reference.distances[g]![j]!, 5)));
      batched.grads.forEach((g, k) => expect(relativeError(g, reference.grads[k]!), `${loss} grad ${k}`).toBeLessThan(1e-4));
    }
    await expect(lmEmdBatchLossBatched(head, groups, { distance: "entropic" })).rejects.toThrow(/transport distance only/);
  });

  it("rejects a group without a negative and an unknown loss", () => {
    const head = TrainableHead.init({ format: "crossrank-head", version: 1, encoder: "x", type: "linear", input: 2, output: 2, appliesTo: "tokens" }, () => 0);
    const one = { rows: Float32Array.from([1, 0]), length: 1 };
    expect(() => lmEmdBatchLoss(head, [{ query: one, docs: [one] }])).toThrow(/group 0 has 1 documents/);
    expect(() => lmEmdBatchLoss(head, [{ query: one, docs: [one, one] }], { loss: "hinge" as "pairwise" })).toThrow(/loss must be/);
  });
});

/** A tiny parallel task: German queries, English documents, query i ↔ document i. */
const { queries, documents, pairs, qrels } = parallelTask();

describe("trainLmEmdHead on a tiny parallel task with the fixture model", { timeout: 120_000 }, () => {
  const base = { encoder: "fixture:bert", encoderOptions: { maxLength: 24 }, pairs, pool: documents, gamma: 0.1, iterations: 50, group: 4, negatives: "random" as const, plot: false };

  it("lowers the training loss, writes a head folder the lm-emd ranker ranks with, and changes the ranking", async () => {
    const out = join(tmp.dir, "ce");
    const result = await trainLmEmdHead({ ...base, loss: "cross-entropy", epochs: 8, optimizer: { lr: 0.02 }, seed: 3, out, plot: true });
    expect(result.steps).toBe(8 * pairs.length);
    expect(result.firstEpochLoss).toBeDefined();
    expect(result.lastEpochLoss!).toBeLessThan(result.firstEpochLoss!);
    expect(result.negatives).toEqual({ bm25: 0, random: 3 * pairs.length });
    for (const f of ["crossrank-head.json", "head.safetensors", "log.jsonl", "plot.svg", "checkpoint"]) expect(existsSync(join(out, f)), f).toBe(true);

    const config = JSON.parse(await readFile(join(out, "crossrank-head.json"), "utf8")) as HeadConfig;
    expect(config).toMatchObject({ encoder: "fixture:bert", encoderOptions: { maxLength: 24 }, type: "linear", input: 32, output: 32, appliesTo: "tokens" });
    expect(config.trainedBy).toMatchObject({ stage: "lm-emd", loss: "cross-entropy", gamma: 0.1, iterations: 50, group: 4, negatives: "random", epochs: 8, lr: 0.02, weightDecay: 0.01, seed: 3, steps: 80 });

    const headed = await loadEncoder(out);
    expect(headed.id).toMatch(/^fixture:bert.*\+head:[0-9a-f]{12}$/);
    await headed.dispose();

    const input = { queries, documents };
    const before = await new LmEmdRanker({ encoder: "fixture:bert", maxLength: 24, gamma: 0.1, iterations: 50 }).rank(input);
    const after = await new LmEmdRanker({ encoder: out, maxLength: 24, gamma: 0.1, iterations: 50 }).rank(input);
    const order = (run: typeof before) => [...run.values()].map((m) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id).join(","));
    expect(order(after)).not.toEqual(order(before));
    // On the pairs it was trained on, the head ranks the relevant documents higher.
    const mrr = (run: typeof before) => evaluate(qrels, run, ["MRR@10"]).mean["MRR@10"]!;
    expect(mrr(after)).toBeGreaterThan(mrr(before));
  });

  it("pairwise with BM25 negatives: the loss goes down; 0 epochs write the identity head (the base ranking)", async () => {
    const result = await trainLmEmdHead({ ...base, negatives: "bm25", loss: "pairwise", epochs: 3, optimizer: { lr: 0.01 }, solver: "reference", out: join(tmp.dir, "pw") });
    expect(result.lastEpochLoss!).toBeLessThan(result.firstEpochLoss!);
    expect(result.negatives.bm25 + result.negatives.random).toBe(3 * pairs.length);
    expect(result.config.trainedBy).toMatchObject({ loss: "pairwise", margin: 0, negatives: "bm25", bm25Depth: 20, solver: "reference" });

    const identity = await trainLmEmdHead({ ...base, epochs: 0, out: join(tmp.dir, "identity") });
    expect(identity.steps).toBe(0);
    const w = identity.head.weights.weight!;
    for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) expect(w[i * 32 + j]).toBe(i === j ? 1 : 0);
    const input = { queries, documents };
    const plain = await new LmEmdRanker({ encoder: "fixture:bert", maxLength: 24 }).rank(input);
    const headed = await new LmEmdRanker({ encoder: join(tmp.dir, "identity"), maxLength: 24 }).rank(input);
    expect(headed).toEqual(plain);
  });

  it("is deterministic, and a run resumed from its epoch-1 checkpoint ends with the uninterrupted run's weights", async () => {
    const common = { ...base, loss: "pairwise" as const, optimizer: { lr: 0.01 }, seed: 5 };
    const full = await trainLmEmdHead({ ...common, epochs: 2, out: join(tmp.dir, "full") });
    const again = await trainLmEmdHead({ ...common, epochs: 2, out: join(tmp.dir, "again") });
    expect(await readFile(join(tmp.dir, "again", "head.safetensors"))).toEqual(await readFile(join(tmp.dir, "full", "head.safetensors")));
    await trainLmEmdHead({ ...common, epochs: 1, out: join(tmp.dir, "resumed") });
    const resumed = await trainLmEmdHead({ ...common, epochs: 2, out: join(tmp.dir, "resumed"), resume: true });
    expect(resumed.steps).toBe(full.steps);
    expect(Array.from(resumed.head.weights.weight!)).toEqual(Array.from(full.head.weights.weight!));
    expect(Array.from(resumed.head.weights.bias!)).toEqual(Array.from(again.head.weights.bias!));
  });

  it("rejects bad options, naming them", async () => {
    const out = join(tmp.dir, "bad");
    await expect(trainLmEmdHead({ ...base, epochs: 1, out, loss: "hinge" as "pairwise" })).rejects.toThrow(/loss must be "pairwise" or "cross-entropy"/);
    await expect(trainLmEmdHead({ ...base, epochs: 1, out, group: 20 })).rejects.toThrow(/pairs\[0\] has 9 possible negatives in the pool, a group of 20 needs 19/);
    await expect(trainLmEmdHead({ ...base, epochs: 1, out, head: { appliesTo: "sentence" as "tokens" } })).rejects.toThrow(/appliesTo must be "tokens"/);
    await expect(trainLmEmdHead({ ...base, epochs: 1, out, pairs: [] })).rejects.toThrow(/pairs must be a non-empty list/);
    await expect(trainLmEmdHead({ ...base, epochs: -1, out })).rejects.toThrow(/epochs must be an integer >= 0/);
  });
});
