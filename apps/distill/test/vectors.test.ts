import type { HeadConfig } from "@crossrank/encode";
import { Rng, TrainableHead } from "@crossrank/train";
import { describe, expect, it } from "vitest";
import { backward, forward, project } from "../src/vectors.js";

function randomRows(rng: Rng, n: number, d: number): Float32Array {
  return Float32Array.from({ length: n * d }, () => rng.normal());
}

describe("head + normalisation", () => {
  for (const type of ["linear", "mlp"] as const) {
    it(`${type}: the gradient through L2 normalisation matches finite differences`, () => {
      const rng = new Rng(11);
      const d = 5;
      const n = 3;
      const config: HeadConfig = { format: "crossrank-head", version: 1, encoder: "fixture:bert", type, input: d, output: d, appliesTo: "sentence", ...(type === "mlp" ? { hidden: 4, activation: "tanh" as const } : {}) };
      const head = TrainableHead.init(config, rng, { noise: 0.3 });
      if (type === "mlp") for (const p of head.params()) for (let i = 0; i < p.length; i++) p[i] = p[i]! + 0.3 * rng.normal();
      const x = randomRows(rng, n, d);
      const w = Float64Array.from({ length: n * d }, () => rng.normal());
      // L = Σ w ⊙ z, so ∂L/∂z = w.
      const loss = (): number => {
        const z = project(head, x, n, true);
        let s = 0;
        for (let k = 0; k < z.length; k++) s += w[k]! * z[k]!;
        return s;
      };
      const pass = forward(head, x, n, true);
      const grads = backward(head, pass, Float32Array.from(w));
      const eps = 1e-2;
      head.params().forEach((p, k) => {
        for (let i = 0; i < p.length; i++) {
          const saved = p[i]!;
          p[i] = saved + eps;
          const up = loss();
          p[i] = saved - eps;
          const down = loss();
          p[i] = saved;
          expect(grads[k]![i]!).toBeCloseTo((up - down) / (2 * eps), 2);
        }
      });
    });
  }

  it("the forward output is what project gives (and unit rows)", () => {
    const rng = new Rng(3);
    const head = TrainableHead.init({ format: "crossrank-head", version: 1, encoder: "x", type: "linear", input: 4, output: 4, appliesTo: "sentence" }, rng, { noise: 0.2 });
    const x = randomRows(rng, 2, 4);
    const z = forward(head, x, 2, true).z;
    expect(Array.from(z)).toEqual(Array.from(project(head, x, 2, true)));
    for (let r = 0; r < 2; r++) expect(Math.hypot(...z.subarray(r * 4, r * 4 + 4))).toBeCloseTo(1, 6);
  });
});
