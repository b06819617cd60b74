import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Encoder, loadEncoder, type TokenEmbeddings, writeFixtureModel } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import { cosineCost, linearProblem, matrix, sinkhorn } from "@crossrank/ot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clearNeuralMemo, countDocumentFrequencies, createRanker, explainPair, LmEmdRanker, type RankingInput } from "../src/index.js";
import { countFrequencies, smoothedIdf, tokenKeysOf } from "../src/neural/idf.js";

// English queries, German documents; "die" is in every document but d5, "der" in d1 and d5 only.
const INPUT: RankingInput = {
  queryLang: "en",
  docLang: "de",
  queries: [
    { id: "q1", text: "The river flows slowly through the old town." },
    { id: "q2", text: "The museum shows paintings from the last three centuries." },
    { id: "q3", text: "Whales are the largest animals in the sea." },
  ],
  documents: [
    { id: "d1", text: "Der Fluss fließt langsam durch die alte Stadt." },
    { id: "d2", text: "Das Museum zeigt die Gemälde aus drei Jahrhunderten." },
    { id: "d3", text: "Wale sind die größten Tiere im Meer." },
    { id: "d4", text: "Im Winter liegt die Stadt unter Schnee." },
    { id: "d5", text: "Bienen sammeln Nektar von der Blume." },
    { id: "d6", text: "Licht ist schneller als die Schall.", title: "Physik" },
  ],
};
const DOC_TEXTS = INPUT.documents.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));
const QUERY_TEXTS = INPUT.queries.map((q) => q.text);
const ALL = INPUT.documents.length;

let dir: string;
let bert: string;
let encoder: Encoder;
let queryTokens: TokenEmbeddings[];
let docTokens: TokenEmbeddings[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-lm-emd-idf-"));
  bert = (await writeFixtureModel(join(dir, "bert"))).dir;
  encoder = await loadEncoder(bert);
  queryTokens = await encoder.encodeTokens(QUERY_TEXTS);
  docTokens = await encoder.encodeTokens(DOC_TEXTS);
});

