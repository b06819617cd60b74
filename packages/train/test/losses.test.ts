import { describe, expect, it } from "vitest";
import {
  candidateCrossEntropyLoss,
  DEFAULT_DISTILL_WEIGHTS,
  distillLoss,
  inBatchSoftmaxLoss,
  type LossOutput,
  mseLoss,
  pairwiseHingeLoss,
  pairwiseSoftplusLoss,
  relevanceRankingLoss,
  tripletLoss,
  type TripletDistance,
} from "../src/losses/index.js";
import { expectClose, expectGradient, finiteDifference, seeded, uniformArray } from "./grad-check.js";

/**
 * Checks every differentiable input of a loss by central differences in float64: the losses take
 * Float64Array inputs and accumulate in float64, so only the float32 rounding of the returned
 * gradients (~1e-7 relative) separates analytic and numeric values.
 *
 * `inputs[k]` is perturbed for each k in `differentiable`, whose position gives the index into `grads`.
 */
function checkLoss(name: string, inputs: Float64Array[], loss: (inputs: Float64Array[]) => LossOutput, differentiable: number[], h = 1e-5): void {
  const out = loss(inputs);
  expect(out.grads.length, `${name}: one gradient per differentiable input`).toBe(differentiable.length);
  differentiable.forEach((inputIndex, gradIndex) => {
    const x = inputs[inputIndex]!;
    const g = out.grads[gradIndex]!;
    expect(g).toBeInstanceOf(Float32Array);
    expect(g.length, `${name}: gradient ${gradIndex} has the input's shape`).toBe(x.length);
    const numeric = finiteDifference(() => loss(inputs).loss, x, h);
    expectGradient(g, numeric, `${name} ∂/∂input${inputIndex}`);
  });
}

/** Every entry of `values` at least `gap` away from 0 (so a finite-difference step never crosses a kink). */
function awayFromKinks(values: number[], gap: number): boolean {
  return values.every((v) => Math.abs(v) > gap);
}

describe("pairwiseHingeLoss (MarginRankingLoss)", () => {
  it("hand-computed: one satisfied pair, one violated", () => {
    // pair 0: 0.1 − (1 − 0.5) = −0.4 → 0; pair 1: 0.1 − (0.2 − 0.6) = 0.5 → mean 0.25.
    const out = pairwiseHingeLoss(Float32Array.from([1, 0.2]), Float32Array.from([0.5, 0.6]), 0.1);
    expect(out.loss).toBeCloseTo(0.25, 7);
    expectClose(out.grads[0]!, [0, -0.5]);
    expectClose(out.grads[1]!, [0, 0.5]);
    expect(pairwiseHingeLoss(Float32Array.from([1, 0.2]), Float32Array.from([0.5, 0.6]), 0.1, "sum").loss).toBeCloseTo(0.5, 7);
  });

  it("margin 0 (the LM-EMD study's): only misordered pairs count; an empty batch is 0", () => {
    const out = pairwiseHingeLoss(Float32Array.from([0.3, 0.1]), Float32Array.from([0.2, 0.4]), 0);
    expect(out.loss).toBeCloseTo(0.15, 7);
    expect(pairwiseHingeLoss(new Float32Array(0), new Float32Array(0), 0)).toEqual({ loss: 0, grads: [new Float32Array(0), new Float32Array(0)] });
  });

  it("gradients match finite differences", () => {
    const rng = seeded(11);
    const pos = uniformArray(rng, 12);
    const neg = uniformArray(rng, 12);
    const margin = 0.3;
    expect(awayFromKinks(Array.from(pos, (p, i) => margin - (p - neg[i]!)), 1e-3)).toBe(true);
    checkLoss("hinge", [pos, neg], ([p, n]) => pairwiseHingeLoss(p!, n!, margin), [0, 1]);
  });

  it("rejects mismatched lengths and non-finite scores", () => {
    expect(() => pairwiseHingeLoss(new Float32Array(2), new Float32Array(3), 0)).toThrow(/scoreNeg has 3 values, expected 2/);
    expect(() => pairwiseHingeLoss(Float32Array.from([NaN]), new Float32Array(1), 0)).toThrow(/scorePos\[0\] is NaN/);
  });
});

