import { describe, expect, it } from "vitest";
import { cosineCost, squaredEuclideanCost } from "../src/geometry.js";
import { type Matrix, matrix, matrixFromRows } from "../src/matrix.js";
import { type Problem, linearProblem } from "../src/problem.js";
import { KERNEL_SAFE_RANGE, type SinkhornOutput, sinkhorn, sinkhornKernel, sinkhornLog } from "../src/sinkhorn.js";
import { mulberry32 } from "../src/random.js";


function randomMatrix(rows: number, cols: number, seed: number, scale = 1): Matrix {
  const r = mulberry32(seed);
  return matrix(rows, cols, Array.from({ length: rows * cols }, () => scale * (r() * 2 - 1)));
}

function randomWeights(n: number, seed: number): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => 0.1 + r());
}

function rowSums(p: Matrix): number[] {
  return Array.from({ length: p.rows }, (_, i) => p.data.subarray(i * p.cols, (i + 1) * p.cols).reduce((s, v) => s + v, 0));
}

function colSums(p: Matrix): number[] {
  return Array.from({ length: p.cols }, (_, j) => {
    let s = 0;
    for (let i = 0; i < p.rows; i++) s += p.data[i * p.cols + j]!;
    return s;
  });
}

function expectFinite(out: SinkhornOutput): void {
  for (const v of out.plan.data) expect(Number.isFinite(v) && v >= 0).toBe(true);
  expect(Number.isFinite(out.cost)).toBe(true);
  expect(Number.isFinite(out.regularizedCost)).toBe(true);
  expect(Number.isFinite(out.marginalError)).toBe(true);
}

/** A 7×11 cosine problem with non-uniform weights on both sides. */
function weightedProblem(): Problem {
  const x = randomMatrix(7, 5, 1);
  const y = randomMatrix(11, 5, 2);
  return linearProblem(cosineCost(x, y), randomWeights(7, 3), randomWeights(11, 4));
}

const METHODS = ["auto", "kernel", "log"] as const;

describe("tiny hand-checkable problems", () => {
  it.each(METHODS)("1×1 (%s): the whole mass moves, regularized cost C − reg", (method) => {
    const out = sinkhorn(linearProblem(matrix(1, 1, [0.3])), { reg: 0.5, method });
    expect(Array.from(out.plan.data)).toEqual([1]);
    expect(out.cost).toBeCloseTo(0.3, 15);
    expect(out.regularizedCost).toBeCloseTo(0.3 - 0.5, 15);
    expect(out.converged).toBe(true);
    expect(out.marginalError).toBe(0);
    expect(out.f[0]! + out.g[0]!).toBeCloseTo(0.3, 14); // P = exp((f + g − C)/reg) = 1
  });

  it.each(METHODS)("2×2 at large reg (%s): the plan is the independent coupling a bᵀ", (method) => {
    const out = sinkhorn(linearProblem(matrix(2, 2, [0, 1, 1, 0]), [0.3, 0.7], [0.6, 0.4]), { reg: 1e6, method });
    const expected = [0.3 * 0.6, 0.3 * 0.4, 0.7 * 0.6, 0.7 * 0.4];
    out.plan.data.forEach((p, k) => expect(p).toBeCloseTo(expected[k]!, 6));
  });

  it("2×2 at moderate reg matches the closed form (symmetric case: P = [[q, 1/2 − q], …], q = 1/(2(1 + e^{−1/reg})))", () => {
    const reg = 0.5;
    const q = 1 / (2 * (1 + Math.exp(-1 / reg)));
    for (const method of METHODS) {
      const out = sinkhorn(linearProblem(matrix(2, 2, [0, 1, 1, 0])), { reg, method, tol: 1e-14 });
      expect(out.plan.data[0]).toBeCloseTo(q, 13);
      expect(out.plan.data[1]).toBeCloseTo(0.5 - q, 13);
      expect(out.cost).toBeCloseTo(2 * (0.5 - q), 13);
    }
  });

  it("small reg approaches the exact OT solution of a permutation problem", () => {
    // 5 points against a shuffled, slightly moved copy: the exact optimum is that permutation.
    const perm = [3, 0, 4, 1, 2];
    const x = matrixFromRows([[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0.5]]);
    const y = matrixFromRows(perm.map((p) => [x.data[2 * p]! + 0.01, x.data[2 * p + 1]! - 0.02]));
    const problem = linearProblem(squaredEuclideanCost(x, y));
    const exact = perm.reduce((s, p, j) => s + problem.cost.data[p * 5 + j]!, 0) / 5; // = 0.0005
    let previousGap = Infinity;
    for (const reg of [0.1, 0.01, 0.001]) {
      const out = sinkhorn(problem, { reg, maxIter: 100_000 });
      expect(out.converged).toBe(true);
      const gap = out.cost - exact;
      expect(gap).toBeGreaterThanOrEqual(-1e-12);
      expect(gap).toBeLessThanOrEqual(previousGap);
      previousGap = gap;
      if (reg === 0.001) {
        expect(out.method).toBe("log"); // cost range ~2.2 > 500 · 0.001
        perm.forEach((p, j) => expect(out.plan.data[p * 5 + j]).toBeCloseTo(0.2, 9));
      }
    }
    expect(previousGap).toBeLessThan(1e-9);
  });
});

