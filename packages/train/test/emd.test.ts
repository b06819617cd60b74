import type { HeadConfig } from "@crossrank/encode";
import { batchedSinkhorn, cosineCost, type Matrix, tokenBatch } from "@crossrank/ot";
import { describe, expect, it } from "vitest";
import { emdCandidatesAndGrad, type EmdOptions, emdScoreAndGrad } from "../src/emd.js";
import { TrainableHead } from "../src/head-trainer.js";
import { candidateCrossEntropyLoss } from "../src/losses/index.js";
import { expectClose, expectGradient, finiteDifference, finiteDifferenceF32, relativeError, seeded, uniformArray } from "./grad-check.js";

/**
 * Which finite-difference check is exact.
 *
 * The returned gradient is P*, the Sinkhorn plan, chained through the cosine cost. Two functions
 * have exactly that gradient:
 *  (a) <C(x), P̄> with P̄ held fixed (a constant): true for any iteration count, by construction;
 *  (b) the entropic OT value W_γ(C(x)) = min_P <C(x), P> + γ Σ P (log P − 1) (`regularizedDistance`),
 *      with the plan recomputed at every perturbed x: by the envelope theorem dW_γ/dC = P*, exact
 *      at convergence — so these checks solve tightly (tol 1e-13, many iterations).
 * Not exact: the transport cost <C(x), P*(C(x))> (`distance`) with P* recomputed — its derivative
 * adds <C, ∂P* / ∂C> (what autograd through unrolled iterations would give); a test below measures
 * the gap rather than hiding it.
 */
const TIGHT: EmdOptions = { gamma: 0.5, iterations: 20000, tol: 1e-13 };

function cost(x: Float64Array, n: number, y: Float64Array, m: number, d: number): Matrix {
  return cosineCost({ rows: n, cols: d, data: x }, { rows: m, cols: d, data: y });
}

describe("emdScoreAndGrad: hand-computed", () => {
  it("one token each: P = [1], distance = 1 − cos, gradient of −cos", () => {
    const out = emdScoreAndGrad(Float32Array.from([1, 0]), 1, Float32Array.from([0, 1]), 1, 2);
    expect(out.distance).toBeCloseTo(1, 12);
    expectClose(out.plan, [1]);
    expectClose(out.gradQuery, [0, -1]);
    expectClose(out.gradDoc, [-1, 0]);
    // q = (2, 0), d = (1, 1): cos = 1/√2; ∂(1 − cos)/∂q = −(d̂ − cos q̂)/|q| = (0, −1/(2√2)).
    const two = emdScoreAndGrad(Float32Array.from([2, 0]), 1, Float32Array.from([1, 1]), 1, 2);
    expect(two.distance).toBeCloseTo(1 - Math.SQRT1_2, 12);
    expectClose(two.gradQuery, [0, -1 / (2 * Math.SQRT2)]);
    // ∂/∂d = −(q̂ − cos d̂)/|d| = (−1/(2√2), 1/(2√2)).
    expectClose(two.gradDoc, [-1 / (2 * Math.SQRT2), 1 / (2 * Math.SQRT2)]);
  });

  it("a zero row costs 1 to everything and gets gradient 0 (no NaN)", () => {
    const out = emdScoreAndGrad(Float32Array.from([0, 0, 1, 0]), 2, Float32Array.from([1, 1, 0, 1]), 2, 2, { gamma: 0.1 });
    expect(Number.isFinite(out.distance)).toBe(true);
    expect(Array.from(out.gradQuery.subarray(0, 2))).toEqual([0, 0]);
    for (const v of [...out.gradQuery, ...out.gradDoc]) expect(Number.isFinite(v)).toBe(true);
  });

  it("distance is the lm-emd ranker's (batchedSinkhorn, kernel domain, all iterations run)", async () => {
    const rng = seeded(5);
    const d = 6;
    const q = Float32Array.from(uniformArray(rng, 3 * d));
    const docs = [Float32Array.from(uniformArray(rng, 4 * d)), Float32Array.from(uniformArray(rng, 2 * d))];
    const ranker = await batchedSinkhorn(tokenBatch([{ embeddings: q }], d), tokenBatch(docs.map((e) => ({ embeddings: e })), d), { reg: 0.1, iterations: 100, backend: "js", domain: "kernel", normalize: true });
    const ours = emdCandidatesAndGrad(q, 3, docs.map((rows) => ({ rows, length: rows.length / d })), d, { gamma: 0.1, iterations: 100 });
    expect(ours.distances[0]).toBeCloseTo(ranker.costs[0]!, 5);
    expect(ours.distances[1]).toBeCloseTo(ranker.costs[1]!, 5);
  });
});

