import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { clearNeuralMemo, createRanker } from "@crossrank/rankers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIndex, openIndex, openPostgresIndex, type SearchIndex, writePostgresIndex } from "../src/index.js";

// An index over an X-MOD encoder (fixture:xmod): the documents' vectors go through the adapter of
// the index's docLang, the queries' through their queryLang's, in the embedded index and in
// PostgreSQL (when CROSSRANK_TEST_PG_URL names a server with pgvector) alike.
const DOCS: Document[] = [
  { id: "d1", text: "Der Fluss fließt langsam durch die alte Stadt." },
  { id: "d2", text: "Wale sind die größten Tiere im Meer." },
  { id: "d3", text: "Im Winter liegt im Bergdorf viel Schnee." },
  { id: "d4", text: "Licht ist schneller als Schall.", title: "Physik" },
];
const QUERIES = ["The river flows slowly through the old town.", "the largest animals in the sea"];
const url = process.env.CROSSRANK_TEST_PG_URL;

let dir: string;
let index: SearchIndex;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-xmod-index-"));
  await buildIndex(join(dir, "idx"), DOCS, { encoder: "fixture:xmod", docLang: "de", lexical: [], ann: "none" });
  index = await openIndex(join(dir, "idx"));
});
afterAll(async () => {
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("an index over an X-MOD encoder", () => {
  it("the bi-encoder's stored vectors and its queries use the index's docLang and the query's queryLang", async () => {
    const got = await index.searchBatch(QUERIES, { ranker: "bi-encoder", queryLang: "en", k: DOCS.length });
    const direct = await createRanker("bi-encoder", { encoder: "fixture:xmod" }).rank(
      { queries: QUERIES.map((text, i) => ({ id: `q${i}`, text })), documents: DOCS, queryLang: "en", docLang: "de" },
      { k: DOCS.length },
    );
    got.forEach((hits, i) => {
      expect(hits).toHaveLength(DOCS.length);
      for (const h of hits) expect(Math.abs(h.score - direct.get(`q${i}`)!.get(h.id)!)).toBeLessThan(1e-5);
    });
    // Another query language, other scores.
    const asGerman = await index.searchBatch(QUERIES, { ranker: "bi-encoder", queryLang: "de", k: DOCS.length });
    expect(Math.abs(asGerman[0]![0]!.score - got[0]!.find((h) => h.id === asGerman[0]![0]!.id)!.score)).toBeGreaterThan(1e-4);
    await expect(index.searchBatch(QUERIES, { ranker: "bi-encoder", k: 2 })).rejects.toThrow(/has no language/);
  });

  it.skipIf(!url)("PostgreSQL encodes the queries in their queryLang, as the embedded index does", async () => {
    await writePostgresIndex(index, url!, { schema: "crossrank_xmod_test" });
    const pgIndex = await openPostgresIndex(url!, { schema: "crossrank_xmod_test" });
    try {
      for (const q of QUERIES) {
        const expected = await index.search(q, { ranker: "bi-encoder", queryLang: "en", k: DOCS.length, params: { exact: true } });
        const hits = await pgIndex.search(q, { ranker: "bi-encoder", queryLang: "en", k: DOCS.length, exact: true });
        expect(hits.map((h) => h.id), q).toEqual(expected.map((h) => h.id));
        hits.forEach((h, i) => expect(Math.abs(h.score - expected[i]!.score), q).toBeLessThan(1e-5));
      }
    } finally {
      await pgIndex.close();
    }
  });
});
