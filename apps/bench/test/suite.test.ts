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
    [{ ...minimal, datasets: [{ dataset: "msmarco" }] }, 's.yaml: datasets[0].dataset: expected one of xquad, jsonl, ddtp, parallel, trec, sasaki18, got "msmarco"'],
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

describe("parseSuite: ddtp split, staticModels, ranker queryLangs", () => {
  const ddtp = (extra: Record<string, unknown>) => ({ ...minimal, datasets: [{ dataset: "ddtp", tasks: ["short-description"], queryLangs: ["de"], ...extra }] });
  const base = { source: "s.yaml", baseDir: "/suites/here" };

  it("takes split as a part name or as {part, devFraction, seed}", () => {
    expect(parseSuite(ddtp({ split: "dev" }), base).datasets[0]).toEqual({
      dataset: "ddtp",
      tasks: ["short-description"],
      queryLangs: ["de"],
      docLang: "en",
      dir: undefined,
      split: { part: "dev" },
    });
    expect(parseSuite(ddtp({ split: { part: "train", devFraction: 0.2, seed: 3 } }), base).datasets[0]).toMatchObject({ split: { part: "train", devFraction: 0.2, seed: 3 } });
    expect(parseSuite(ddtp({}), base).datasets[0]).not.toHaveProperty("split");
  });

  it.each([
    [{ split: "test" }, 's.yaml: datasets[0].split: expected "train" or "dev", got "test"'],
    [{ split: { part: "test" } }, 's.yaml: datasets[0].split.part: expected "train" or "dev", got "test"'],
    [{ split: { devFraction: 0.2 } }, 's.yaml: datasets[0].split.part: expected "train" or "dev"'],
    [{ split: { part: "dev", devFraction: 1.5 } }, "s.yaml: datasets[0].split.devFraction: expected a number in [0, 1], got 1.5"],
    [{ split: { part: "dev", seed: -1 } }, "s.yaml: datasets[0].split.seed: expected a whole number >= 0, got -1"],
    [{ split: { part: "dev", fraction: 0.2 } }, "s.yaml: datasets[0].split.fraction: unknown key (a split has part, devFraction and seed)"],
    [{ split: 3 }, "s.yaml: datasets[0].split: expected a mapping"],
  ])("rejects ddtp %j naming the key", (extra, message) => {
    expect(() => parseSuite(ddtp(extra), base)).toThrow(SuiteError);
    expect(() => parseSuite(ddtp(extra), base)).toThrow(message);
  });

  it("resolves staticModels paths against the suite's folder; recipe defaults to and keeps \"default\"", () => {
    const suite = parseSuite(
      {
        ...minimal,
        staticModels: [
          { out: "models/static", recipe: "recipes/tiny.json" },
          { out: "/abs/model", recipe: "default" },
          { out: "../up" },
        ],
      },
      base,
    );
    expect(suite.staticModels).toEqual([
      { out: "/suites/here/models/static", recipe: "/suites/here/recipes/tiny.json" },
      { out: "/abs/model", recipe: "default" },
      { out: "/suites/up", recipe: "default" },
    ]);
    expect(parseSuite(minimal, base)).not.toHaveProperty("staticModels");
  });

  it.each([
    [{ staticModels: [{ out: "m", recipes: "r.json" }] }, "s.yaml: staticModels[0].recipes: unknown key (a static model has out and recipe)"],
    [{ staticModels: [{ recipe: "r.json" }] }, "s.yaml: staticModels[0].out: expected a non-empty string"],
    [{ staticModels: [{ out: "m" }, "m2"] }, "s.yaml: staticModels[1]: expected a mapping"],
    [{ staticModels: { out: "m" } }, "s.yaml: staticModels:"],
  ])("rejects %j naming the key", (extra, message) => {
    expect(() => parseSuite({ ...minimal, ...extra }, base)).toThrow(SuiteError);
    expect(() => parseSuite({ ...minimal, ...extra }, base)).toThrow(message);
  });

  it("keeps a ranker entry's queryLangs (list or comma string) and rejects a bad one", () => {
    const suite = parseSuite({ ...minimal, rankers: [{ name: "bm25", queryLangs: ["de"] }, { name: "bm25", params: { k1: 0.9 }, queryLangs: "de, zh" }, "bm25"] }, base);
    expect(suite.rankers).toEqual([
      { name: "bm25", params: {}, queryLangs: ["de"] },
      { name: "bm25", params: { k1: 0.9 }, queryLangs: ["de", "zh"] },
      { name: "bm25", params: {} },
    ]);
    expect(() => parseSuite({ ...minimal, rankers: [{ name: "bm25", queryLangs: [""] }] }, base)).toThrow("s.yaml: rankers[0].queryLangs[0]: expected a non-empty string");
    expect(() => parseSuite({ ...minimal, rankers: [{ name: "bm25", querylangs: ["de"] }] }, base)).toThrow(
      "s.yaml: rankers[0].querylangs: unknown key (a ranker entry has name, params, train and queryLangs)",
    );
  });
});
