import type { Run } from "@crossrank/metrics";
import { describe, expect, it } from "vitest";
import {
  type CandidateMap,
  type CandidateRanker,
  createRanker,
  DEFAULT_RERANK_FIRST_WEIGHT,
  LM_EMD_FIRST_WEIGHT,
  LM_EMD_LENGTH_GATE,
  MAXSIM_FIRST_WEIGHT,
  fuseRuns,
  fuseScores,
  minMaxNormalize,
  type Ranker,
  type RankingInput,
  type RankOptions,
  RerankRanker,
  topKScores,
  trecRanks,
} from "../src/index.js";

const m = (entries: Record<string, number>) => new Map(Object.entries(entries));
const entries = (scores: ReadonlyMap<string, number> | undefined) => [...(scores ?? new Map<string, number>())];

describe("minMaxNormalize", () => {
  it("maps a query's scores onto [0, 1], best 1, worst 0", () => {
    expect(entries(minMaxNormalize(m({ a: 3, b: 1, c: 2 })))).toEqual([
      ["a", 1],
      ["b", 0],
      ["c", 0.5],
    ]);
    expect(entries(minMaxNormalize(m({ a: -0.25, b: -1, c: -0.5 })))).toEqual([
      ["a", 1],
      ["b", 0],
      ["c", 2 / 3],
    ]);
  });

  it("gives 0 to every document when all scores are equal (a single document included)", () => {
    expect(entries(minMaxNormalize(m({ a: 2, b: 2 })))).toEqual([
      ["a", 0],
      ["b", 0],
    ]);
    expect(entries(minMaxNormalize(m({ a: 7 })))).toEqual([["a", 0]]);
    expect(minMaxNormalize(new Map()).size).toBe(0);
  });

  it("rejects non-finite scores in one line", () => {
    expect(() => minMaxNormalize(m({ a: 1, b: Number.NaN }))).toThrow('fusion: score of document "b" is NaN');
  });
});

describe("trecRanks", () => {
  it("ranks by score descending, ties by id descending, whatever the insertion order", () => {
    expect(entries(trecRanks(m({ a: 1, b: 3, d: 0, c: 3 })))).toEqual([
      ["c", 1],
      ["b", 2],
      ["a", 3],
      ["d", 4],
    ]);
  });
});

describe("fuseScores", () => {
  // A lexical list and a dense list of one query, on unrelated scales, overlapping in a and b.
  const lexical = m({ a: 12, b: 8, c: 4 });
  const dense = m({ b: 0.9, d: 0.5, a: 0.1 });

  it("interpolates min–max normalised scores; a document missing from a list gets 0 from it", () => {
    const fused = fuseScores(lexical, dense, { method: "interpolate", weight: 0.3 });
    // n(lexical): a 1, b 0.5, c 0; n(dense): b 1, d 0.5, a 0.
    const expected = { a: 0.3 * 1 + 0.7 * 0, b: 0.3 * 0.5 + 0.7 * 1, c: 0.3 * 0 + 0, d: 0 + 0.7 * 0.5 };
    expect([...fused.keys()]).toEqual(["a", "b", "c", "d"]);
    for (const [id, s] of Object.entries(expected)) expect(fused.get(id), id).toBeCloseTo(s, 15);
    // The weight's ends are one list alone.
    expect(entries(fuseScores(lexical, dense, { method: "interpolate", weight: 1 }))).toEqual([
      ["a", 1],
      ["b", 0.5],
      ["c", 0],
      ["d", 0],
    ]);
    expect(fuseScores(lexical, dense, { method: "interpolate", weight: 0 }).get("d")).toBe(0.5);
  });

  it("is weighted reciprocal rank fusion with rrf: w/(k + rank) + (1 − w)/(k + rank)", () => {
    const fused = fuseScores(lexical, dense, { method: "rrf", weight: 0.5 });
    // Ranks: lexical a 1, b 2, c 3; dense b 1, d 2, a 3; k = 60.
    const expected = { a: 0.5 / 61 + 0.5 / 63, b: 0.5 / 62 + 0.5 / 61, c: 0.5 / 63, d: 0.5 / 62 };
    for (const [id, s] of Object.entries(expected)) expect(fused.get(id), id).toBeCloseTo(s, 15);
    expect([...topKScores(fused, 10).keys()]).toEqual(["b", "a", "d", "c"]);
    // w = 0.5 is plain RRF (Σ 1/(k + rank)) halved.
    const plain = { a: 1 / 61 + 1 / 63, b: 1 / 62 + 1 / 61, c: 1 / 63, d: 1 / 62 };
    for (const [id, s] of Object.entries(plain)) expect(2 * fused.get(id)!).toBeCloseTo(s, 15);
    // Another k, another weight.
    const k0 = fuseScores(lexical, dense, { method: "rrf", weight: 0.8, rrfK: 0 });
    expect(k0.get("a")).toBeCloseTo(0.8 / 1 + 0.2 / 3, 15);
    expect(k0.get("d")).toBeCloseTo(0.2 / 2, 15);
  });

  it("rejects a bad method, weight or k", () => {
    expect(() => fuseScores(lexical, dense, { method: "sum" as "rrf", weight: 0.5 })).toThrow('fusion: fusion must be "rrf" or "interpolate", got "sum"');
    expect(() => fuseScores(lexical, dense, { method: "rrf", weight: 1.5 })).toThrow("fusion: the fusion weight must be a number in [0, 1], got 1.5");
    expect(() => fuseScores(lexical, dense, { method: "rrf", weight: 0.5, rrfK: -1 })).toThrow("fusion: rrfK must be a number >= 0, got -1");
  });
});

