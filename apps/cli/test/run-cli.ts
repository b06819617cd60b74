import { execFile, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
/** The CLI's entry point (bin/crossrank.js), for tests that run it themselves (e.g. a server). */
export const bin = join(here, "..", "bin", "crossrank.js");

/** A file under test/fixtures. */
export const fixture = (name: string): string => join(here, "fixtures", name);

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Where and with what extra environment a command runs (e.g. `CROSSRANK_CACHE_DIR` pointed at a temp folder). */
export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/** Runs the built CLI as a user would; resolves with stdout, stderr and the exit code. */
export function crossrank(...args: string[]): Promise<CliResult> {
  return crossrankWith({}, ...args);
}

/** {@link crossrank} with a working folder and extra environment variables. */
export async function crossrankWith(options: CliOptions, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      env: { ...process.env, CROSSRANK_DEBUG: "", ...options.env },
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** A `crossrank serve` started by {@link startServe}. */
export interface ServeProcess {
  /** http://127.0.0.1:PORT, as the server printed it. */
  address: string;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `crossrank serve ARGS --port 0` and resolves once it listens (rejects with its stderr if it exits first). */
export async function startServe(...args: string[]): Promise<ServeProcess> {
  const server = spawn(process.execPath, [bin, "serve", ...args, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => server.on("exit", (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    server.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(stderr)));
  });
  return {
    address,
    stderr: () => stderr,
    stop: () => {
      server.kill("SIGTERM");
      return exited;
    },
  };
}
