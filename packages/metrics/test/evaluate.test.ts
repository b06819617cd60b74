import { describe, expect, it } from "vitest";
import { evaluate } from "../src/evaluate.js";
import { parseQrels, parseRun } from "../src/trec.js";
import type { Qrels, Run } from "../src/types.js";

// Three judged queries.
//   q1: relevant d1 (1), d3 (2), d4 (1); d2 judged 0          → 3 relevant, ideal gains 2, 1, 1
//   q2: relevant d5 (1), d6 (1); d8 judged 0                  → 2 relevant, ideal gains 1, 1
//   q3: relevant d7 (1), but the run has no line for q3
const QRELS = `
q1 0 d1 1
q1 0 d2 0
q1 0 d3 2
q1 0 d4 1
q2 0 d5 1
q2 0 d6 1
q2 0 d8 0
q3 0 d7 1
`;

// q1 ranks d1 d2 d3 d9 d4 (d9 unjudged)       → grades 1 0 2 0 1
// q2: d5 and d8 tie at 0.5; the rank column says d5 first, but trec_eval's tie rule puts the
//     larger id "d8" first, so q2 ranks d8 d5 d6 → grades 0 1 1
// q4 is not in the qrels and must be ignored.
const RUN = `
q1 Q0 d1 1 0.9 test
q1 Q0 d2 2 0.8 test
q1 Q0 d3 3 0.7 test
q1 Q0 d9 4 0.6 test
q1 Q0 d4 5 0.5 test
q2 Q0 d5 1 0.5 test
q2 Q0 d8 2 0.5 test
q2 Q0 d6 3 0.1 test
q4 Q0 d1 1 9 test
`;

const MEASURES = ["P@1", "P@3", "P@10", "R@2", "AP", "RR", "RR@1", "Success@1", "Success@2", "nDCG@1", "nDCG@3", "nDCG"];

/** Checks the exact key set and every value to 1e-9. */
function expectValues(actual: Record<string, number> | undefined, expected: Record<string, number>): void {
  expect(actual).toBeDefined();
  expect(Object.keys(actual!)).toEqual(Object.keys(expected));
  for (const [name, value] of Object.entries(expected)) expect(actual![name], name).toBeCloseTo(value, 9);
}

const zeros = (names: readonly string[]): Record<string, number> => Object.fromEntries(names.map((n) => [n, 0]));

