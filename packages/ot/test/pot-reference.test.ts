/**
 * Agreement with POT (Python Optimal Transport): every case of test/fixtures/pot-reference.json
 * (written by scripts/pot-reference.py with ot.bregman.sinkhorn_log to stopThr 1e-12) is solved
 * here with each applicable method and must match POT's transport cost to COST_RTOL (relative)
 * and its plan to PLAN_RTOL (max abs entry difference over the max entry of POT's plan).
 * No Python is needed, except by the live test at the end, which is skipped without it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type SinkhornOptions, sinkhorn } from "../src/sinkhorn.js";
import { type PotCase, type PotFixture, potErrors, potProblem } from "./pot-cases.js";

const COST_RTOL = 1e-6;
const PLAN_RTOL = 1e-6;
/** Our stopping threshold: the L1 marginal error, both sides. */
const TOL = 1e-10;
const MAX_ITER = 500_000;

const fixture = JSON.parse(readFileSync(new URL("./fixtures/pot-reference.json", import.meta.url), "utf8")) as PotFixture;

const worst: Record<string, { cost: number; plan: number; cases: number }> = {};

function methodsFor(c: PotCase): SinkhornOptions["method"][] {
  return c.reg >= 0.01 ? ["auto", "log", "kernel"] : ["auto", "log"];
}

function solveAndCompare(c: PotCase, method: SinkhornOptions["method"], label: string): void {
  const out = sinkhorn(potProblem(c), { reg: c.reg, tol: TOL, maxIter: MAX_ITER, method });
  expect(out.converged, `${c.id}: ${out.iterations} iterations, error ${out.marginalError}`).toBe(true);
  const errors = potErrors(c, out);
  const w = (worst[label] ??= { cost: 0, plan: 0, cases: 0 });
  w.cost = Math.max(w.cost, errors.cost);
  w.plan = Math.max(w.plan, errors.plan);
  w.cases++;
  expect(errors.cost, `${c.id} relative cost error`).toBeLessThanOrEqual(COST_RTOL);
  expect(errors.plan, `${c.id} relative plan error`).toBeLessThanOrEqual(PLAN_RTOL);
}

afterAll(() => {
  const lines = Object.entries(worst).map(
    ([label, w]) => `  ${label.padEnd(12)} ${String(w.cases).padStart(3)} cases: worst cost rel. error ${w.cost.toExponential(2)}, plan ${w.plan.toExponential(2)}`,
  );
  if (lines.length > 0) console.log(`POT ${fixture.pot} agreement:\n${lines.join("\n")}`);
});

describe(`POT ${fixture.pot} reference (${fixture.cases.length} cases)`, () => {
  it("covers sizes 3×7 to 64×300, reg 10 to 0.001, both costs and both kinds of marginals", () => {
    const { cases } = fixture;
    expect(new Set(cases.map((c) => c.reg))).toEqual(new Set([10, 1, 0.1, 0.01, 0.001]));
    expect(new Set(cases.map((c) => c.costKind))).toEqual(new Set(["cosine", "sqeuclidean"]));
    expect(cases.some((c) => c.a === null) && cases.some((c) => c.a !== null)).toBe(true);
    expect(cases.some((c) => c.a?.includes(0) || c.b?.includes(0))).toBe(true);
    expect(Math.max(...cases.map((c) => c.n * c.m))).toBe(64 * 300);
  });

  it("computes the same cost matrices as ot.dist", () => {
    for (const c of fixture.cases.filter((c) => c.cost !== undefined)) {
      const cost = potProblem(c).cost;
      c.cost!.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(cost.data[i * c.m + j]! - v)).toBeLessThan(1e-11)));
    }
  });

  describe.each(fixture.cases.map((c) => [c.id, c] as const))("%s", (_, c) => {
    it.each(methodsFor(c))("method %s", (method) => solveAndCompare(c, method, method!), 60_000);
  });
});

const script = fileURLToPath(new URL("../scripts/pot-reference.py", import.meta.url));
const havePot = spawnSync("/usr/bin/python3", ["-c", "import ot"], { stdio: "ignore" }).status === 0;

describe.skipIf(!havePot)(
  `live POT comparison on fresh cases${havePot ? "" : " (skipped: /usr/bin/python3 cannot import ot; apt-get install python3-pot)"}`,
  () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    it(`scripts/pot-reference.py --quick --seed ${seed}`, () => {
      const run = spawnSync("/usr/bin/python3", [script, "--quick", "--seed", String(seed), "--out", "-"], {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
      expect(run.status, run.stderr).toBe(0);
      const live = JSON.parse(run.stdout) as PotFixture;
      expect(live.cases.length).toBeGreaterThan(0);
      for (const c of live.cases) for (const method of methodsFor(c)) solveAndCompare(c, method, `live ${method}`);
    }, 120_000);
  },
);
