import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, "..", "bin", "crossrank.js");

/** A file under test/fixtures. */
export const fixture = (name: string): string => join(here, "fixtures", name);

/** Runs the built CLI as a user would; resolves with stdout, stderr and the exit code. */
export async function crossrank(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { env: { ...process.env, CROSSRANK_DEBUG: "" } });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}
