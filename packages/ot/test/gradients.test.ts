import { describe, expect, it } from "vitest";
import { cosineCost } from "../src/geometry.js";
import { cosineCostBackward, sinkhornCostGradient } from "../src/gradients.js";
import { type Matrix, matrix } from "../src/matrix.js";
import { linearProblem } from "../src/problem.js";
import { sinkhornLog } from "../src/sinkhorn.js";
import { mulberry32 } from "../src/random.js";


function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const r = mulberry32(seed);
  return matrix(rows, cols, Array.from({ length: rows * cols }, () => r() * 2 - 1));
}

const A = [0.2, 0.5, 0.1, 0.9];
const B = [1, 0.3, 0.7, 0.2, 0.4, 0.6];

/** Tight convergence: the marginal error's rounding floor is near 1e-15 on these problems. */
const TIGHT = { tol: 1e-14, maxIter: 100_000 };

/** The regularized OT value W_reg(C), solved tightly in log domain. */
function regularizedValue(cost: Matrix, reg: number): number {
  const out = sinkhornLog(linearProblem(cost, A, B), { reg, ...TIGHT });
  return out.regularizedCost;
}

/** Central difference of fn along entry k of m (m is restored). */
function centralDifference(m: Matrix, k: number, h: number, fn: () => number): number {
  const v = m.data[k]!;
  m.data[k] = v + h;
  const up = fn();
  m.data[k] = v - h;
  const down = fn();
  m.data[k] = v;
  return (up - down) / (2 * h);
}

describe("sinkhornCostGradient", () => {
  it.each([1, 0.1, 0.02])("is the gradient of the regularized OT value in C (reg %s, central differences)", (reg) => {
    const cost = cosineCost(randomMatrix(4, 3, 1), randomMatrix(6, 3, 2));
    const out = sinkhornLog(linearProblem(cost, A, B), { reg, ...TIGHT });
    const grad = sinkhornCostGradient(out);
    expect(grad.data).not.toBe(out.plan.data);
    for (let k = 0; k < cost.data.length; k++) {
      const fd = centralDifference(cost, k, 1e-5, () => regularizedValue(cost, reg));
      expect(Math.abs(grad.data[k]! - fd), `entry ${k}`).toBeLessThan(2e-8);
    }
  });

  it("is not the gradient of the unregularized cost <P*, C> at large reg", () => {
    const cost = cosineCost(randomMatrix(4, 3, 1), randomMatrix(6, 3, 2));
    const transportCost = (): number =>
      sinkhornLog(linearProblem(cost, A, B), { reg: 1, ...TIGHT }).cost;
    const plan = sinkhornCostGradient(sinkhornLog(linearProblem(cost, A, B), { reg: 1, ...TIGHT }));
    const fd = centralDifference(cost, 0, 1e-5, transportCost);
    expect(Math.abs(fd - plan.data[0]!)).toBeGreaterThan(1e-3);
  });
});

describe("cosineCostBackward", () => {
  const x = randomMatrix(3, 5, 3);
  const y = randomMatrix(4, 5, 4);
  const G = randomMatrix(3, 4, 5);
  const loss = (): number => cosineCost(x, y).data.reduce((s, c, k) => s + G.data[k]! * c, 0);

  it("matches central differences of Σ G ⊙ C(x, y)", () => {
    const grad = cosineCostBackward(x, y, G);
    expect([grad.x.rows, grad.x.cols, grad.y.rows, grad.y.cols]).toEqual([3, 5, 4, 5]);
    for (let k = 0; k < x.data.length; k++) expect(grad.x.data[k]).toBeCloseTo(centralDifference(x, k, 1e-6, loss), 8);
    for (let k = 0; k < y.data.length; k++) expect(grad.y.data[k]).toBeCloseTo(centralDifference(y, k, 1e-6, loss), 8);
  });

  it("gives gradients orthogonal to their vectors (the cosine is scale invariant)", () => {
    const grad = cosineCostBackward(x, y, G);
    for (let i = 0; i < 3; i++) {
      let dot = 0;
      for (let k = 0; k < 5; k++) dot += grad.x.data[i * 5 + k]! * x.data[i * 5 + k]!;
      expect(Math.abs(dot)).toBeLessThan(1e-14);
    }
  });

  it("gives a zero vector gradient 0 and leaves the other gradients exact", () => {
    const yz = matrix(4, 5, y.data);
    yz.data.fill(0, 5, 10); // y_1 = 0
    const lossZ = (): number => cosineCost(x, yz).data.reduce((s, c, k) => s + G.data[k]! * c, 0);
    const grad = cosineCostBackward(x, yz, G);
    expect(Array.from(grad.y.data.subarray(5, 10))).toEqual([0, 0, 0, 0, 0]);
    for (let k = 0; k < x.data.length; k++) expect(grad.x.data[k]).toBeCloseTo(centralDifference(x, k, 1e-6, lossZ), 8);
  });

  it("chains with sinkhornCostGradient: the LM-EMD gradient in the query embeddings", () => {
    const reg = 0.1;
    const value = (): number =>
      sinkhornLog(linearProblem(cosineCost(x, y)), { reg, ...TIGHT }).regularizedCost;
    const out = sinkhornLog(linearProblem(cosineCost(x, y)), { reg, ...TIGHT });
    const grad = cosineCostBackward(x, y, sinkhornCostGradient(out));
    for (let k = 0; k < x.data.length; k++) expect(Math.abs(grad.x.data[k]! - centralDifference(x, k, 1e-5, value))).toBeLessThan(1e-8);
  });

  it("rejects shapes that do not fit", () => {
    expect(() => cosineCostBackward(x, y, matrix(4, 3))).toThrow("gradCost is 4×3, expected 3×4");
    expect(() => cosineCostBackward(x, matrix(4, 2), matrix(3, 4))).toThrow("dimension");
  });
});
