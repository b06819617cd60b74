import { Command } from "commander";
import { buildStaticModel, DEFAULT_STATIC_RECIPE, DICTIONARY_SOURCE, PIVOT_DICTIONARY_SOURCE, readStaticRecipe } from "@crossrank/train";
import { UsageError } from "../errors.js";
import { barProgress } from "../progress.js";

/** Dev keys are `r1/<source>/<lang>`; the summary leaves out the ~90 dictionary groups (the log has them). */
const dictionarySources = new Set([DICTIONARY_SOURCE, PIVOT_DICTIONARY_SOURCE]);

/**
 * `crossrank train-static`: builds a static multilingual embedding model (model2vec format) from
 * DDTP, the installed dictionaries and gettext catalogues, and Node's CLDR data. stdout gets the model folder (an encoder spec) and a JSON
 * summary line; stages and the progress bar go to stderr.
 */
export function trainStaticCommand(): Command {
  return new Command("train-static")
    .description("train a static multilingual embedding model (model2vec format) on DDTP, the installed dictionaries and gettext catalogues, and Node's CLDR data; prints the model folder")
    .option("--out <dir>", "model folder to write, required (a work folder <dir>.work keeps checkpoints, log.jsonl and loss.svg)")
    .option("--config <file>", "JSON recipe (training configuration + data); default: the built-in default recipe")
    .option("--work <dir>", "work folder (default <out>.work)")
    .option("--no-resume", "start over even when the work folder has a checkpoint")
    .option("--print-config", "print the recipe that would be used (JSON) and exit")
    .action(async (options: { out?: string; config?: string; work?: string; resume: boolean; printConfig?: boolean }) => {
      let recipe = DEFAULT_STATIC_RECIPE;
      if (options.config !== undefined) {
        try {
          recipe = await readStaticRecipe(options.config);
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
      }
      if (options.printConfig === true) {
        console.log(JSON.stringify(recipe, null, 2));
        return;
      }
      if (options.out === undefined) throw new UsageError("train-static needs --out <dir> (the model folder to write)");
      const out = options.out;
      const bar = barProgress("train-static", 1);
      let lastLoss = 0;
      let reported = -1;
      try {
        const result = await buildStaticModel(recipe, {
          out,
          ...(options.work === undefined ? {} : { workDir: options.work }),
          resume: options.resume,
          onStage: (message) => console.error(`train-static: ${message}`),
          onProgress: (p) => {
            lastLoss = p.loss;
            bar.update(p.step, p.totalSteps);
            // Without a terminal (logs, CI) the bar is silent: a line every 5% instead.
            const twentieth = Math.floor((20 * p.step) / Math.max(1, p.totalSteps));
            if (!process.stderr.isTTY && twentieth !== reported) {
              reported = twentieth;
              console.error(`train-static: update ${p.step}/${p.totalSteps}, epoch ${p.epoch + 1}, loss ${p.loss.toFixed(3)}`);
            }
          },
        });
        bar.stop();
        console.log(result.out);
        console.log(
          JSON.stringify({
            steps: result.steps,
            loss: Number(lastLoss.toFixed(4)),
            pairsPerSecond: Math.round(result.pairsPerSecond),
            seconds: result.timings,
            vocabulary: result.model.vocab.length,
            dim: result.model.dim,
            dev: Object.fromEntries(Object.entries(result.dev).filter(([k]) => !dictionarySources.has(k.split("/")[1] ?? "")).map(([k, v]) => [k, Number(v.toFixed(3))])),
          }),
        );
      } finally {
        bar.stop();
      }
    });
}
