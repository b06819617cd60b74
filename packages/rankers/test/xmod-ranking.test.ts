import { loadEncoder } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import { afterAll, describe, expect, it } from "vitest";
import { clearNeuralMemo, createRanker, explainPair, type RankingInput } from "../src/index.js";

// Queries and documents in several languages: each query and document names its own, or falls
// back to the input's queryLang / docLang. The same text appears in two languages (q1 / q3, d1 / d5).
const RIVER_DE = "Der Fluss fließt langsam durch die alte Stadt.";
const INPUT: RankingInput = {
  queryLang: "en",
  docLang: "de",
  queries: [
    { id: "q1", text: "The river flows slowly through the old town." },
    { id: "q2", text: "Wale sind die größten Tiere im Meer.", lang: "de" },
    { id: "q3", text: "The river flows slowly through the old town.", lang: "de" },
  ],
  documents: [
    { id: "d1", text: RIVER_DE },
    { id: "d2", text: "Whales are the largest animals in the sea.", lang: "en" },
    { id: "d3", text: "Im Winter liegt im Bergdorf viel Schnee.", lang: "de" },
    { id: "d4", text: "Light is faster than sound.", title: "Physics", lang: "en" },
    { id: "d5", text: RIVER_DE, lang: "en" },
  ],
};
const ALL = INPUT.documents.length;
const queryLangs = INPUT.queries.map((q) => q.lang ?? INPUT.queryLang!);
const docLangs = INPUT.documents.map((d) => d.lang ?? INPUT.docLang!);
const docTexts = INPUT.documents.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));

afterAll(async () => {
  await clearNeuralMemo();
});

/** Cosines of the encoder's own vectors, each text encoded in `qLangs` / `dLangs`. */
async function byHand(qLangs: readonly string[], dLangs: readonly string[]): Promise<number[][]> {
  const encoder = await loadEncoder("fixture:xmod");
  try {
    const q = await encoder.encode(
      INPUT.queries.map((x) => x.text),
      { languages: qLangs },
    );
    const d = await encoder.encode(docTexts, { languages: dLangs });
    const row = (m: { dim: number; data: Float32Array }, i: number) => Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim));
    const cos = (a: number[], b: number[]) => a.reduce((s, x, k) => s + x * b[k]!, 0) / (Math.hypot(...a) * Math.hypot(...b));
    return INPUT.queries.map((_, i) => INPUT.documents.map((_, j) => cos(row(q, i), row(d, j))));
  } finally {
    await encoder.dispose();
  }
}

function scores(run: Run): number[][] {
  return INPUT.queries.map((q) => INPUT.documents.map((d) => run.get(q.id)!.get(d.id)!));
}

describe("rankers over an X-MOD encoder: each text through its own language's adapter", () => {
  it("bi-encoder: scores are the cosines of each query and document encoded in its own language", async () => {
    const run = await createRanker("bi-encoder", { encoder: "fixture:xmod" }).rank(INPUT, { k: ALL });
    const expected = await byHand(queryLangs, docLangs);
    scores(run).forEach((row, i) => row.forEach((s, j) => expect(s, `${INPUT.queries[i]!.id} ${INPUT.documents[j]!.id}`).toBeCloseTo(expected[i]![j]!, 5)));
    // The languages matter: everything encoded as English scores differently.
    const allEnglish = await byHand(
      queryLangs.map(() => "en"),
      docLangs.map(() => "en"),
    );
    expect(Math.abs(allEnglish[0]![0]! - expected[0]![0]!)).toBeGreaterThan(1e-3);
    // The same text in two languages is two vectors (memo and cache keyed by language).
    expect(Math.abs(run.get("q1")!.get("d2")! - run.get("q3")!.get("d2")!)).toBeGreaterThan(1e-4);
    expect(Math.abs(run.get("q2")!.get("d1")! - run.get("q2")!.get("d5")!)).toBeGreaterThan(1e-4);
  });

  it("maxsim: the token memo keeps a text's rows per language", async () => {
    const run = await createRanker("maxsim", { encoder: "fixture:xmod" }).rank(INPUT, { k: ALL });
    expect(Math.abs(run.get("q1")!.get("d2")! - run.get("q3")!.get("d2")!)).toBeGreaterThan(1e-4);
    expect(Math.abs(run.get("q2")!.get("d1")! - run.get("q2")!.get("d5")!)).toBeGreaterThan(1e-4);
    // A second run hits the memo and gives the same scores.
    const again = await createRanker("maxsim", { encoder: "fixture:xmod" }).rank(INPUT, { k: ALL });
    expect(scores(again)).toEqual(scores(run));
  });

  it("explainPair takes the query's and the document's languages", async () => {
    const encoder = await loadEncoder("fixture:xmod");
    try {
      const query = INPUT.queries[0]!.text;
      const asGerman = await explainPair(encoder, query, RIVER_DE, { queryLang: "en", docLang: "de" });
      const asEnglish = await explainPair(encoder, query, RIVER_DE, { queryLang: "en", docLang: "en" });
      expect(Math.abs(asGerman.distance - asEnglish.distance)).toBeGreaterThan(1e-4);
      await expect(explainPair(encoder, query, RIVER_DE)).rejects.toThrow(/has no language/);
    } finally {
      await encoder.dispose();
    }
  });

  it("a text without any language is an error naming the model's languages", async () => {
    const { queryLang: _q, ...noQueryLang } = INPUT;
    await expect(createRanker("bi-encoder", { encoder: "fixture:xmod" }).rank(noQueryLang, { k: ALL })).rejects.toThrow(/has no language.*en_XX/);
  });
});
