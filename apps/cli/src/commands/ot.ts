import { readFile } from "node:fs/promises";
import { Command } from "commander";
import {
  linearProblem,
  matrixFromRows,
  otBench,
  sinkhorn,
  toRows,
  writeHeatmap,
  type OtBackend,
  type SinkhornOptions,
  type SinkhornOutput,
} from "@crossrank/ot";
import { positiveInt, UsageError } from "../errors.js";

/** The JSON input of `sinkhorn` and `explain-ot`. */
interface SinkhornInput {
  cost: number[][];
  a?: number[];
  b?: number[];
  reg: number;
  maxIter?: number;
  tol?: number;
  method?: SinkhornOptions["method"];
  rowLabels?: string[];
  colLabels?: string[];
}

const METHODS = ["auto", "kernel", "log"] as const;
const INPUT_FIELDS = ["cost", "a", "b", "reg", "maxIter", "tol", "method", "rowLabels", "colLabels"];
const BACKENDS: readonly OtBackend[] = ["auto", "onnx", "webasm", "cpu", "webgpu", "webgl", "js"];

/** Reads and checks a Sinkhorn input file; every complaint names the file and the field. */
async function readSinkhornInput(path: string): Promise<SinkhornInput> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new UsageError(`${path}: expected a JSON object`);
  const input = raw as Record<string, unknown>;
  const fail = (field: string, expected: string) => {
    throw new UsageError(`${path}: "${field}" must be ${expected}`);
  };
  // A misspelt option ("maxiter") must not be ignored silently; keys starting with "_" are comments.
  for (const key of Object.keys(input)) {
    if (!key.startsWith("_") && !INPUT_FIELDS.includes(key)) {
      throw new UsageError(`${path}: unknown field "${key}" (expected ${INPUT_FIELDS.join(", ")})`);
    }
  }
  if (!Array.isArray(input.cost)) fail("cost", "a matrix (array of rows of numbers)");
  if (typeof input.reg !== "number" || !(input.reg > 0) || !Number.isFinite(input.reg)) fail("reg", "a positive number");
  for (const field of ["a", "b"]) {
    if (input[field] !== undefined && !(Array.isArray(input[field]) && (input[field] as unknown[]).every((v) => typeof v === "number"))) {
      fail(field, "an array of numbers");
    }
  }
  if (input.maxIter !== undefined && !(Number.isInteger(input.maxIter) && (input.maxIter as number) > 0)) fail("maxIter", "a positive integer");
  if (input.tol !== undefined && !(typeof input.tol === "number" && input.tol >= 0)) fail("tol", "a number >= 0");
  if (input.method !== undefined && !METHODS.includes(input.method as (typeof METHODS)[number])) fail("method", METHODS.map((m) => `"${m}"`).join(" | "));
  for (const field of ["rowLabels", "colLabels"]) {
    if (input[field] !== undefined && !(Array.isArray(input[field]) && (input[field] as unknown[]).every((v) => typeof v === "string"))) {
      fail(field, "an array of strings");
    }
  }
  return input as unknown as SinkhornInput;
}

function solve(input: SinkhornInput, path: string): SinkhornOutput {
  const problem = linearProblem(matrixFromRows(input.cost, `${path}: cost`), input.a, input.b);
  return sinkhorn(problem, {
    reg: input.reg,
    ...(input.maxIter !== undefined ? { maxIter: input.maxIter } : {}),
    ...(input.tol !== undefined ? { tol: input.tol } : {}),
    ...(input.method !== undefined ? { method: input.method } : {}),
  });
}

