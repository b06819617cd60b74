import { describe, expect, it } from "vitest";
import { Bm25Index, Bm25Ranker, createRanker, rankerNames, type RankingInput } from "../src/index.js";

const INPUT: RankingInput = {
  queryLang: "de",
  docLang: "en",
  queries: [
    { id: "q1", text: "Linux kernel" },
    { id: "q2", text: "Python Bibliothek für Bilder (python)" },
    { id: "q3", text: "nichts passt" },
  ],
  documents: [
    { id: "a", text: "The Linux kernel image" },
    { id: "b", text: "Headers for the Linux kernel", title: "linux-headers" },
    { id: "c", text: "Python imaging library" },
    { id: "d", text: "Python bindings for the kernel" },
    { id: "e", text: "A game about trains" },
  ],
};

describe("Bm25Ranker", () => {
  it("returns a run with the top k documents of every query", async () => {
    const run = await new Bm25Ranker().rank(INPUT, { k: 2 });
    expect([...run.keys()]).toEqual(["q1", "q2", "q3"]);
    expect(run.get("q1")!.size).toBe(2);
    expect(run.get("q2")!.size).toBe(2);
    expect(run.get("q3")!.size).toBe(0); // no query term occurs in the collection
    // a and b have both terms (b's "linux" is in its title); d has only "kernel".
    expect([...run.get("q1")!.keys()].sort()).toEqual(["a", "b"]);
    expect(run.get("q2")!.has("c")).toBe(true);
    // The same scores as the index searched directly with the documents' text and title.
    const index = Bm25Index.build(INPUT.documents);
    const direct = index.search("Linux kernel", 2);
    expect(direct.map((h) => [h.id, h.score])).toEqual([...run.get("q1")!.entries()]);
  });

  it("defaults to k = 100 and keeps every matching document", async () => {
    const run = await new Bm25Ranker().rank(INPUT);
    expect(run.get("q1")!.size).toBe(3); // a, b and d (kernel)
  });

  it("reports progress over documents and queries, ending at the total", async () => {
    const calls: [number, number][] = [];
    await new Bm25Ranker().rank(INPUT, { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls.at(-1)).toEqual([8, 8]);
    expect(calls.every(([, total]) => total === 8)).toBe(true);
  });

  it("is named after its parameters and rejects bad ones", async () => {
    expect(new Bm25Ranker().name).toBe("bm25(k1=1.2,b=0.75)");
    expect(new Bm25Ranker({ k1: 0.9, b: 0.4 }).name).toBe("bm25(k1=0.9,b=0.4)");
    expect(() => new Bm25Ranker({ b: -0.1 })).toThrow(RangeError);
    await expect(new Bm25Ranker().rank(INPUT, { k: 0 })).rejects.toThrow(RangeError);
  });

  it("rejects duplicate query ids", async () => {
    const input = { ...INPUT, queries: [INPUT.queries[0]!, INPUT.queries[0]!] };
    await expect(new Bm25Ranker().rank(input)).rejects.toThrow(/duplicate query id "q1"/);
  });
});

describe("registry", () => {
  it("lists and creates bm25", () => {
    expect(rankerNames()).toContain("bm25");
    expect(createRanker("bm25").name).toBe("bm25(k1=1.2,b=0.75)");
    expect(createRanker("bm25", { k1: 2, b: 0 }).name).toBe("bm25(k1=2,b=0)");
    expect(createRanker("bm25", { k3: 0 }).name).toBe("bm25(k1=1.2,b=0.75,k3=0)");
  });

  it("rejects an unknown ranker, naming the known ones", () => {
    expect(() => createRanker("bm26")).toThrow('unknown ranker "bm26"; known rankers: bert-cls, bert-max, bert-mean, bi-encoder, bm25, bm25-psq, cross-encoder, hybrid, lm-emd, maxsim, rerank');
  });

  it("rejects an unknown parameter, listing the accepted ones on one line", () => {
    let message = "";
    try {
      createRanker("bm25", { delta: 1 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(
      'unknown parameter "delta" for ranker bm25; accepted: k1 (number >= 0, default 1.2), b (number in [0, 1], default 0.75), ' +
        "k3 (number >= 0, default Infinity (query terms count per occurrence))",
    );
    expect(message).not.toContain("\n");
  });

  it("rejects ill-typed and out-of-range values", () => {
    expect(() => createRanker("bm25", { k1: "1.2" })).toThrow(
      'parameter k1 of ranker bm25 must be a number >= 0; got the string "1.2"',
    );
    expect(() => createRanker("bm25", { b: 2 })).toThrow("parameter b of ranker bm25 must be a number in [0, 1]; got 2");
    expect(() => createRanker("bm25", { k1: Number.NaN })).toThrow(/k1/);
    expect(() => createRanker("bm25", { toString: 1 })).toThrow(/unknown parameter "toString"/);
  });
});
