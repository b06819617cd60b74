/**
 * The command line of the three-stage trainer (src/main.ts runs it).
 *
 *     crossrank-distill warmup|teacher|distill|all --config FILE [--resume] [--out DIR] [--no-progress]
 *
 * stdout: one line per stage, the path of its trained head folder; everything else on stderr.
 * Exit status 0, 1 on an error, 2 on a usage error, 130 when interrupted (Ctrl-C: the run stops at
 * the next update; continue it with --resume).
 */
import { ConfigError, STAGES, type StageArg } from "./config.js";
import { runDistill } from "./run.js";
import { DistillInterruptedError } from "./stages.js";

export const USAGE = `usage: crossrank-distill <stage> --config FILE [--resume] [--out DIR] [--no-progress]

stages:
  warmup    triplet loss, BM25 negatives (then random ones)
  teacher   triplet loss, online hard / semi-hard negatives (starts from the warmup head)
  distill   student from the teacher: MSE to the teacher's English vectors
  all       the three in order, then the table base / warmup / teacher / distill

options:
  --config FILE   the JSON config (see apps/distill/configs/)
  --resume        continue an interrupted run from its checkpoints (complete stages are skipped)
  --out DIR       output folder (default: the config's "out")
  --no-progress   no progress output on stderr
  -h, --help      this text

Prints the path of each stage's trained head (a folder usable as an encoder spec) on stdout.`;

/** A command-line mistake: reported with the usage, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface DistillArgs {
  stage: StageArg;
  config: string;
  resume: boolean;
  out?: string;
  progress: boolean;
}

/** Parses the arguments after the program name; throws UsageError; returns undefined for --help. */
export function parseDistillArgs(argv: readonly string[]): DistillArgs | undefined {
  let stage: string | undefined;
  let config: string | undefined;
  let out: string | undefined;
  let resume = false;
  let progress = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${name} needs a value`);
      i++;
      return next;
    };
    const flag = (): void => {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
    };
    switch (name) {
      case "--":
        // `pnpm start -- …` passes the separator on; nothing to do.
        break;
      case "-h":
      case "--help":
        return undefined;
      case "--config":
        if (config !== undefined) throw new UsageError("--config given twice");
        config = value();
        break;
      case "--out":
        if (out !== undefined) throw new UsageError("--out given twice");
        out = value();
        break;
      case "--resume":
        flag();
        resume = true;
        break;
      case "--no-progress":
        flag();
        progress = false;
        break;
      default:
        if (arg.startsWith("-")) throw new UsageError(`unknown option ${name}`);
        if (stage !== undefined) throw new UsageError(`one stage at a time (got "${stage}" and "${arg}"; "all" runs the three)`);
        stage = arg;
    }
  }
  if (stage === undefined) throw new UsageError("missing the stage (warmup, teacher, distill or all)");
  if (stage !== "all" && !(STAGES as readonly string[]).includes(stage)) throw new UsageError(`unknown stage "${stage}" (warmup, teacher, distill or all)`);
  if (config === undefined || config === "") throw new UsageError("--config FILE is required");
  return { stage: stage as StageArg, config, resume, progress, ...(out !== undefined ? { out } : {}) };
}

/** Runs the command line with `argv` (the arguments after the program name); resolves to the exit status. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let args: DistillArgs | undefined;
  try {
    args = parseDistillArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`crossrank-distill: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\ncrossrank-distill: interrupted; stopping at the next update (Ctrl-C again to quit now)\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  const started = performance.now();
  try {
    const result = await runDistill(args.stage, {
      config: args.config,
      resume: args.resume,
      progress: args.progress,
      signal: controller.signal,
      ...(args.out !== undefined ? { out: args.out } : {}),
      onStage: (s) => process.stdout.write(`${s.head}\n`),
    });
    if (args.progress) process.stderr.write(`crossrank-distill: done in ${((performance.now() - started) / 1000).toFixed(1)} s; table: ${result.table.markdown}\n`);
    return 0;
  } catch (e) {
    if (e instanceof DistillInterruptedError) {
      process.stderr.write(`crossrank-distill: ${e.message}\n`);
      return 130;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`crossrank-distill: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`crossrank-distill: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
