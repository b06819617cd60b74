import { loadCrossEncoder } from "@crossrank/encode";
import { afterAll, describe, expect, it } from "vitest";
import { clearNeuralMemo, createRanker, CrossEncoderRanker } from "../src/index.js";
import { LONG, LONG_DOCUMENT_INPUT } from "./long-documents.js";

const INPUT = LONG_DOCUMENT_INPUT;
const MODEL = "fixture:cross-encoder";

afterAll(async () => {
  await clearNeuralMemo();
});

describe("cross-encoder ranker", () => {
  it("ranks by the model's logit of each (query, title + text) pair", async () => {
    const run = await createRanker("cross-encoder", { model: MODEL }).rank(INPUT, { k: 5 });
    const encoder = await loadCrossEncoder(MODEL);
    try {
      for (const q of INPUT.queries) {
        const expected = await encoder.score(INPUT.documents.map((d) => [q.text, d.title ? `${d.title}\n${d.text}` : d.text] as [string, string]));
        const hits = run.get(q.id)!;
        const order = INPUT.documents.map((d, i) => ({ id: d.id, s: expected[i]! })).sort((a, b) => b.s - a.s || (a.id < b.id ? 1 : -1));
        expect([...hits.keys()], q.id).toEqual(order.map((o) => o.id));
        for (const o of order) expect(hits.get(o.id)).toBeCloseTo(o.s, 6);
      }
    } finally {
      await encoder.dispose();
    }
  });

  it("scores long documents by their first window, their best window or the sum (FirstP / MaxP / SumP)", async () => {
    const settings = { model: MODEL, passageLength: 16, stride: 4 };
    const first = await createRanker("cross-encoder", { model: MODEL }).rank(INPUT, { k: 5 });
    const max = await createRanker("cross-encoder", { ...settings, passages: "max" }).rank(INPUT, { k: 5 });
    const sum = await createRanker("cross-encoder", { ...settings, passages: "sum" }).rank(INPUT, { k: 5 });
    const encoder = await loadCrossEncoder(MODEL);
    try {
      // The long document's windows, as the ranker cuts them: 16 content tokens, 4 shared.
      const windows = encoder.tokenizer.windows(LONG, { maxLength: 18, stride: 4 });
      expect(windows.length).toBeGreaterThan(4);
      const texts = windows.map((w) => {
        const spans = w.offsets.filter((_, t) => !w.special[t]);
        return LONG.slice(spans[0]![0], spans[spans.length - 1]![1]);
      });
      const scores = await encoder.score(texts.map((t) => ["old maps of the city", t] as [string, string]));
      expect(max.get("q1")!.get("d3")).toBeCloseTo(Math.max(...scores), 6);
      expect(sum.get("q1")!.get("d3")).toBeCloseTo(scores.reduce((a, b) => a + b, 0), 5);
      expect(first.get("q1")!.get("d3")).not.toBeCloseTo(max.get("q1")!.get("d3")!, 6);
      // A document of one window scores alike under all three.
      const single = INPUT.documents.filter((d) => !d.title && encoder.tokenizer.windows(d.text, { maxLength: 18, stride: 4 }).length === 1);
      expect(single.length).toBeGreaterThan(0);
      for (const d of single) for (const run of [max, sum]) expect(run.get("q1")!.get(d.id), d.id).toBeCloseTo(first.get("q1")!.get(d.id)!, 6);
    } finally {
      await encoder.dispose();
    }
  });

  it("re-ranks a first stage's candidates as rerank's second stage", async () => {
    const rerank = createRanker("rerank", { first: "bm25", second: "cross-encoder", model: MODEL, depth: 2, firstWeight: 0 });
    expect(rerank.name).toContain("second=cross-encoder(model=fixture:cross-encoder)");
    const run = await rerank.rank(INPUT, { k: 4 });
    const bm25 = await createRanker("bm25").rank(INPUT, { k: 2 });
    const alone = await createRanker("cross-encoder", { model: MODEL }).rank(INPUT, { k: 5 });
    for (const q of INPUT.queries) {
      const candidates = [...bm25.get(q.id)!.keys()];
      expect(new Set(run.get(q.id)!.keys()), q.id).toEqual(new Set(candidates));
      for (const id of candidates) expect(run.get(q.id)!.get(id)).toBeCloseTo(alone.get(q.id)!.get(id)!, 6);
    }
  });

  it("says what is wrong with its parameters", () => {
    expect(() => createRanker("cross-encoder")).toThrow("ranker cross-encoder needs parameter model");
    expect(() => createRanker("cross-encoder", { model: MODEL, passageLength: 8 })).toThrow('passageLength and stride apply to passages "max" and "sum" only');
    expect(() => createRanker("cross-encoder", { model: MODEL, passages: "best" })).toThrow('parameter passages of ranker cross-encoder must be a string "first" or "max" or "sum"');
    expect(() => createRanker("rerank", { second: "cross-encoder" })).toThrow("with second stage cross-encoder needs parameter model");
    expect(() => createRanker("rerank", { second: "lm-emd", model: MODEL })).toThrow("parameter model of ranker rerank does not apply to second stage lm-emd");
    expect(() => new CrossEncoderRanker({ model: "" })).toThrow("needs parameter model");
  });
});
