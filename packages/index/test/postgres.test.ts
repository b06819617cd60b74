import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { writeFixtureModel } from "@crossrank/encode";
import { clearNeuralMemo } from "@crossrank/rankers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIndex, openIndex, openPostgresIndex, type SearchHit, type SearchIndex, writePostgresIndex } from "../src/index.js";
import { DOCS as COLLECTION } from "./collection.js";

// A PostgreSQL server with pgvector, e.g. `../shared/tools/pg-kit.sh start` (.ci/run starts one).
const url = process.env.CROSSRANK_TEST_PG_URL;
if (!url) console.log("postgres tests skipped: set CROSSRANK_TEST_PG_URL to a PostgreSQL server with pgvector (../shared/tools/pg-kit.sh start prints one)");

// The index tests' collection, and a document of stop words and repeats (ties, long postings).
const DOCS: Document[] = [...COLLECTION, { id: "d7", text: "The cat and the dog sleep; the bread is fresh." }];
const QUERIES = ["the cat sleeps", "fresh bread", "train to Berlin", "the the the", "books music films"];

/** Same documents in the same order, scores to `tolerance`. */
function expectSameHits(got: readonly SearchHit[], expected: readonly SearchHit[], tolerance: number, what: string): void {
  expect(got.map((h) => h.id), what).toEqual(expected.map((h) => h.id));
  got.forEach((h, i) => expect(Math.abs(h.score - expected[i]!.score), what).toBeLessThan(tolerance));
}

