import { describe, expect, it } from "vitest";
import { expandGrid, parseSuite, SuiteError } from "../src/suite.js";

const context = { source: "s.yaml", baseDir: "/tmp" };
const minimal = {
  name: "s",
  datasets: [{ dataset: "xquad", tasks: ["paragraph"], queryLangs: ["de", "zh"] }],
  rankers: ["bm25"],
  measures: ["R@1", "MRR@10"],
};

describe("expandGrid", () => {
  it("takes the cartesian product of list-valued parameters in key order", () => {
    expect(expandGrid({ k1: [0.9, 1.2], b: 0.75, idf: ["a", "b"] })).toEqual([
      { k1: 0.9, b: 0.75, idf: "a" },
      { k1: 0.9, b: 0.75, idf: "b" },
      { k1: 1.2, b: 0.75, idf: "a" },
      { k1: 1.2, b: 0.75, idf: "b" },
    ]);
  });

  it("gives one empty configuration for no parameters", () => {
    expect(expandGrid({})).toEqual([{}]);
  });
});

describe("parseSuite", () => {
  it("fills defaults: docLang en, k 100, ranker strings as names", () => {
    const suite = parseSuite(minimal, context);
    expect(suite.datasets[0]).toMatchObject({ dataset: "xquad", docLang: "en", queryLangs: ["de", "zh"] });
    expect(suite.rankers).toEqual([{ name: "bm25", params: {} }]);
    expect(suite.k).toBe(100);
  });

  it.each([
    [{ ...minimal, measures: ["F1"] }, "s.yaml: measures:"],
    [{ ...minimal, rankers: [] }, "s.yaml: rankers: expected a non-empty list"],
    [{ ...minimal, datasets: [{ dataset: "msmarco" }] }, 's.yaml: datasets[0].dataset: expected one of xquad, jsonl, ddtp, parallel, trec, got "msmarco"'],
    [{ ...minimal, datasets: [{ dataset: "jsonl", queryLangs: ["de"] }] }, "s.yaml: datasets[0].path: expected a non-empty string, got nothing"],
    [{ ...minimal, k: 0 }, "s.yaml: k: expected a positive integer, got 0"],
    [{ ...minimal, rankers: [{ name: "bm25", params: { k1: [] } }] }, "s.yaml: rankers[0].params.k1: an empty sweep"],
    [{ ...minimal, name: "a b" }, "s.yaml: name: use letters"],
    [{ ...minimal, tables: [{ title: "t", cells: ["P@1"] }] }, 's.yaml: tables[0].cells: "P@1" is not one of the suite\'s measures'],
  ])("rejects %j naming the key", (raw, message) => {
    expect(() => parseSuite(raw, context)).toThrow(SuiteError);
    expect(() => parseSuite(raw, context)).toThrow(message);
  });
});
