/**
 * Reading the POT reference cases written by scripts/pot-reference.py, and comparing a solver
 * output with POT's.
 */
import { cosineCost, squaredEuclideanCost } from "../src/geometry.js";
import { matrixFromRows } from "../src/matrix.js";
import { type Problem, linearProblem } from "../src/problem.js";
import type { SinkhornOutput } from "../src/sinkhorn.js";

export interface PotCase {
  id: string;
  n: number;
  m: number;
  reg: number;
  costKind: "cosine" | "sqeuclidean";
  costScale: number;
  x: number[][];
  y: number[][];
  a: number[] | null;
  b: number[] | null;
  /** POT's cost matrix (ot.dist), stored for n·m <= 200. */
  cost?: number[][];
  draws: number;
  pot: { plan: number[][]; cost: number; iterations: number; marginalError: number };
}

export interface PotFixture {
  generator: string;
  pot: string;
  numpy: string;
  solver: string;
  cases: PotCase[];
}

/** The case's problem, its cost computed by this package's geometry from the stored points. */
export function potProblem(c: PotCase): Problem {
  const x = matrixFromRows(c.x, `${c.id} x`);
  const y = matrixFromRows(c.y, `${c.id} y`);
  const cost = c.costKind === "cosine" ? cosineCost(x, y) : squaredEuclideanCost(x, y);
  if (c.costScale !== 1) for (let k = 0; k < cost.data.length; k++) cost.data[k] = cost.data[k]! / c.costScale;
  return linearProblem(cost, c.a ?? undefined, c.b ?? undefined);
}

/** |cost − POT's| / POT's, and max_ij |P_ij − P^POT_ij| / max_ij P^POT_ij. */
export function potErrors(c: PotCase, out: SinkhornOutput): { cost: number; plan: number } {
  let maxDiff = 0;
  let maxPot = 0;
  c.pot.plan.forEach((row, i) =>
    row.forEach((p, j) => {
      maxDiff = Math.max(maxDiff, Math.abs(out.plan.data[i * c.m + j]! - p));
      maxPot = Math.max(maxPot, p);
    }),
  );
  return { cost: Math.abs(out.cost - c.pot.cost) / Math.abs(c.pot.cost), plan: maxDiff / maxPot };
}