describe("fuseRuns", () => {
  it("keeps each query's top k in trec_eval order (equal fused scores by id, descending)", () => {
    const first: Run = new Map([
      ["q1", m({ p: 2, q: 1, r: 0 })],
      ["q2", m({ x: 1 })],
    ]);
    const second: Run = new Map([
      ["q1", m({ q: 2, p: 1, r: 0 })],
      ["q3", m({ y: 3 })],
    ]);
    const run = fuseRuns(first, second, { method: "interpolate", weight: 0.5, k: 2 });
    expect([...run.keys()]).toEqual(["q1", "q2", "q3"]);
    // n: p 1 and 0.5, q 0.5 and 1, r 0 and 0; p and q tie at 0.75, q (larger id) first; r cut at k = 2.
    expect(entries(run.get("q1"))).toEqual([
      ["q", 0.75],
      ["p", 0.75],
    ]);
    expect(entries(run.get("q2"))).toEqual([["x", 0]]);
    expect(entries(run.get("q3"))).toEqual([["y", 0]]);
    expect(() => fuseRuns(first, second, { method: "rrf", weight: 0.5, k: 0 })).toThrow(RangeError);
  });
});

// Stub stages with fixed scores, so rerank's interpolation can be checked by hand.
const INPUT: RankingInput = {
  queries: [
    { id: "q1", text: "one" },
    { id: "q2", text: "two" },
    { id: "q3", text: "three" },
  ],
  documents: ["a", "b", "c", "d", "x", "y"].map((id) => ({ id, text: id })),
};
const FIRST: Run = new Map([
  ["q1", m({ a: 10, b: 6, c: 2, d: 1 })],
  ["q2", m({ x: 1, y: 1 })],
  ["q3", new Map()],
]);
const SECOND: Record<string, Record<string, number>> = { q1: { a: -3, b: -1, c: -2, d: 0 }, q2: { x: 5, y: 7 }, q3: {} };

const firstStage: Ranker = {
  name: "stub-first",
  rank: (input: RankingInput, options: RankOptions = {}) => Promise.resolve(new Map([...FIRST].map(([q, hits]) => [q, topKScores(hits, options.k ?? 100)]))),
};
const secondStage: CandidateRanker = {
  name: "stub-second",
  rank: (input, options) => secondStage.rankCandidates(input, undefined, options),
  rankCandidates: (input: RankingInput, candidates: CandidateMap | undefined, options: RankOptions = {}) => {
    const run: Run = new Map();
    for (const q of input.queries) {
      const cands = candidates?.get(q.id) ?? Int32Array.from(input.documents.keys());
      run.set(q.id, topKScores(new Map([...cands].map((d) => [input.documents[d]!.id, SECOND[q.id]![input.documents[d]!.id]!])), options.k ?? 100));
    }
    return Promise.resolve(run);
  },
};
const rerank = (firstWeight: number | undefined, preset?: "default" | "faithful") =>
  new RerankRanker({ first: firstStage, second: secondStage, depth: 3, ...(firstWeight === undefined ? {} : { firstWeight }), ...(preset === undefined ? {} : { preset }) });