afterAll(async () => {
  await encoder?.dispose();
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function scoreOf(run: Run, q: number, d: number): number {
  const s = run.get(INPUT.queries[q]!.id)?.get(INPUT.documents[d]!.id);
  expect(s, `score of ${INPUT.documents[d]!.id} for ${INPUT.queries[q]!.id}`).toBeDefined();
  return s!;
}

/** Smoothed idf of each token string over `texts`, by hand: df = texts holding the token at least once. */
function idfByHand(texts: readonly TokenEmbeddings[]): Map<string, number> {
  const df = new Map<string, number>();
  for (const t of texts) for (const token of new Set(t.tokens)) df.set(token, (df.get(token) ?? 0) + 1);
  const n = texts.length;
  return new Map([...df].map(([token, f]) => [token, Math.log((n + 1) / (f + 1)) + 1]));
}

/** The rows (and their tokens) that take part. */
function kept(t: TokenEmbeddings, includeSpecial: boolean): { rows: ReturnType<typeof matrix>; tokens: string[] } {
  const keep = t.tokens.map((_, i) => i).filter((i) => includeSpecial || !t.special[i]);
  return {
    rows: matrix(keep.length, t.dim, keep.flatMap((i) => Array.from(t.embeddings.subarray(i * t.dim, (i + 1) * t.dim)))),
    tokens: keep.map((i) => t.tokens[i]!),
  };
}

/** −(100 kernel-domain Sinkhorn iterations' cost) on 1 − cosine, with idf marginals computed by hand. */
function expectedIdfScore(q: number, d: number, includeSpecial: boolean): number {
  const qIdf = idfByHand(queryTokens);
  const dIdf = idfByHand(docTokens);
  const qk = kept(queryTokens[q]!, includeSpecial);
  const dk = kept(docTokens[d]!, includeSpecial);
  const a = qk.tokens.map((t) => qIdf.get(t)!);
  const b = dk.tokens.map((t) => dIdf.get(t)!);
  return -sinkhorn(linearProblem(cosineCost(qk.rows, dk.rows), a, b), { reg: 0.1, maxIter: 100, tol: 0, method: "kernel" }).cost;
}

describe("lm-emd marginals", () => {
  it('marginals: "uniform" gives exactly the run of the default, and names itself', async () => {
    const byDefault = createRanker("lm-emd", { encoder: bert, otBackend: "js" });
    const uniform = createRanker("lm-emd", { encoder: bert, otBackend: "js", marginals: "uniform" });
    expect(byDefault.name).toBe(`lm-emd(encoder=${bert},gamma=0.1,iterations=100,otBackend=js)`);
    expect(uniform.name).toBe(`lm-emd(encoder=${bert},gamma=0.1,iterations=100,marginals=uniform,otBackend=js)`);
    expect((uniform as LmEmdRanker).params.marginals).toBe("uniform");
    expect(await uniform.rank(INPUT, { k: ALL })).toEqual(await byDefault.rank(INPUT, { k: ALL }));
  });

  it('marginals: "idf" weights each token by its smoothed idf over its own side, as computed by hand', async () => {
    const ranker = createRanker("lm-emd", { encoder: bert, otBackend: "js", marginals: "idf" });
    expect(ranker.name).toBe(`lm-emd(encoder=${bert},gamma=0.1,iterations=100,marginals=idf,otBackend=js)`);
    const run = await ranker.rank(INPUT, { k: ALL });
    const content = await createRanker("lm-emd", { encoder: bert, otBackend: "js", marginals: "idf", includeSpecial: false }).rank(INPUT, { k: ALL });
    for (let q = 0; q < QUERY_TEXTS.length; q++) {
      for (let d = 0; d < ALL; d++) {
        expect(Math.abs(scoreOf(run, q, d) - expectedIdfScore(q, d, true))).toBeLessThan(1e-4);
        expect(Math.abs(scoreOf(content, q, d) - expectedIdfScore(q, d, false))).toBeLessThan(1e-4);
      }
    }
    // The solver's default backend (float32) agrees too.
    const auto = await createRanker("lm-emd", { encoder: bert, marginals: "idf" }).rank(INPUT, { k: ALL });
    expect(Math.abs(scoreOf(auto, 0, 0) - expectedIdfScore(0, 0, true))).toBeLessThan(1e-3);
  });

  it("a token in every text gets the minimum idf, 1, and weighting changes the scores", async () => {
    expect(smoothedIdf(ALL, ALL)).toBe(1);
    expect(smoothedIdf(0, ALL)).toBeGreaterThan(smoothedIdf(1, ALL));
    const dIdf = idfByHand(docTokens);
    const table = await countFrequencies(
      encoder,
      DOC_TEXTS,
      docTokens.map(() => undefined),
    );
    expect(table.texts).toBe(ALL);
    // CLS/SEP are in every document; "die" in all but one; "Fluss" in one.
    for (const token of ["[CLS]", "[SEP]"]) {
      expect(table.frequency(token)).toBe(ALL);
      expect(table.idf(token)).toBe(1);
    }
    const minimum = Math.min(...dIdf.values());
    expect(minimum).toBe(1);
    for (const [token, idf] of dIdf) {
      expect(table.idf(token)).toBeCloseTo(idf, 12);
      expect(idf).toBeGreaterThanOrEqual(1);
    }
    expect(docTokens[0]!.tokens).toContain("die");
    expect(table.frequency("die")).toBe(ALL - 1);
    expect(table.idf("die")).toBeCloseTo(Math.log((ALL + 1) / ALL) + 1, 12);
    const uniform = await createRanker("lm-emd", { encoder: bert, otBackend: "js" }).rank(INPUT, { k: ALL });
    const idf = await createRanker("lm-emd", { encoder: bert, otBackend: "js", marginals: "idf" }).rank(INPUT, { k: ALL });
    let largest = 0;
    for (let q = 0; q < QUERY_TEXTS.length; q++) for (let d = 0; d < ALL; d++) largest = Math.max(largest, Math.abs(scoreOf(idf, q, d) - scoreOf(uniform, q, d)));
    expect(largest).toBeGreaterThan(1e-3);
  });

  it("counts document frequencies over the whole collection under rerank, not over the candidates", async () => {
    const depth = 2;
    // firstWeight 0: the run holds the second stage's raw scores, to compare with lm-emd's.
    const rerank = createRanker("rerank", { encoder: bert, first: "bert-mean", depth, otBackend: "js", marginals: "idf", firstWeight: 0, lengthGate: 0 });
    expect(rerank.name).toBe(`rerank(first=bert-mean(encoder=${bert}),depth=2,second=lm-emd(encoder=${bert},gamma=0.1,iterations=100,marginals=idf,otBackend=js))`);
    await clearNeuralMemo(); // so that the non-candidates are really never encoded
    const run = await rerank.rank(INPUT, { k: 10 });
    const full = await createRanker("lm-emd", { encoder: bert, otBackend: "js", marginals: "idf" }).rank(INPUT, { k: ALL });
    for (const q of INPUT.queries) {
      const hits = run.get(q.id)!;
      expect(hits.size).toBe(depth);
      for (const [doc, score] of hits) expect(Math.abs(score - full.get(q.id)!.get(doc)!)).toBeLessThan(1e-9);
    }
  });

  it("tokenizes unencoded texts into the tokens encodeTokens gives (transformer, truncated, static)", async () => {
    const texts = [...DOC_TEXTS, ...QUERY_TEXTS, "", "Ünïcödé und 日本語 ???"];
    const staticDir = (await writeFixtureModel(join(dir, "static"), { kind: "static" })).dir;
    const truncated = await loadEncoder(bert, { maxLength: 5 });
    const staticEncoder = await loadEncoder(staticDir, { maxLength: 4 });
    // A sentence-transformers model that lower-cases before tokenizing (do_lower_case).
    const stDir = (await writeFixtureModel(join(dir, "st-lower"), { kind: "sentence-transformers" })).dir;
    const configFile = join(stDir, "sentence_bert_config.json");
    await writeFile(configFile, JSON.stringify({ ...JSON.parse(await readFile(configFile, "utf8")), do_lower_case: true }));
    const lower = await loadEncoder(stDir);
    try {
      expect((await lower.encodeTokens(["Der Fluss"]))[0]!.text).toBe("der fluss");
      for (const e of [encoder, truncated, staticEncoder, lower]) {
        const keys = await tokenKeysOf(e);
        const encoded = await e.encodeTokens(texts);
        texts.forEach((text, i) => {
          // The same tokens, as many times each (the order does not matter for counting).
          const expected = encoded[i]!.tokens.map((t) => e.tokenizer.tokenId(t)!).sort((x, y) => x - y);
          expect(keys(text).sort((x, y) => x - y), `${e.id}: ${JSON.stringify(text)}`).toEqual(expected);
        });
      }
    } finally {
      await truncated.dispose();
      await staticEncoder.dispose();
      await lower.dispose();
    }
  });

  it("the registry checks marginals like the other parameters; explainPair refuses idf", async () => {
    expect(() => createRanker("lm-emd", { encoder: "m", marginals: "tfidf" })).toThrow('parameter marginals of ranker lm-emd must be a string "uniform" or "idf"; got the string "tfidf"');
    expect(() => createRanker("rerank", { encoder: "m", marginals: "tfidf" })).toThrow('parameter marginals of ranker rerank must be a string "uniform" or "idf"; got the string "tfidf"');
    expect(() => createRanker("rerank", { encoder: "m", second: "maxsim", marginals: "idf" })).toThrow("parameter marginals of ranker rerank does not apply to second stage maxsim");
    expect(() => new LmEmdRanker({ encoder: "m", marginals: "tfidf" as "idf" })).toThrow('ranker lm-emd: marginals must be "uniform" or "idf", got "tfidf"');
    expect(() => createRanker("maxsim", { encoder: "m", marginals: "idf" })).toThrow(/unknown parameter "marginals" for ranker maxsim/);
    await expect(explainPair(encoder, QUERY_TEXTS[0]!, DOC_TEXTS[0]!, { marginals: "idf" })).rejects.toThrow(/explainPair: marginals "idf" needs the document frequencies of a collection/);
  });

  it("explainPair with the collection's frequencies explains the idf-weighted ranker's score, and reports the marginals", async () => {
    const run = await createRanker("lm-emd", { encoder: bert, marginals: "idf", iterations: 200 }).rank(INPUT, { k: ALL });
    const documentFrequencies = await countDocumentFrequencies(encoder, DOC_TEXTS);
    const queryFrequencies = await countDocumentFrequencies(encoder, QUERY_TEXTS);
    const byHand = idfByHand(docTokens);
    for (const [q, d] of [
      [0, 0],
      [1, 5],
      [2, 2],
    ] as const) {
      const e = await explainPair(encoder, QUERY_TEXTS[q]!, DOC_TEXTS[d]!, { marginals: "idf", iterations: 200, documentFrequencies, queryFrequencies });
      expect(e.distance, `q${q} d${d}`).toBeCloseTo(-scoreOf(run, q, d), 5);
      // The document's mass is its tokens' idf over the collection, normalised; the plan's column sums match it.
      const idf = e.docTokens.map((t) => byHand.get(t)!);
      const total = idf.reduce((a, b) => a + b, 0);
      e.docTokens.forEach((_, j) => {
        expect(e.docMass[j]).toBeCloseTo(idf[j]! / total, 6);
        let column = 0;
        for (let i = 0; i < e.queryTokens.length; i++) column += e.plan[i * e.docTokens.length + j]!;
        expect(column).toBeCloseTo(e.docMass[j]!, 3);
      });
      expect(e.queryMass.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    }
    // Without query frequencies the query's tokens carry equal mass.
    const e = await explainPair(encoder, QUERY_TEXTS[0]!, DOC_TEXTS[0]!, { marginals: "idf", documentFrequencies });
    for (const m of e.queryMass) expect(m).toBeCloseTo(1 / e.queryTokens.length, 12);
  });
});
