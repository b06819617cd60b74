import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@crossrank/tokenize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FixtureModel, generateFixtureModel, loadCrossEncoder, referenceLogits, writeFixtureModel } from "../src/index.js";

const PAIRS: [string, string][] = [
  ["Hauptstadt von Japan", "Tokyo is the capital of Japan."],
  ["capital of Japan", "Berlin is the capital of Germany and its largest city."],
  ["Katze", "The cat sleeps on the warm mat by the window, and the dog sleeps by the door."],
  ["train", "train"],
];

let dir: string;
let folder: string;
let model: FixtureModel;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-cross-encoder-"));
  folder = (await writeFixtureModel(join(dir, "ce"), { kind: "cross-encoder" })).dir;
  model = await generateFixtureModel({ kind: "cross-encoder" });
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Tokenizer.encodePairs", () => {
  it("joins two texts with the pair template and segment ids, and cuts the longer text first", async () => {
    const tokenizer = await Tokenizer.load(folder);
    const cls = tokenizer.tokenId("[CLS]")!;
    const sep = tokenizer.tokenId("[SEP]")!;
    const a = tokenizer.contentIds("capital of Japan");
    const b = tokenizer.contentIds("Tokyo is the capital of Japan.");
    const batch = tokenizer.encodePairs([["capital of Japan", "Tokyo is the capital of Japan."]]);
    expect(Array.from(batch.inputIds, Number)).toEqual([cls, ...a, sep, ...b, sep]);
    expect(Array.from(batch.tokenTypeIds, Number)).toEqual([0, ...a.map(() => 0), 0, ...b.map(() => 1), 1]);
    expect(batch.truncated).toEqual([false]);
    // longest_first by hand: one token at a time from the end of the longer text, the second on a tie.
    const cutByHand = (room: number): [number, number] => {
      let [na, nb] = [a.length, b.length];
      while (na + nb > room) {
        if (na > nb) na--;
        else nb--;
      }
      return [na, nb];
    };
    for (const maxLength of [12, 9, 7]) {
      const [na, nb] = cutByHand(maxLength - 3);
      const cut = tokenizer.encodePairs([["capital of Japan", "Tokyo is the capital of Japan."]], { maxLength });
      expect(Array.from(cut.inputIds, Number), String(maxLength)).toEqual([cls, ...a.slice(0, na), sep, ...b.slice(0, nb), sep]);
      expect(cut.truncated).toEqual([true]);
    }
    // A short query keeps all its tokens while the document is cut.
    const q = tokenizer.contentIds("Japan");
    const short = tokenizer.encodePairs([["Japan", "Tokyo is the capital of Japan."]], { maxLength: q.length + 6 });
    expect(Array.from(short.inputIds, Number)).toEqual([cls, ...q, sep, ...b.slice(0, 3), sep]);
    // Padding: the shorter pair's row ends in padding with a zero mask.
    const two = tokenizer.encodePairs([["a", "b"], ["capital of Japan", "Tokyo"]]);
    expect(two.batchSize).toBe(2);
    expect(Array.from(two.attentionMask.subarray(0, two.seqLength), Number).filter((m) => m === 0).length).toBeGreaterThan(0);
    expect(() => tokenizer.encodePairs([["a", "b"]], { maxLength: 4 })).toThrow("leaves no room for two texts");
  });
});

describe("loadCrossEncoder", () => {
  for (const backend of ["transformers", "onnx"] as const) {
    it(`scores pairs as BertForSequenceClassification does (${backend} backend, to 1e-5)`, async () => {
      const encoder = await loadCrossEncoder(folder, { backend, batchSize: 3 });
      try {
        const scores = await encoder.score(PAIRS);
        const tokenizer = await Tokenizer.load(folder);
        PAIRS.forEach((pair, i) => {
          const one = tokenizer.encodePairs([pair]);
          const [expected] = referenceLogits(model.weights, model.classifier!, { inputIds: one.inputIds, attentionMask: one.attentionMask, tokenTypeIds: one.tokenTypeIds, batch: 1, seqLength: one.seqLength });
          expect(Math.abs(scores[i]! - expected!), pair.join(" / ")).toBeLessThan(1e-5);
        });
        // The scores differ between pairs (the head is not constant), and a batch scores as its pairs alone.
        expect(new Set(Array.from(scores, (s) => s.toFixed(4))).size).toBe(PAIRS.length);
        const alone = await encoder.score([PAIRS[2]!]);
        expect(Math.abs(alone[0]! - scores[2]!)).toBeLessThan(1e-5);
      } finally {
        await encoder.dispose();
      }
    });
  }

  it("loads fixture:cross-encoder and q8, and says what is wrong", async () => {
    const fixture = await loadCrossEncoder("fixture:cross-encoder");
    const q8 = await loadCrossEncoder(folder, { dtype: "q8" });
    try {
      expect(q8.id).toBe(`${folder}?dtype=q8`);
      const [a, b] = [await fixture.score(PAIRS), await q8.score(PAIRS)];
      // int8 weights: close to the float model, not equal.
      a.forEach((s, i) => expect(Math.abs(s - b[i]!)).toBeLessThan(0.15));
    } finally {
      await fixture.dispose();
      await q8.dispose();
    }
    const bert = (await writeFixtureModel(join(dir, "bert"))).dir;
    await expect(loadCrossEncoder(bert, { backend: "onnx" })).rejects.toThrow("not a text-classification export");
    await expect(loadCrossEncoder(folder, { batchSize: 0 })).rejects.toThrow("batchSize must be a whole number >= 1");
    await expect(loadCrossEncoder(join(dir, "nope"))).rejects.toThrow();
  });
});
