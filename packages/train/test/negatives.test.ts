import { Bm25Index } from "@crossrank/rankers";
import { describe, expect, it } from "vitest";
import { batchHardNegatives, bm25Negatives, inBatchNegatives, randomInBatchNegatives } from "../src/negatives.js";
import { Rng } from "../src/rng.js";

const documents = [
  { id: "france#0", text: "Paris is the capital and largest city of France." },
  { id: "france#1", text: "France borders Spain, and Paris hosts many museums." },
  { id: "spain#0", text: "Madrid is the capital of Spain." },
  { id: "germany#0", text: "Berlin is the capital of Germany and its largest city." },
  { id: "cats#0", text: "Cats are small domesticated animals." },
  { id: "rivers#0", text: "The Seine flows through Paris." },
];
const gold = (docId: string, article: string): boolean => docId.startsWith(`${article}#`);

describe("bm25Negatives", () => {
  it("skips the top hit, then keeps the next `count` documents that are not excluded (CL-ReLKT's warmup)", () => {
    const queries = [{ id: "q1", text: "What is the capital of France?" }];
    const index = Bm25Index.build(documents);
    const hits = index.search("What is the capital of France?", 10).map((h) => h.id);
    expect(hits[0]).toBe("france#0"); // the gold passage ranks first
    const negatives = bm25Negatives(queries, documents, { count: 2, exclude: (_q, d) => gold(d, "france") });
    const expected = hits.slice(1).filter((d) => !gold(d, "france")).slice(0, 2);
    expect(negatives.get("q1")).toEqual(expected);
    expect(expected).toHaveLength(2);
    expect(expected).not.toContain("cats#0"); // shares no term with the query
  });

  it("drops the top hit even when it is not excluded, and excludes after that", () => {
    // Top hit for this query is spain#0 (not gold): it is skipped all the same.
    const queries = [{ id: "q", text: "Madrid Spain capital" }];
    const index = Bm25Index.build(documents);
    const hits = index.search("Madrid Spain capital", 10).map((h) => h.id);
    expect(hits[0]).toBe("spain#0");
    const out = bm25Negatives(queries, documents, { count: 10, exclude: (_q, d) => d === "germany#0" });
    expect(out.get("q")).toEqual(hits.slice(1).filter((d) => d !== "germany#0"));
    expect(out.get("q")).not.toContain("spain#0");
    // skipTop 0 keeps it.
    expect(bm25Negatives(queries, documents, { count: 1, skipTop: 0, exclude: () => false }).get("q")).toEqual(["spain#0"]);
  });

  it("returns fewer negatives when BM25 finds fewer, and an entry for every query", () => {
    const queries = [
      { id: "a", text: "Seine" },
      { id: "b", text: "zebra unicorn" },
      { id: "c", text: "capital city" },
    ];
    const out = bm25Negatives(queries, documents, { count: 3, skipTop: 0, exclude: () => false });
    expect(out.get("a")).toEqual(["rivers#0"]);
    expect(out.get("b")).toEqual([]);
    expect(out.get("c")).toHaveLength(3);
    expect([...out.keys()]).toEqual(["a", "b", "c"]);
  });

  it("searches deeper when the first hits are all excluded", () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ id: `d${i}`, text: `capital ${"word ".repeat(i)}` }));
    const out = bm25Negatives([{ id: "q", text: "capital" }], many, { count: 2, exclude: (_q, d) => Number(d.slice(1)) < 30 });
    // BM25 prefers short documents: d0 … d29 come first and are excluded; the next two are d30, d31.
    expect(out.get("q")).toEqual(["d30", "d31"]);
  });

  it("accepts a prebuilt index", () => {
    const index = Bm25Index.build(documents);
    const a = bm25Negatives([{ id: "q", text: "capital of Germany" }], documents, { count: 2, exclude: () => false });
    const b = bm25Negatives([{ id: "q", text: "capital of Germany" }], [], { count: 2, exclude: () => false, index });
    expect(b).toEqual(a);
  });
});

/** Unit vector at `deg` degrees, scaled by `r`. */
const at = (deg: number, r = 1): number[] => [r * Math.cos((deg * Math.PI) / 180), r * Math.sin((deg * Math.PI) / 180)];

