import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { writeFixtureModel } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import { clearNeuralMemo, createRanker } from "@crossrank/rankers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIndex, openIndex, openPostgresIndex, updateIndex, writePostgresIndex } from "../src/index.js";
import { annRecall, DOCS, QUERIES, recombinedDocs } from "./collection.js";

const url = process.env.CROSSRANK_TEST_PG_URL;

let dir: string;
// A model scored by dot product: DistilUSE's layout (no Normalize, no similarity_fn_name).
let model: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-index-dot-"));
  model = (await writeFixtureModel(join(dir, "distiluse"), { kind: "distiluse" })).dir;
});
afterAll(async () => {
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function inMemory(documents: readonly Document[], params: Record<string, unknown> = {}, k = 4): Promise<Run> {
  return createRanker("bi-encoder", { encoder: model, ...params }).rank({ queries: QUERIES, documents: documents.map((d) => ({ ...d, lang: "en" })), queryLang: "de", docLang: "en" }, { k });
}

/** Same documents in the same order, scores to 1e-5 (a build encodes in other batches than a search). */
function expectSameRun(got: Run, expected: Run): void {
  for (const q of QUERIES) {
    const g = [...got.get(q.id)!];
    const e = [...expected.get(q.id)!];
    expect(g.map(([id]) => id), q.id).toEqual(e.map(([id]) => id));
    g.forEach(([, score], i) => expect(Math.abs(score - e[i]![1]), q.id).toBeLessThan(1e-5));
  }
}

describe("an index of a dot-product model", () => {
  it("stores its raw vectors, records dot in the manifest, and ranks as the in-memory ranker, through LanceDB and an update", async () => {
    const out = join(dir, "idx");
    const manifest = await buildIndex(out, DOCS, { encoder: model, lexical: [], ann: "lancedb" });
    expect(manifest.encoder).toMatchObject({ spec: model, similarity: "dot" });
    expect(JSON.parse(manifest.parts.find((p) => p.kind === "vectors")!.key)).toContainEqual({ similarity: "dot" });
    const index = await openIndex(out);
    const expected = await inMemory(DOCS);
    expectSameRun(await index.rank(QUERIES, { ranker: "bi-encoder", k: 4 }), expected);
    expectSameRun(await index.rank(QUERIES, { ranker: "bi-encoder", params: { exact: true }, k: 4 }), expected);
    // Asking for cosine is other vectors: encoded from the documents, as in memory.
    expectSameRun(await index.rank(QUERIES, { ranker: "bi-encoder", params: { similarity: "cosine" }, k: 4 }), await inMemory(DOCS, { similarity: "cosine" }));
    await index.close();
    const added = { id: "d7", text: "Fresh fish and bread at the Berlin market." };
    const updated = await updateIndex(out, { upsert: [added] });
    expect(updated.manifest.encoder).toMatchObject({ similarity: "dot" });
    const reopened = await openIndex(out);
    expectSameRun(await reopened.rank(QUERIES, { ranker: "bi-encoder", k: 4 }), await inMemory([...DOCS, added]));
    await reopened.close();
  });

  it("finds the exact scan's neighbours by dot product through LanceDB's HNSW index", async () => {
    const many = recombinedDocs(300);
    const out = join(dir, "hnsw");
    await buildIndex(out, many, { encoder: model, lexical: [], ann: "lancedb" });
    const index = await openIndex(out);
    expect((await annRecall(index, many)).recall).toBeGreaterThan(0.9);
    await index.close();
  });

  it.skipIf(!url)("PostgreSQL answers with the inner product of the raw vectors, as the embedded index does; the other similarity is refused", async () => {
    const out = join(dir, "pg-idx");
    await buildIndex(out, DOCS, { encoder: model, lexical: [] });
    const index = await openIndex(out);
    await writePostgresIndex(index, url!, { schema: "crossrank_test_dot" });
    const pgIndex = await openPostgresIndex(url!, { schema: "crossrank_test_dot" });
    try {
      for (const q of QUERIES) {
        const expected = await index.search(q.text, { ranker: "bi-encoder", k: 4, params: { exact: true } });
        for (const exact of [true, false]) {
          const got = await pgIndex.search(q.text, { ranker: "bi-encoder", k: 4, exact });
          expect(got.map((h) => h.id), q.text).toEqual(expected.map((h) => h.id));
          got.forEach((h, i) => expect(Math.abs(h.score - expected[i]!.score), q.text).toBeLessThan(1e-4));
        }
      }
      await expect(pgIndex.search("Katze", { ranker: "bi-encoder", params: { similarity: "cosine" } })).rejects.toThrow(
        "similarity cosine needs other vectors than this PostgreSQL index holds (compared by dot)",
      );
    } finally {
      await pgIndex.close();
      await index.close();
    }
  });
});
