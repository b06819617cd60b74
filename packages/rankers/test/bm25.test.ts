import { describe, expect, it } from "vitest";
import { Bm25Index, bm25Idf, createAnalyzer, queryTermWeight, type Bm25Hit } from "../src/index.js";

const DOCS = [
  { id: "d1", text: "the cat sat" },
  { id: "d2", text: "the cat and the dog" },
  { id: "d3", text: "dogs bark" },
  { id: "d4", text: "a cat" },
];

describe("Bm25Index scores", () => {
  /*
   * Query "cat dog", k1 = 1.2, b = 0.75. N = 4; dl = 3, 5, 2, 2; avgdl = 12 / 4 = 3.
   * df(cat) = 3 (d1, d2, d4), df(dog) = 1 (d2; "dogs" is another term).
   * idf(cat) = ln(1 + (4 − 3 + 0.5) / (3 + 0.5)) = ln(1.428571) = 0.356675
   * idf(dog) = ln(1 + (4 − 1 + 0.5) / (1 + 0.5)) = ln(3.333333) = 1.203973
   * norm(d) = k1 · (1 − b + b · dl / avgdl): d1 1.2·(0.25 + 0.75) = 1.2; d2 1.2·(0.25 + 1.25) = 1.8;
   *   d4 1.2·(0.25 + 0.5) = 0.9
   * impact(tf = 1) = 2.2 / (1 + norm): d1 1; d2 0.785714; d4 1.157895
   * d2 = 0.356675·0.785714 + 1.203973·0.785714 = 0.280245 + 0.945979 = 1.226223
   * d4 = 0.356675·1.157895 = 0.412992
   * d1 = 0.356675·1 = 0.356675;  d3 has neither term and is not returned.
   */
  it("matches the hand-computed example", () => {
    const index = Bm25Index.build(DOCS);
    const hits = index.search("cat dog");
    expect(hits.map((h) => h.id)).toEqual(["d2", "d4", "d1"]);
    expect(hits[0]!.score).toBeCloseTo(1.226223, 5);
    expect(hits[1]!.score).toBeCloseTo(0.412992, 5);
    expect(hits[2]!.score).toBeCloseTo(0.356675, 5);
    expect(index.size).toBe(4);
    expect(index.averageDocumentLength).toBe(3);
    expect(index.documentFrequency("cat")).toBe(3);
    expect(index.idf("dog")).toBeCloseTo(1.203973, 6);
  });

  it("uses Lucene's non-negative idf", () => {
    expect(bm25Idf(4, 4)).toBeCloseTo(Math.log(1 + 0.5 / 4.5), 12);
    expect(bm25Idf(4, 4)).toBeGreaterThan(0);
    expect(bm25Idf(10, 1)).toBeCloseTo(Math.log(1 + 9.5 / 1.5), 12);
  });

  it("k1 = 0 ignores term frequency; larger k1 rewards repeats more", () => {
    const docs = [
      { id: "once", text: "apple pie" },
      { id: "twice", text: "apple apple" },
      { id: "other", text: "pear pie" },
    ];
    const flat = Bm25Index.build(docs, { k1: 0 }).search("apple");
    expect(flat[0]!.score).toBeCloseTo(flat[1]!.score, 6);
    const gap = (k1: number) => {
      const [a, b] = Bm25Index.build(docs, { k1 }).search("apple");
      return a!.score / b!.score;
    };
    expect(gap(2)).toBeGreaterThan(gap(0.5));
    expect(Bm25Index.build(docs, { k1: 2 }).search("apple")[0]!.id).toBe("twice");
  });

  it("b = 0 ignores document length; b = 1 penalizes long documents fully", () => {
    const docs = [
      { id: "short", text: "kernel" },
      { id: "long", text: "kernel module loader for the linux system" },
    ];
    const none = Bm25Index.build(docs, { b: 0 }).search("kernel");
    expect(none[0]!.score).toBeCloseTo(none[1]!.score, 6);
    const full = Bm25Index.build(docs, { b: 1 }).search("kernel");
    expect(full.map((h) => h.id)).toEqual(["short", "long"]);
    const half = Bm25Index.build(docs, { b: 0.5 }).search("kernel");
    expect(full[0]!.score / full[1]!.score).toBeGreaterThan(half[0]!.score / half[1]!.score);
  });

  it("counts a repeated query term once per occurrence, like weight 2", () => {
    const index = Bm25Index.build(DOCS);
    const once = index.search("cat");
    const twice = index.search("cat cat");
    expect(twice.map((h) => h.id)).toEqual(once.map((h) => h.id));
    expect(twice[0]!.score).toBeCloseTo(2 * once[0]!.score, 10);
    expect(index.searchWeighted([{ term: "cat", weight: 2 }])).toEqual(twice);
    expect(index.searchTerms(["cat", "cat"])).toEqual(twice);
  });

  it("saturates repeated query terms with k3: (k3+1)·qtf/(k3+qtf)", () => {
    const index = Bm25Index.build(DOCS);
    const once = index.searchTerms(["cat"])[0]!.score;
    // k3 = 0: each distinct term once, so "cat cat dog" scores as "cat dog".
    expect(index.searchTerms(["cat", "cat", "dog"], 10, 0)).toEqual(index.searchTerms(["cat", "dog"]));
    // k3 = 2, qtf = 3: (2 + 1)·3 / (2 + 3) = 1.8 times the single-occurrence score.
    expect(index.searchTerms(["cat", "cat", "cat"], 10, 2)[0]!.score).toBeCloseTo(1.8 * once, 10);
    expect(queryTermWeight(3, 2)).toBeCloseTo(1.8, 12);
    expect(queryTermWeight(3, Infinity)).toBe(3);
    expect(() => index.searchTerms(["cat"], 10, -1)).toThrow("BM25 k3 must be a number >= 0");
  });

  it("indexes the title before the text", () => {
    const index = Bm25Index.build([
      { id: "a", title: "Zebra", text: "striped animal" },
      { id: "b", text: "zebra crossing" },
    ]);
    expect(index.search("zebra").map((h) => h.id).sort()).toEqual(["a", "b"]);
    expect(index.documentLength(0)).toBe(3);
  });
});

