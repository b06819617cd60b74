/**
 * What the rankers' browser build swaps in: the JavaScript sha256 of the memo keys (the
 * "#texts-hash" import under the "browser" condition) against node:crypto's, and encoders handed
 * over in memory (provideEncoder) instead of loaded by name.
 */
import { describe, expect, it } from "vitest";
import { textsHash as browserHash } from "../src/neural/texts-hash-browser.js";
import { textsHash as nodeHash } from "../src/neural/texts-hash.js";
import { clearNeuralMemo, createRanker, provideEncoder } from "../src/index.js";
import type { Encoder } from "@crossrank/encode";

describe("textsHash in a browser", () => {
  it("is node:crypto's sha256 for every length around the block boundaries, any script, any count", () => {
    const cases: string[][] = [[], [""], ["a"], ["Fluss", "文本编辑器", "emoji 🙂 and é"]];
    for (let n = 40; n <= 140; n++) cases.push(["x".repeat(n)], ["ä".repeat(n), "b"]);
    cases.push(Array.from({ length: 500 }, (_, i) => `document ${i} ${"wort ".repeat(i % 37)}`));
    for (const texts of cases) expect(browserHash(texts)).toBe(nodeHash(texts));
    expect(nodeHash(["ab", "c"])).not.toBe(nodeHash(["a", "bc"]));
  });
});

describe("provideEncoder", () => {
  it("makes the rankers use the given encoder for its name, and refuses loading options for it", async () => {
    const calls: string[][] = [];
    const dim = 2;
    const vector = (t: string) => (t.includes("river") ? [1, 0] : [0, 1]);
    const encoder = {
      id: "in-memory",
      backend: "static",
      dim,
      sentenceDim: dim,
      maxLength: 512,
      similarity: "cosine",
      prompts: {},
      defaultPromptName: undefined,
      async encode(texts: readonly string[]) {
        calls.push([...texts]);
        return { rows: texts.length, dim, data: Float32Array.from(texts.flatMap(vector)) };
      },
      async encodeTokens() {
        throw new Error("not used by the bi-encoder");
      },
      async dispose() {},
    } as unknown as Encoder;
    provideEncoder("in-memory-model", encoder);
    try {
      const documents = [
        { id: "a", text: "a river in town" },
        { id: "b", text: "bread in the morning" },
      ];
      const run = await createRanker("bi-encoder", { encoder: "in-memory-model" }).rank({ queries: [{ id: "q", text: "river" }], documents }, { k: 2 });
      expect([...run.get("q")!.keys()][0]).toBe("a");
      expect(calls.flat()).toEqual(expect.arrayContaining(["a river in town", "bread in the morning", "river"]));
      await expect(createRanker("bi-encoder", { encoder: "in-memory-model", batchSize: 4 }).rank({ queries: [{ id: "q", text: "river" }], documents })).rejects.toThrow(/provided in memory.*batchSize/);
    } finally {
      await clearNeuralMemo();
    }
  });
});
