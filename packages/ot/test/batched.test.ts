import { describe, expect, it } from "vitest";
import {
  availableBackends,
  batchedSinkhorn,
  type ConcreteOtBackend,
  cosineCost,
  linearProblem,
  otBench,
  randomBatch,
  sinkhorn,
  type TokenBatch,
  tokenBatch,
} from "../src/index.js";
import { mulberry32 } from "../src/random.js";

/** Seeded uniform [-1, 1) numbers. */
function rng(seed: number): () => number {
  const random = mulberry32(seed);
  return () => random() * 2 - 1;
}

interface Item {
  embeddings: Float32Array;
  weights?: number[];
}

function items(lengths: readonly number[], dim: number, seed: number): Item[] {
  const r = rng(seed);
  return lengths.map((len) => ({ embeddings: Float32Array.from({ length: len * dim }, r) }));
}

/** Float64 reference: the package's log-domain Sinkhorn (exactly `iterations`, tol 0) on the cosine cost. */
function reference(x: Item, y: Item, dim: number, reg: number, iterations: number): { cost: number; plan: Float64Array } {
  const cx = { rows: x.embeddings.length / dim, cols: dim, data: Float64Array.from(x.embeddings) };
  const cy = { rows: y.embeddings.length / dim, cols: dim, data: Float64Array.from(y.embeddings) };
  const out = sinkhorn(linearProblem(cosineCost(cx, cy), x.weights, y.weights), { reg, maxIter: iterations, tol: 0, method: "log" });
  return { cost: out.cost, plan: out.plan.data };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, abs: number, rel: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    const e = expected[k]!;
    const a = actual[k]!;
    if (!(Math.abs(a - e) <= abs + rel * Math.abs(e))) {
      throw new Error(`${what}[${k}]: got ${a}, expected ${e} (±${abs + rel * Math.abs(e)})`);
    }
  }
}

const availability = await availableBackends();
const available = availability.filter((a) => a.available).map((a) => a.backend);
const gpuJsBackends = available.filter((b) => b === "cpu" || b === "webasm" || b === "webgpu");

describe("availableBackends", () => {
  it("reports every backend; js and the gpu.js cpu mode are always available", () => {
    expect(availability.map((a) => a.backend).sort()).toEqual(["cpu", "js", "onnx", "webasm", "webgl", "webgpu"]);
    expect(available).toContain("js");
    expect(available).toContain("cpu");
    for (const a of availability) if (!a.available) expect(a.reason, a.backend).toMatch(/\S/);
  });
});

const REG = 0.05;
const ITER = 30;
const DIM = 24;
const qItems = items([3, 7, 1, 5, 6], DIM, 11);
const dItems = items([9, 4, 12, 1, 7], DIM, 12);
const refs = qItems.map((q, i) => reference(q, dItems[i]!, DIM, REG, ITER));

