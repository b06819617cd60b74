import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { writeFixtureModel } from "@crossrank/encode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attachCollectionParts,
  Bm25Index,
  Bm25PsqRanker,
  Bm25Ranker,
  clearNeuralMemo,
  collectionParts,
  createAnalyzer,
  createRanker,
  documentIds,
  documentPositions,
  PooledRanker,
  type RankingInput,
} from "../src/index.js";

const DOCS: Document[] = [
  { id: "a", text: "The cat sat on the mat." },
  { id: "b", text: "Dogs chase cats in the garden.", title: "Garden" },
  { id: "c", text: "A quiet library full of old books." },
  { id: "d", text: "The train to Berlin leaves at noon." },
];
const QUERIES = [
  { id: "q1", text: "cat on a mat" },
  { id: "q2", text: "train Berlin" },
];

let dir: string;
let model: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-parts-"));
  model = (await writeFixtureModel(join(dir, "static"), { kind: "static" })).dir;
});
afterAll(async () => {
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("Bm25Index arrays", () => {
  it("round-trips through toArrays / fromArrays with the same scores", () => {
    const analyzer = createAnalyzer({ lang: "en" });
    const index = Bm25Index.build(DOCS, { analyzer, k1: 1.1, b: 0.6 });
    const copy = Bm25Index.fromArrays(structuredClone(index.toArrays()), analyzer);
    for (const q of QUERIES) expect(copy.search(q.text, 10)).toEqual(index.search(q.text, 10));
    expect(copy.k1).toBe(1.1);
    expect(copy.vocabularySize).toBe(index.vocabularySize);
  });

  it("rejects arrays that do not fit together, saying what", () => {
    const analyzer = createAnalyzer();
    const arrays = Bm25Index.build(DOCS, { analyzer }).toArrays();
    expect(() => Bm25Index.fromArrays({ ...arrays, lengths: arrays.lengths.subarray(1) }, analyzer)).toThrow("3 lengths for 4 documents");
    const docs = arrays.docs.slice();
    docs[2] = 99;
    expect(() => Bm25Index.fromArrays({ ...arrays, docs }, analyzer)).toThrow("posting 2: document 99");
    const offsets = arrays.offsets.slice();
    offsets[1] = offsets[2]! + 1;
    expect(() => Bm25Index.fromArrays({ ...arrays, offsets }, analyzer)).toThrow("offsets decrease at term 1");
    expect(() => Bm25Index.fromArrays({ ...arrays, terms: [...arrays.terms.slice(1), arrays.terms[1]!] }, analyzer)).toThrow("a term is listed twice");
  });
});

describe("part builders (prebuild from chunks)", () => {
  it("give prebuild's parts: BM25, BM25-PSQ, pooled vectors, also for no documents", async () => {
    const documents = Array.from({ length: 10 }, (_, i) => ({ ...DOCS[i % 4]!, id: `p${i}` }));
    const rankers = [
      { prebuild: (d: Document[]) => new Bm25Ranker().prebuild(d, "en"), builder: () => new Bm25Ranker().partBuilder("en") },
      { prebuild: (d: Document[]) => new Bm25PsqRanker().prebuild(d, "en"), builder: () => new Bm25PsqRanker().partBuilder("en") },
      { prebuild: (d: Document[]) => new PooledRanker("bi-encoder", { encoder: model }).prebuild(d), builder: () => new PooledRanker("bi-encoder", { encoder: model }).partBuilder() },
    ];
    for (const { prebuild, builder } of rankers) {
      for (const docs of [documents, []]) {
        const chunked = await builder();
        for (let i = 0; i < docs.length; i += 3) await chunked.add(docs.slice(i, i + 3));
        const part = await chunked.finish();
        const expected = await prebuild(docs);
        expect(part.key).toBe(expected.key);
        if (part.kind === "bm25" && expected.kind === "bm25") expect(part.index.toArrays()).toEqual(expected.index.toArrays());
        else expect(part).toEqual(expected);
      }
    }
  });

  it("refuse padded pooling, whose vectors depend on their batch", async () => {
    await expect(new PooledRanker("bert-mean", { encoder: "fixture:bert", preset: "faithful" }).partBuilder()).rejects.toThrow("padded pooling makes a vector depend on the texts encoded with it");
  });
});

describe("collection parts", () => {
  it("are used by the rankers instead of building, giving the runs they would have built", async () => {
    const documents = DOCS.map((d) => ({ ...d }));
    const input: RankingInput = { queries: QUERIES, documents, queryLang: "en", docLang: "en" };
    const bm25 = new Bm25Ranker();
    const bi = new PooledRanker("bi-encoder", { encoder: model });
    const expected = { bm25: await bm25.rank(input), bi: await bi.rank(input) };
    const parts = [await bm25.prebuild(documents, "en"), await bi.prebuild(documents)];
    expect(collectionParts(documents)).toBeUndefined();
    attachCollectionParts(documents, parts);
    expect(await bm25.rank(input)).toEqual(expected.bm25);
    expect(await bi.rank(input)).toEqual(expected.bi);
    // The part is what is used: a BM25 part over other texts changes the scores.
    const other = documents.map((d) => ({ id: d.id, text: "train train Berlin" }));
    attachCollectionParts(documents, [await bm25.prebuild(other, "en")]);
    expect([...(await bm25.rank(input)).get("q2")!.values()]).toEqual([...(await bm25.rank({ ...input, documents: other })).get("q2")!.values()]);
    // Another analyzer setting has its own key: built as before, not taken from the part.
    const minLength = new Bm25Ranker({ analyzer: { minLength: 2 } });
    expect(minLength.partKey("en")).not.toBe(bm25.partKey("en"));
    expect(await minLength.rank(input)).toEqual(await minLength.rank({ ...input, documents: DOCS }));
  });

  it("take a bi-encoder's candidates from an attached approximate index, scored exactly; exact: true scores all", async () => {
    const documents = DOCS.map((d) => ({ ...d }));
    const input: RankingInput = { queries: QUERIES, documents, queryLang: "en", docLang: "en" };
    const bi = new PooledRanker("bi-encoder", { encoder: model });
    const all = await bi.rank(input);
    const vectors = await bi.prebuild(documents);
    const asked: number[] = [];
    // A stand-in for an ANN index that only ever finds documents 1 and 3.
    const searcher = { name: "stub", search: (queries: { rows: number }, k: number) => (asked.push(k), Promise.resolve(Array.from({ length: queries.rows }, () => Int32Array.of(3, 1)))) };
    attachCollectionParts(documents, [vectors, { kind: "ann", key: vectors.key, searcher }]);
    const approximate = await bi.rank(input, { k: 2 });
    expect(asked).toEqual([2]);
    for (const q of QUERIES) {
      expect([...approximate.get(q.id)!.keys()].sort()).toEqual(["b", "d"]);
      for (const [id, score] of approximate.get(q.id)!) expect(score).toBe(all.get(q.id)!.get(id));
    }
    expect(await new PooledRanker("bi-encoder", { encoder: model, exact: true }).rank(input)).toEqual(all);
    expect(createRanker("bi-encoder", { encoder: model, exact: true }).name).toBe(`bi-encoder(encoder=${model},exact)`);
    expect(() => createRanker("bi-encoder", { encoder: model, exact: "yes" })).toThrow('parameter exact of ranker bi-encoder must be a boolean; got the string "yes"');
  });

  it("serve hybrid and re-ranking over the same array", async () => {
    const documents = DOCS.map((d) => ({ ...d }));
    const input: RankingInput = { queries: QUERIES, documents, queryLang: "en", docLang: "en" };
    const hybrid = createRanker("hybrid", { encoder: model, lexical: "bm25", depth: 4 });
    const expected = await hybrid.rank(input);
    attachCollectionParts(documents, [await new Bm25Ranker().prebuild(documents, "en"), await new PooledRanker("bi-encoder", { encoder: model }).prebuild(documents)]);
    expect(await hybrid.rank(input)).toEqual(expected);
  });

  it("must match the collection's size, and give ids and positions without a pass over it", async () => {
    const documents = DOCS.map((d) => ({ ...d }));
    const part = await new Bm25Ranker().prebuild(documents.slice(1), "en");
    expect(() => attachCollectionParts(documents, [part])).toThrow("holds 3 documents, the collection 4");
    expect(collectionParts(documents)).toBeUndefined();
    expect(documentIds(documents)).toEqual(["a", "b", "c", "d"]);
    attachCollectionParts(documents, []);
    expect(documentIds(documents)).toBe(documentIds(documents));
    expect(documentPositions(documents).get("c")).toBe(2);
    expect(documentPositions(documents)).toBe(documentPositions(documents));
  });
});
