/**
 * The in-browser backend, run in Node on the shipped static model's bytes: its searches are the
 * registry rankers' over the same documents with the model loaded from its folder, and its
 * explanations are explainPair's.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Document } from "@crossrank/datasets";
import { loadEncoder } from "@crossrank/encode";
import { clearNeuralMemo, countDocumentFrequencies, createRanker, explainPair } from "@crossrank/rankers";
import { staticModelDir } from "@crossrank/static-model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BROWSER_ENCODER, createBrowserBackend, type LoadProgress } from "../src/browser-backend.js";
import { parseCollection } from "../src/collection.js";
// @ts-expect-error a plain .mjs script (no types)
import { fromFixtureCorpus } from "../scripts/sample-collection.mjs";

const documents = fromFixtureCorpus() as Document[];
const dir = staticModelDir();
const json = async (name: string) => JSON.parse(await readFile(join(dir, name), "utf8")) as Record<string, unknown>;

/** The searches compared: every offered ranker, rerank with LM-EMD over two of them, the hybrid with an LM-EMD dense stage. */
const SEARCHES: { ranker: string; params: Record<string, unknown>; registry: Record<string, unknown> }[] = [
  { ranker: "bm25", params: {}, registry: {} },
  { ranker: "bi-encoder", params: {}, registry: {} },
  { ranker: "hybrid", params: {}, registry: { lexical: "bm25" } },
  { ranker: "rerank", params: { first: "bm25", second: "lm-emd", depth: 20 }, registry: { first: "bm25", second: "lm-emd", depth: 20, otBackend: "js" } },
  { ranker: "rerank", params: { first: "bi-encoder", second: "lm-emd", depth: 20, marginals: "idf" }, registry: { first: "bi-encoder", second: "lm-emd", depth: 20, marginals: "idf", otBackend: "js" } },
  { ranker: "hybrid", params: { second: "lm-emd" }, registry: { lexical: "bm25", second: "lm-emd", otBackend: "js" } },
];
const QUERIES: { text: string; lang: string }[] = [
  { text: "Der Fluss fließt langsam durch die alte Stadt.", lang: "de" },
  { text: "bread baked in the morning", lang: "en" },
];

type Ranked = { id: string; score: number }[];
/** The registry's rankings (model loaded from its folder, documents without prebuilt parts), by search then query. */
const expected: Ranked[][] = [];
let backend: Awaited<ReturnType<typeof createBrowserBackend>>;
const progress: LoadProgress[] = [];

beforeAll(async () => {
  for (const s of SEARCHES) {
    const ranker = createRanker(s.ranker, s.registry);
    const rows: Ranked[] = [];
    for (const q of QUERIES) {
      const run = await ranker.rank({ queries: [{ id: "q", text: q.text }], documents: [...documents], queryLang: q.lang }, { k: 5 });
      rows.push([...run.get("q")!].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score || (a.id < b.id ? 1 : -1)));
    }
    expected.push(rows);
  }
  // From here on the rankers use the backend's in-memory encoder only.
  await clearNeuralMemo();
  backend = await createBrowserBackend({
    model: { safetensors: new Uint8Array(await readFile(join(dir, "model.safetensors"))), tokenizer: await json("tokenizer.json"), tokenizerConfig: await json("tokenizer_config.json"), config: await json("config.json") },
    documents,
    otBackend: "js",
    onProgress: (p) => progress.push(p),
  });
}, 120_000);

afterAll(async () => {
  await clearNeuralMemo();
});

