import { Command } from "commander";
import { ConfigError, DistillInterruptedError, runDistill, STAGES, type StageArg } from "@crossrank/distill";
import { UsageError } from "../errors.js";

const STAGE_ARGS: readonly string[] = [...STAGES, "all"];

/**
 * `crossrank distill`: the three-stage CL-ReLKT trainer of `@crossrank/distill`. stdout gets one
 * line per finished stage, the path of its trained head folder (an encoder spec); progress and
 * the evaluation tables go to stderr and the run's output folder.
 */
export function distillCommand(): Command {
  return new Command("distill")
    .description("train the three CL-ReLKT stages (warmup, teacher, distill) as heads over a frozen encoder; prints each stage's head folder")
    .argument("<stage>", `${STAGE_ARGS.join(" | ")}`)
    .requiredOption("--config <file>", "JSON config (see apps/distill/configs/)")
    .option("--resume", "continue an interrupted run from its checkpoints (complete stages are skipped)")
    .option("--out <dir>", "output folder (default: the config's \"out\")")
    .option("--no-progress", "no progress output on stderr")
    .action(async (stage: string, options: { config: string; resume?: boolean; out?: string; progress: boolean }) => {
      if (!STAGE_ARGS.includes(stage)) throw new UsageError(`unknown stage "${stage}" (expected ${STAGE_ARGS.join(", ")})`);
      // Ctrl-C stops at the next update with checkpoints intact, so --resume can continue the run.
      const abort = new AbortController();
      const onSigint = () => {
        console.error("interrupted: stopping at the next update (continue with --resume)");
        abort.abort();
      };
      process.once("SIGINT", onSigint);
      try {
        await runDistill(stage as StageArg, {
          config: options.config,
          resume: options.resume === true,
          ...(options.out !== undefined ? { out: options.out } : {}),
          progress: options.progress,
          signal: abort.signal,
          onStage: (result) => console.log(result.head),
        });
      } catch (error) {
        // A bad config is the user's input: one line, like every other file error of the CLI.
        if (error instanceof ConfigError) throw new UsageError(error.message);
        if (error instanceof DistillInterruptedError) {
          process.exitCode = 130;
          return;
        }
        throw error;
      } finally {
        process.off("SIGINT", onSigint);
      }
    });
}