describe("pairwiseSoftplusLoss (RankNet)", () => {
  it("hand-computed: equal scores give log 2, gradients ∓½", () => {
    const out = pairwiseSoftplusLoss(Float32Array.from([0]), Float32Array.from([0]));
    expect(out.loss).toBeCloseTo(Math.LN2, 12);
    expectClose(out.grads[0]!, [-0.5]);
    expectClose(out.grads[1]!, [0.5]);
  });

  it("is finite for huge score gaps (no overflow)", () => {
    const out = pairwiseSoftplusLoss(Float32Array.from([1000, -1000]), Float32Array.from([0, 0]));
    // softplus(−1000) ≈ 0, softplus(1000) = 1000.
    expect(out.loss).toBeCloseTo(500, 9);
    expectClose(out.grads[0]!, [0, -0.5]);
    expectClose(out.grads[1]!, [0, 0.5]);
  });

  it("gradients match finite differences", () => {
    const rng = seeded(12);
    checkLoss("softplus", [uniformArray(rng, 9, -3, 3), uniformArray(rng, 9, -3, 3)], ([p, n]) => pairwiseSoftplusLoss(p!, n!), [0, 1]);
  });
});

describe("candidateCrossEntropyLoss", () => {
  it("hand-computed: scores [0, 0, ln 2], target 2 → ln 2, gradient softmax − onehot", () => {
    const out = candidateCrossEntropyLoss(Float32Array.from([0, 0, Math.LN2]), 1, 3, Int32Array.from([2]));
    expect(out.loss).toBeCloseTo(Math.LN2, 7);
    expectClose(out.grads[0]!, [0.25, 0.25, -0.5]);
  });

  it("is exact for huge logits (log-sum-exp)", () => {
    const out = candidateCrossEntropyLoss(Float32Array.from([1000, 0]), 1, 2, Int32Array.from([1]));
    expect(out.loss).toBeCloseTo(1000, 9);
    expectClose(out.grads[0]!, [1, -1]);
  });

  it("gradients match finite differences (LM-EMD: raw scores 1 − distance)", () => {
    const rng = seeded(13);
    const n = 4;
    const c = 5;
    const target = Int32Array.from([0, 3, 1, 4]);
    checkLoss("cross-entropy", [uniformArray(rng, n * c, -2, 2)], ([s]) => candidateCrossEntropyLoss(s!, n, c, target), [0]);
  });

  it("rejects targets out of range", () => {
    expect(() => candidateCrossEntropyLoss(new Float32Array(3), 1, 3, Int32Array.from([3]))).toThrow(/target\[0\] is 3/);
  });
});

describe("relevanceRankingLoss (Pretraining-CLIR's RR)", () => {
  it("hand-computed: column 0 relevant among 3 equal scores → ln 3", () => {
    const out = relevanceRankingLoss(Float32Array.from([1, 1, 1, 2, 0, 0]), 2, 3);
    // row 0: ln 3; row 1: −log(e²/(e² + 2)).
    const row1 = Math.log(Math.exp(2) + 2) - 2;
    expect(out.loss).toBeCloseTo((Math.log(3) + row1) / 2, 7);
    const p = Math.exp(2) / (Math.exp(2) + 2);
    expectClose(out.grads[0]!, [(1 / 3 - 1) / 2, 1 / 6, 1 / 6, (p - 1) / 2, (1 - p) / 4, (1 - p) / 4]);
  });

  it("equals cross-entropy with every target 0, and its gradients match finite differences", () => {
    const rng = seeded(14);
    const scores = uniformArray(rng, 3 * 4, -2, 2);
    expect(relevanceRankingLoss(scores, 3, 4).loss).toBeCloseTo(candidateCrossEntropyLoss(scores, 3, 4, new Int32Array(3)).loss, 12);
    checkLoss("rr", [scores], ([s]) => relevanceRankingLoss(s!, 3, 4), [0]);
  });
});

