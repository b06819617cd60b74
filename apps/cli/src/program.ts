import { createRequire } from "node:module";
import { Command } from "commander";
import { benchCommand } from "./commands/bench.js";
import { encodeBenchCommand, encodeCommand, explainCommand, fixtureModelCommand } from "./commands/encode.js";
import { distillCommand } from "./commands/distill.js";
import { evalCommand } from "./commands/eval.js";
import { explainOtCommand, otBenchCommand, sinkhornCommand } from "./commands/ot.js";
import { indexCommand } from "./commands/index-command.js";
import { searchCommand } from "./commands/search.js";
import { serveCommand } from "./commands/serve.js";
import { staticModelCommand } from "./commands/static-model.js";
import { trainLmEmdCommand } from "./commands/train-lm-emd.js";
import { trainStaticCommand } from "./commands/train-static.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

/** The `crossrank` command tree; `main.ts` runs it, tests drive it in-process. */
export function buildProgram(): Command {
  const program = new Command("crossrank")
    .description("cross-lingual document ranking: evaluate runs, benchmark rankers, search documents, encode texts, optimal transport")
    .version(version)
    .showHelpAfterError("(run with --help for usage)")
    .addCommand(evalCommand())
    .addCommand(benchCommand())
    .addCommand(indexCommand())
    .addCommand(searchCommand())
    .addCommand(serveCommand())
    .addCommand(sinkhornCommand())
    .addCommand(otBenchCommand())
    .addCommand(explainOtCommand())
    .addCommand(fixtureModelCommand())
    .addCommand(encodeCommand())
    .addCommand(encodeBenchCommand())
    .addCommand(explainCommand())
    .addCommand(distillCommand())
    .addCommand(trainStaticCommand())
    .addCommand(trainLmEmdCommand())
    .addCommand(staticModelCommand());
  return program;
}