describe("evaluate on a hand-computed example", () => {
  const result = evaluate(parseQrels(QRELS), parseRun(RUN), MEASURES);

  it("evaluates exactly the qrels queries, in qrels order", () => {
    expect(result.queries).toBe(3);
    expect([...result.perQuery.keys()]).toEqual(["q1", "q2", "q3"]);
    expect(result.measures).toEqual(MEASURES);
  });

  it("q1: grades by rank 1 0 2 0 1, 3 relevant", () => {
    expectValues(result.perQuery.get("q1"), {
      "P@1": 1, // 1/1
      "P@3": 0.6666666667, // d1, d3 in top 3: 2/3
      "P@10": 0.3, // 3 relevant retrieved / 10 (k fixed although only 5 retrieved)
      "R@2": 0.3333333333, // d1 in top 2: 1/3
      AP: 0.7555555556, // (1/1 + 2/3 + 3/5) / 3 = 34/45
      RR: 1, // first relevant at rank 1
      "RR@1": 1,
      "Success@1": 1,
      "Success@2": 1,
      "nDCG@1": 0.5, // DCG 1/log2(2) = 1; IDCG 2/log2(2) = 2 → 1/2
      // DCG@3 = 1/log2(2) + 0 + 2/log2(4) = 1 + 1 = 2
      // IDCG@3 = 2/log2(2) + 1/log2(3) + 1/log2(4) = 2 + 0.6309297536 + 0.5 = 3.1309297536
      "nDCG@3": 0.6387878865, // 2 / 3.1309297536
      // DCG = 2 + 1/log2(6) = 2 + 0.3868528072 = 2.3868528072; IDCG = 3.1309297536 (3 relevant)
      nDCG: 0.76234633, // 2.3868528072 / 3.1309297536
    });
  });

  it("q2: the tie puts non-relevant d8 first, grades by rank 0 1 1, 2 relevant", () => {
    expectValues(result.perQuery.get("q2"), {
      "P@1": 0, // d8 is not relevant (it would be 1 with the rank column or an ascending tie rule)
      "P@3": 0.6666666667, // 2/3
      "P@10": 0.2, // 2/10
      "R@2": 0.5, // d5 in top 2: 1/2
      AP: 0.5833333333, // (1/2 + 2/3) / 2 = 7/12
      RR: 0.5, // first relevant at rank 2
      "RR@1": 0, // none at rank 1
      "Success@1": 0,
      "Success@2": 1,
      "nDCG@1": 0, // DCG@1 = 0
      // DCG = 0 + 1/log2(3) + 1/log2(4) = 0.6309297536 + 0.5 = 1.1309297536
      // IDCG = 1/log2(2) + 1/log2(3) = 1.6309297536
      "nDCG@3": 0.6934264036, // 1.1309297536 / 1.6309297536
      nDCG: 0.6934264036, // all retrieved are within rank 3
    });
  });

  it("q3 (in the qrels, absent from the run) scores 0 on everything", () => {
    expectValues(result.perQuery.get("q3"), zeros(MEASURES));
  });

  it("averages over the 3 qrels queries, q3's zeros included, q4 ignored", () => {
    expect(result.perQuery.has("q4")).toBe(false);
    expectValues(result.mean, {
      "P@1": 0.3333333333, // (1 + 0 + 0) / 3
      "P@3": 0.4444444444, // (2/3 + 2/3 + 0) / 3
      "P@10": 0.1666666667, // (0.3 + 0.2 + 0) / 3
      "R@2": 0.2777777778, // (1/3 + 1/2 + 0) / 3
      AP: 0.4462962963, // (34/45 + 7/12 + 0) / 3 = (0.7555555556 + 0.5833333333) / 3
      RR: 0.5, // (1 + 0.5 + 0) / 3
      "RR@1": 0.3333333333, // (1 + 0 + 0) / 3
      "Success@1": 0.3333333333, // (1 + 0 + 0) / 3
      "Success@2": 0.6666666667, // (1 + 1 + 0) / 3
      "nDCG@1": 0.1666666667, // (0.5 + 0 + 0) / 3
      "nDCG@3": 0.44407143, // (0.6387878865 + 0.6934264036) / 3
      nDCG: 0.4852575779, // (0.76234633 + 0.6934264036) / 3
    });
  });
});