describe("tripletLoss", () => {
  it("hand-computed: CL-ReLKT's d = 1 − a·x, margin 0.24, summed", () => {
    // d(a,p) = 1 − 0.8 = 0.2, d(a,n) = 1 − 0.6 = 0.4 → 0.2 − 0.4 + 0.24 = 0.04.
    const a = Float32Array.from([1, 0]);
    const p = Float32Array.from([0.8, 0.6]);
    const n = Float32Array.from([0.6, 0.8]);
    const out = tripletLoss(a, p, n, 1, 2, { margin: 0.24, distance: "dot", reduction: "sum" });
    expect(out.loss).toBeCloseTo(0.04, 6);
    expectClose(out.grads[0]!, [-0.2, 0.2]); // −p + n
    expectClose(out.grads[1]!, [-1, 0]); // −a
    expectClose(out.grads[2]!, [1, 0]); // +a
    expect(out.parts).toEqual({ active: 1 });
  });

  it("hand-computed: euclidean", () => {
    // |a − p| = 5, |a − n| = 1, margin 1 → 5.
    const out = tripletLoss(Float32Array.from([0, 0]), Float32Array.from([3, 4]), Float32Array.from([0, 1]), 1, 2, { margin: 1, distance: "euclidean" });
    expect(out.loss).toBeCloseTo(5, 6);
    expectClose(out.grads[0]!, [-0.6, 0.2]);
    expectClose(out.grads[1]!, [0.6, 0.8]);
    expectClose(out.grads[2]!, [0, -1]);
  });

  it("hand-computed: cosine, and a zero anchor gives distance 1 and gradient 0 (no NaN)", () => {
    // cos(a,p) = 0.6 (p = 2·(0.6, 0.8)), cos(a,n) = 0 → (1 − 0.6) − 1 + 0.5 = −0.1 → inactive.
    const inactive = tripletLoss(Float32Array.from([1, 0]), Float32Array.from([1.2, 1.6]), Float32Array.from([0, 3]), 1, 2, { margin: 0.5, distance: "cosine" });
    expect(inactive.loss).toBe(0);
    const zero = tripletLoss(new Float32Array(2), Float32Array.from([1, 2]), Float32Array.from([3, 1]), 1, 2, { margin: 0.3, distance: "cosine" });
    expect(zero.loss).toBeCloseTo(0.3, 7);
    for (const g of zero.grads) expect(Array.from(g).every((v) => v === 0)).toBe(true);
  });

  for (const distance of ["dot", "cosine", "euclidean"] as TripletDistance[]) {
    for (const reduction of ["mean", "sum"] as const) {
      it(`gradients match finite differences (${distance}, ${reduction})`, () => {
        const rng = seeded(distance.length * 7 + reduction.length);
        const n = 6;
        const d = 5;
        const a = uniformArray(rng, n * d);
        const p = uniformArray(rng, n * d);
        const ng = uniformArray(rng, n * d);
        // A margin that leaves most triplets active, so the check covers the gradient formula.
        const margin = distance === "euclidean" ? 1.5 : 0.8;
        const out = tripletLoss(a, p, ng, n, d, { margin, distance, reduction });
        expect(out.parts!.active).toBeGreaterThan(0);
        checkLoss(`triplet ${distance}`, [a, p, ng], ([x, y, z]) => tripletLoss(x!, y!, z!, n, d, { margin, distance, reduction }), [0, 1, 2]);
      });
    }
  }
});

describe("inBatchSoftmaxLoss (MultipleNegativesRankingLoss)", () => {
  it("hand-computed: orthonormal pairs, τ = 1", () => {
    // S = I: each row's loss is log(e + 1) − 1.
    const q = Float32Array.from([1, 0, 0, 1]);
    const out = inBatchSoftmaxLoss(q, q, 2, 2, { temperature: 1 });
    expect(out.loss).toBeCloseTo(Math.log(1 + Math.E) - 1, 7);
    // G = (softmax − I)/2; for cosine, ∂L/∂q_0 = (Σ_j G_0j d̂_j − (Σ_j G_0j S_0j) q̂_0) = (0, 1/(2(1+e))).
    const s = 1 / (2 * (1 + Math.E));
    expectClose(out.grads[0]!, [0, s, s, 0]);
    expectClose(out.grads[1]!, [0, s, s, 0]);
    const sym = inBatchSoftmaxLoss(q, q, 2, 2, { temperature: 1, symmetric: true });
    expect(sym.loss).toBeCloseTo(Math.log(1 + Math.E) - 1, 7);
  });

  it("hand-computed: sentence-transformers' scale 20 (τ = 0.05) and extra hard negatives", () => {
    // One query, its positive and one hard negative: S = 20·[1, 0] → loss log(1 + e^−20).
    const out = inBatchSoftmaxLoss(Float32Array.from([1, 0]), Float32Array.from([2, 0, 0, 3]), 1, 2, { temperature: 0.05 });
    expect(out.loss).toBeCloseTo(Math.log1p(Math.exp(-20)), 12);
    expect(out.grads[1]!.length).toBe(4);
  });

  it("zero vectors give cosine 0 and no NaN", () => {
    const out = inBatchSoftmaxLoss(Float32Array.from([0, 0, 1, 0]), Float32Array.from([1, 0, 1, 1]), 2, 2, { temperature: 0.05 });
    expect(Number.isFinite(out.loss)).toBe(true);
    for (const g of out.grads) for (const v of g) expect(Number.isFinite(v)).toBe(true);
    expect(Array.from(out.grads[0]!.subarray(0, 2))).toEqual([0, 0]);
  });

  for (const similarity of ["cosine", "dot"] as const) {
    for (const symmetric of [false, true]) {
      it(`gradients match finite differences (${similarity}, symmetric ${symmetric}, hard negatives)`, () => {
        const rng = seeded(similarity.length * 3 + (symmetric ? 1 : 0));
        const n = 4;
        const m = 6; // 4 positives + 2 hard negatives
        const d = 5;
        const temperature = similarity === "cosine" ? 0.05 : 1;
        checkLoss(
          `in-batch ${similarity}`,
          [uniformArray(rng, n * d), uniformArray(rng, m * d)],
          ([q, docs]) => inBatchSoftmaxLoss(q!, docs!, n, d, { temperature, symmetric, similarity }),
          [0, 1],
        );
      });
    }
  }

  it("rejects fewer documents than queries", () => {
    expect(() => inBatchSoftmaxLoss(new Float32Array(6), new Float32Array(4), 3, 2, { temperature: 1 })).toThrow(/at least n = 3/);
  });
});

