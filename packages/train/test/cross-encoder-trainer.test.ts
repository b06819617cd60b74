import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCrossEncoder, loadPairFeatures } from "@crossrank/encode";
import { createRanker } from "@crossrank/rankers";
import { describe, expect, it } from "vitest";
import { trainCrossEncoderHead, type RelevancePair } from "../src/cross-encoder-trainer.js";
import { relevanceRankingLoss } from "../src/losses/index.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

const tmp = useTemporaryCache("crossrank-ce-train-");

// A query is a sentence's first words; its relevant document is the sentence (the fixture corpus' English lines).
const SENTENCES = [
  "The river flows slowly through the old town.",
  "Bread is baked every morning in the small shop on the corner.",
  "Water boils at one hundred degrees at sea level.",
  "The library opens at nine and closes at six.",
  "Many birds fly south when the days get shorter.",
  "The museum shows paintings from the last three centuries.",
  "A train leaves for the coast every hour.",
  "The moon moves around the Earth in about four weeks.",
];
const PAIRS: RelevancePair[] = SENTENCES.map((s, i) => ({ query: s.split(" ").slice(0, 3).join(" "), queryId: `q${i}`, relevant: s, relevantId: `d${i}` }));
const POOL = SENTENCES.map((s, i) => ({ id: `d${i}`, text: s }));
const MODEL = "fixture:cross-encoder";

/** Per query, the rank (1 = first) of its relevant document among all documents under `scores` [query, doc]. */
function ranks(scores: Float32Array): number[] {
  const n = SENTENCES.length;
  return PAIRS.map((_, q) => 1 + SENTENCES.filter((_, d) => d !== q && scores[q * n + d]! > scores[q * n + q]!).length);
}
const allPairs = PAIRS.flatMap((p) => SENTENCES.map((s) => [p.query, s] as [string, string]));

describe("trainCrossEncoderHead (relevance ranking, frozen encoder)", () => {
  it("epochs 0 writes the checkpoint's classifier: the head folder scores as the model", async () => {
    const out = join(tmp.dir, "identity");
    const result = await trainCrossEncoderHead({ model: MODEL, pairs: PAIRS, pool: POOL, epochs: 0, out });
    expect(result.steps).toBe(0);
    expect(result.config).toMatchObject({ encoder: MODEL, type: "linear", appliesTo: "pair", output: 1 });
    const [base, headed] = [await loadCrossEncoder(MODEL, { backend: "onnx" }), await loadCrossEncoder(out)];
    try {
      const [a, b] = [await base.score(allPairs), await headed.score(allPairs)];
      a.forEach((s, i) => expect(Math.abs(s - b[i]!)).toBeLessThan(1e-5));
    } finally {
      await base.dispose();
      await headed.dispose();
    }
  });

  it("lowers the RR loss, changes the ranking, and the ranker's scores are the trained head's", async () => {
    const out = join(tmp.dir, "trained");
    const result = await trainCrossEncoderHead({ model: MODEL, pairs: PAIRS, pool: POOL, group: 4, negatives: "random", epochs: 40, batchSize: 4, optimizer: { lr: 0.5, weightDecay: 0 }, seed: 3, out });
    expect(result.steps).toBe(40 * 2);
    // The fixture's pooled features differ little between pairs (a random tiny BERT), so the classifier needs a large lr to move.
    expect(result.lastEpochLoss!).toBeLessThan(result.firstEpochLoss! * 0.95);
    expect(result.negatives).toEqual({ bm25: 0, random: PAIRS.length * 3 });
    const config = JSON.parse(await readFile(join(out, "crossrank-head.json"), "utf8"));
    expect(config.trainedBy).toMatchObject({ stage: "cross-encoder", loss: "relevance-ranking", group: 4, negatives: "random", epochs: 40, steps: 80 });

    const features = await loadPairFeatures(MODEL);
    const [base, trained] = [await loadCrossEncoder(MODEL, { backend: "onnx" }), await loadCrossEncoder(out)];
    try {
      // The ranker's scores = the returned head over the model's features.
      const x = await features.features(allPairs);
      const { y } = result.head.forward(x, allPairs.length);
      const after = await trained.score(allPairs);
      after.forEach((s, i) => expect(Math.abs(s - y[i]!)).toBeLessThan(1e-5));
      // The cross-encoder ranker over the head folder ranks by those scores.
      const run = await createRanker("cross-encoder", { model: out }).rank({ queries: [{ id: "q0", text: PAIRS[0]!.query }], documents: POOL }, { k: 100 });
      POOL.forEach((d, j) => expect(Math.abs(run.get("q0")!.get(d.id)! - y[j]!)).toBeLessThan(1e-5));
      // The relevant documents move up: full-softmax RR loss over every document drops, and the mean rank improves.
      const before = await base.score(allPairs);
      const n = SENTENCES.length;
      const rowsFirst = (s: Float32Array) => Float32Array.from(PAIRS.flatMap((_, q) => [s[q * n + q]!, ...SENTENCES.flatMap((_, d) => (d === q ? [] : [s[q * n + d]!]))]));
      expect(relevanceRankingLoss(rowsFirst(after), n, n).loss).toBeLessThan(relevanceRankingLoss(rowsFirst(before), n, n).loss);
      const mean = (r: number[]) => r.reduce((a, b) => a + b, 0) / r.length;
      expect(mean(ranks(after))).toBeLessThan(mean(ranks(before)));
    } finally {
      await features.dispose();
      await base.dispose();
      await trained.dispose();
    }
  });

  it("draws BM25 negatives and says what is wrong", async () => {
    const bm25 = await trainCrossEncoderHead({ model: MODEL, pairs: PAIRS, pool: POOL, group: 3, epochs: 1, out: join(tmp.dir, "bm25") });
    expect(bm25.negatives.bm25).toBeGreaterThan(0);
    expect(bm25.negatives.bm25 + bm25.negatives.random).toBe(PAIRS.length * 2);
    await expect(trainCrossEncoderHead({ model: MODEL, pairs: PAIRS, group: 1, epochs: 1, out: join(tmp.dir, "x") })).rejects.toThrow("group must be a whole number >= 2, got 1");
    await expect(trainCrossEncoderHead({ model: MODEL, pairs: PAIRS.slice(0, 2), group: 4, epochs: 1, out: join(tmp.dir, "x") })).rejects.toThrow("pairs[0] has 1 possible negatives in the pool, a group of 4 needs 3");
    await expect(trainCrossEncoderHead({ model: "fixture:bert", pairs: PAIRS, epochs: 1, out: join(tmp.dir, "x") })).rejects.toThrow("not a text-classification export");
  });
});
