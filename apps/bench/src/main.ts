import { parseArgs } from "node:util";
import { terminalProgress } from "./progress.js";
import { defaultResultsDir } from "./paths.js";
import { runSuite, writeSuiteResult } from "./run.js";
import { loadSuite } from "./suite.js";

const USAGE = `usage: crossrank-bench --suite FILE [--suite FILE ...] [--out DIR]

Runs benchmark suites and writes DIR/<suite>.json and DIR/<suite>.md
(DIR defaults to results/ at the workspace root).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      suite: { type: "string", multiple: true },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.suite?.length) throw new Error(`--suite is required\n${USAGE}`);
  const outDir = values.out ?? (await defaultResultsDir());
  for (const path of values.suite) {
    const suite = await loadSuite(path);
    const result = await runSuite(suite, { outDir: null, progress: terminalProgress() });
    const written = await writeSuiteResult(result, suite, outDir);
    console.log(`${suite.name}: ${result.results.length} results → ${written.markdown}, ${written.json}`);
  }
}

main().catch((error: unknown) => {
  console.error(`crossrank-bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
