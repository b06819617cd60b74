import { mulberry32 } from "@crossrank/ot";
import { describe, expect, it } from "vitest";
import { AdamW, clipGradNorm, constantWithWarmup, gradNorm, linearWarmupDecay } from "../src/optim.js";
import { Rng, permutation, sampleWithoutReplacement, shuffle } from "../src/rng.js";

const f = Math.fround;

describe("AdamW", () => {
  it("matches two hand-computed torch.optim.AdamW steps on a 2-parameter problem", () => {
    const p = new Float32Array([1, -2]);
    const opt = new AdamW([p], { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });

    // Step 1: m = 0.1 g, v = 0.001 g², bias-corrected m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps)
    // ≈ lr·sign(g) after the decay p·(1 − lr·λ): 1·0.999 − 0.1 = 0.899 and −2·0.999 + 0.1 = −1.898.
    opt.step([new Float32Array([0.5, -1])]);
    expect(p[0]).toBeCloseTo(0.899, 6);
    expect(p[1]).toBeCloseTo(-1.898, 6);
    expect(opt.stepCount).toBe(1);

    // Step 2 with g = (0.1, 0.3), written out with the formulas.
    const g1 = [0.5, -1];
    const g2 = [0.1, 0.3];
    opt.step([new Float32Array(g2)]);
    for (let i = 0; i < 2; i++) {
      const m1 = 0.1 * (g1[i] as number);
      const v1 = 0.001 * (g1[i] as number) ** 2;
      const m2 = 0.9 * m1 + 0.1 * (g2[i] as number);
      const v2 = 0.999 * v1 + 0.001 * (g2[i] as number) ** 2;
      const mHat = m2 / (1 - 0.9 ** 2);
      const vHat = v2 / (1 - 0.999 ** 2);
      const p1 = i === 0 ? 0.899 : -1.898;
      const expected = p1 * (1 - 0.1 * 0.01) - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8);
      expect(p[i]).toBeCloseTo(expected, 5);
    }
    // The first coordinate by hand: m = 0.055, m̂ = 0.055/0.19 = 0.289474; v = 0.00025975,
    // v̂ = 0.00025975/0.001999 = 0.129940, √v̂ = 0.360472; 0.899·0.999 − 0.1·0.289474/0.360472 = 0.817797.
    expect(p[0]).toBeCloseTo(0.817797, 5);
  });

  it("is bit-identical to the documented update (float32 moments, one rounding per parameter)", () => {
    const p = new Float32Array([0.3, -0.7, 1.5]);
    const ref = Array.from(p);
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const opt = new AdamW([p], { lr: 0.01 });
    const rng = new Rng(3);
    for (let t = 1; t <= 5; t++) {
      const g = new Float32Array(3).map(() => rng.normal());
      const lr = 0.01 * t;
      opt.step([g], lr);
      for (let i = 0; i < 3; i++) {
        const gi = g[i] as number;
        m[i] = f(0.9 * (m[i] as number) + 0.1 * gi);
        v[i] = f(0.999 * (v[i] as number) + 0.001 * gi * gi);
        const denom = Math.sqrt(v[i] as number) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
        ref[i] = f((ref[i] as number) * (1 - lr * 0.01) - ((lr / (1 - 0.9 ** t)) * (m[i] as number)) / denom);
      }
    }
    expect(Array.from(p)).toEqual(ref);
  });

  it("without weight decay and with zero gradients leaves parameters unchanged", () => {
    const p = new Float32Array([1, 2]);
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0 });
    opt.step([new Float32Array(2)]);
    expect(Array.from(p)).toEqual([1, 2]);
  });

  it("saves and restores its state: a restored optimiser continues bit-identically", () => {
    const grads = Array.from({ length: 6 }, (_, t) => [new Float32Array([Math.sin(t), Math.cos(t)]), new Float32Array([t / 3])]);
    const a = [new Float32Array([0.5, -0.5]), new Float32Array([2])];
    const optA = new AdamW(a, { lr: 0.05, weightDecay: 0.1 });
    for (const g of grads) optA.step(g.map((x) => x.slice()));

    const b = [new Float32Array([0.5, -0.5]), new Float32Array([2])];
    const optB = new AdamW(b, { lr: 0.05, weightDecay: 0.1 });
    for (const g of grads.slice(0, 3)) optB.step(g.map((x) => x.slice()));
    const state = optB.state();
    const saved = b.map((x) => x.slice());
    expect(state.step).toBe(3);
    expect(state.m).toHaveLength(2);
    expect(state.m[0]).toBeInstanceOf(Float32Array);

    const c = saved.map((x) => x.slice());
    const optC = new AdamW(c, { lr: 0.05, weightDecay: 0.1 });
    optC.load(state);
    for (const g of grads.slice(3)) optC.step(g.map((x) => x.slice()));
    expect(c.map((x) => Array.from(x))).toEqual(a.map((x) => Array.from(x)));
    // state() is a copy.
    optB.step(grads[3]!.map((x) => x.slice()));
    expect(state.step).toBe(3);
  });

  it("rejects mismatched gradients and states", () => {
    const opt = new AdamW([new Float32Array(2)], { lr: 0.1 });
    expect(() => opt.step([new Float32Array(3)])).toThrow(/gradient 0/);
    expect(() => opt.step([])).toThrow(/0 gradients/);
    expect(() => opt.load({ ...opt.state(), m: [new Float32Array(1)] })).toThrow(/moments/);
    expect(() => new AdamW([], { lr: -1 })).toThrow(/learning rate/);
  });
});