describe("RerankRanker's interpolation (stub stages)", () => {
  it("keeps the second stage's raw scores on the first stage's top depth with firstWeight 0", async () => {
    const run = await rerank(0).rank(INPUT, { k: 10 });
    expect(entries(run.get("q1"))).toEqual([
      ["b", -1],
      ["c", -2],
      ["a", -3],
    ]);
    expect(entries(run.get("q2"))).toEqual([
      ["y", 7],
      ["x", 5],
    ]);
    expect(run.get("q3")!.size).toBe(0);
  });

  it("scores w · n(first) + (1 − w) · n(second) over the candidates otherwise", async () => {
    // q1's candidates a, b, c: n(first) 1, 0.5, 0; n(second) 0, 1, 0.5 (d is not a candidate).
    // q2: the first stage's scores are all equal, so n(first) = 0.
    expect(entries((await rerank(0.5).rank(INPUT, { k: 10 })).get("q1"))).toEqual([
      ["b", 0.75],
      ["a", 0.5],
      ["c", 0.25],
    ]);
    const run = await rerank(0.2).rank(INPUT, { k: 2 });
    expect([...run.get("q1")!.keys()]).toEqual(["b", "c"]);
    expect(run.get("q1")!.get("b")).toBeCloseTo(0.2 * 0.5 + 0.8 * 1, 15);
    expect(run.get("q1")!.get("c")).toBeCloseTo(0.8 * 0.5, 15);
    expect(entries(run.get("q2"))).toEqual([
      ["y", 0.8],
      ["x", 0],
    ]);
    expect(run.get("q3")!.size).toBe(0);
  });

  it("keeps the first stage's order with firstWeight 1", async () => {
    const run = await rerank(1).rank(INPUT, { k: 10 });
    expect(entries(run.get("q1"))).toEqual([
      ["a", 1],
      ["b", 0.5],
      ["c", 0],
    ]);
    // Equal first-stage scores: trec_eval's order, as the first stage has them.
    expect([...run.get("q2")!.keys()]).toEqual([...FIRST.get("q2")!.keys()].reverse());
  });

  it("defaults firstWeight to DEFAULT_RERANK_FIRST_WEIGHT, to 0 under preset faithful, and names it when not 0", async () => {
    expect(DEFAULT_RERANK_FIRST_WEIGHT).toBe(0.5);
    expect(rerank(undefined).firstWeight).toBe(DEFAULT_RERANK_FIRST_WEIGHT);
    expect(rerank(undefined).name).toBe(`rerank(first=stub-first,depth=3,second=stub-second,firstWeight=${DEFAULT_RERANK_FIRST_WEIGHT})`);
    expect(rerank(undefined, "faithful").firstWeight).toBe(0);
    expect(rerank(undefined, "faithful").name).toBe("rerank(first=stub-first,depth=3,second=stub-second)");
    expect(rerank(0.25, "faithful").name).toBe("rerank(first=stub-first,depth=3,second=stub-second,firstWeight=0.25)");
    expect(await rerank(undefined, "faithful").rank(INPUT)).toEqual(await rerank(0).rank(INPUT));
    expect(() => rerank(-0.1)).toThrow("ranker rerank: firstWeight must be a number in [0, 1], got -0.1");
    expect(() => rerank(Number.NaN)).toThrow("ranker rerank: firstWeight must be a number in [0, 1], got NaN");
  });

  it("defaults firstWeight by second stage: LM-EMD and MaxSim have weights of their own", () => {
    expect(createRanker("rerank", { encoder: "m" }).name).toMatch(new RegExp(`second=lm-emd\\(.*\\),firstWeight=${LM_EMD_FIRST_WEIGHT},lengthGate=${LM_EMD_LENGTH_GATE}\\)$`));
    expect(createRanker("rerank", { encoder: "m", second: "maxsim" }).name).toMatch(new RegExp(`second=maxsim\\(.*\\),firstWeight=${MAXSIM_FIRST_WEIGHT}\\)$`));
    expect(createRanker("rerank", { encoder: "m", second: "bert-cls" }).name).toMatch(new RegExp(`,firstWeight=${DEFAULT_RERANK_FIRST_WEIGHT}\\)$`));
    expect(LM_EMD_FIRST_WEIGHT).toBe(0.5);
    expect(MAXSIM_FIRST_WEIGHT).not.toBe(DEFAULT_RERANK_FIRST_WEIGHT);
  });

  it("takes firstWeight from the registry, checked", () => {
    expect(createRanker("rerank", { encoder: "m", firstWeight: 0.25 }).name).toBe(
      "rerank(first=bm25(k1=1.2,b=0.75),depth=20,second=lm-emd(encoder=m,gamma=0.1,iterations=100),firstWeight=0.25,lengthGate=0.4)",
    );
    expect(createRanker("rerank", { encoder: "m", preset: "faithful", firstWeight: 0.25 }).name).toBe(
      "rerank(first=bm25(k1=1.2,b=0.75),depth=20,second=lm-emd(encoder=m,preset=faithful,gamma=0.1,iterations=500),firstWeight=0.25)",
    );
    expect(() => createRanker("rerank", { encoder: "m", firstWeight: 1.5 })).toThrow("parameter firstWeight of ranker rerank must be a number in [0, 1]; got 1.5");
    expect(() => createRanker("rerank", { encoder: "m", firstWeight: "0.5" })).toThrow('parameter firstWeight of ranker rerank must be a number in [0, 1]; got the string "0.5"');
  });
});