describe("emdScoreAndGrad: finite differences", () => {
  const n = 4;
  const m = 5;
  const d = 3;

  it("exact (a): gradient of <C(x), P̄> with the plan held fixed (study settings γ 0.1, 100 iterations)", () => {
    const rng = seeded(31);
    const q = uniformArray(rng, n * d);
    const y = uniformArray(rng, m * d);
    const out = emdScoreAndGrad(q, n, y, m, d, { gamma: 0.1, iterations: 100 });
    const plan = out.plan;
    const fixedPlan = () => {
      const c = cost(q, n, y, m, d).data;
      let s = 0;
      for (let k = 0; k < c.length; k++) s += c[k]! * plan[k]!;
      return s;
    };
    expectGradient(out.gradQuery, finiteDifference(fixedPlan, q), "∂<C,P̄>/∂query");
    expectGradient(out.gradDoc, finiteDifference(fixedPlan, y), "∂<C,P̄>/∂doc");
  });

  it("exact (b): gradient of the entropic OT value W_γ (plan recomputed; envelope theorem)", () => {
    const rng = seeded(32);
    const q = uniformArray(rng, n * d);
    const y = uniformArray(rng, m * d);
    const out = emdScoreAndGrad(q, n, y, m, d, TIGHT);
    expect(out.converged).toBe(true);
    const value = () => emdScoreAndGrad(q, n, y, m, d, TIGHT).regularizedDistance;
    expectGradient(out.gradQuery, finiteDifference(value, q), "∂W_γ/∂query");
    expectGradient(out.gradDoc, finiteDifference(value, y), "∂W_γ/∂doc");
  });

  it("not exact: the transport cost <C, P(C)> differs by <C, ∂P / ∂C>, which the envelope leaves out", () => {
    const rng = seeded(33);
    const q = uniformArray(rng, n * d);
    const y = uniformArray(rng, m * d);
    const gap = (gamma: number): number => {
      const opts = { ...TIGHT, gamma };
      const out = emdScoreAndGrad(q, n, y, m, d, opts);
      const transport = finiteDifference(() => emdScoreAndGrad(q, n, y, m, d, opts).distance, q);
      return relativeError(out.gradQuery, transport);
    };
    const large = gap(0.5);
    const small = gap(0.05);
    if (process.env.GRAD_CHECK_VERBOSE) console.log(`envelope vs transport-cost gradient: γ 0.5 → ${large.toExponential(2)}, γ 0.05 → ${small.toExponential(2)}`);
    // Far above the 1e-3 of the exact checks, and smaller for smaller γ (measured: 0.43 and 0.35).
    expect(large).toBeGreaterThan(0.1);
    expect(small).toBeLessThan(large);
  });
});

describe('emdScoreAndGrad gradient "unrolled" (autograd through the iterations)', () => {
  const n = 4;
  const m = 5;
  const d = 3;

  it("same iterates as the envelope path's kernel solve: same distance and plan", () => {
    const rng = seeded(51);
    const q = uniformArray(rng, n * d);
    const y = uniformArray(rng, m * d);
    const env = emdScoreAndGrad(q, n, y, m, d, { gamma: 0.1, iterations: 37, method: "kernel" });
    const unr = emdScoreAndGrad(q, n, y, m, d, { gamma: 0.1, iterations: 37, gradient: "unrolled" });
    expect(unr.distance).toBeCloseTo(env.distance, 13);
    expectClose(unr.plan, Array.from(env.plan), 1e-14);
    expect(unr.regularizedDistance).toBeCloseTo(env.regularizedDistance, 13);
  });

  for (const [gamma, iterations] of [
    [0.1, 500], // the LM-EMD study's faithful preset
    [1, 7], // far from converged: still exact, it is the derivative of the 7-step map
  ] as const) {
    it(`exact: finite differences of the returned distance (γ ${gamma}, ${iterations} iterations)`, () => {
      const rng = seeded(52 + iterations);
      const q = uniformArray(rng, n * d);
      const y = uniformArray(rng, m * d);
      const opts: EmdOptions = { gamma, iterations, gradient: "unrolled" };
      const out = emdScoreAndGrad(q, n, y, m, d, opts);
      const distance = () => emdScoreAndGrad(q, n, y, m, d, opts).distance;
      expectGradient(out.gradQuery, finiteDifference(distance, q), "unrolled ∂D/∂query");
      expectGradient(out.gradDoc, finiteDifference(distance, y), "unrolled ∂D/∂doc");
    });
  }

  it("at convergence it is the transport cost's derivative, where the envelope gradient is not", () => {
    const rng = seeded(33);
    const q = uniformArray(rng, n * d);
    const y = uniformArray(rng, m * d);
    const unr = emdScoreAndGrad(q, n, y, m, d, { gamma: 0.5, iterations: 3000, gradient: "unrolled" });
    const transport = finiteDifference(() => emdScoreAndGrad(q, n, y, m, d, TIGHT).distance, q);
    expectGradient(unr.gradQuery, transport, "unrolled vs converged transport cost");
  });

  it("rejects the log domain and a tolerance", () => {
    expect(() => emdScoreAndGrad(new Float32Array(2), 1, new Float32Array(2), 1, 2, { gradient: "unrolled", method: "log" })).toThrow(/kernel-domain/);
    expect(() => emdScoreAndGrad(new Float32Array(2), 1, new Float32Array(2), 1, 2, { gradient: "unrolled", tol: 1e-9 })).toThrow(/tol must be 0/);
  });
});

