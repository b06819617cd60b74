import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clearNeuralMemo } from "@crossrank/rankers";
import { afterAll, beforeAll } from "vitest";

/** The folder of {@link useTemporaryCache}; readable from the scope's first beforeAll on. */
export interface TemporaryCache {
  /** The temporary folder (test outputs go under it). */
  readonly dir: string;
  /** `dir/cache`, the CROSSRANK_CACHE_DIR of the tests (fixture models, embeddings, heads). */
  readonly cacheDir: string;
}

/**
 * Fixture models go under a temporary CROSSRANK_CACHE_DIR, never the user's, with CROSSRANK_OFFLINE
 * set (and the `env` variables). Registers a beforeAll and an afterAll in the calling file or
 * describe block: vitest runs a scope's beforeAll hooks in order and its afterAll hooks in reverse,
 * so the scope's own hooks see the folder, and this one last clears the neural rankers' memo (it
 * holds sessions on models in the folder), restores the variables and removes the folder.
 */
export function useTemporaryCache(prefix: string, env: Record<string, string> = {}): TemporaryCache {
  let dir: string | undefined;
  const saved = new Map<string, string | undefined>();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    for (const [key, value] of Object.entries({ CROSSRANK_CACHE_DIR: join(dir, "cache"), CROSSRANK_OFFLINE: "1", ...env })) {
      saved.set(key, process.env[key]);
      process.env[key] = value;
    }
  });
  afterAll(async () => {
    await clearNeuralMemo();
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      if (dir === undefined) throw new Error(`useTemporaryCache(${JSON.stringify(prefix)}): the folder is made in the scope's first beforeAll; read it in hooks and tests`);
      return dir;
    },
    get cacheDir() {
      return join(this.dir, "cache");
    },
  };
}
