/** Test helpers: committed fixtures, and throw-away files for the error cases. */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll } from "vitest";

/** Path of a committed fixture under test/fixtures/. */
export function fixture(...parts: string[]): string {
  return join(fileURLToPath(new URL("./fixtures/", import.meta.url)), ...parts);
}

/**
 * A temporary folder for this test file, removed after its tests; `write` puts a file in it
 * (gzipped when the name ends in `.gz`) and returns its path.
 */
export function tempFiles(): { dir: string; write: (name: string, content: string | Buffer) => string } {
  const dir = mkdtempSync(join(tmpdir(), "crossrank-datasets-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(name, content) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      writeFileSync(path, name.endsWith(".gz") ? gzipSync(bytes) : bytes);
      return path;
    },
  };
}

/** The real data folder next to the repository (`../shared/datasets/<name>` from its root). */
export function sharedDataset(name: string): string {
  return fileURLToPath(new URL(`../../../../shared/datasets/${name}`, import.meta.url));
}