describe("emdCandidatesAndGrad: a query and its candidates under a loss", () => {
  it("backward chains ∂L/∂distance to the rows (cross-entropy over 1 − W_γ, exact)", () => {
    const rng = seeded(41);
    const d = 3;
    const n = 3;
    const lengths = [4, 2, 5];
    const q = uniformArray(rng, n * d);
    const docs = lengths.map((length) => ({ rows: uniformArray(rng, length * d), length }));
    // The study's cross-entropy over raw scores 1 − distance, relevant candidate 1; W_γ so the check is exact.
    const loss = () => {
      const b = emdCandidatesAndGrad(q, n, docs, d, TIGHT);
      const scores = Float64Array.from(b.items, (it) => 1 - it.regularizedDistance);
      return candidateCrossEntropyLoss(scores, 1, lengths.length, Int32Array.from([1])).loss;
    };
    const batch = emdCandidatesAndGrad(q, n, docs, d, TIGHT);
    const scores = Float64Array.from(batch.items, (it) => 1 - it.regularizedDistance);
    const dScores = candidateCrossEntropyLoss(scores, 1, lengths.length, Int32Array.from([1])).grads[0]!;
    const { gradQuery, gradDocs } = batch.backward(Float64Array.from(dScores, (g) => -g));
    expectGradient(gradQuery, finiteDifference(loss, q), "∂L/∂query");
    docs.forEach((doc, c) => expectGradient(gradDocs[c]!, finiteDifference(loss, doc.rows as Float64Array), `∂L/∂doc${c}`));
  });

  it("names the candidate in errors", () => {
    expect(() => emdCandidatesAndGrad(new Float32Array(2), 1, [{ rows: new Float32Array(2), length: 1 }, { rows: new Float32Array(0), length: 0 }], 2)).toThrow(/candidate 1/);
  });
});

/**
 * End to end, as a token head is trained through LM-EMD: base token rows → head → cosine cost →
 * Sinkhorn plan (fixed in the backward) → W_γ per candidate → cross-entropy over 1 − W_γ; gradients
 * through the EMD path and head.backward to the head's parameters and to the base rows. Exact
 * target: the entropic value with the plan recomputed (tight solves). The head's outputs are
 * float32, so the step is 3e-3: large enough that their rounding (~6e-8) stays below 1e-4 of the
 * gradient, small enough that truncation does too (measured: relative errors ≤ 4e-5).
 */
describe("end to end: head → cosine cost → Sinkhorn → loss", () => {
  const heads: [string, HeadConfig][] = [
    ["linear", { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "linear", input: 4, output: 3, appliesTo: "tokens" }],
    ["mlp gelu", { format: "crossrank-head", version: 1, encoder: "fixture:bert", type: "mlp", input: 3, output: 3, hidden: 4, activation: "gelu", appliesTo: "tokens" }],
  ];
  for (const [name, config] of heads) {
    it(name, () => {
      const rng = seeded(name.length * 17);
      const head = TrainableHead.init(config, rng);
      for (const p of head.params()) for (let k = 0; k < p.length; k++) p[k] = (2 * rng() - 1) * 0.7;
      const I = config.input;
      const O = config.output;
      const n = 3;
      const lengths = [4, 3];
      const xq = uniformArray(rng, n * I);
      const xd = lengths.map((length) => uniformArray(rng, length * I));
      const target = Int32Array.from([0]);
      const lossOf = (): number => {
        const q = head.forward(xq, n).y;
        const docs = xd.map((x, c) => ({ rows: head.forward(x, lengths[c]!).y, length: lengths[c]! }));
        const b = emdCandidatesAndGrad(q, n, docs, O, TIGHT);
        return candidateCrossEntropyLoss(Float64Array.from(b.items, (it) => 1 - it.regularizedDistance), 1, lengths.length, target).loss;
      };
      // Forward and backward once.
      const fq = head.forward(xq, n);
      const fd = xd.map((x, c) => head.forward(x, lengths[c]!));
      const batch = emdCandidatesAndGrad(fq.y, n, fd.map((f, c) => ({ rows: f.y, length: lengths[c]! })), O, TIGHT);
      const scores = Float64Array.from(batch.items, (it) => 1 - it.regularizedDistance);
      const dScores = candidateCrossEntropyLoss(scores, 1, lengths.length, target).grads[0]!;
      const { gradQuery, gradDocs } = batch.backward(Float64Array.from(dScores, (g) => -g));
      const grads = head.zeroGrads();
      const dxq = head.backward(fq.cache, gradQuery, grads).dx;
      const dxd = fd.map((f, c) => head.backward(f.cache, gradDocs[c]!, grads).dx);

      const h = 3e-3;
      for (const p of head.paramNames()) expectGradient(grads[p]!, finiteDifferenceF32(lossOf, head.weights[p]!, h), `${name} ∂L/∂${p}`);
      expectGradient(dxq, finiteDifference(lossOf, xq, h), `${name} ∂L/∂query tokens`);
      xd.forEach((x, c) => expectGradient(dxd[c]!, finiteDifference(lossOf, x, h), `${name} ∂L/∂doc${c} tokens`));
    });
  }
});