describe.each(available)("backend %s", (backend: ConcreteOtBackend) => {
  it("matches the float64 reference on pairs of different lengths (costs and plans)", async () => {
    const r = await batchedSinkhorn(tokenBatch(qItems, DIM), tokenBatch(dItems, DIM), { reg: REG, iterations: ITER, backend, returnPlans: true });
    expect(r.backend).toBe(backend);
    expect(r.seconds).toBeGreaterThanOrEqual(0);
    expectClose(r.costs, refs.map((x) => x.cost), 1e-4, 1e-4, "cost");
    expect(r.plans).toHaveLength(qItems.length);
    r.plans!.forEach((plan, i) => expectClose(plan, refs[i]!.plan, 1e-7, 2e-4, `plan ${i}`));
  });

  it("padding does not change results: padded batch = per-pair unpadded solves", async () => {
    const batched = await batchedSinkhorn(tokenBatch(qItems, DIM), tokenBatch(dItems, DIM), { reg: REG, iterations: ITER, backend, returnPlans: true });
    for (let i = 0; i < qItems.length; i++) {
      const single = await batchedSinkhorn(tokenBatch([qItems[i]!], DIM), tokenBatch([dItems[i]!], DIM), { reg: REG, iterations: ITER, backend, returnPlans: true });
      expectClose([batched.costs[i]!], [single.costs[0]!], 1e-5, 1e-5, `cost ${i}`);
      expectClose(batched.plans![i]!, single.plans![0]!, 1e-7, 1e-4, `plan ${i}`);
    }
  });

  it("broadcasts one query against every document", async () => {
    const q = qItems[1]!;
    const docs = dItems;
    const r = await batchedSinkhorn(tokenBatch([q], DIM), tokenBatch(docs, DIM), { reg: REG, iterations: ITER, backend, returnPlans: true });
    const expected = docs.map((d) => reference(q, d, DIM, REG, ITER));
    expectClose(r.costs, expected.map((e) => e.cost), 1e-4, 1e-4, "cost");
    r.plans!.forEach((plan, i) => {
      expect(plan.length).toBe((q.embeddings.length / DIM) * dItems[i]!.embeddings.length / DIM);
      expectClose(plan, expected[i]!.plan, 1e-7, 2e-4, `plan ${i}`);
    });
  });

  it("uses non-uniform weights (a zero weight takes no mass)", async () => {
    const r0 = rng(5);
    const qs = items([4, 6], DIM, 21).map((it) => ({ ...it, weights: Array.from({ length: it.embeddings.length / DIM }, (_, t) => (t === 1 ? 0 : 0.5 + Math.abs(r0()))) }));
    const ds = items([8, 5], DIM, 22).map((it) => ({ ...it, weights: Array.from({ length: it.embeddings.length / DIM }, () => 0.1 + Math.abs(r0())) }));
    const r = await batchedSinkhorn(tokenBatch(qs, DIM), tokenBatch(ds, DIM), { reg: REG, iterations: ITER, backend, returnPlans: true });
    const expected = qs.map((q, i) => reference(q, ds[i]!, DIM, REG, ITER));
    expectClose(r.costs, expected.map((e) => e.cost), 1e-4, 1e-4, "cost");
    r.plans!.forEach((plan, i) => {
      expectClose(plan, expected[i]!.plan, 1e-7, 2e-4, `plan ${i}`);
      const m = ds[i]!.embeddings.length / DIM;
      for (let j = 0; j < m; j++) expect(plan[1 * m + j]).toBe(0); // query token 1 has weight 0
    });
  });

  it("handles d = 1100 (> gpu.js's default loopMaxIterations of 1000)", async () => {
    const dim = 1100;
    const qs = items([3, 2], dim, 31);
    const ds = items([5, 4], dim, 32);
    // Make the last 100 coordinates matter: a dropped tail would change the cost a lot.
    for (const it of [...qs, ...ds]) for (let t = 0; t < it.embeddings.length / dim; t++) it.embeddings.fill(0.9, t * dim + 1000, (t + 1) * dim);
    const r = await batchedSinkhorn(tokenBatch(qs, dim), tokenBatch(ds, dim), { reg: 0.1, iterations: 20, backend });
    const expected = qs.map((q, i) => reference(q, ds[i]!, dim, 0.1, 20).cost);
    expectClose(r.costs, expected, 1e-4, 1e-4, "cost");
  });

  it("small reg: kernel underflow is detected and those pairs are re-solved in log domain", async () => {
    // Query token 1 is opposite to every document token: its whole kernel row is exp(−2/reg),
    // which underflows float32 for reg = 0.01 (2/reg = 200 > 87).
    const dim = 4;
    const q: Item = { embeddings: Float32Array.from([1, 0, 0, 0, -1, 0.01, 0, 0, 0.7, 0.7, 0, 0]) };
    const d1: Item = { embeddings: Float32Array.from([1, 0.02, 0, 0, 0.98, -0.05, 0.1, 0, 0.9, 0.1, 0, 0.1]) };
    const d2: Item = { embeddings: Float32Array.from([0.5, 0.5, 0.5, 0.5, 0, 1, 0, 0]) };
    const reg = 0.01;
    const iterations = 50;
    const expected = [reference(q, d1, dim, reg, iterations), reference(q, d2, dim, reg, iterations)];
    const r = await batchedSinkhorn(tokenBatch([q], dim), tokenBatch([d1, d2], dim), { reg, iterations, backend, returnPlans: true });
    expectClose(r.costs, expected.map((e) => e.cost), 1e-4, 1e-3, "cost");
    r.plans!.forEach((plan, i) => expectClose(plan, expected[i]!.plan, 1e-5, 1e-2, `plan ${i}`));
    if (backend !== "js") expect(r.logDomainPairs).toBeGreaterThanOrEqual(1); // float32 kernel breaks on pair 0
    const forcedLog = await batchedSinkhorn(tokenBatch([q], dim), tokenBatch([d1, d2], dim), { reg, iterations, backend, domain: "log" });
    expect(forcedLog.logDomainPairs).toBe(2);
    expectClose(forcedLog.costs, expected.map((e) => e.cost), 1e-4, 1e-3, "cost (log)");
  });

  it("log domain matches the reference on the general case too", async () => {
    const r = await batchedSinkhorn(tokenBatch(qItems, DIM), tokenBatch(dItems, DIM), { reg: REG, iterations: ITER, backend, domain: "log" });
    expectClose(r.costs, refs.map((x) => x.cost), 1e-4, 1e-4, "cost");
  });

  it("normalize: false takes 1 − x·y on unit inputs (same as normalize: true)", async () => {
    const q = randomBatch(1, 5, 16, 41);
    const d = randomBatch(3, 6, 16, 42);
    const a = await batchedSinkhorn(q, d, { reg: 0.1, iterations: 10, backend, normalize: false });
    const b = await batchedSinkhorn(q, d, { reg: 0.1, iterations: 10, backend });
    expectClose(a.costs, b.costs, 1e-5, 1e-5, "cost");
  });

  it("batches without norms give the same result as with them", async () => {
    const q = tokenBatch(qItems, DIM);
    const d = tokenBatch(dItems, DIM);
    const { norms: _qn, ...qNo } = q;
    const { norms: _dn, ...dNo } = d;
    const r = await batchedSinkhorn(qNo, dNo, { reg: REG, iterations: ITER, backend, batchSize: 2 });
    expectClose(r.costs, refs.map((x) => x.cost), 1e-4, 1e-4, "cost");
  });
});

