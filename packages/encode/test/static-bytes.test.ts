/**
 * staticEncoderFromBytes (the browser's way to build a static model) against loadEncoder on the
 * folder holding the same files: the shipped crossrank-static model.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { staticModelDir } from "@crossrank/static-model";
import { describe, expect, it } from "vitest";
import { loadEncoder, StaticEncoder, staticEncoderFromBytes } from "../src/index.js";

const dir = staticModelDir();
const json = async (name: string) => JSON.parse(await readFile(join(dir, name), "utf8")) as Record<string, unknown>;
const TEXTS = ["Der Fluss fließt langsam durch die alte Stadt.", "文本编辑器", "a text editor for the console", ""];

describe("staticEncoderFromBytes", () => {
  it("encodes as loadEncoder on the model's folder (tokens, ids, sentence vectors)", async () => {
    const folder = await loadEncoder(dir);
    const bytes = await staticEncoderFromBytes("crossrank-static", {
      safetensors: new Uint8Array(await readFile(join(dir, "model.safetensors"))).buffer,
      tokenizer: await json("tokenizer.json"),
      tokenizerConfig: await json("tokenizer_config.json"),
      config: await json("config.json"),
    });
    try {
      expect(bytes).toBeInstanceOf(StaticEncoder);
      expect(bytes.id).toBe("crossrank-static");
      expect(bytes.dim).toBe(folder.dim);
      expect(bytes.maxLength).toBe(folder.maxLength);
      expect(bytes.modules).toEqual(folder.modules);
      for (const text of TEXTS) expect(Array.from(bytes.ids(text))).toEqual(Array.from((folder as StaticEncoder).ids(text)));
      const [a, b] = [await bytes.encode(TEXTS), await folder.encode(TEXTS)];
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      const [ta, tb] = [await bytes.encodeTokens(TEXTS), await folder.encodeTokens(TEXTS)];
      expect(ta.map((t) => t.tokens)).toEqual(tb.map((t) => t.tokens));
      expect(ta.map((t) => Array.from(t.embeddings))).toEqual(tb.map((t) => Array.from(t.embeddings)));
    } finally {
      await folder.dispose();
      await bytes.dispose();
    }
  });

  it("says what is wrong with the files", async () => {
    const tokenizer = await json("tokenizer.json");
    await expect(staticEncoderFromBytes("m", { safetensors: new Uint8Array(16), tokenizer, config: { model_type: "bert" } })).rejects.toThrow(/model_type "model2vec"/);
    await expect(staticEncoderFromBytes("m", { safetensors: new Uint8Array(4), tokenizer, config: { model_type: "model2vec" } })).rejects.toThrow(/safetensors: buffer: too short/);
  });
});
