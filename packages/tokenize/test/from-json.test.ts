/** Tokenizer.fromJSON (in-memory files, a browser page's way) against Tokenizer.load on a folder holding the same files. */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tokenizer } from "../src/index.js";
import { tempDir, writeBertTokenizer, writeByteLevelTokenizer } from "./fixtures.js";

let root: string;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const TEXTS = ["The quick brown fox jumps over the lazy dog.", "Ünïcödé  spaces\tand [SEP] inside", ""];

describe("Tokenizer.fromJSON", () => {
  for (const [kind, write] of [["WordPiece", writeBertTokenizer], ["byte-level BPE", writeByteLevelTokenizer]] as const) {
    it(`tokenizes as Tokenizer.load on the same files (${kind})`, async () => {
      const folder = await write(join(root, kind.replace(/\W/g, "")));
      const json = async (name: string) => JSON.parse(await readFile(join(folder, name), "utf8").catch(() => "{}")) as Record<string, unknown>;
      const loaded = await Tokenizer.load(folder);
      const built = await Tokenizer.fromJSON("in-memory", { tokenizer: await json("tokenizer.json"), tokenizerConfig: await json("tokenizer_config.json"), config: await json("config.json") });
      expect(built.vocabSize).toBe(loaded.vocabSize);
      expect(built.modelMaxLength).toBe(loaded.modelMaxLength);
      expect(built.padTokenId).toBe(loaded.padTokenId);
      for (const text of TEXTS) expect(built.tokenize(text)).toEqual(loaded.tokenize(text));
      expect(built.source.kind).toBe("memory");
      await expect(built.source.file("tokenizer.json")).rejects.toThrow(/in-memory files: it has no tokenizer.json/);
    });
  }

  it("refuses a tokenizer.json that is not an object", async () => {
    await expect(Tokenizer.fromJSON("m", { tokenizer: [] as unknown as Record<string, unknown> })).rejects.toThrow(/m: tokenizer.json must be a JSON object/);
  });
});