describe("convergence", () => {
  it.each(METHODS)("satisfies both marginals at convergence (%s, non-uniform 7×11)", (method) => {
    const problem = weightedProblem();
    const out = sinkhorn(problem, { reg: 0.05, tol: 1e-12, method });
    expect(out.converged).toBe(true);
    expect(out.marginalError).toBeLessThan(1e-12);
    rowSums(out.plan).forEach((s, i) => expect(Math.abs(s - problem.a[i]!)).toBeLessThan(1e-12));
    colSums(out.plan).forEach((s, j) => expect(Math.abs(s - problem.b[j]!)).toBeLessThan(1e-12));
    expect(out.iterations % 10).toBe(0); // checked every 10 iterations, like POT
  });

  it.each([1, 7, 23, 100])("tol 0 with maxIter %i runs exactly that many iterations, every method", (k) => {
    for (const method of METHODS) {
      const out = sinkhorn(weightedProblem(), { reg: 0.05, tol: 0, maxIter: k, method });
      expect(out.iterations).toBe(k);
      expect(out.converged).toBe(false);
      expect(out.method).toBe(method === "log" ? "log" : "kernel");
    }
  });

  it("does not converge within too few iterations, and says so", () => {
    const out = sinkhorn(weightedProblem(), { reg: 0.001, maxIter: 20 });
    expect(out.converged).toBe(false);
    expect(out.iterations).toBe(20);
    expect(out.marginalError).toBeGreaterThan(1e-9);
    expectFinite(out);
  });

  it("checks every checkEvery iterations", () => {
    const problem = weightedProblem();
    const every1 = sinkhorn(problem, { reg: 0.05, checkEvery: 1 });
    const every7 = sinkhorn(problem, { reg: 0.05, checkEvery: 7 });
    expect(every7.iterations % 7).toBe(0);
    expect(every7.iterations).toBeGreaterThanOrEqual(every1.iterations);
    expect(every7.iterations - every1.iterations).toBeLessThan(7);
  });
});

describe("kernel and log domain", () => {
  it("follow the same iterates: same plan, same potentials, same iteration count", () => {
    const problem = weightedProblem();
    const kernel = sinkhornKernel(problem, { reg: 0.02, tol: 1e-11 });
    const log = sinkhornLog(problem, { reg: 0.02, tol: 1e-11 });
    expect(kernel.method).toBe("kernel");
    expect(log.method).toBe("log");
    expect(kernel.iterations).toBe(log.iterations);
    kernel.plan.data.forEach((p, k) => expect(Math.abs(p - log.plan.data[k]!)).toBeLessThan(1e-13));
    kernel.f.forEach((f, i) => expect(f).toBeCloseTo(log.f[i]!, 10));
    kernel.g.forEach((g, j) => expect(g).toBeCloseTo(log.g[j]!, 10));
  });

  it.each(METHODS)("potentials give the plan, P = exp((f + g − C)/reg), and the dual value (%s)", (method) => {
    const problem = weightedProblem();
    const reg = 0.03;
    const out = sinkhorn(problem, { reg, tol: 1e-13, method });
    const { rows: n, cols: m } = problem.cost;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const p = Math.exp((out.f[i]! + out.g[j]! - problem.cost.data[i * m + j]!) / reg);
        expect(Math.abs(p - out.plan.data[i * m + j]!)).toBeLessThan(1e-14);
      }
    }
    // Strong duality: <P, C> + reg Σ P (log P − 1) = <f, a> + <g, b> − reg.
    const dual = problem.a.reduce((s, ai, i) => s + ai * out.f[i]!, 0) + problem.b.reduce((s, bj, j) => s + bj * out.g[j]!, 0) - reg;
    expect(out.regularizedCost).toBeCloseTo(dual, 11);
    let entropy = 0;
    for (const p of out.plan.data) entropy += p > 0 ? p * (Math.log(p) - 1) : 0;
    expect(out.regularizedCost).toBeCloseTo(out.cost + reg * entropy, 14);
  });

  it.each(METHODS)("zero weights give zero plan rows and columns and −∞ potentials (%s)", (method) => {
    const problem = linearProblem(cosineCost(randomMatrix(4, 3, 5), randomMatrix(6, 3, 6)), [1, 0, 2, 1], [0, 1, 1, 1, 1, 3]);
    const out = sinkhorn(problem, { reg: 0.05, tol: 1e-12, method });
    expect(out.converged).toBe(true);
    expectFinite(out);
    expect(rowSums(out.plan)[1]).toBe(0);
    expect(colSums(out.plan)[0]).toBe(0);
    expect(out.f[1]).toBe(-Infinity);
    expect(out.g[0]).toBe(-Infinity);
    expect(Number.isFinite(out.f[0]!) && Number.isFinite(out.g[1]!)).toBe(true);
  });

  it("works for differently sized sides and a 1×m or n×1 problem", () => {
    const wide = sinkhorn(linearProblem(randomMatrix(1, 9, 7)), { reg: 0.1 });
    wide.plan.data.forEach((p) => expect(p).toBeCloseTo(1 / 9, 14));
    const tall = sinkhorn(linearProblem(randomMatrix(9, 1, 8), randomWeights(9, 9)), { reg: 0.1 });
    expect(tall.converged).toBe(true);
    expect(colSums(tall.plan)[0]).toBeCloseTo(1, 14);
  });
});

