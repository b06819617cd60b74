/**
 * Encoder backends: tokens/s of @huggingface/transformers (the default backend) against raw
 * onnxruntime-node on the same model, tokenizer, batches and session options — the overhead of
 * the library path should stay under 10%. Two models: the default fixture BERT (hidden 32, 2
 * layers: the model is cheap, so per-batch JavaScript overhead shows most) and a larger fixture
 * (hidden 256, 4 layers, 4 heads: closer to where real models spend their time).
 *
 *   pnpm --filter @crossrank/encode bench
 *
 * Prints a table and writes `<repo>/results/encode-backends.json`.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchTexts, encodeBench, fixtureModelPath, type EncodeBenchResult } from "@crossrank/encode";

const MODELS = [
  { name: "fixture:bert (hidden 32, 2 layers)", options: {} },
  { name: "fixture bert (hidden 256, 4 layers)", options: { hidden: 256, heads: 4, intermediate: 1024, layers: 4 } },
] as const;
const BATCH_SIZES = [16, 64];
const ROUNDS = 5;

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "pnpm-workspace.yaml"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("encode bench: not inside the crossrank workspace");
    dir = up;
  }
  return dir;
}

const texts = await benchTexts();
const rows: (EncodeBenchResult & { label: string })[] = [];
for (const model of MODELS) {
  const folder = await fixtureModelPath("bert", model.options);
  for (const batchSize of BATCH_SIZES) {
    const result = await encodeBench({ model: folder, texts, batchSize, rounds: ROUNDS });
    rows.push({ ...result, label: model.name });
    const [lib, raw] = [result.results.find((r) => r.backend === "transformers")!, result.results.find((r) => r.backend === "onnx")!];
    console.log(
      `${model.name}, batch ${batchSize}: transformers ${Math.round(lib.tokensPerSecond)} tokens/s, onnx ${Math.round(raw.tokensPerSecond)} tokens/s, overhead ${(result.transformersOverhead * 100).toFixed(1)}%`,
    );
  }
}
const out = join(repoRoot(), "results", "encode-backends.json");
await mkdir(dirname(out), { recursive: true });
await writeFile(
  out,
  JSON.stringify({ command: "pnpm --filter @crossrank/encode bench", node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, texts: texts.length, rows }, null, 2) + "\n",
);
console.log(`wrote ${out}`);
