import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Encoder, loadEncoder, writeFixtureModel } from "@crossrank/encode";
import { batchedSinkhorn, tokenBatch } from "@crossrank/ot";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { clearNeuralMemo, createRanker, LmEmdRanker, neuralMemoStats, type RankingInput } from "../src/index.js";
import { countFrequencies, IdfTable, tokenIdsOf, tokenKeysOf } from "../src/neural/idf.js";
import { LM_EMD_GROUP_PAIRS } from "../src/neural/lm-emd-ranker.js";
import { idfTable, sharedEncoder, TableTokenRows, tokenRows, unitRows } from "../src/neural/memo.js";
import { selectRows } from "../src/neural/token-ranker.js";

// Sentences of the fixture models' corpus (German documents, English queries), reused with
// numbers so that there are enough queries and candidates for several solver groups.
const WORDS_DE = ["Der Fluss fließt langsam durch die alte Stadt.", "Das Museum zeigt Gemälde aus drei Jahrhunderten.", "Wale sind die größten Tiere im Meer.", "Im Winter liegt im Bergdorf viel Schnee.", "Bienen sammeln Nektar von den Blumen.", "Licht ist schneller als Schall."];
const WORDS_EN = ["The river flows slowly through the old town.", "The museum shows paintings from the last three centuries.", "Whales are the largest animals in the sea.", "Bees collect nectar from the flowers."];
const DOCS = Array.from({ length: 90 }, (_, i) => ({
  id: `d${i}`,
  // Lengths from one sentence to six: the solver's batches see very different lengths.
  text: Array.from({ length: 1 + (i % 6) }, (_, s) => WORDS_DE[(i + s) % WORDS_DE.length]).join(" ") + ` ${i}`,
}));
const QUERIES = Array.from({ length: 60 }, (_, i) => ({ id: `q${i}`, text: `${WORDS_EN[i % WORDS_EN.length]!} ${i % 7 === 0 ? WORDS_EN[(i + 1) % WORDS_EN.length]! : ""}`.trim() }));
const INPUT: RankingInput = { queryLang: "en", docLang: "de", queries: QUERIES, documents: DOCS };

let dir: string;
let bert: string;
let staticModel: string;
let encoder: Encoder;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-lm-emd-batching-"));
  bert = (await writeFixtureModel(join(dir, "bert"))).dir;
  staticModel = (await writeFixtureModel(join(dir, "static"), { kind: "static" })).dir;
  encoder = await loadEncoder(bert);
});

