import { loadEncoder } from "@crossrank/encode";
import { afterAll, describe, expect, it } from "vitest";
import { clearNeuralMemo, createRanker, type RankingInput, passageTexts } from "../src/index.js";
import { LONG, LONG_DOCUMENT_INPUT } from "./long-documents.js";

// Two long documents: d2's title and first sentence come before the whole long text.
const INPUT: RankingInput = {
  ...LONG_DOCUMENT_INPUT,
  documents: LONG_DOCUMENT_INPUT.documents.map((d) => (d.id === "d2" ? { ...d, text: `${d.text} ${LONG}` } : d)),
};
const ENCODER = { encoder: "fixture:bert", maxLength: 24 };

afterAll(async () => {
  await clearNeuralMemo();
});

/** Each document's windows as the PassageRanker cuts them, as documents of their own (title kept), and the window's owner. */
async function windowDocuments(passageLength: number, stride: number) {
  const encoder = await loadEncoder(ENCODER.encoder, { maxLength: ENCODER.maxLength });
  try {
    const docs = INPUT.documents.flatMap((d) => passageTexts(encoder.tokenizer, d.text, passageLength, stride).map((text, w) => ({ ...d, id: `${d.id}#${w}`, text })));
    return { docs, owner: (id: string) => id.slice(0, id.indexOf("#")) };
  } finally {
    await encoder.dispose();
  }
}

describe("long documents as passages (MaxP / SumP) for the neural rankers", () => {
  it("cuts a text into overlapping windows that cover it, and leaves a short text whole", async () => {
    const encoder = await loadEncoder(ENCODER.encoder);
    try {
      const windows = passageTexts(encoder.tokenizer, LONG, 16, 4);
      expect(windows.length).toBeGreaterThan(4);
      // Read again, a window that starts inside a word may come out a token longer (its first piece becomes a word of its own).
      for (const w of windows) expect(encoder.tokenizer.contentIds(w).length).toBeLessThanOrEqual(17);
      // Every word of the text is in some window, in order: the first window starts the text, the last ends it.
      expect(LONG.startsWith(windows[0]!)).toBe(true);
      expect(LONG.endsWith(windows[windows.length - 1]!)).toBe(true);
      for (const word of new Set(LONG.split(/\W+/).filter(Boolean))) expect(windows.some((w) => w.includes(word)), word).toBe(true);
      expect(passageTexts(encoder.tokenizer, "Fresh bread.", 16, 4)).toEqual(["Fresh bread."]);
    } finally {
      await encoder.dispose();
    }
  });

  for (const name of ["bi-encoder", "bert-max", "maxsim", "lm-emd"] as const) {
    it(`${name}: a document scores as its best window (max) or the sum of its windows (sum)`, async () => {
      const settings = { ...ENCODER, passageLength: 12, stride: 3 };
      const { docs, owner } = await windowDocuments(12, 3);
      expect(docs.length).toBeGreaterThan(INPUT.documents.length + 6);
      // The windows ranked as documents by the plain ranker: what the passages must fold together.
      const windowRun = await createRanker(name, ENCODER).rank({ ...INPUT, documents: docs }, { k: docs.length });
      const max = await createRanker(name, { ...settings, passages: "max" }).rank(INPUT, { k: 5 });
      const sum = await createRanker(name, { ...settings, passages: "sum" }).rank(INPUT, { k: 5 });
      for (const q of INPUT.queries) {
        const best = new Map<string, number>();
        const total = new Map<string, number>();
        for (const [id, s] of windowRun.get(q.id)!) {
          const d = owner(id);
          best.set(d, Math.max(best.get(d) ?? -Infinity, s));
          total.set(d, (total.get(d) ?? 0) + s);
        }
        for (const [run, expected] of [
          [max, best],
          [sum, total],
        ] as const) {
          const order = [...expected].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1)).map(([id]) => id);
          expect([...run.get(q.id)!.keys()], q.id).toEqual(order);
          for (const [id, s] of run.get(q.id)!) expect(s, `${q.id} ${id}`).toBeCloseTo(expected.get(id)!, 5);
        }
      }
    });
  }

  it("keeps the best k documents when only a few windows' owners are asked for (k smaller than the collection)", async () => {
    const all = await createRanker("maxsim", { ...ENCODER, passages: "max", passageLength: 12 }).rank(INPUT, { k: 5 });
    const top2 = await createRanker("maxsim", { ...ENCODER, passages: "max", passageLength: 12 }).rank(INPUT, { k: 2 });
    for (const q of INPUT.queries) expect([...top2.get(q.id)!], q.id).toEqual([...all.get(q.id)!].slice(0, 2));
  });

  it("scores only a query's candidates as rerank's second stage, with the same scores as alone", async () => {
    const rerank = createRanker("rerank", { ...ENCODER, first: "bm25", second: "maxsim", passages: "max", passageLength: 12, depth: 2, firstWeight: 0 });
    expect(rerank.name).toContain("passages=max,passageLength=12)");
    const run = await rerank.rank(INPUT, { k: 4 });
    const bm25 = await createRanker("bm25").rank(INPUT, { k: 2 });
    const alone = await createRanker("maxsim", { ...ENCODER, passages: "max", passageLength: 12 }).rank(INPUT, { k: 5 });
    for (const q of INPUT.queries) {
      const candidates = [...bm25.get(q.id)!.keys()];
      expect(new Set(run.get(q.id)!.keys()), q.id).toEqual(new Set(candidates));
      // (alone scores every window on onnxruntime in float32, the candidates in JavaScript: ~1e-6 apart.)
      for (const id of candidates) expect(run.get(q.id)!.get(id)).toBeCloseTo(alone.get(q.id)!.get(id)!, 5);
    }
  });

  it("passages first is the truncating ranker itself", async () => {
    const plain = createRanker("bi-encoder", ENCODER);
    const first = createRanker("bi-encoder", { ...ENCODER, passages: "first" });
    expect(first.name).toBe(plain.name);
    expect(await first.rank(INPUT, { k: 5 })).toEqual(await plain.rank(INPUT, { k: 5 }));
  });

  it("says what is wrong with its parameters", () => {
    expect(() => createRanker("lm-emd", { ...ENCODER, passageLength: 8 })).toThrow('ranker lm-emd: passageLength and stride apply to passages "max" and "sum" only');
    expect(() => createRanker("bi-encoder", { ...ENCODER, passages: "max", passageLength: 8, stride: 8 })).toThrow("stride 8 must be smaller than passageLength 8");
    expect(() => createRanker("maxsim", { ...ENCODER, passages: "best" })).toThrow('parameter passages of ranker maxsim must be a string "first" or "max" or "sum"');
    expect(() => createRanker("rerank", { ...ENCODER, second: "bi-encoder", stride: 2 })).toThrow('ranker bi-encoder: passageLength and stride apply to passages "max" and "sum" only');
  });
});
