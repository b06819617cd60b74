/**
 * Running the NumPy references of test/python/ (written from the published architectures,
 * independent of crossrank's TypeScript and ONNX code). They need python3 with NumPy (Debian:
 * python3-numpy; .ci/run installs it).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Whether python3 with NumPy runs here; when it does not, says that `tests` are skipped. */
export function numpyAvailable(tests: string): boolean {
  const available = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" }).status === 0;
  if (!available) console.log(`${tests} skipped: python3 with NumPy is not installed (apt-get install python3-numpy)`);
  return available;
}

/** Runs test/python/`script` with `request` as JSON on its stdin and returns what it prints, parsed. */
export function runPythonReference<T>(script: string, request: unknown): T {
  const path = fileURLToPath(new URL(`../python/${script}`, import.meta.url));
  const run = spawnSync("python3", [path], { input: JSON.stringify(request), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`${script} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** The rows of a padded [batch, seq] int64 array as numbers (for the scripts' JSON). */
export function int64Rows(data: BigInt64Array, batch: number, seq: number): number[][] {
  return Array.from({ length: batch }, (_, b) => Array.from(data.subarray(b * seq, (b + 1) * seq), Number));
}