describe("evaluate conventions", () => {
  const qrels = parseQrels(QRELS);

  it("tie rule changes a measure: raising d5 above d8 by a hair turns q2's P@1 to 1", () => {
    const run = parseRun(RUN.replace("q2 Q0 d5 1 0.5 test", "q2 Q0 d5 1 0.5000001 test"));
    const q2 = evaluate(qrels, run, ["P@1", "RR"]).perQuery.get("q2");
    expectValues(q2, { "P@1": 1, RR: 1 }); // ranking d5 d8 d6: first relevant at rank 1
  });

  it("ignores the rank column", () => {
    // The rank column claims d2 (non-relevant) is first and d1 (relevant) last; the scores say d1 first.
    const run = parseRun("q1 Q0 d2 1 0.1 t\nq1 Q0 d1 2 0.3 t\n");
    const q1 = evaluate(qrels, run, ["P@1", "RR"]).perQuery.get("q1");
    expectValues(q1, { "P@1": 1, RR: 1 }); // d1 (score 0.3) is rank 1
  });

  it("scores an empty run 0 everywhere, still over every qrels query", () => {
    const result = evaluate(qrels, new Map(), MEASURES);
    expect(result.queries).toBe(3);
    for (const qid of ["q1", "q2", "q3"]) expectValues(result.perQuery.get(qid), zeros(MEASURES));
    expectValues(result.mean, zeros(MEASURES));
  });

  it("reports means of 0 (not NaN) over empty qrels", () => {
    const result = evaluate(new Map(), parseRun(RUN), ["P@1", "MAP"]);
    expect(result.queries).toBe(0);
    expect(result.perQuery.size).toBe(0);
    expect(result.mean).toEqual({ "P@1": 0, MAP: 0 });
  });

  it("scores 0 on a query without relevant documents, and counts it in the mean", () => {
    const withNone: Qrels = new Map([...qrels, ["q5", new Map([["d1", 0]])]]);
    const run: Run = new Map([...parseRun(RUN), ["q5", new Map([["d1", 1]])]]);
    const result = evaluate(withNone, run, ["P@1", "nDCG"]);
    expectValues(result.perQuery.get("q5"), { "P@1": 0, nDCG: 0 });
    expect(result.queries).toBe(4);
    expect(result.mean["P@1"]).toBeCloseTo(0.25, 9); // (1 + 0 + 0 + 0) / 4
  });

  it("uses grades as nDCG gains (2 and 1)", () => {
    const graded: Qrels = new Map([["q", new Map([["a", 2], ["b", 1]])]]);
    const run: Run = new Map([["q", new Map([["b", 2], ["a", 1]])]]); // ranks b (1), a (2)
    // DCG = 1/log2(2) + 2/log2(3) = 1 + 1.2618595071 = 2.2618595071
    // IDCG = 2/log2(2) + 1/log2(3) = 2 + 0.6309297536 = 2.6309297536
    // With binary gains both would be 1 + 1/log2(3), giving 1.
    expect(evaluate(graded, run, ["nDCG"]).mean.nDCG).toBeCloseTo(0.8597186999, 9); // 2.2618595071 / 2.6309297536
    // nDCG@1: DCG 1 (b), IDCG 2 (a) → 0.5
    expect(evaluate(graded, run, ["nDCG@1"]).mean["nDCG@1"]).toBeCloseTo(0.5, 9);
  });

  it("keeps denominators fixed when fewer documents were retrieved than k or than relevant", () => {
    const qrels2: Qrels = new Map([["q", new Map([["a", 1], ["b", 1]])]]);
    const run: Run = new Map([["q", new Map([["a", 1]])]]);
    // nDCG@1: DCG 1/log2(2) = 1; IDCG@1 = 1 → 1.  nDCG@2: IDCG@2 = 1 + 1/log2(3) = 1.6309297536 → 0.6131471928
    const result = evaluate(qrels2, run, ["nDCG@1", "nDCG@2", "nDCG", "AP", "R@5", "P@5"]);
    expectValues(result.mean, {
      "nDCG@1": 1,
      "nDCG@2": 0.6131471928, // 1 / 1.6309297536
      nDCG: 0.6131471928,
      AP: 0.5, // (1/1) / 2: the unretrieved relevant b counts in the denominator
      "R@5": 0.5, // 1 of 2 relevant retrieved
      "P@5": 0.2, // 1 / 5
    });
  });

  it("accepts Measure objects, keeps the first of repeated names, and honours a cutoff on AP", () => {
    const result = evaluate(qrels, parseRun(RUN), ["MAP", "AP", { name: "AP@2", kind: "AP", cutoff: 2 }, "MAP"]);
    expect(result.measures).toEqual(["MAP", "AP", "AP@2"]);
    expectValues(result.perQuery.get("q1"), {
      MAP: 0.7555555556, // as AP above
      AP: 0.7555555556,
      "AP@2": 0.3333333333, // only d1 (rank 1) within 2: (1/1) / 3
    });
  });

  it("rejects invalid measures before evaluating", () => {
    expect(() => evaluate(qrels, new Map(), ["P@1", "P@0"])).toThrow(/invalid measure "P@0"/);
    expect(() => evaluate(qrels, new Map(), [{ name: "P", kind: "P" }])).toThrow(/needs a cutoff/);
    expect(() => evaluate(qrels, new Map(), [{ name: "x", kind: "nDCG", cutoff: 0 }])).toThrow(/positive integer/);
  });

  it("rejects NaN scores in a run built in code", () => {
    const run: Run = new Map([["q1", new Map([["d1", Number.NaN]])]]);
    expect(() => evaluate(qrels, run, ["P@1"])).toThrow(/NaN/);
  });
});
