import { describe, expect, it } from "vitest";
import { parseMeasure, parseMeasures } from "../src/measures.js";

describe("parseMeasure", () => {
  it.each([
    ["P@1", { name: "P@1", kind: "P", cutoff: 1 }],
    ["R@100", { name: "R@100", kind: "R", cutoff: 100 }],
    ["AP", { name: "AP", kind: "AP" }],
    ["MAP", { name: "MAP", kind: "AP" }],
    ["RR", { name: "RR", kind: "RR" }],
    ["RR@10", { name: "RR@10", kind: "RR", cutoff: 10 }],
    ["MRR", { name: "MRR", kind: "RR" }],
    ["MRR@10", { name: "MRR@10", kind: "RR", cutoff: 10 }],
    ["nDCG", { name: "nDCG", kind: "nDCG" }],
    ["nDCG@10", { name: "nDCG@10", kind: "nDCG", cutoff: 10 }],
    ["ndcg@10", { name: "ndcg@10", kind: "nDCG", cutoff: 10 }],
    ["NDCG@5", { name: "NDCG@5", kind: "nDCG", cutoff: 5 }],
    ["Success@5", { name: "Success@5", kind: "Success", cutoff: 5 }],
    ["success@1", { name: "success@1", kind: "Success", cutoff: 1 }],
    ["map", { name: "map", kind: "AP" }],
    ["p@20", { name: "p@20", kind: "P", cutoff: 20 }],
  ])("accepts %s", (spec, expected) => {
    expect(parseMeasure(spec)).toStrictEqual(expected);
  });

  it("keeps the trimmed spec as written as the name", () => {
    expect(parseMeasure("  nDcG@3\t")).toStrictEqual({ name: "nDcG@3", kind: "nDCG", cutoff: 3 });
  });

  it.each([
    "",
    "foo",
    "P",
    "R",
    "Success",
    "P@0",
    "P@-1",
    "P@1.5",
    "P@",
    "P@x",
    "P @1",
    "P@ 1",
    "AP@10",
    "MAP@10",
    "nDCG@0",
    "RR@0",
    "P@1e2",
    "P@99999999999999999999",
    "P10",
    "P_10",
    "recall@10",
  ])("rejects %j with a one-line message listing the accepted forms", (spec) => {
    let message = "";
    try {
      parseMeasure(spec);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`invalid measure ${JSON.stringify(spec.trim())}`);
    expect(message).toContain("P@k, R@k, AP (alias MAP), RR or RR@k (alias MRR, MRR@k), nDCG or nDCG@k, Success@k");
    expect(message).not.toContain("\n");
  });

  it("says why a known name was rejected", () => {
    expect(() => parseMeasure("P")).toThrow(/P needs a cutoff, as in P@10/);
    expect(() => parseMeasure("MAP@5")).toThrow(/MAP takes no cutoff/);
    expect(() => parseMeasure("P@0")).toThrow(/cutoff "0" is not a positive integer/);
    expect(() => parseMeasure("bpref")).toThrow(/unknown measure/);
  });
});

describe("parseMeasures", () => {
  it("splits a comma-separated string, trims, and drops repeated names keeping the first", () => {
    expect(parseMeasures(" P@1, MAP ,nDCG@10,P@1,,")).toStrictEqual([
      { name: "P@1", kind: "P", cutoff: 1 },
      { name: "MAP", kind: "AP" },
      { name: "nDCG@10", kind: "nDCG", cutoff: 10 },
    ]);
  });

  it("accepts an array whose items may be comma-separated", () => {
    expect(parseMeasures(["P@1,RR", "MAP", "RR"]).map((m) => m.name)).toEqual(["P@1", "RR", "MAP"]);
  });

  it("keeps aliases as separate names (they are separate result keys)", () => {
    expect(parseMeasures("MAP,AP").map((m) => m.name)).toEqual(["MAP", "AP"]);
  });

  it("returns [] for an empty list and throws on the first invalid item", () => {
    expect(parseMeasures("")).toEqual([]);
    expect(parseMeasures([])).toEqual([]);
    expect(() => parseMeasures("P@1,P@0,bogus")).toThrow(/invalid measure "P@0"/);
  });
});