/** `crossrank sinkhorn`: entropic OT for a given cost matrix, as POT's `ot.sinkhorn` would solve it. */
export function sinkhornCommand(): Command {
  return new Command("sinkhorn")
    .description("solve entropic-regularized optimal transport (Sinkhorn) for a cost matrix")
    .requiredOption(
      "--input <file>",
      'JSON {"cost": number[][], "a"?: number[], "b"?: number[], "reg": number, "maxIter"?: number, "tol"?: number, "method"?: "auto"|"kernel"|"log"}',
    )
    .option("--json", "print {plan, cost, iterations, converged, marginalError} as JSON")
    .action(async (options: { input: string; json?: boolean }) => {
      const output = solve(await readSinkhornInput(options.input), options.input);
      const result = {
        plan: toRows(output.plan),
        cost: output.cost,
        iterations: output.iterations,
        converged: output.converged,
        marginalError: output.marginalError,
      };
      if (options.json) {
        console.log(JSON.stringify(result));
        return;
      }
      console.log(`cost <P,C>      ${output.cost}`);
      console.log(`regularized     ${output.regularizedCost}`);
      console.log(`method          ${output.method}`);
      console.log(`iterations      ${output.iterations} (${output.converged ? "converged" : "not converged"})`);
      console.log(`marginal error  ${output.marginalError}`);
      console.log("plan:");
      for (const row of result.plan) console.log(row.map((v) => v.toExponential(4)).join("  "));
    });
}

/** `crossrank explain-ot`: the cost matrix and the transport plan as labelled heatmaps. */
export function explainOtCommand(): Command {
  return new Command("explain-ot")
    .description("draw the cost matrix and the Sinkhorn transport plan as labelled heatmaps (PNG or SVG)")
    .requiredOption("--input <file>", "the sinkhorn input JSON, optionally with rowLabels and colLabels (token strings)")
    .requiredOption("--out <file>", "output image: .png or .svg")
    .option("--title <text>", "figure title")
    .action(async (options: { input: string; out: string; title?: string }) => {
      const input = await readSinkhornInput(options.input);
      const output = solve(input, options.input);
      await writeHeatmap(
        options.out,
        [
          { title: "cost", matrix: matrixFromRows(input.cost) },
          { title: "transport plan", matrix: output.plan, palette: "blues" },
        ],
        {
          ...(input.rowLabels ? { rowLabels: input.rowLabels } : {}),
          ...(input.colLabels ? { colLabels: input.colLabels } : {}),
          title: options.title ?? `Sinkhorn, reg ${input.reg}: cost ⟨P,C⟩ = ${output.cost.toFixed(4)}`,
        },
      );
      console.error(`wrote ${options.out}`);
    });
}

/** `crossrank ot-bench`: pairs/s of cosine cost + fixed-iteration Sinkhorn on random token embeddings. */
export function otBenchCommand(): Command {
  return new Command("ot-bench")
    .description("benchmark cosine cost + Sinkhorn (exactly k iterations) on random unit-vector token embeddings")
    .option("--pairs <n>", "(query, document) pairs", positiveInt("--pairs"), 1024)
    .option("--query-tokens <n>", "tokens per query", positiveInt("--query-tokens"), 32)
    .option("--doc-tokens <m>", "tokens per document", positiveInt("--doc-tokens"), 256)
    .option("--dim <d>", "embedding dimension", positiveInt("--dim"), 768)
    .option("--reg <r>", "entropic regularization", (v) => positiveNumber("--reg", v), 0.1)
    .option("--iters <k>", "Sinkhorn iterations per pair", positiveInt("--iters"), 100)
    .option("--backend <name>", `one of ${BACKENDS.join(", ")}`, "auto")
    .option("--seed <n>", "random seed", positiveInt("--seed"), 1)
    .option("--json", "print the measurement as JSON")
    .action(async (options: { pairs: number; queryTokens: number; docTokens: number; dim: number; reg: number; iters: number; backend: string; seed: number; json?: boolean }) => {
      if (!BACKENDS.includes(options.backend as OtBackend)) {
        throw new UsageError(`--backend: expected one of ${BACKENDS.join(", ")}, got "${options.backend}"`);
      }
      const result = await otBench({
        pairs: options.pairs,
        queryTokens: options.queryTokens,
        docTokens: options.docTokens,
        dim: options.dim,
        reg: options.reg,
        iterations: options.iters,
        backend: options.backend as OtBackend,
        seed: options.seed,
      });
      if (options.json) {
        console.log(JSON.stringify(result));
        return;
      }
      console.log(
        `${result.backend}: ${Math.round(result.pairsPerSecond)} pairs/s (${result.pairs} pairs of ${result.queryTokens}×${result.docTokens} tokens, dim ${result.dim}, reg ${result.reg}, ${result.iterations} iterations, ${result.seconds.toFixed(2)} s)`,
      );
    });
}

function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} expects a positive number, got "${value}"`);
  return n;
}
