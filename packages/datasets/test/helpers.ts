/** Test helpers: committed fixtures, and throw-away files for the error cases. */
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll } from "vitest";

/**
 * Committed fixtures whose loaders look files up by the real data's names. They are stored under
 * neutral names so that the repository never holds a file named like the real XQuAD or DDTP data
 * (which must not be committed); `fixture` lays them out under their real names.
 */
const RENAMED: Readonly<Record<string, string>> = {
  "Translation-de": "ddtp-de.deb822",
  "ddtp/Translation-de.gz": "ddtp/de.deb822.gz",
  "ddtp/Translation-en": "ddtp/en.deb822",
  "ddtp/Translation-pt_BR": "ddtp/pt_BR.deb822",
  "xquad/xquad.de.json": "xquad/de.squad.json",
  "xquad/xquad.en.json": "xquad/en.squad.json",
  "sasaki18/data_en_de/train.txt": "clir-lines/en-de.train.tsv",
  "sasaki18/data_en_de/test1.txt": "clir-lines/en-de.test.tsv",
};

let laidOut: string | undefined;

/** A copy of test/fixtures/ with the renamed fixtures under their real names, made once per test file. */
function fixtureRoot(): string {
  if (laidOut === undefined) {
    const root = mkdtempSync(join(tmpdir(), "crossrank-fixtures-"));
    cpSync(fileURLToPath(new URL("./fixtures/", import.meta.url)), root, { recursive: true });
    for (const [real, stored] of Object.entries(RENAMED)) {
      mkdirSync(dirname(join(root, real)), { recursive: true });
      renameSync(join(root, stored), join(root, real));
    }
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    laidOut = root;
  }
  return laidOut;
}

/** Path of a committed fixture (file or folder) under test/fixtures/, by the name the loaders use. */
export function fixture(...parts: string[]): string {
  return join(fixtureRoot(), ...parts);
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
