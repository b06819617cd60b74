import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { quantizeStaticModel } from "@crossrank/encode";
import { readStaticModelManifest, type StaticModelManifest, staticModelDir, verifyStaticModel, writeStaticModelManifest } from "@crossrank/static-model";
import { buildStaticModel, DEFAULT_STATIC_RECIPE, readStaticRecipe, type StaticRecipe } from "@crossrank/train";
import { UsageError } from "../errors.js";
import { barProgress } from "../progress.js";

/**
 * `crossrank static-model`: the shipped default model (@crossrank/static-model). `build` is the
 * one deliberate way to replace it — train (or take a trained float32 folder), quantize to int8,
 * rewrite the package's model folder and manifest, and print what changed; `verify` checks the
 * folder against its manifest.
 */
export function staticModelCommand(): Command {
  const command = new Command("static-model").description("the shipped default static model (@crossrank/static-model): build (train + quantize + manifest) or verify it");
  command
    .command("build")
    .description("train the default recipe (or take --from), quantize to int8, write the model folder and its manifest, and report the difference from the previous one")
    .option("--from <dir>", "a float32 model folder already trained by crossrank train-static (skips training)")
    .option("--config <file>", "JSON recipe to train (default: the built-in default recipe)")
    .option("--work <dir>", "folder for the float32 model and its training work folder", "runs/static-model")
    .option("--out <dir>", "model folder to write (default: @crossrank/static-model's model folder)")
    .action(async (options: { from?: string; config?: string; work: string; out?: string }) => {
      const out = resolve(options.out ?? staticModelDir());
      let recipe: StaticRecipe = DEFAULT_STATIC_RECIPE;
      if (options.config !== undefined) {
        try {
          recipe = await readStaticRecipe(options.config);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
      }
      const previous = await readStaticModelManifest(out).catch(() => undefined);
      let source = options.from;
      if (source === undefined) {
        source = join(options.work, "float32");
        const bar = barProgress("train-static", 1);
        try {
          await buildStaticModel(recipe, {
            out: source,
            workDir: join(options.work, "float32.work"),
            onStage: (message) => console.error(`static-model: ${message}`),
            onProgress: (p) => bar.update(p.step, p.totalSteps),
          });
        } finally {
          bar.stop();
        }
      }
      const config = JSON.parse(await readFile(join(source, "config.json"), "utf8").catch(() => {
        throw new UsageError(`${join(source!, "config.json")}: not found (is ${source} a model folder written by crossrank train-static?)`);
      })) as { crossrank?: { config?: StaticRecipe; dev?: Record<string, number> } };
      if (config.crossrank?.config === undefined) throw new UsageError(`${join(source, "config.json")}: no crossrank.config recipe (the model was not built by crossrank train-static)`);
      console.error(`static-model: quantizing ${source} → ${out}`);
      const q = await quantizeStaticModel(source, out);
      const manifest = await writeStaticModelManifest(out, {
        command: options.from === undefined ? `crossrank static-model build${options.config === undefined ? "" : " --config <recipe>"}` : "crossrank train-static + crossrank static-model build --from",
        recipe: config.crossrank.config,
        quantization: { embeddings: "int8, symmetric per row", scales: "weights", rows: q.rows, dim: q.dim, float32Bytes: q.bytesBefore, int8Bytes: q.bytesAfter, maxRelativeError: Number(q.maxRelativeError.toPrecision(3)) },
        ...(config.crossrank.dev === undefined ? {} : { trainDev: config.crossrank.dev }),
      });
      for (const line of manifestDifference(previous, manifest)) console.log(line);
    });
  command
    .command("verify")
    .description("check the model folder against its manifest (sizes and sha256)")
    .option("--dir <dir>", "model folder (default: @crossrank/static-model's)")
    .action(async (options: { dir?: string }) => {
      const dir = options.dir ?? staticModelDir();
      const problems = await verifyStaticModel(dir);
      if (problems.length > 0) throw new UsageError(problems.join("; "));
      console.log(`${dir}: every file matches its manifest`);
    });
  return command;
}

/** One line per difference between two manifests: files, recipe and train-time dev R@1 (DDTP groups). */
export function manifestDifference(before: StaticModelManifest | undefined, after: StaticModelManifest): string[] {
  if (before === undefined) return [`new model: ${Object.keys(after.files).length} files, ${totalBytes(after)} bytes`];
  const lines: string[] = [];
  for (const name of new Set([...Object.keys(before.files), ...Object.keys(after.files)])) {
    const a = before.files[name];
    const b = after.files[name];
    if (a === undefined) lines.push(`${name}: added (${b!.bytes} bytes)`);
    else if (b === undefined) lines.push(`${name}: removed`);
    else if (a.sha256 !== b.sha256) lines.push(`${name}: changed, ${a.bytes} → ${b.bytes} bytes, sha256 ${a.sha256.slice(0, 12)} → ${b.sha256.slice(0, 12)}`);
  }
  if (JSON.stringify(before.build.recipe) !== JSON.stringify(after.build.recipe)) lines.push("recipe: changed");
  const devBefore = (before.build.trainDev ?? {}) as Record<string, number>;
  const devAfter = (after.build.trainDev ?? {}) as Record<string, number>;
  for (const [group, value] of Object.entries(devAfter)) {
    if (!group.includes("/ddtp")) continue;
    const old = devBefore[group];
    if (old !== undefined && Math.abs(old - value) >= 0.0005) lines.push(`${group}: R@1 ${old.toFixed(3)} → ${value.toFixed(3)}`);
  }
  return lines.length === 0 ? ["no difference: the same files"] : lines;
}

function totalBytes(m: StaticModelManifest): number {
  return Object.values(m.files).reduce((s, f) => s + f.bytes, 0);
}