describe("learning-rate schedules", () => {
  it("linearWarmupDecay: warmup from 0, then linear decay to 0 (transformers' linear schedule)", () => {
    const lr = (s: number): number => linearWarmupDecay(s, 10, 2, 1);
    expect([0, 1, 2, 3, 4, 6, 9, 10, 12].map(lr)).toEqual([0, 0.5, 1, 7 / 8, 6 / 8, 4 / 8, 1 / 8, 0, 0]);
    expect(linearWarmupDecay(0, 4, 0, 0.1)).toBeCloseTo(0.1);
    expect(linearWarmupDecay(3, 4, 0, 0.1)).toBeCloseTo(0.025);
  });

  it("constantWithWarmup", () => {
    expect([0, 1, 2, 3, 100].map((s) => constantWithWarmup(s, 4, 2))).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(constantWithWarmup(0, 0, 2)).toBe(2);
  });
});

describe("clipGradNorm", () => {
  it("returns the pre-clip global norm and scales to maxNorm", () => {
    const g = [new Float32Array([3]), new Float32Array([0, 4])];
    expect(clipGradNorm(g, 1)).toBe(5);
    expect(gradNorm(g)).toBeCloseTo(1, 5);
    expect(g[0]![0]).toBeCloseTo(0.6, 5);
    expect(g[1]![1]).toBeCloseTo(0.8, 5);
  });

  it("leaves small gradients alone", () => {
    const g = [new Float32Array([0.3, 0.4])];
    expect(clipGradNorm(g, 1)).toBeCloseTo(0.5, 6);
    expect(Array.from(g[0]!)).toEqual([f(0.3), f(0.4)]);
  });
});

describe("Rng", () => {
  it("draws mulberry32's sequence (as @crossrank/ot) and resumes from its state", () => {
    const a = new Rng(42);
    const ref = mulberry32(42);
    const first = Array.from({ length: 5 }, () => a.next());
    expect(first).toEqual(Array.from({ length: 5 }, () => ref()));
    const state = a.state();
    const next = Array.from({ length: 5 }, () => a.next());
    const b = Rng.fromState(JSON.parse(JSON.stringify(state)) as number);
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(next);
    expect(() => Rng.fromState(-1)).toThrow();
  });

  it("shuffles (Fisher–Yates) into a permutation, deterministically", () => {
    const p = permutation(20, new Rng(1));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(permutation(20, new Rng(1))).toEqual(p);
    expect(p).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
    const typed = shuffle(new Int32Array([1, 2, 3, 4]), new Rng(5));
    expect([...typed].sort()).toEqual([1, 2, 3, 4]);
    // Every permutation of 3 items shows up, in roughly equal shares.
    const counts = new Map<string, number>();
    const rng = new Rng(9);
    for (let t = 0; t < 6000; t++) {
      const key = shuffle(["a", "b", "c"], rng).join("");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });

  it("samples without replacement", () => {
    const rng = new Rng(2);
    const s = sampleWithoutReplacement(1_000_000, 50, rng);
    expect(new Set(s).size).toBe(50);
    expect(s.every((v) => Number.isInteger(v) && v >= 0 && v < 1_000_000)).toBe(true);
    expect([...sampleWithoutReplacement(7, 7, rng)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => sampleWithoutReplacement(3, 4, rng)).toThrow();
  });

  it("normal() has mean 0 and standard deviation 1", () => {
    const rng = new Rng(11);
    const xs = Array.from({ length: 20000 }, () => rng.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
    expect(new Rng(1).int(10)).toBeLessThan(10);
  });
});