describe("auto and numerical safety", () => {
  it("chooses kernel for a cost range up to 500·reg and log beyond", () => {
    expect(KERNEL_SAFE_RANGE).toBe(500);
    const problem = linearProblem(matrix(2, 2, [0, 1, 1, 0]));
    expect(sinkhorn(problem, { reg: 1 / 500 }).method).toBe("kernel");
    expect(sinkhorn(problem, { reg: 1 / 501 }).method).toBe("log");
  });

  it("never returns NaN or Infinity at reg 0.001 with large costs", () => {
    // Squared distances up to ~2000: a cost range of 2e6·reg; exp(−C/reg) is 0 almost everywhere.
    const x = randomMatrix(12, 3, 10, 15);
    const y = randomMatrix(30, 3, 11, 15);
    const problem = linearProblem(squaredEuclideanCost(x, y), randomWeights(12, 12), randomWeights(30, 13));
    const out = sinkhorn(problem, { reg: 0.001, maxIter: 2000 });
    expect(out.method).toBe("log");
    expectFinite(out);
    for (const f of out.f) expect(Number.isFinite(f)).toBe(true);
    for (const g of out.g) expect(Number.isFinite(g)).toBe(true);
    expect(() => sinkhornKernel(problem, { reg: 0.001 })).toThrow(/numerical breakdown at iteration 1 .*use method "log" or "auto"/);
  });

  it("never returns NaN at reg 0.001 on LM-EMD-sized cosine problems", () => {
    const problem = linearProblem(cosineCost(randomMatrix(12, 32, 14), randomMatrix(200, 32, 15)), randomWeights(12, 16));
    const out = sinkhorn(problem, { reg: 0.001, maxIter: 20_000 });
    expect(out.method).toBe("log");
    expect(out.converged).toBe(true);
    expectFinite(out);
  });

  it("restarts in log domain when the kernel iteration breaks down within the safe range", () => {
    // Hand-built problem with masses 1e300 (equal, so valid) and a cost range of 400·reg: the
    // scaling v_1 = b_1 / (Kᵀu)_1 ≈ 5e299 / e^−400 overflows.
    const cost = matrix(2, 2, [0, 400, 0, 400]);
    const problem: Problem = { cost, a: Float64Array.of(5e299, 5e299), b: Float64Array.of(5e299, 5e299) };
    expect(() => sinkhornKernel(problem, { reg: 1 })).toThrow("numerical breakdown");
    const out = sinkhorn(problem, { reg: 1, maxIter: 50, tol: 0 });
    expect(out.method).toBe("log");
    expect(out.iterations).toBe(50);
    for (const p of out.plan.data) expect(Number.isFinite(p)).toBe(true);
  });
});

describe("validation", () => {
  const problem = linearProblem(matrix(2, 2, [0, 1, 1, 0]));

  it("rejects bad options", () => {
    expect(() => sinkhorn(problem, { reg: 0 })).toThrow("reg must be a finite number > 0, got 0");
    expect(() => sinkhorn(problem, { reg: -1 })).toThrow("reg must be a finite number > 0");
    expect(() => sinkhorn(problem, { reg: Number.NaN })).toThrow("reg must be a finite number > 0, got NaN");
    expect(() => sinkhorn(problem, { reg: 1, maxIter: 0 })).toThrow("maxIter must be an integer >= 1");
    expect(() => sinkhorn(problem, { reg: 1, maxIter: 2.5 })).toThrow("maxIter must be an integer >= 1");
    expect(() => sinkhorn(problem, { reg: 1, tol: -1 })).toThrow("tol must be a number >= 0");
    expect(() => sinkhorn(problem, { reg: 1, checkEvery: 0 })).toThrow("checkEvery must be an integer >= 1");
    expect(() => sinkhorn(problem, { reg: 1, method: "exact" as "log" })).toThrow('method must be "auto", "kernel" or "log"');
  });

  it.each(METHODS)("rejects hand-built problems with mismatched sizes, NaN costs or negative weights (%s)", (method) => {
    const cost = matrix(2, 2, [0, 1, 1, 0]);
    const half = Float64Array.of(0.5, 0.5);
    expect(() => sinkhorn({ cost, a: Float64Array.of(1), b: half }, { reg: 1, method })).toThrow("a has 1 weights but the cost has 2 rows");
    expect(() => sinkhorn({ cost: matrix(2, 2, [0, Number.NaN, 1, 0]), a: half, b: half }, { reg: 1, method })).toThrow(
      "cost: row 0, column 1 is NaN",
    );
    expect(() => sinkhorn({ cost, a: Float64Array.of(1.5, -0.5), b: half }, { reg: 1, method })).toThrow("a[1] is -0.5");
  });
});
