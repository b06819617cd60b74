import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHead, type HeadConfig, readHead, writeHead } from "@crossrank/encode";
import { describe, expect, it } from "vitest";
import { HEAD_PARAM_NAMES, TrainableHead } from "../src/head-trainer.js";
import { Rng } from "../src/rng.js";
import { expectGradient, finiteDifference, finiteDifferenceF32, seeded, uniformArray } from "./grad-check.js";

function linearConfig(input: number, output: number): HeadConfig {
  return { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "linear", input, output, appliesTo: "tokens" };
}

function mlpConfig(dim: number, hidden: number, activation: "gelu" | "relu" | "tanh"): HeadConfig {
  return { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "mlp", input: dim, output: dim, hidden, activation, appliesTo: "sentence" };
}

/** A head with every weight random (W2 ≠ 0, so every gradient path is exercised). */
function randomHead(config: HeadConfig, seed: number, scale = 0.6): TrainableHead {
  const head = TrainableHead.init(config, seeded(seed));
  const rng = seeded(seed + 1000);
  for (const p of head.params()) for (let k = 0; k < p.length; k++) p[k] = (2 * rng() - 1) * scale;
  return head;
}

/** L = Σ r ⊙ y, so ∂L/∂y = r. */
function weightedSum(y: ArrayLike<number>, r: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < y.length; k++) s += y[k]! * r[k]!;
  return s;
}

const HEADS: [string, HeadConfig][] = [
  ["linear 5→5", linearConfig(5, 5)],
  ["linear 5→3", linearConfig(5, 3)],
  ["mlp gelu", mlpConfig(4, 6, "gelu")],
  ["mlp relu", mlpConfig(4, 6, "relu")],
  ["mlp tanh", mlpConfig(4, 6, "tanh")],
];

describe("TrainableHead init", () => {
  it("linear input === output starts at the identity: step 0 reproduces the base encoder", () => {
    const head = TrainableHead.init(linearConfig(4, 4), new Rng(1));
    const x = Float32Array.from([0.1, -2, 3.5, 0, 1e-3, 7, -0.25, 1]);
    expect(head.forward(x, 2).y).toEqual(x);
    expect(Array.from(head.weights.bias!)).toEqual([0, 0, 0, 0]);
  });

  it("mlp starts as the identity (W2 = 0, b2 = 0) and W1 is seeded", () => {
    const a = TrainableHead.init(mlpConfig(4, 8, "gelu"), new Rng(7));
    const b = TrainableHead.init(mlpConfig(4, 8, "gelu"), new Rng(7));
    const c = TrainableHead.init(mlpConfig(4, 8, "gelu"), new Rng(8));
    const x = Float32Array.from([0.1, -2, 3.5, 0]);
    expect(a.forward(x, 1).y).toEqual(x);
    expect(a.weights.w1).toEqual(b.weights.w1);
    expect(a.weights.w1).not.toEqual(c.weights.w1);
    expect(Array.from(a.weights.w2!).every((v) => v === 0)).toBe(true);
    const bound = 1 / Math.sqrt(4);
    expect(Array.from(a.weights.w1!).every((v) => Math.abs(v) <= bound)).toBe(true);
  });

  it("linear input ≠ output: seeded U(±1/√input), zero bias; noise option on the identity", () => {
    const a = TrainableHead.init(linearConfig(9, 3), () => 0.75);
    expect(Array.from(a.weights.weight!).every((v) => Math.abs(v - 0.5 / 3) < 1e-7)).toBe(true);
    const noisy = TrainableHead.init(linearConfig(3, 3), new Rng(3), { noise: 0.01 });
    const w = noisy.weights.weight!;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(Math.abs(w[i * 3 + j]! - (i === j ? 1 : 0))).toBeLessThanOrEqual(0.01);
  });

  it("validates the config with the format's messages", () => {
    expect(() => TrainableHead.init({ ...mlpConfig(4, 8, "gelu"), output: 5 }, new Rng(1))).toThrow(/residual/);
    expect(() => TrainableHead.init({ ...linearConfig(4, 4), input: 0 }, new Rng(1))).toThrow(/input must be a positive integer/);
  });
});