describe("mseLoss", () => {
  it("hand-computed", () => {
    const out = mseLoss(Float32Array.from([1, 2]), Float32Array.from([0, 0]));
    expect(out.loss).toBeCloseTo(2.5, 7);
    expectClose(out.grads[0]!, [1, 2]);
    expect(out.grads.length).toBe(1);
  });

  it("gradient matches finite differences (w.r.t. pred only)", () => {
    const rng = seeded(21);
    checkLoss("mse", [uniformArray(rng, 10), uniformArray(rng, 10)], ([p, t]) => mseLoss(p!, t!), [0]);
  });
});

describe("distillLoss (CL-ReLKT)", () => {
  it("hand-computed with the default weights 1000·[0.001, 1.0, 0.01]", () => {
    // MSE(T(q_en)=0, S(q_x)=1) = 1, MSE(T(d)=2, S(d)=1) = 1, MSE(T(d)=2, S(q_x)=1) = 1.
    const out = distillLoss({ teacherQueryEn: Float32Array.from([0]), studentQueryX: Float32Array.from([1]), teacherDoc: Float32Array.from([2]), studentDoc: Float32Array.from([1]) }, 1);
    expect(out.loss).toBeCloseTo(1011, 9);
    expect(out.parts).toEqual({ queryQuery: 1, docDoc: 1000, docQuery: 10 });
    // ∂/∂S(q_x) = 1000·2·(0.001·(1 − 0) + 0.01·(1 − 2)) = −18; ∂/∂S(d) = 1000·2·(1 − 2) = −2000.
    expectClose(out.grads[0]!, [-18], 1e-4);
    expectClose(out.grads[1]!, [-2000], 1e-3);
    expect(DEFAULT_DISTILL_WEIGHTS).toEqual({ queryQuery: 0.001, docDoc: 1.0, docQuery: 0.01, scale: 1000 });
  });

  it("takes a subset of weights", () => {
    const t = { teacherQueryEn: Float32Array.from([0]), studentQueryX: Float32Array.from([1]), teacherDoc: Float32Array.from([2]), studentDoc: Float32Array.from([1]) };
    expect(distillLoss(t, 1, { scale: 1, docDoc: 0 }).loss).toBeCloseTo(0.011, 12);
  });

  it("gradients match finite differences (w.r.t. the student's outputs)", () => {
    const rng = seeded(22);
    const n = 3;
    const d = 4;
    const inputs = [uniformArray(rng, n * d), uniformArray(rng, n * d), uniformArray(rng, n * d), uniformArray(rng, n * d)];
    const weights = { queryQuery: 0.3, docDoc: 1.0, docQuery: 0.2, scale: 10 };
    checkLoss("distill", inputs, ([tq, sq, td, sd]) => distillLoss({ teacherQueryEn: tq!, studentQueryX: sq!, teacherDoc: td!, studentDoc: sd! }, d, weights), [1, 3]);
    checkLoss("distill (defaults)", inputs, ([tq, sq, td, sd]) => distillLoss({ teacherQueryEn: tq!, studentQueryX: sq!, teacherDoc: td!, studentDoc: sd! }, d), [1, 3]);
  });
});