describe.each(gpuJsBackends)("gpu.js backend %s", (backend) => {
  it("many pairs in several (padded) batches", async () => {
    const q = randomBatch(1, 4, 1030, 51);
    const d = randomBatch(7, 5, 1030, 52);
    const r = await batchedSinkhorn(q, d, { reg: 0.1, iterations: 5, backend, batchSize: 3 });
    const js = await batchedSinkhorn(q, d, { reg: 0.1, iterations: 5, backend: "js" });
    expectClose(r.costs, js.costs, 1e-5, 1e-5, "cost");
  });
});

describe("batchedSinkhorn", () => {
  it("auto picks an available backend and agrees with js", async () => {
    const q = tokenBatch(qItems, DIM);
    const d = tokenBatch(dItems, DIM);
    const r = await batchedSinkhorn(q, d, { reg: REG, iterations: ITER });
    expect(available).toContain(r.backend);
    expectClose(r.costs, refs.map((x) => x.cost), 1e-4, 1e-4, "cost");
    expect(r.plans).toBeUndefined();
  });

  it("length-sorted, compacted batches (mixed lengths) keep pair order", async () => {
    const lens = [2, 30, 3, 28, 1, 31, 4, 29, 2, 30];
    const ds = items(lens, 8, 61);
    const q = items([5], 8, 62)[0]!;
    const backend = available.includes("onnx") ? "onnx" : "js";
    const r = await batchedSinkhorn(tokenBatch([q], 8), tokenBatch(ds, 8), { reg: 0.1, iterations: 10, backend, batchSize: 3 });
    expectClose(r.costs, ds.map((d) => reference(q, d, 8, 0.1, 10).cost), 1e-4, 1e-4, "cost");
  });

  it("zero pairs", async () => {
    const q = tokenBatch(items([2], 4, 1), 4);
    const empty: TokenBatch = { data: new Float32Array(0), lengths: new Int32Array(0), maxLength: 1, dim: 4 };
    const r = await batchedSinkhorn(q, empty, { reg: 0.1, iterations: 3, backend: "js" });
    expect(r.costs).toHaveLength(0);
  });

  it("rejects bad shapes and options", async () => {
    const q = tokenBatch(items([2, 3], 4, 1), 4);
    const d = tokenBatch(items([3, 2], 4, 2), 4);
    const d3 = tokenBatch(items([3, 2, 1], 4, 3), 4);
    const other = tokenBatch(items([3, 2], 5, 4), 5);
    const opts = { reg: 0.1, iterations: 5, backend: "js" as const };
    await expect(batchedSinkhorn(q, d3, opts)).rejects.toThrow(/2 queries for 3 documents/);
    await expect(batchedSinkhorn(q, other, opts)).rejects.toThrow(/dim 4, documents 5/);
    await expect(batchedSinkhorn({ ...q, data: q.data.subarray(1) }, d, opts)).rejects.toThrow(/queries\.data has/);
    await expect(batchedSinkhorn(q, { ...d, lengths: Int32Array.from([0, 2]) }, opts)).rejects.toThrow(/lengths\[0\] = 0/);
    await expect(batchedSinkhorn(q, { ...d, lengths: Int32Array.from([4, 2]) }, opts)).rejects.toThrow(/outside \[1, maxLength 3\]/);
    await expect(batchedSinkhorn(q, { ...d, weights: new Float32Array(3) }, opts)).rejects.toThrow(/weights must be/);
    await expect(batchedSinkhorn(q, { ...d, weights: new Float32Array(6) }, opts)).rejects.toThrow(/weights sum to 0/);
    await expect(batchedSinkhorn(q, d, { ...opts, reg: 0 })).rejects.toThrow(/reg must be/);
    await expect(batchedSinkhorn(q, d, { ...opts, reg: Number.NaN })).rejects.toThrow(/reg must be/);
    await expect(batchedSinkhorn(q, d, { ...opts, iterations: 0 })).rejects.toThrow(/iterations must be/);
    await expect(batchedSinkhorn(q, d, { ...opts, iterations: 2.5 })).rejects.toThrow(/iterations must be/);
    await expect(batchedSinkhorn(q, d, { ...opts, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(batchedSinkhorn(q, d, { ...opts, backend: "cuda" as never })).rejects.toThrow(/unknown backend "cuda"/);
    await expect(batchedSinkhorn(q, d, { ...opts, domain: "exp" as never })).rejects.toThrow(/domain must be/);
  });

  it("a forced unavailable backend fails with the reason", async () => {
    const missing = availability.find((a) => !a.available);
    if (missing === undefined) return; // everything is available on this machine
    const q = tokenBatch(items([2], 4, 1), 4);
    await expect(batchedSinkhorn(q, q, { reg: 0.1, iterations: 2, backend: missing.backend })).rejects.toThrow(
      new RegExp(`backend "${missing.backend}" is not available here: .+`),
    );
  });
});

describe("tokenBatch", () => {
  it("pads, records lengths, norms and weights", () => {
    const b = tokenBatch(
      [
        { embeddings: Float32Array.from([3, 4, 0, 0]), weights: [1, 3] },
        { embeddings: Float32Array.from([1, 0]) },
      ],
      2,
    );
    expect(b.maxLength).toBe(2);
    expect(Array.from(b.lengths)).toEqual([2, 1]);
    expect(Array.from(b.data)).toEqual([3, 4, 0, 0, 1, 0, 0, 0]);
    expect(Array.from(b.norms!)).toEqual([5, 0, 1, 0]);
    expect(Array.from(b.weights!)).toEqual([1, 3, 1, 0]);
    expect(tokenBatch([{ embeddings: Float32Array.from([1, 2]) }], 2).weights).toBeUndefined();
  });

  it("rejects bad items", () => {
    expect(() => tokenBatch([{ embeddings: new Float32Array(0) }], 2)).toThrow(/not a positive multiple/);
    expect(() => tokenBatch([{ embeddings: new Float32Array(3) }], 2)).toThrow(/not a positive multiple/);
    expect(() => tokenBatch([{ embeddings: new Float32Array(2) }], 0)).toThrow(/dim must be/);
    expect(() => tokenBatch([{ embeddings: Float32Array.from([1, Number.NaN]) }], 2)).toThrow(/is NaN/);
    expect(() => tokenBatch([{ embeddings: new Float32Array(4), weights: [1] }], 2)).toThrow(/1 weights for 2 tokens/);
    expect(() => tokenBatch([{ embeddings: new Float32Array(4), weights: [1, -1] }], 2)).toThrow(/must be finite and ≥ 0/);
    expect(() => tokenBatch([{ embeddings: new Float32Array(4), weights: [0, 0] }], 2)).toThrow(/sum to 0/);
  });
});

describe("otBench", () => {
  it("reports the workload and a positive rate", async () => {
    const r = await otBench({ pairs: 4, queryTokens: 3, docTokens: 5, dim: 8, reg: 0.1, iterations: 7, backend: "js", seed: 2 });
    expect(r).toMatchObject({ backend: "js", pairs: 4, queryTokens: 3, docTokens: 5, dim: 8, reg: 0.1, iterations: 7 });
    expect(r.pairsPerSecond).toBeGreaterThan(0);
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.gflops).toBeGreaterThan(0);
    await expect(otBench({ pairs: 0, queryTokens: 3, docTokens: 5, dim: 8, reg: 0.1, iterations: 7 })).rejects.toThrow(/pairs must be/);
  });

  it("randomBatch is seeded and unit-norm", () => {
    const a = randomBatch(2, 3, 5, 9);
    const b = randomBatch(2, 3, 5, 9);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    for (let r = 0; r < 6; r++) {
      let s = 0;
      for (let k = 0; k < 5; k++) s += a.data[r * 5 + k]! ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 5);
    }
  });
});
