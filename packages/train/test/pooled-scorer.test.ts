import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type HeadConfig, loadEncoder } from "@crossrank/encode";
import { PooledRanker } from "@crossrank/rankers";
import { describe, expect, it } from "vitest";
import { TrainableHead } from "../src/head-trainer.js";
import type { LmEmdGroup } from "../src/lm-emd-trainer.js";
import { trainPooledHead } from "../src/lm-emd-trainer.js";
import { cosineAndGrad, pooledBatchLoss, poolRows, type TrainPooling } from "../src/pooled-scorer.js";
import { expectGradient, finiteDifference, finiteDifferenceF32, randomGroups, seeded, uniformArray } from "./grad-check.js";
import { parallelTask } from "./helpers/parallel-task.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

const tmp = useTemporaryCache("crossrank-pooled-train-");

describe("the pooled cosine scorer's gradient vs finite differences", () => {
  it("cosine of two vectors", () => {
    const rng = seeded(7);
    const u = uniformArray(rng, 5);
    const v = uniformArray(rng, 5);
    const { du, dv } = cosineAndGrad(u, v);
    expectGradient(du, finiteDifference(() => cosineAndGrad(u, v).cosine, u), "∂cos/∂u", 1e-6);
    expectGradient(dv, finiteDifference(() => cosineAndGrad(u, v).cosine, v), "∂cos/∂v", 1e-6);
    // A zero vector scores 0 (the ranker's normalisation leaves it zero) with no gradient.
    expect(cosineAndGrad(new Float64Array(5), v)).toMatchObject({ cosine: 0 });
  });

  it("pools as encode's poolBatch does: cls row 0, max element-wise (first row on ties), mean", () => {
    const rows = Float32Array.from([1, -2, 3, 5, -2, 0, 2, 4, -1]);
    expect(Array.from(poolRows(rows, 3, 3, "cls").vector)).toEqual([1, -2, 3]);
    const max = poolRows(rows, 3, 3, "max");
    expect(Array.from(max.vector)).toEqual([5, 4, 3]);
    expect(Array.from(max.argmax!)).toEqual([1, 2, 0]);
    expect(Array.from(poolRows(rows, 3, 3, "mean").vector)).toEqual([8 / 3, 0, 2 / 3]);
  });

  const heads: [string, HeadConfig][] = [
    ["linear", { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "linear", input: 4, output: 3, appliesTo: "tokens" }],
    ["mlp tanh", { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "mlp", input: 3, output: 3, hidden: 4, activation: "tanh", appliesTo: "tokens" }],
  ];
  for (const pooling of ["cls", "max", "mean"] as TrainPooling[]) {
    for (const [headName, config] of heads) {
      for (const loss of ["cross-entropy", "pairwise"] as const) {
        it(`${pooling}, ${headName} head, ${loss}: a batch of 2 groups of 4`, () => {
          // Max pooling has kinks where two rows tie: draw (deterministically) until every dimension's winner leads by more than a step moves it.
          const minLead = (head: TrainableHead, groups: LmEmdGroup[]): number => {
            let lead = Infinity;
            for (const t of groups.flatMap((g) => [g.query, ...g.docs])) {
              const y = head.forward(t.rows, t.length).y;
              for (let k = 0; k < head.output; k++) {
                const column = Array.from({ length: t.length }, (_, r) => y[r * head.output + k]!).sort((a, b) => b - a);
                lead = Math.min(lead, column[0]! - column[1]!);
              }
            }
            return lead;
          };
          let seed = pooling.length * 131 + headName.length * 31 + loss.length;
          let rng: () => number;
          let head: TrainableHead;
          let groups: LmEmdGroup[];
          do {
            rng = seeded(seed++);
            head = TrainableHead.init(config, rng);
            for (const p of head.params()) for (let k = 0; k < p.length; k++) p[k] = (2 * rng() - 1) * 0.7;
            groups = randomGroups(rng, config.input, 2, 4);
          } while (pooling === "max" && minLead(head, groups) < 0.02);
          // Margin 1 makes every pair active (cosines differ by < 2), so no hinge kink lies within a step.
          const options = { pooling, loss, margin: loss === "pairwise" ? 1 : 0 };
          const out = pooledBatchLoss(head, groups, options);
          expect(out.distances.map((d) => d.length)).toEqual([4, 4]);
          const lossOf = (): number => pooledBatchLoss(head, groups, options).loss;
          head.paramNames().forEach((name, k) => {
            expectGradient(out.grads[k]!, finiteDifferenceF32(lossOf, head.weights[name]!, 1e-3), `${pooling} ${headName} ${loss} ∂L/∂${name}`, 2e-3);
          });
        });
      }
    }
  }

  it("rejects an unknown pooling and a group without a negative", () => {
    const head = TrainableHead.init({ format: "crossrank-head", version: 1, encoder: "x", type: "linear", input: 2, output: 2, appliesTo: "tokens" }, () => 0);
    const rows = { rows: Float32Array.from([1, 0]), length: 1 };
    expect(() => pooledBatchLoss(head, [{ query: rows, docs: [rows, rows] }], { pooling: "sum" as "max" })).toThrow(/pooling must be "cls", "max" or "mean"/);
    expect(() => pooledBatchLoss(head, [{ query: rows, docs: [rows] }], { pooling: "max" })).toThrow(/group 0 has 1 documents/);
  });
});