describe("RerankRanker's length gate (stub stages)", () => {
  // Token counts by text: q1 ("one") is far shorter than its candidates, q2 ("two") is not.
  const COUNTS: Record<string, number> = { one: 1, two: 10, three: 10, a: 10, b: 10, c: 10, d: 10, x: 10, y: 12 };
  const scored: string[][] = [];
  const counting: CandidateRanker = {
    ...secondStage,
    name: "stub-counting",
    rankCandidates: (input, candidates, options) => {
      scored.push([...(candidates?.keys() ?? [])]);
      return secondStage.rankCandidates(input, candidates, options);
    },
    tokenCounts: (texts) => Promise.resolve(texts.map((t) => COUNTS[t]!)),
  };
  const gated = (lengthGate: number | undefined, firstWeight = 0.5, preset?: "faithful") =>
    new RerankRanker({ first: firstStage, second: counting, depth: 3, firstWeight, ...(lengthGate === undefined ? {} : { lengthGate }), ...(preset === undefined ? {} : { preset }) });

  it("keeps the first stage's order for a query shorter than lengthGate × its candidates' median, without scoring it", async () => {
    scored.length = 0;
    const run = await gated(0.4).rank(INPUT, { k: 10 });
    // q3, whose first stage found nothing, has no candidates to compare with and is never gated.
    expect(scored).toEqual([["q2", "q3"]]);
    // q1: 1 token against a median of 10 → the first stage's scores, normalised (w = 1).
    expect(entries(run.get("q1"))).toEqual([
      ["a", 1],
      ["b", 0.5],
      ["c", 0],
    ]);
    // q2: 10 tokens against a median of 11 → interpolated as without the gate.
    expect(entries(run.get("q2"))).toEqual(entries((await gated(0).rank(INPUT, { k: 10 })).get("q2")));
    expect(entries(run.get("q2"))).toEqual([
      ["y", 0.5],
      ["x", 0],
    ]);
    expect(run.get("q3")!.size).toBe(0);
    // With firstWeight 0 a gated query still keeps the first stage's order.
    expect([...(await gated(0.4, 0).rank(INPUT, { k: 10 })).get("q1")!.keys()]).toEqual(["a", "b", "c"]);
  });

  it("gates a query at the threshold's boundary by strict comparison, and every query with a high gate", async () => {
    scored.length = 0;
    // q2: 10 < 0.9 × 11 = 9.9 is false; with 1, 10 < 11 is true.
    await gated(0.9).rank(INPUT);
    await gated(1).rank(INPUT);
    expect(scored).toEqual([["q2", "q3"], ["q3"]]);
  });

  it("defaults to LM_EMD_LENGTH_GATE for LM-EMD only, to 0 under preset faithful, names it when not 0, and checks it", () => {
    expect(LM_EMD_LENGTH_GATE).toBe(0.4);
    expect(gated(undefined).lengthGate).toBe(0);
    expect(gated(0.4).name).toBe("rerank(first=stub-first,depth=3,second=stub-counting,firstWeight=0.5,lengthGate=0.4)");
    expect(createRanker("rerank", { encoder: "m" }).name).toMatch(/,lengthGate=0\.4\)$/);
    expect(createRanker("rerank", { encoder: "m", preset: "faithful" }).name).not.toContain("lengthGate");
    expect(createRanker("rerank", { encoder: "m", second: "maxsim" }).name).not.toContain("lengthGate");
    expect(createRanker("rerank", { encoder: "m", second: "maxsim", lengthGate: 0.5 }).name).toMatch(/,lengthGate=0\.5\)$/);
    expect(createRanker("rerank", { encoder: "m", lengthGate: 0 }).name).not.toContain("lengthGate");
    expect(() => createRanker("rerank", { encoder: "m", lengthGate: -1 })).toThrow("parameter lengthGate of ranker rerank must be a number >= 0 (0 turns it off); got -1");
    expect(() => gated(Number.NaN)).toThrow("ranker rerank: lengthGate must be a number >= 0, got NaN");
    expect(() => new RerankRanker({ first: firstStage, second: secondStage, lengthGate: 0.4 })).toThrow(
      "ranker rerank: lengthGate needs a second stage that counts tokens (lm-emd, maxsim); stub-second does not",
    );
    expect(() => createRanker("rerank", { encoder: "m", second: "bert-cls", lengthGate: 0.4 })).toThrow("bert-cls");
  });
});