afterAll(async () => {
  await encoder?.dispose();
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Candidates per query: a spread of documents (some shared between queries). */
function candidatesOf(count: number): Map<string, Int32Array> {
  return new Map(QUERIES.map((q, i) => [q.id, Int32Array.from({ length: count }, (_, j) => (i * 7 + j * 13) % DOCS.length)]));
}

/**
 * The scores the ranker gave before batching queries together: each query's candidates (with rows)
 * solved in one batchedSinkhorn call, the query broadcast, with the same rows and weights —
 * computed here from an encoder of our own (encodeTokens + unitRows), not from the rankers' memo.
 */
async function perQueryScores(model: string, candidates: Map<string, Int32Array>, idf: boolean, includeSpecial = true): Promise<Map<string, Map<string, number>>> {
  const own = await loadEncoder(model);
  try {
    const rowsOf = async (texts: string[]) => (await own.encodeTokens(texts)).map((e, i) => unitRows(e.embeddings, e.special, e.dim, texts[i]!, e.tokens));
    const docTexts = DOCS.map((d) => d.text);
    const queryTexts = QUERIES.map((q) => q.text);
    const docRows = await rowsOf(docTexts);
    const queryRows = await rowsOf(queryTexts);
    const docTable = idf ? await countFrequencies(own, docTexts, docRows) : undefined;
    const queryTable = idf ? await countFrequencies(own, queryTexts, queryRows) : undefined;
    const out = new Map<string, Map<string, number>>();
    for (const [qi, q] of QUERIES.entries()) {
      const rows = queryRows[qi]!;
      const docs = [...candidates.get(q.id)!];
      const query = tokenBatch([{ embeddings: selectRows(rows, includeSpecial).data, ...(queryTable ? { weights: queryTable.weights(rows, includeSpecial) } : {}) }], rows.dim);
      const batch = tokenBatch(
        docs.map((d) => ({ embeddings: selectRows(docRows[d]!, includeSpecial).data, ...(docTable ? { weights: docTable.weights(docRows[d]!, includeSpecial) } : {}) })),
        rows.dim,
      );
      const { costs } = await batchedSinkhorn(query, batch, { reg: 0.1, iterations: 100, normalize: false });
      out.set(q.id, new Map(docs.map((d, k) => [DOCS[d]!.id, -costs[k]!])));
    }
    return out;
  } finally {
    await own.dispose();
  }
}

describe("lm-emd: several queries per solver call", () => {
  for (const [kind, idf] of [
    ["uniform", false],
    ["idf", true],
  ] as const) {
    it(`rerank candidates (${kind}): the batched multi-query solve equals per-query solves`, async () => {
      const candidates = candidatesOf(80);
      // More pairs than one group holds: the queries are split over several solver calls.
      expect(QUERIES.length * 80).toBeGreaterThan(LM_EMD_GROUP_PAIRS);
      const ranker = new LmEmdRanker({ encoder: bert, ...(idf ? { marginals: "idf" as const } : {}) });
      const run = await ranker.rankCandidates(INPUT, candidates, { k: 80 });
      const expected = await perQueryScores(bert, candidates, idf);
      for (const q of QUERIES) {
        const got = run.get(q.id)!;
        const want = expected.get(q.id)!;
        expect(got.size, q.id).toBe(new Set(candidates.get(q.id)).size);
        for (const [doc, score] of want) expect(Math.abs(got.get(doc)! - score), `${q.id} ${doc}`).toBeLessThan(1e-5);
      }
    });
  }

  it("full ranking (every document a candidate) equals per-query solves, and a query alone gets the same scores", async () => {
    const all = new Map(QUERIES.map((q) => [q.id, Int32Array.from(DOCS, (_, i) => i)]));
    const run = await createRanker("lm-emd", { encoder: staticModel }).rank(INPUT, { k: DOCS.length });
    const expected = await perQueryScores(staticModel, all, false);
    for (const q of QUERIES) for (const [doc, score] of expected.get(q.id)!) expect(Math.abs(run.get(q.id)!.get(doc)! - score)).toBeLessThan(1e-5);
    const alone = await createRanker("lm-emd", { encoder: staticModel }).rank({ ...INPUT, queries: [QUERIES[5]!] }, { k: DOCS.length });
    for (const [doc, score] of alone.get(QUERIES[5]!.id)!) expect(Math.abs(run.get(QUERIES[5]!.id)!.get(doc)! - score)).toBeLessThan(1e-5);
  });

  it("queries without candidates or without rows get empty results, the others theirs", async () => {
    const candidates = candidatesOf(5);
    candidates.delete("q3");
    candidates.set("q4", new Int32Array(0));
    const content = { ...INPUT, queries: [...QUERIES.slice(0, 6), { id: "special", text: "" }] };
    candidates.set("special", Int32Array.from([1, 2]));
    const run = await new LmEmdRanker({ encoder: bert, includeSpecial: false }).rankCandidates(content, candidates, { k: 3 });
    expect(run.get("q3")!.size).toBe(0);
    expect(run.get("q4")!.size).toBe(0);
    expect(run.get("special")!.size).toBe(0);
    expect(run.get("q0")!.size).toBe(3);
    expect(run.get("q5")!.size).toBe(3);
  });
});

describe("idf tables kept across calls", () => {
  it("the kept table equals a fresh count, is handed out again, and is keyed by the texts", async () => {
    await clearNeuralMemo();
    const shared = await sharedEncoder({ encoder: bert });
    const texts = DOCS.map((d) => d.text);
    // Half of the texts encoded, the rest only tokenized (as under rerank).
    const encoded = await tokenRows(
      shared,
      texts.filter((_, i) => i % 2 === 0),
    );
    const rows = texts.map((_, i) => (i % 2 === 0 ? encoded[i / 2] : undefined));
    const kept = await idfTable(shared, texts, rows);
    expect(neuralMemoStats().idfTables).toBe(1);
    const fresh = await countFrequencies(
      encoder,
      texts,
      texts.map(() => undefined),
    );
    expect(kept.texts).toBe(fresh.texts);
    const every = await encoder.encodeTokens(texts);
    const tokens = new Set(every.flatMap((e) => e.tokens));
    for (const t of [...tokens, "[UNK]", "never-seen-token"]) {
      expect(kept.frequency(t), t).toBe(fresh.frequency(t));
      expect(kept.idf(t), t).toBe(fresh.idf(t));
    }
    // Same texts (whatever was encoded): the same table object; other texts: another table.
    expect(await idfTable(shared, texts, texts.map(() => undefined))).toBe(kept);
    expect(await idfTable(shared, texts.slice(1), texts.slice(1).map(() => undefined))).not.toBe(kept);
    expect(await idfTable(shared, [...texts].reverse(), texts.map(() => undefined))).not.toBe(kept);
    expect(neuralMemoStats().idfTables).toBe(3);
    await clearNeuralMemo();
    expect(neuralMemoStats().idfTables).toBe(0);
  });

  it("a second call reuses the table and gives the same run", async () => {
    await clearNeuralMemo();
    const ranker = createRanker("rerank", { encoder: staticModel, first: "bi-encoder", depth: 10, marginals: "idf", firstWeight: 0 });
    const first = await ranker.rank(INPUT, { k: 10 });
    expect(neuralMemoStats().idfTables).toBe(2); // documents and queries
    const second = await createRanker("rerank", { encoder: staticModel, first: "bi-encoder", depth: 10, marginals: "idf", firstWeight: 0 }).rank(INPUT, { k: 10 });
    expect(neuralMemoStats().idfTables).toBe(2);
    expect(second).toEqual(first);
  });

  it("IdfTable: ids and keys count alike (repeats once), weights are memoised until more texts are counted", async () => {
    const shared = await sharedEncoder({ encoder: bert });
    const [rows] = await tokenRows(shared, [DOCS[0]!.text]);
    const [tA, tB] = [...new Set(rows!.tokens)];
    const [idA, idB] = [encoder.tokenizer.tokenId(tA!)!, encoder.tokenizer.tokenId(tB!)!];
    const byKeys = new IdfTable(encoder);
    const byIds = new IdfTable(encoder);
    byKeys.addText([idA, idB, idB, "zz", "zz", idA]);
    byKeys.addText([idB]);
    byIds.addIds([idA, idB, idB, idA]);
    byIds.addIds([idB]);
    for (const t of [byKeys, byIds]) {
      expect(t.texts).toBe(2);
      expect(t.frequency(tA!)).toBe(1);
      expect(t.frequency(tB!)).toBe(2);
    }
    expect(byKeys.frequency("zz")).toBe(1);
    expect(byIds.frequency("zz")).toBe(0);
    const w = byKeys.weights(rows!, true);
    expect(byKeys.weights(rows!, true)).toBe(w);
    expect(byKeys.weights(rows!, false)).not.toBe(w);
    expect(Array.from(w)).toEqual(rows!.tokens.map((t) => Math.fround(byKeys.idf(t))));
    byKeys.addText([idA]);
    expect(byKeys.frequency(tA!)).toBe(2);
    const after = byKeys.weights(rows!, true);
    expect(after).not.toBe(w);
    expect(Array.from(after)).toEqual(rows!.tokens.map((t) => Math.fround(byKeys.idf(t))));
  });

  it("static encoders are tokenized by their own ids(): the ids encodeTokens gives", async () => {
    const e = await loadEncoder(staticModel, { maxLength: 7 });
    try {
      const ids = await tokenIdsOf(e);
      const keys = await tokenKeysOf(e);
      const texts = [...DOCS.map((d) => d.text), "", "Ünïcödé und 日本語 ??? [UNK] [CLS]"];
      const encoded = await e.encodeTokens(texts);
      texts.forEach((text, i) => {
        const expected = encoded[i]!.tokens.map((t) => e.tokenizer.tokenId(t)!);
        expect(Array.from(ids(text)), text).toEqual(expected);
        expect(keys(text), text).toEqual(expected);
      });
      // unitRows keeps the tokens the idf counting reads.
      const u = unitRows(encoded[0]!.embeddings, encoded[0]!.special, encoded[0]!.dim, texts[0]!, encoded[0]!.tokens);
      expect(u.tokens).toEqual(encoded[0]!.tokens);
    } finally {
      await e.dispose();
    }
  });
});

describe("static encoders: token rows kept as slots of one row table", () => {
  const texts = [
    ...DOCS.map((d) => d.text),
    ...QUERIES.map((q) => q.text),
    "Ünïcödé und 日本語 ??? [UNK] [CLS] typed specials [SEP]",
    "zzzqx unknownword 12345",
    WORDS_DE.join(" ").repeat(8), // longer than maxLength 64: truncated
  ];

  it("give exactly the rows, tokens and special flags of encodeTokens + unitRows, and encode only texts with new tokens", async () => {
    await clearNeuralMemo();
    const shared = await sharedEncoder({ encoder: staticModel, maxLength: 64 });
    const reference = await loadEncoder(staticModel, { maxLength: 64 });
    try {
      const spy = vi.spyOn(shared.encoder, "encodeTokens");
      const first = await tokenRows(shared, texts.slice(0, 40));
      const encodedFirst = spy.mock.calls.reduce((n, call) => n + call[0].length, 0);
      expect(encodedFirst).toBeGreaterThan(0);
      expect(encodedFirst).toBeLessThan(40); // texts whose tokens all had rows were not encoded
      spy.mockClear();
      const all = await tokenRows(shared, texts);
      expect(all.slice(0, 40)).toEqual(first); // from the memo
      const expected = await reference.encodeTokens(texts);
      let tabled = 0;
      all.forEach((rows, i) => {
        const e = expected[i]!;
        const want = unitRows(e.embeddings, e.special, e.dim, texts[i]!, e.tokens);
        if (rows instanceof TableTokenRows) tabled++;
        expect(rows.length, texts[i]).toBe(want.length);
        expect(rows.dim).toBe(want.dim);
        expect(rows.tokens).toEqual(want.tokens);
        expect(Array.from(rows.special)).toEqual(Array.from(want.special));
        expect(Array.from(rows.data)).toEqual(Array.from(want.data));
      });
      expect(tabled).toBe(texts.length);
      // The memo counts one unit per token of a tabled text (each distinct text once).
      const distinct = new Map(texts.map((t, i) => [t, all[i]!.length]));
      expect(neuralMemoStats().tokenTexts).toBe(distinct.size);
      expect(neuralMemoStats().tokenFloats).toBe([...distinct.values()].reduce((n, x) => n + x, 0));
      spy.mockRestore();
    } finally {
      await reference.dispose();
      await clearNeuralMemo();
    }
  });

  it("LM-EMD on tabled rows (idf, content rows only) equals per-query solves on the encoder's own rows, cold and warm", async () => {
    await clearNeuralMemo();
    const candidates = candidatesOf(12);
    const expected = await perQueryScores(staticModel, candidates, true, false);
    for (const memo of ["cold", "warm"]) {
      const run = await new LmEmdRanker({ encoder: staticModel, marginals: "idf", includeSpecial: false }).rankCandidates(INPUT, candidates, { k: 12 });
      for (const q of QUERIES) for (const [doc, score] of expected.get(q.id)!) expect(Math.abs(run.get(q.id)!.get(doc)! - score), `${memo} ${q.id} ${doc}`).toBeLessThan(1e-5);
    }
    // MaxSim reads the same memo: warm equals cold.
    const maxsim = () => createRanker("rerank", { encoder: staticModel, first: "bi-encoder", second: "maxsim", depth: 12, firstWeight: 0 });
    await clearNeuralMemo();
    const cold = await maxsim().rank(INPUT, { k: 12 });
    expect(await maxsim().rank(INPUT, { k: 12 })).toEqual(cold);
    await clearNeuralMemo();
  });
});
