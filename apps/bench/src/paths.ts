import { join } from "node:path";
import { findRepoRoot } from "@crossrank/datasets";

/** `results/` at the workspace root, so `pnpm turbo bench` and `crossrank bench` write to one place. */
export async function defaultResultsDir(from?: string): Promise<string> {
  return join((await findRepoRoot(from)) ?? process.cwd(), "results");
}
