import { buildProgram } from "./program.js";

/**
 * Runs the CLI. Errors become one line on stderr and exit status 1; set CROSSRANK_DEBUG=1 for the
 * stack trace.
 */
buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    if (process.env.CROSSRANK_DEBUG && error instanceof Error) console.error(error.stack);
    const message = error instanceof Error ? error.message : String(error);
    console.error(`crossrank: ${message.split("\n")[0]}`);
    process.exitCode = 1;
  });