describe("createBrowserBackend", () => {
  it("reports what it offers and how loading went", async () => {
    expect(await backend.info()).toEqual({ mode: "browser", documents: documents.length, lang: null, rankers: ["hybrid", "bm25", "bi-encoder"] });
    expect(progress.map((p) => p.stage)).toEqual(expect.arrayContaining(["model", "bm25", "vectors", "frequencies", "ready"]));
    expect(progress.at(-1)).toEqual({ stage: "ready", done: 1, total: 1 });
  });

  SEARCHES.forEach((s, i) => {
    it(`searches as createRanker("${s.ranker}", ${JSON.stringify(s.registry)}) on the model's folder`, async () => {
      for (const [j, q] of QUERIES.entries()) {
        const r = await backend.search({ query: q.text, ranker: s.ranker, params: s.params, k: 5, queryLang: q.lang });
        expect(r.ranker).toBe(s.ranker);
        const want = expected[i]![j]!;
        expect(want.length).toBeGreaterThan(0);
        expect(r.hits.map((h) => h.id)).toEqual(want.map((w) => w.id));
        r.hits.forEach((h, k) => {
          expect(h.rank).toBe(k + 1);
          expect(h.score).toBeCloseTo(want[k]!.score, 5);
          expect(h.text).toBe(documents.find((d) => d.id === h.id)!.text);
        });
      }
    });
  });

  it("explains as explainPair with the model loaded from its folder, uniform and idf marginals", async () => {
    const encoder = await loadEncoder(dir);
    try {
      const texts = documents.map((d) => d.text);
      const frequencies = await countDocumentFrequencies(encoder, texts);
      const doc = documents.find((d) => d.id === "en-1")!;
      const query = QUERIES[0]!.text;
      for (const marginals of ["uniform", "idf"] as const) {
        const got = await backend.explain({ query, id: doc.id, marginals, gamma: 0.2, iterations: 50 });
        const want = await explainPair(encoder, query, doc.text, { otBackend: "js", marginals, gamma: 0.2, iterations: 50, ...(marginals === "idf" ? { documentFrequencies: frequencies } : {}) });
        expect(got.id).toBe(doc.id);
        expect(got.queryTokens).toEqual(want.queryTokens);
        expect(got.docTokens).toEqual(want.docTokens);
        expect(got.distance).toBeCloseTo(want.distance, 6);
        const m = want.docTokens.length;
        expect(got.plan.length).toBe(want.queryTokens.length);
        got.plan.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(want.plan[r * m + c]!, 6)));
        got.cost.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(want.cost[r * m + c]!, 6)));
        expect(got.queryMass).toEqual(Array.from(want.queryMass));
        expect(got.docMass).toEqual(Array.from(want.docMass));
      }
      // idf marginals weigh the document's tokens unequally; uniform ones do not.
      const idf = await backend.explain({ query, id: doc.id, marginals: "idf" });
      expect(new Set(idf.docMass.map((x) => x.toFixed(12))).size).toBeGreaterThan(1);
    } finally {
      await encoder.dispose();
    }
  });

  it("refuses what the browser build cannot run, saying why", async () => {
    await expect(backend.search({ query: "Fluss", ranker: "bm25-psq" })).rejects.toThrow(/bm25-psq needs Debian's dictionary files/);
    await expect(backend.search({ query: "Fluss", ranker: "hybrid", params: { lexical: "bm25-psq" } })).rejects.toThrow(/parameter lexical: bm25-psq/);
    await expect(backend.search({ query: "Fluss", ranker: "rerank", params: { second: "cross-encoder", model: "x" } })).rejects.toThrow(/cross-encoder needs onnxruntime-node/);
    await expect(backend.search({ query: "Fluss", ranker: "bi-encoder", params: { encoder: "fixture:bert" } })).rejects.toThrow(/crossrank-static model only/);
    await expect(backend.search({ query: "  ", ranker: "bm25" })).rejects.toThrow(/blank/);
    await expect(backend.explain({ query: "Fluss", id: "nope" })).rejects.toThrow(/no document with id "nope"/);
    expect(BROWSER_ENCODER).toBe("crossrank-static");
  });
});

describe("parseCollection", () => {
  it("reads JSONL documents and says which line is wrong", () => {
    expect(parseCollection('{"id":"a","text":"x","title":"T","lang":"de","url":"u"}\n\n{"id":"b","text":"y"}\n', "c.jsonl")).toEqual([
      { id: "a", text: "x", title: "T", lang: "de" },
      { id: "b", text: "y" },
    ]);
    expect(() => parseCollection('{"id":"a","text":"x"}\n{"id":"a","text":"y"}', "c.jsonl")).toThrow(/c.jsonl:2: id "a" appears twice/);
    expect(() => parseCollection('{"id":"a"}', "c.jsonl")).toThrow(/c.jsonl:1: "text" must be a string/);
    expect(() => parseCollection("not json", "c.jsonl")).toThrow(/c.jsonl:1: not JSON/);
    expect(() => parseCollection("\n", "c.jsonl")).toThrow(/no documents/);
  });
});