describe.skipIf(!url)("PostgreSQL + pgvector", () => {
  let dir: string;
  let index: SearchIndex;
  let dictionary: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crossrank-pg-"));
    dictionary = join(dir, "de-en.tsv");
    await writeFile(dictionary, "Katze\tcat\nKatze\tcats\nschläft\tsleeps\nZug\ttrain\nZug\ttrains\nnach\tto\nfrisches\tfresh\nBrot\tbread\nHund\tdog\n");
    const model = (await writeFixtureModel(join(dir, "static"), { kind: "static" })).dir;
    await buildIndex(join(dir, "idx"), DOCS, { encoder: model });
    index = await openIndex(join(dir, "idx"));
  });
  afterAll(async () => {
    await clearNeuralMemo();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("answers BM25 with the embedded index's documents, order and scores (to 1e-6)", async () => {
    await writePostgresIndex(index, url!, { schema: "crossrank_test" });
    const pgIndex = await openPostgresIndex(url!, { schema: "crossrank_test" });
    try {
      expect(pgIndex.size).toBe(7);
      for (const q of QUERIES) {
        const expected = await index.search(q, { ranker: "bm25", k: 10 });
        const got = await pgIndex.search(q, { ranker: "bm25", k: 10 });
        expect(got.map((h) => h.id), q).toEqual(expected.map((h) => h.id));
        got.forEach((h, i) => expect(Math.abs(h.score - expected[i]!.score), q).toBeLessThan(1e-6));
        expect(got[0]).toEqual({ ...expected[0], score: got[0]!.score });
      }
      expect(await pgIndex.search("nothing matches zzz", { ranker: "bm25" })).toEqual([]);
    } finally {
      await pgIndex.close();
    }
  });

  it("answers the bi-encoder through HNSW and by a full scan, as the embedded index does", async () => {
    await writePostgresIndex(index, url!, { schema: "crossrank_test" });
    const pgIndex = await openPostgresIndex(url!, { schema: "crossrank_test" });
    try {
      for (const q of QUERIES) {
        const expected = (await index.search(q, { ranker: "bi-encoder", k: 3, params: { exact: true } })).map((h) => h.id);
        expect((await pgIndex.search(q, { ranker: "bi-encoder", k: 3, exact: true })).map((h) => h.id), q).toEqual(expected);
        expect((await pgIndex.search(q, { ranker: "bi-encoder", k: 3 })).map((h) => h.id), q).toEqual(expected);
      }
    } finally {
      await pgIndex.close();
    }
  });

  it("prompts the queries of an E5-style model (query: / passage:) as the embedded bi-encoder does", async () => {
    const e5 = (await writeFixtureModel(join(dir, "e5"), { kind: "sentence-transformers" })).dir;
    const stConfig = JSON.parse(await readFile(join(e5, "config_sentence_transformers.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(e5, "config_sentence_transformers.json"), JSON.stringify({ ...stConfig, prompts: { query: "query: ", passage: "passage: " } }));
    await buildIndex(join(dir, "idx-e5"), DOCS, { encoder: e5 });
    const prompted = await openIndex(join(dir, "idx-e5"));
    await writePostgresIndex(prompted, url!, { schema: "crossrank_test_e5" });
    const pgIndex = await openPostgresIndex(url!, { schema: "crossrank_test_e5" });
    try {
      for (const q of QUERIES) {
        const expected = await prompted.search(q, { ranker: "bi-encoder", k: 4, params: { exact: true } });
        expectSameHits(await pgIndex.search(q, { ranker: "bi-encoder", k: 4, params: { exact: true } }), expected, 1e-5, q);
      }
    } finally {
      await pgIndex.close();
    }
  });

  it("answers BM25-PSQ, hybrid and rerank as the embedded index does", async () => {
    await writePostgresIndex(index, url!, { schema: "crossrank_test" });
    const pgIndex = await openPostgresIndex(url!, { schema: "crossrank_test" });
    try {
      const german = ["Katze schläft", "Zug nach Berlin", "frisches Brot", "Hund und Katze", "Katze Katze Brot"];
      for (const q of german) {
        const psq = { ranker: "bm25-psq", params: { dictionary }, queryLang: "de", k: 10 };
        expectSameHits(await pgIndex.search(q, psq), await index.search(q, psq), 1e-6, `psq ${q}`);
        const psqK3 = { ...psq, params: { dictionary, k3: 0, maxTranslations: 1 } };
        expectSameHits(await pgIndex.search(q, psqK3), await index.search(q, psqK3), 1e-6, `psq k3 ${q}`);
      }
      const composite: [string, Record<string, unknown>][] = [
        ["hybrid", { lexical: "bm25", depth: 5 }],
        ["hybrid", { lexical: "bm25", depth: 5, dense: "bi-encoder", fusion: "rrf" }],
        ["rerank", { first: "bm25", depth: 5, second: "lm-emd", otBackend: "js" }],
        ["rerank", { first: "bi-encoder", depth: 4, second: "maxsim" }],
      ];
      for (const [ranker, params] of composite) {
        for (const q of QUERIES) {
          const options = { ranker, params, k: 5 };
          expectSameHits(await pgIndex.search(q, options), await index.search(q, options), 1e-5, `${ranker} ${JSON.stringify(params)} ${q}`);
        }
      }
      // A batch answers as the queries one by one.
      const batch = await pgIndex.searchBatch(QUERIES, { ranker: "hybrid", params: { lexical: "bm25", depth: 5 }, k: 3 });
      for (const [i, q] of QUERIES.entries()) expectSameHits(batch[i]!, await pgIndex.search(q, { ranker: "hybrid", params: { lexical: "bm25", depth: 5 }, k: 3 }), 1e-9, q);
      expect(await pgIndex.getDocument("d2")).toEqual({ id: "d2", title: "Timetable", text: DOCS[1]!.text });
      expect(await pgIndex.getDocument("nope")).toBeUndefined();
      // What it cannot do, it says.
      await expect(pgIndex.search("cat", { ranker: "lm-emd" })).rejects.toThrow("a PostgreSQL index searches with bm25, bm25-psq, bi-encoder, hybrid, rerank");
      await expect(pgIndex.search("cat", { ranker: "rerank", params: { first: "bert-cls" } })).rejects.toThrow("the first stage is bm25, bm25-psq or bi-encoder");
      await expect(pgIndex.search("cat", { ranker: "rerank", params: { marginals: "idf" } })).rejects.toThrow('marginals "idf" needs the whole collection');
      await expect(pgIndex.search("cat", { ranker: "bm25", params: { k1: 2 } })).rejects.toThrow("holds bm25 postings built with other settings");
      await expect(pgIndex.search("cat", { ranker: "bm25-psq" })).rejects.toThrow("needs the query language");
      await expect(pgIndex.search("cat", { ranker: "bi-encoder", params: { title: false } })).rejects.toThrow("title false needs vectors without titles");
    } finally {
      await pgIndex.close();
    }
  });

  it("swaps a rewrite in whole, and says what is wrong", async () => {
    const before = await openPostgresIndex(url!, { schema: "crossrank_test" });
    await writePostgresIndex(index, url!, { schema: "crossrank_test" });
    // The old pool's next query sees the new tables (same content): no error, no mix.
    expect((await before.search("fresh bread", { ranker: "bm25" }))[0]!.id).toBe((await index.search("fresh bread", { ranker: "bm25" }))[0]!.id);
    await before.close();
    await expect(openPostgresIndex(url!, { schema: "crossrank_nope" })).rejects.toThrow("(schema crossrank_nope): not a crossrank index");
    await expect(openPostgresIndex(url!, { schema: "Bad-Name" })).rejects.toThrow("schema must be a lower-case identifier");
  });
});
