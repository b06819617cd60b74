import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { writeFixtureModel } from "@crossrank/encode";
import { clearNeuralMemo } from "@crossrank/rankers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIndex, openIndex, openPostgresIndex, type SearchIndex, writePostgresIndex } from "../src/index.js";
import { DOCS as COLLECTION } from "./collection.js";

// A PostgreSQL server with pgvector, e.g. `../shared/tools/pg-kit.sh start` (.ci/run starts one).
const url = process.env.CROSSRANK_TEST_PG_URL;
if (!url) console.log("postgres tests skipped: set CROSSRANK_TEST_PG_URL to a PostgreSQL server with pgvector (../shared/tools/pg-kit.sh start prints one)");

// The index tests' collection, and a document of stop words and repeats (ties, long postings).
const DOCS: Document[] = [...COLLECTION, { id: "d7", text: "The cat and the dog sleep; the bread is fresh." }];
const QUERIES = ["the cat sleeps", "fresh bread", "train to Berlin", "the the the", "books music films"];

describe.skipIf(!url)("PostgreSQL + pgvector", () => {
  let dir: string;
  let index: SearchIndex;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crossrank-pg-"));
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