describe("Bm25Index results", () => {
  it("returns an empty list for an empty query or one with only unknown terms", () => {
    const index = Bm25Index.build(DOCS);
    expect(index.search("")).toEqual([]);
    expect(index.search("!!! ...")).toEqual([]);
    expect(index.search("zebra unicorn")).toEqual([]);
    expect(index.searchTerms([])).toEqual([]);
    expect(index.searchWeighted([{ term: "cat", weight: 0 }])).toEqual([]);
  });

  it("keeps the top k, score descending, ties by document id descending (trec_eval's order)", () => {
    const index = Bm25Index.build([
      { id: "x1", text: "apple" },
      { id: "x10", text: "apple" },
      { id: "x2", text: "apple" },
      { id: "y", text: "apple apple" },
      { id: "z", text: "banana" },
    ]);
    expect(index.search("apple", 10).map((h) => h.id)).toEqual(["y", "x2", "x10", "x1"]);
    expect(index.search("apple", 2).map((h) => h.id)).toEqual(["y", "x2"]);
    expect(index.search("apple", 0)).toEqual([]);
    expect(() => index.search("apple", -1)).toThrow(RangeError);
    expect(() => index.search("apple", 1.5)).toThrow(RangeError);
  });

  it("rejects duplicate document ids, bad parameters and bad weights", () => {
    expect(() => Bm25Index.build([DOCS[0]!, DOCS[0]!])).toThrow(/duplicate document id "d1"/);
    expect(() => Bm25Index.build(DOCS, { k1: -1 })).toThrow(RangeError);
    expect(() => Bm25Index.build(DOCS, { b: 1.5 })).toThrow(RangeError);
    expect(() => Bm25Index.build(DOCS).searchWeighted([{ term: "cat", weight: -1 }])).toThrow(RangeError);
  });

  it("exposes postings with term frequencies, for scorers built on top", () => {
    const index = Bm25Index.build(DOCS);
    const the = index.postings("the")!;
    expect([...the.docs]).toEqual([0, 1]);
    expect([...the.tfs]).toEqual([1, 2]);
    expect(index.postings("zebra")).toBeUndefined();
    expect(index.vocabularySize).toBe(8); // the cat sat and dog dogs bark a
    expect(index.documentId(3)).toBe("d4");
  });

  it("builds from chunks (Bm25Index.builder) the index build makes from the array", () => {
    const words = ["cat", "dog", "the", "sat", "bark", "mat", "a", "and"];
    const docs = Array.from({ length: 2500 }, (_, i) => ({ id: `r${i}`, text: Array.from({ length: 1 + (i % 9) }, (_, j) => words[(i * 3 + j * 5) % words.length]).join(" "), ...(i % 4 === 0 ? { title: "the title" } : {}) }));
    const builder = Bm25Index.builder({ k1: 1.1 });
    for (const size of [1, 0, 700, 1799]) builder.add(docs.slice(builder.size, builder.size + size));
    expect(builder.size).toBe(2500);
    const arrays = Bm25Index.build(docs, { k1: 1.1 }).toArrays();
    expect(builder.finish().toArrays()).toEqual(arrays);
    expect(() => builder.add(docs)).toThrow("add after finish");
    const twice = Bm25Index.builder();
    twice.add(DOCS);
    expect(() => twice.add([DOCS[1]!])).toThrow('duplicate document id "d2" (document 4)');
  });

  it("reports build progress", () => {
    const calls: [number, number][] = [];
    Bm25Index.build(DOCS, { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls.at(-1)).toEqual([4, 4]);
  });

  it("agrees with a direct evaluation of the formula on a random collection (sparse and dense paths)", () => {
    // A small deterministic generator (LCG) for a collection with Zipf-like word frequencies.
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    const pick = () => words[Math.floor(words.length * random() ** 3)]!;
    const docs = Array.from({ length: 300 }, (_, i) => ({
      id: `doc${i}`,
      text: Array.from({ length: 1 + Math.floor(random() * 20) }, pick).join(" "),
    }));
    const k1 = 1.2;
    const b = 0.75;
    const index = Bm25Index.build(docs, { k1, b });
    const analyzer = createAnalyzer();
    const tokenized = docs.map((d) => analyzer.analyze(d.text));
    const avgdl = tokenized.reduce((s, t) => s + t.length, 0) / docs.length;
    const reference = (query: string[], k: number): Bm25Hit[] => {
      const qtf = new Map<string, number>();
      for (const t of query) qtf.set(t, (qtf.get(t) ?? 0) + 1);
      const hits: Bm25Hit[] = [];
      tokenized.forEach((terms, d) => {
        let score = 0;
        let touched = false;
        for (const [t, q] of qtf) {
          const tf = terms.filter((x) => x === t).length;
          if (tf === 0) continue;
          touched = true;
          const df = tokenized.filter((ts) => ts.includes(t)).length;
          const impact = Math.fround((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * terms.length) / avgdl)));
          score += q * bm25Idf(docs.length, df) * impact;
        }
        if (touched) hits.push({ id: docs[d]!.id, score });
      });
      hits.sort((x, y) => y.score - x.score || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
      return hits.slice(0, k);
    };
    for (let q = 0; q < 30; q++) {
      // Frequent words make the dense path run, rare ones the sparse path.
      const query = Array.from({ length: 1 + Math.floor(random() * 4) }, () => (q % 2 ? pick() : words[39 - (q % 10)]!));
      const got = index.searchTerms(query, 15);
      const want = reference(query, 15);
      expect(got.map((h) => h.id)).toEqual(want.map((h) => h.id));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 9));
    }
  });
});