// Eight of the ten sentence pairs (no Rhine, no library): the thresholds below were set on these.
const { german: GERMAN, english: ENGLISH, queries, documents, pairs } = parallelTask([0, 1, 2, 3, 5, 6, 7, 9]);

describe("trainPooledHead on a tiny parallel task with the fixture model", { timeout: 120_000 }, () => {
  const base = { encoder: "fixture:bert", encoderOptions: { maxLength: 24 }, pairs, pool: documents, group: 4, negatives: "random" as const, plot: false, optimizer: { lr: 0.02 }, seed: 3 };

  for (const [ranker, pooling] of [
    ["bert-max", "max"],
    ["bert-mean", "mean"],
    ["bert-cls", "cls"],
  ] as const) {
    it(`${ranker}: lowers the training loss, and the ranker over the head folder scores with exactly the trained head`, async () => {
      const out = join(tmp.dir, ranker);
      const result = await trainPooledHead({ ...base, pooling, loss: "cross-entropy", epochs: 6, out });
      expect(result.lastEpochLoss!).toBeLessThan(result.firstEpochLoss!);
      const config = JSON.parse(await readFile(join(out, "crossrank-head.json"), "utf8")) as HeadConfig;
      expect(config).toMatchObject({ encoder: "fixture:bert", appliesTo: "tokens", pooling, normalize: true });
      expect(config.trainedBy).toMatchObject({ stage: ranker, score: "cosine", pooling, loss: "cross-entropy", epochs: 6 });
      expect(config.trainedBy).not.toHaveProperty("gamma");

      // The ranker's scores over the head folder = the trainer's cosines of the trained head on the base rows.
      const run = await new PooledRanker(ranker, { encoder: out, maxLength: 24 }).rank({ queries, documents }, { k: documents.length });
      const baseEncoder = await loadEncoder("fixture:bert", { maxLength: 24 });
      const tokens = await baseEncoder.encodeTokens([...GERMAN, ...ENGLISH]);
      await baseEncoder.dispose();
      const rowsOf = (i: number) => (pooling === "cls" ? { rows: tokens[i]!.embeddings.slice(0, 32), length: 1 } : { rows: tokens[i]!.embeddings, length: tokens[i]!.special.length });
      const groups = GERMAN.map((_, qi) => ({ query: rowsOf(qi), docs: ENGLISH.map((_, di) => rowsOf(GERMAN.length + di)) }));
      const { distances } = pooledBatchLoss(result.head, groups, { pooling });
      queries.forEach((q, qi) => {
        documents.forEach((d, di) => expect(run.get(q.id)!.get(d.id)!).toBeCloseTo(1 - distances[qi]![di]!, 5));
      });
      // And the trained head is not the identity: the base ranker scores differently.
      const plain = await new PooledRanker(ranker, { encoder: "fixture:bert", maxLength: 24 }).rank({ queries, documents }, { k: documents.length });
      expect(Math.abs(plain.get("q0")!.get("d0")! - run.get("q0")!.get("d0")!)).toBeGreaterThan(1e-4);
    });
  }

  it("pairwise (MarginRankingLoss, margin 0) lowers the loss too; Sinkhorn settings are refused", async () => {
    const result = await trainPooledHead({ ...base, pooling: "mean", loss: "pairwise", epochs: 4, out: join(tmp.dir, "pairwise") });
    expect(result.lastEpochLoss!).toBeLessThan(result.firstEpochLoss!);
    await expect(trainPooledHead({ ...base, pooling: "mean", epochs: 1, out: join(tmp.dir, "bad"), gamma: 1 } as Parameters<typeof trainPooledHead>[0])).rejects.toThrow(/gamma applies to LM-EMD's Sinkhorn distance, not to pooling "mean"/);
    await expect(trainPooledHead({ ...base, pooling: "sum" as "mean", epochs: 1, out: join(tmp.dir, "bad") })).rejects.toThrow(/pooling must be "cls", "max" or "mean"/);
  });
});
