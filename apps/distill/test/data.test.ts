import type { SquadDataset } from "@crossrank/datasets";
import { Bm25Index, createAnalyzer } from "@crossrank/rankers";
import { describe, expect, it } from "vitest";
import { buildCorpus, splitArticles, warmupNegatives } from "../src/data.js";
import { xquadFixture } from "./helpers.js";

describe("split by article", () => {
  it("60/20/20 of XQuAD's 48 articles: 29 / 9 / 10, disjoint, covering, deterministic", () => {
    const s = splitArticles(48, { kind: "ratio", train: 0.6, dev: 0.2, test: 0.2, seed: 7 });
    expect([s.train.length, s.dev.length, s.test.length]).toEqual([29, 9, 10]);
    const all = [...s.train, ...s.dev, ...s.test];
    expect(new Set(all).size).toBe(48);
    expect(all.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 48 }, (_, i) => i));
    for (const part of [s.train, s.dev, s.test]) expect(part).toEqual(part.slice().sort((a, b) => a - b));
    expect(splitArticles(48, { kind: "ratio", train: 0.6, dev: 0.2, test: 0.2, seed: 7 })).toEqual(s);
    expect(splitArticles(48, { kind: "ratio", train: 0.6, dev: 0.2, test: 0.2, seed: 8 }).test).not.toEqual(s.test);
    expect(s.description).toContain("29 train / 9 dev / 10 test");
  });

  it("5-fold: every article is tested exactly once; dev is the next fold; parts disjoint", () => {
    const tested: number[] = [];
    const folds = Array.from({ length: 5 }, (_, fold) => splitArticles(48, { kind: "folds", folds: 5, fold, seed: 3 }));
    folds.forEach((s, fold) => {
      expect(new Set([...s.train, ...s.dev, ...s.test]).size).toBe(48);
      expect(s.train.length + s.dev.length + s.test.length).toBe(48);
      expect([9, 10]).toContain(s.test.length);
      expect(s.dev).toEqual(folds[(fold + 1) % 5]!.test);
      tested.push(...s.test);
    });
    expect(tested.sort((a, b) => a - b)).toEqual(Array.from({ length: 48 }, (_, i) => i));
    // The same seeded order as the ratio split: a fold is a contiguous slice of it.
    expect(splitArticles(48, { kind: "folds", folds: 5, fold: 2, seed: 3 })).toEqual(folds[2]);
  });

  it("refuses splits with an empty part", () => {
    expect(() => splitArticles(2, { kind: "ratio", train: 0.6, dev: 0.2, test: 0.2, seed: 1 })).toThrow(/at least 3 articles/);
    expect(() => splitArticles(4, { kind: "ratio", train: 0.8, dev: 0.1, test: 0.1, seed: 1 })).toThrow(/empty/);
  });
});

describe("corpus", () => {
  it("reads parallel files: English paragraphs, questions in every language by id", () => {
    const files = new Map((["en", "de", "es"] as const).map((l) => [l, { path: `${l}.json`, data: xquadFixture(l, 3) }]));
    const c = buildCorpus(["en", "de", "es"], files);
    expect(c.languages).toEqual(["en", "de", "es"]);
    expect(c.paragraphs.map((p) => p.id)).toEqual(["0-0", "0-1", "1-0", "1-1", "2-0", "2-1"]);
    expect(c.questions).toHaveLength(12);
    expect(c.questions[5]).toMatchObject({ id: "q1-0-1", article: 1, paragraph: 2 });
    expect(Object.keys(c.questions[5]!.text).sort()).toEqual(["de", "en", "es"]);
    expect(c.warnings).toEqual([]);
  });

  it("rejects files that are not parallel, naming them", () => {
    const de = xquadFixture("de", 3);
    de.data[1]!.paragraphs.pop();
    const files = new Map([
      ["en", { path: "en.json", data: xquadFixture("en", 3) }],
      ["de", { path: "de.json", data: de }],
    ]);
    expect(() => buildCorpus(["en", "de"], files)).toThrow("de.json is not parallel to en.json: data[1] has 1 paragraphs, English has 2");
  });
});

/** A one-question-per-paragraph SQuAD file from article → paragraph texts (questions given per paragraph). */
function squad(articles: { context: string; question?: string }[][]): SquadDataset {
  return {
    data: articles.map((paragraphs, ai) => ({
      title: `a${ai}`,
      paragraphs: paragraphs.map((p, pi) => ({ context: p.context, qas: p.question === undefined ? [] : [{ id: `q${ai}-${pi}`, question: p.question, answers: [] }] })),
    })),
  };
}

describe("warmup BM25 negatives", () => {
  // Question "tiger river jungle" about article 0; the best BM25 match is a paragraph of article 1
  // (skipped as the top hit although it is not the gold one), then article 0's own paragraphs
  // (excluded: gold article), then the others.
  const data = squad([
    [{ context: "the tiger lives near the river in the jungle of the north", question: "tiger river jungle" }, { context: "tiger tiger river jungle stories" }],
    [{ context: "tiger river jungle tiger river jungle", question: "mountain snow" }, { context: "a river without any tiger" }],
    [{ context: "the jungle is green" }, { context: "a tiger sleeps" }, { context: "mountain snow and ice" }],
    [{ context: "river boats carry goods" }, { context: "nothing related at all" }],
  ]);
  const corpus = buildCorpus(["en"], new Map([["en", { path: "en.json", data }]]));
  const all = [0, 1, 2, 3];
  // BM25 order for "tiger river jungle": 1-0 (top hit, skipped), 0-1 and 0-0 (gold article), then these ("jungle" is rarer than "tiger").
  const EXPECTED_Q0 = ["1-1", "2-0", "2-1"];

  it("skip the top hit, never take the gold article, keep BM25 order", () => {
    const negatives = warmupNegatives(corpus, all, { count: 3 });
    const index = Bm25Index.build(
      corpus.paragraphs.map((p) => ({ id: p.id, text: p.text })),
      { analyzer: createAnalyzer({ lang: "en" }) },
    );
    for (const [q, negs] of negatives) {
      const question = corpus.questions[q]!;
      const ranking = index.search(question.text.en!, 100).map((h) => corpus.paragraphs.findIndex((p) => p.id === h.id));
      const top = ranking[0]!;
      expect(negs).not.toContain(top);
      for (const n of negs) expect(corpus.paragraphs[n]!.article).not.toBe(question.article);
      expect(negs).toEqual(ranking.slice(1).filter((p) => corpus.paragraphs[p]!.article !== question.article).slice(0, 3));
    }
    // The crafted case: the top hit is article 1's paragraph, not the gold one, and is still skipped.
    const q0 = corpus.questions.findIndex((q) => q.id === "q0-0");
    expect(index.search("tiger river jungle", 1)[0]!.id).toBe("1-0");
    expect(negatives.get(q0)!.map((p) => corpus.paragraphs[p]!.id)).toEqual(EXPECTED_Q0);
    expect(negatives.get(q0)).toHaveLength(3);
  });

  it("only paragraphs of the given (training) articles are candidates", () => {
    const negatives = warmupNegatives(corpus, [0, 2, 3], { count: 3 });
    for (const negs of negatives.values()) for (const n of negs) expect([2, 3]).toContain(corpus.paragraphs[n]!.article);
    expect([...negatives.keys()].map((q) => corpus.questions[q]!.id)).toEqual(["q0-0"]);
  });
});
