import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readOnnxGraph } from "@crossrank/onnx";
import { Tokenizer } from "@crossrank/tokenize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHead, findClassifier, type FixtureModel, generateFixtureModel, type HeadConfig, loadCrossEncoder, loadEncoder, loadPairFeatures, referenceForward, writeFixtureModel, writeHead } from "../src/index.js";

const PAIRS: [string, string][] = [
  ["Hauptstadt von Japan", "Tokyo is the capital of Japan."],
  ["capital of Japan", "Berlin is the capital of Germany and its largest city."],
  ["Katze", "The cat sleeps on the warm mat by the window, and the dog sleeps by the door."],
];

let dir: string;
let folder: string;
let model: FixtureModel;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-pair-head-"));
  folder = (await writeFixtureModel(join(dir, "ce"), { kind: "cross-encoder" })).dir;
  model = await generateFixtureModel({ kind: "cross-encoder" });
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const pairHead = (weight: Float32Array, bias: Float32Array, extra: Partial<HeadConfig> = {}) => ({
  config: { format: "crossrank-head", version: 1, encoder: folder, type: "linear", input: weight.length, output: 1, appliesTo: "pair", ...extra } as HeadConfig,
  weights: { weight, bias },
});

describe("findClassifier / loadPairFeatures", () => {
  it("finds the classifier in the export and reads its weights; the features are tanh(pooler(h_[CLS])) of the real forward pass", async () => {
    const classifier = findClassifier(readOnnxGraph(new Uint8Array(await readFile(join(folder, "onnx/model.onnx")))), "model.onnx");
    expect(classifier.width).toBe(model.weights.shape.hidden);
    expect(classifier.labels).toBe(1);
    expect(Array.from(classifier.weights!.weight)).toEqual(Array.from(model.classifier!.weight.data));
    expect(Array.from(classifier.weights!.bias)).toEqual(Array.from(model.classifier!.bias.data));

    const features = await loadPairFeatures(folder, { batchSize: 2 });
    const logits = await loadCrossEncoder(folder, { backend: "onnx" });
    try {
      const x = await features.features(PAIRS);
      const H = features.width;
      const tokenizer = await Tokenizer.load(folder);
      const { pooler } = model.weights;
      PAIRS.forEach((pair, i) => {
        const one = tokenizer.encodePairs([pair]);
        const hidden = referenceForward(model.weights, { inputIds: one.inputIds, attentionMask: one.attentionMask, tokenTypeIds: one.tokenTypeIds, batch: 1, seqLength: one.seqLength });
        for (let o = 0; o < H; o++) {
          let s = pooler.bias.data[o]!;
          for (let k = 0; k < H; k++) s += pooler.weight.data[o * H + k]! * hidden[k]!;
          expect(Math.abs(x[i * H + o]! - Math.tanh(s))).toBeLessThan(1e-5);
        }
      });
      // The classifier over the features is the model's logit.
      const head = createHead(pairHead(classifier.weights!.weight, classifier.weights!.bias).config, classifier.weights!);
      const scores = await logits.score(PAIRS);
      const recomputed = head.apply(x, PAIRS.length);
      PAIRS.forEach((_, i) => expect(Math.abs(recomputed[i]! - scores[i]!)).toBeLessThan(1e-5));
    } finally {
      await features.dispose();
      await logits.dispose();
    }
  });

  it("finds the features of the int8 export (its classifier's weights are int8, so not read)", async () => {
    const q8 = await loadPairFeatures(folder, { dtype: "q8" });
    try {
      expect(q8.id).toBe(`${folder}?dtype=q8`);
      expect(q8.classifier.weights).toBeUndefined();
      expect((await q8.features(PAIRS)).length).toBe(PAIRS.length * model.weights.shape.hidden);
    } finally {
      await q8.dispose();
    }
  });
});

describe("a pair head folder as a cross-encoder", () => {
  it("scores with the head in place of the classifier", async () => {
    const H = model.weights.shape.hidden;
    const weight = Float32Array.from({ length: H }, (_, i) => Math.sin(i + 1));
    const bias = Float32Array.of(0.5);
    const headFolder = join(dir, "head");
    await writeHead(headFolder, pairHead(weight, bias));
    const headed = await loadCrossEncoder(headFolder);
    const features = await loadPairFeatures(folder);
    try {
      expect(headed.id).toMatch(new RegExp(`^${folder.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\+head:[0-9a-f]{12}$`));
      const scores = await headed.score(PAIRS);
      const x = await features.features(PAIRS);
      PAIRS.forEach((_, i) => {
        let s = 0.5;
        for (let k = 0; k < H; k++) s += weight[k]! * x[i * H + k]!;
        expect(Math.abs(scores[i]! - s)).toBeLessThan(1e-5);
      });
    } finally {
      await headed.dispose();
      await features.dispose();
    }
  });

  it("says what is wrong", async () => {
    const H = model.weights.shape.hidden;
    const ok = join(dir, "ok");
    await writeHead(ok, pairHead(new Float32Array(H), new Float32Array(1)));
    await expect(loadEncoder(ok)).rejects.toThrow("a pair head replaces a cross-encoder's classifier; rank with the cross-encoder ranker");
    await expect(loadCrossEncoder(ok, { backend: "transformers" })).rejects.toThrow("pair features run on the onnx backend");
    const narrow = join(dir, "narrow");
    await writeHead(narrow, pairHead(new Float32Array(H - 1), new Float32Array(1)));
    await expect(loadCrossEncoder(narrow)).rejects.toThrow(`the head takes ${H - 1}-wide features but the classifier of ${folder} reads ${H}-wide ones`);
    expect(() => createHead({ ...pairHead(new Float32Array(H), new Float32Array(1)).config, type: "mlp", output: H, hidden: 2, activation: "relu" }, {})).toThrow("a pair head replaces a cross-encoder's classifier, so it is linear");
    const bert = (await writeFixtureModel(join(dir, "bert"))).dir;
    await expect(loadPairFeatures(bert)).rejects.toThrow("not a text-classification export (outputs last_hidden_state");
  });
});