describe("TrainableHead params and export", () => {
  it("params() are the head's own arrays in a fixed order", () => {
    const lin = TrainableHead.init(linearConfig(3, 2), new Rng(1));
    expect(lin.paramNames()).toEqual([...HEAD_PARAM_NAMES.linear]);
    expect(lin.params()[0]).toBe(lin.weights.weight);
    expect(lin.params()[1]).toBe(lin.weights.bias);
    const mlp = TrainableHead.init(mlpConfig(3, 5, "tanh"), new Rng(1));
    expect(mlp.paramNames()).toEqual(["w1", "b1", "w2", "b2"]);
    expect(mlp.params().map((p) => p.length)).toEqual([15, 5, 15, 3]);
    // Updating a param in place changes the head.
    mlp.params()[3]![0] = 1;
    expect(mlp.forward(new Float32Array(3), 1).y[0]).toBe(1);
  });

  it("toConfigAndWeights gives the @crossrank/encode format (copies), merging meta", () => {
    const head = randomHead(mlpConfig(4, 6, "relu"), 5);
    const { config, weights } = head.toConfigAndWeights({ encoder: "fixture:sentence-transformers", pooling: "mean", normalize: true, trainedBy: { stage: "warmup", steps: 10 } });
    expect(config).toEqual({ ...mlpConfig(4, 6, "relu"), encoder: "fixture:sentence-transformers", pooling: "mean", normalize: true, trainedBy: { stage: "warmup", steps: 10 } });
    expect(Object.keys(weights)).toEqual(["w1", "b1", "w2", "b2"]);
    expect(weights.w1).toEqual(head.weights.w1);
    expect(weights.w1).not.toBe(head.weights.w1);
    const lin = TrainableHead.init(linearConfig(3, 2), new Rng(2)).toConfigAndWeights();
    expect(Object.keys(lin.weights)).toEqual(["weight", "bias"]);
  });

  it("backward accumulates into given buffers", () => {
    const head = randomHead(mlpConfig(3, 4, "gelu"), 9);
    const rng = seeded(10);
    const x1 = uniformArray(rng, 6);
    const x2 = uniformArray(rng, 9);
    const d1 = uniformArray(rng, 6);
    const d2 = uniformArray(rng, 9);
    const into = head.zeroGrads();
    head.backward(head.forward(x1, 2).cache, d1, into);
    head.backward(head.forward(x2, 3).cache, d2, into);
    const g1 = head.backward(head.forward(x1, 2).cache, d1).grads;
    const g2 = head.backward(head.forward(x2, 3).cache, d2).grads;
    head.gradList(into).forEach((g, i) => {
      const a = head.gradList(g1)[i]!;
      const b = head.gradList(g2)[i]!;
      for (let k = 0; k < g.length; k++) expect(g[k]).toBeCloseTo(a[k]! + b[k]!, 6);
    });
  });
});

describe("TrainableHead forward equals @crossrank/encode's createHead(...).apply", () => {
  for (const [name, config] of HEADS) {
    it(name, () => {
      const head = randomHead(config, name.length);
      const x = Float32Array.from(uniformArray(seeded(3), 7 * config.input, -2, 2));
      const { config: c, weights } = head.toConfigAndWeights();
      expect(head.forward(x, 7).y).toEqual(createHead(c, weights).apply(x, 7));
      expect(head.toHead().apply(x, 7)).toEqual(head.forward(x, 7).y);
    });
  }

  it("round-trips through writeHead / readHead", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crossrank-train-head-"));
    try {
      const head = randomHead(mlpConfig(4, 6, "gelu"), 77);
      await writeHead(join(dir, "head"), head.toConfigAndWeights({ trainedBy: { loss: "triplet" } }));
      const read = await readHead(join(dir, "head"));
      expect(read.config.trainedBy).toEqual({ loss: "triplet" });
      const x = Float32Array.from(uniformArray(seeded(4), 12, -2, 2));
      expect(read.apply(x, 3)).toEqual(head.forward(x, 3).y);
      const again = TrainableHead.fromWeights(read.config, read.weights);
      expect(again.forward(x, 3).y).toEqual(head.forward(x, 3).y);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Finite-difference checks of L = Σ r ⊙ head(x). The inputs are float64 and every sum is float64,
 * but the head's outputs are float32 (the format's) and its weights float32: the output rounding
 * (~6e-8 relative) divided by the step sets the noise, so the step is 1e-2 (truncation of the
 * smooth activations ~h² ≈ 1e-4 relative at most); relu heads are piecewise linear and take 1e-3,
 * the test checking that no pre-activation lies within a step of the kink.
 */
describe("TrainableHead backward matches finite differences", () => {
  for (const [name, config] of HEADS) {
    it(name, () => {
      const n = 3;
      const head = randomHead(config, name.length * 13 + 1);
      const rng = seeded(name.length * 31);
      const x = uniformArray(rng, n * config.input, -1.5, 1.5);
      const r = uniformArray(rng, n * config.output);
      // relu is piecewise linear (no truncation error), so a smaller step keeps clear of its kink.
      const h = config.activation === "relu" ? 1e-3 : 1e-2;
      const { y, cache } = head.forward(x, n);
      if (config.activation === "relu") {
        // A step moves a pre-activation z by at most h·max(|w1|, |x|, 1) ≤ 1.5h: |z| > 2h keeps it on one side of the kink.
        expect(Array.from(cache.pre!).every((z) => Math.abs(z) > 2 * h)).toBe(true);
      }
      expect(y.length).toBe(n * config.output);
      const { dx, grads } = head.backward(cache, r);
      const loss = () => weightedSum(head.forward(x, n).y, r);
      expectGradient(dx, finiteDifference(loss, x, h), `${name} dx`);
      head.paramNames().forEach((p) => {
        const numeric = finiteDifferenceF32(loss, head.weights[p]!, h);
        expectGradient(grads[p]!, numeric, `${name} d${p}`);
      });
    });
  }
});
