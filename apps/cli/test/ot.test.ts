import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crossrank, fixture } from "./run-cli.js";

interface SinkhornJson { plan: number[][]; cost: number; iterations: number; converged: boolean; marginalError: number }

describe("crossrank sinkhorn", () => {
  it("moves all mass along the zero-cost diagonal at small reg", async () => {
    const { stdout, code } = await crossrank("sinkhorn", "--input", fixture("ot-2x2.json"), "--json");
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as SinkhornJson;
    expect(Object.keys(out).sort()).toEqual(["converged", "cost", "iterations", "marginalError", "plan"]);
    // Off-diagonal mass is of order exp(−1/0.01) = e^−100: the plan is diag(1/2, 1/2), ⟨P, C⟩ ≈ 0.
    expect(out.plan[0]![0]).toBeCloseTo(0.5, 10);
    expect(out.plan[1]![1]).toBeCloseTo(0.5, 10);
    expect(out.plan[0]![1]).toBeLessThan(1e-30);
    expect(out.cost).toBeLessThan(1e-30);
    expect(out.converged).toBe(true);
  });

  it("spreads mass as a·bᵀ at large reg, with given marginals", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crossrank-ot-"));
    const input = join(dir, "in.json");
    await writeFile(input, JSON.stringify({ cost: [[0, 1, 2], [2, 1, 0]], a: [1, 3], reg: 1e6, method: "kernel" }));
    const { stdout, code } = await crossrank("sinkhorn", "--input", input, "--json");
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as SinkhornJson;
    // a = (1/4, 3/4) after normalization, b uniform 1/3: P ≈ a bᵀ; ⟨P, C⟩ ≈ (1/4 + 3/4)·(0 + 1 + 2)/3 = 1.
    expect(out.plan[0]![2]).toBeCloseTo(1 / 12, 5);
    expect(out.plan[1]![0]).toBeCloseTo(3 / 12, 5);
    expect(out.cost).toBeCloseTo(1, 5);
  });

  it("names the bad field and exits 1", async () => {
    const { stderr, code } = await crossrank("sinkhorn", "--input", fixture("ot-bad.json"), "--json");
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^crossrank: .*ot-bad\.json: "reg" must be a positive number$/);
  });

  it("rejects a misspelt field instead of ignoring it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crossrank-ot-"));
    const input = join(dir, "typo.json");
    await writeFile(input, JSON.stringify({ cost: [[0]], reg: 1, maxiter: 5 }));
    const { stderr, code } = await crossrank("sinkhorn", "--input", input);
    expect(code).toBe(1);
    expect(stderr).toContain('typo.json: unknown field "maxiter"');
  });
});

describe("crossrank explain-ot", () => {
  it("writes a PNG and an SVG heatmap labelled with the tokens", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crossrank-explain-"));
    const png = join(dir, "plan.png");
    const svg = join(dir, "plan.svg");
    expect((await crossrank("explain-ot", "--input", fixture("ot-2x2.json"), "--out", png)).code).toBe(0);
    expect((await crossrank("explain-ot", "--input", fixture("ot-2x2.json"), "--out", svg)).code).toBe(0);
    const bytes = await readFile(png);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const text = await readFile(svg, "utf8");
    for (const token of ["president", "usa", "obama", "america", "transport plan"]) expect(text).toContain(token);
  });
});

describe("crossrank ot-bench", () => {
  it("reports pairs per second for a forced backend", async () => {
    const { stdout, code, stderr } = await crossrank(
      "ot-bench", "--pairs", "8", "--query-tokens", "4", "--doc-tokens", "6", "--dim", "16", "--reg", "0.1", "--iters", "5", "--backend", "js", "--json",
    );
    expect(stderr).not.toMatch(/^crossrank:/m);
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { pairsPerSecond: number; backend: string; pairs: number; iterations: number };
    expect(out.backend).toBe("js");
    expect(out.pairs).toBe(8);
    expect(out.iterations).toBe(5);
    expect(out.pairsPerSecond).toBeGreaterThan(0);
  });

  it("rejects an unknown backend", async () => {
    const { stderr, code } = await crossrank("ot-bench", "--backend", "cuda");
    expect(code).toBe(1);
    expect(stderr).toContain('--backend: expected one of auto, onnx, webasm, cpu, webgpu, webgl, js, got "cuda"');
  });
});