describe("batchHardNegatives", () => {
  // Anchor at 0°, positive at 40°: d_ap = 1 − cos 40° = 0.234 (dot distance on unit vectors).
  // Candidates: 10° and 30° are hard (closer than the positive), 50° and 55° semi-hard with margin
  // 0.24 (0.357 and 0.426 < 0.474), 90° easy; candidate 5 is the positive itself (excluded).
  const anchors = new Float32Array([...at(0), ...at(180)]);
  const positives = new Float32Array([...at(40), ...at(180 + 40)]);
  const candidates = new Float32Array([10, 30, 50, 55, 90, 40].flatMap((deg) => at(deg)));
  const exclude = (a: number, c: number): boolean => a === 0 && c === 5;

  it("keeps the hardest hard (d_an < d_ap) and the hardest semi-hard (d_ap < d_an < d_ap + margin) negative per anchor", () => {
    const mined = batchHardNegatives(anchors, positives, candidates, { d: 2, margin: 0.24, exclude });
    const forAnchor0 = mined.filter((m) => m.anchor === 0);
    expect(forAnchor0.map((m) => [m.candidate, m.kind])).toEqual([
      [0, "hard"],
      [2, "semi-hard"],
    ]);
    expect(forAnchor0[0]!.distance).toBeCloseTo(1 - Math.cos((10 * Math.PI) / 180), 6);
    expect(forAnchor0[0]!.positiveDistance).toBeCloseTo(1 - Math.cos((40 * Math.PI) / 180), 6);
    // Anchor 1 (at 180°): every candidate is farther than its positive at 220° and beyond the margin.
    expect(mined.filter((m) => m.anchor === 1)).toEqual([]);
  });

  it("keeps up to `hard` / `semiHard` per anchor, hardest first; a smaller margin has fewer semi-hard", () => {
    const mined = batchHardNegatives(anchors, positives, candidates, { d: 2, margin: 0.24, exclude, hard: 5, semiHard: 5 });
    expect(mined.map((m) => m.candidate)).toEqual([0, 1, 2, 3]);
    const narrow = batchHardNegatives(anchors, positives, candidates, { d: 2, margin: 0.15, exclude, hard: 0, semiHard: 5 });
    expect(narrow.map((m) => m.candidate)).toEqual([2]);
    // Without the exclusion the positive itself is neither hard nor semi-hard (d_an = d_ap).
    expect(batchHardNegatives(anchors, positives, candidates, { d: 2, margin: 0.24, hard: 9, semiHard: 9 }).map((m) => m.candidate)).toEqual([0, 1, 2, 3]);
  });

  it("picks at random among the qualifying candidates with select 'random'", () => {
    const seen = new Set<number>();
    const rng = new Rng(4);
    for (let t = 0; t < 50; t++) {
      const mined = batchHardNegatives(anchors, positives, candidates, { d: 2, margin: 0.24, exclude, select: "random", rng });
      const hard = mined.find((m) => m.kind === "hard")!;
      expect([0, 1]).toContain(hard.candidate);
      seen.add(hard.candidate);
    }
    expect(seen.size).toBe(2);
    expect(() => batchHardNegatives(anchors, positives, candidates, { d: 2, margin: 0.24, select: "random" })).toThrow(/rng/);
  });

  it("supports cosine and Euclidean distances", () => {
    // Scaled rows: the dot distance changes, the cosine distance does not.
    const scaled = new Float32Array([10, 30, 50, 55, 90, 40].flatMap((deg, i) => at(deg, 1 + i)));
    const cos = batchHardNegatives(anchors, positives, scaled, { d: 2, margin: 0.24, exclude, distance: "cosine" });
    expect(cos.filter((m) => m.anchor === 0).map((m) => m.candidate)).toEqual([0, 2]);
    const eu = batchHardNegatives(anchors, positives, candidates, { d: 2, margin: 0.3, exclude, distance: "euclidean" });
    // |a − x| = 2 sin(θ/2): d_ap = 0.684; 10° → 0.174 hard; 50° → 0.845 semi-hard.
    expect(eu.filter((m) => m.anchor === 0).map((m) => [m.candidate, m.kind])).toEqual([
      [0, "hard"],
      [2, "semi-hard"],
    ]);
    expect(eu[0]!.distance).toBeCloseTo(2 * Math.sin((5 * Math.PI) / 180), 6);
  });

  it("checks its inputs", () => {
    expect(() => batchHardNegatives(new Float32Array(3), new Float32Array(3), new Float32Array(4), { d: 2, margin: 0.1 })).toThrow(/multiples/);
    expect(() => batchHardNegatives(new Float32Array(4), new Float32Array(2), new Float32Array(4), { d: 2, margin: 0.1 })).toThrow(/positives/);
  });
});

describe("in-batch negatives", () => {
  it("lists the other rows with a different positive", () => {
    expect(inBatchNegatives(["a", "b", "a", "c"])).toEqual([[1, 3], [0, 2, 3], [1, 3], [0, 1, 2]]);
    expect(inBatchNegatives(["a", "b", "c"], (i, j) => i === 0 && j === 2)).toEqual([[1], [0, 2], [0, 1]]);
  });

  it("draws one random other row (−1 when there is none)", () => {
    const keys = ["a", "b", "a", "c"];
    const draws = randomInBatchNegatives(keys, new Rng(1));
    expect(Array.from(draws)).toEqual(Array.from(randomInBatchNegatives(keys, new Rng(1))));
    const lists = inBatchNegatives(keys);
    draws.forEach((j, i) => expect(lists[i]).toContain(j));
    expect(Array.from(randomInBatchNegatives(["x", "x"], new Rng(1)))).toEqual([-1, -1]);
  });
});
