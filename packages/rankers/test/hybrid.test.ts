import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFixtureModel } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clearNeuralMemo,
  createRanker,
  DEFAULT_HYBRID_LEXICAL_WEIGHT,
  fuseRuns,
  HybridRanker,
  LM_EMD_FIRST_WEIGHT,
  LM_EMD_LENGTH_GATE,
  MAXSIM_FIRST_WEIGHT,
  PooledRanker,
  rankerNames,
  rankerParameterNames,
  type RankingInput,
} from "../src/index.js";

// English queries over a mixed collection: German translations (the bi-encoder's side), English
// texts sharing words with the queries (BM25's side), and distractors.
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
    { id: "d2", text: "Das Museum zeigt Gemälde aus drei Jahrhunderten." },
    { id: "d3", text: "Wale sind die größten Tiere im Meer." },
    { id: "d4", text: "Im Winter liegt im Bergdorf viel Schnee." },
    { id: "d5", text: "Bienen sammeln Nektar von den Blumen." },
    { id: "e1", text: "The old town has a museum by the river." },
    { id: "e2", text: "Animals of the sea: whales, seals and fish." },
    { id: "e3", text: "Paintings of the three centuries." },
  ],
};
const DEPTH = 4;

let dir: string;
let st: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-hybrid-"));
  st = (await writeFixtureModel(join(dir, "st"), { kind: "sentence-transformers" })).dir;
});

afterAll(async () => {
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Ranks 1, 2, … in the order a ranker's run lists a query's documents (trec_eval order). */
const ranksOf = (hits: ReadonlyMap<string, number>) => new Map([...hits.keys()].map((id, i) => [id, i + 1]));

/** min–max normalised, all equal → 0, computed independently of the package's helpers. */
function normalised(hits: ReadonlyMap<string, number>): Map<string, number> {
  const values = [...hits.values()];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return new Map([...hits].map(([id, s]) => [id, hi > lo ? (s - lo) / (hi - lo) : 0]));
}

/** Checks a fused run against hand scores: same documents, scores, and trec_eval order. */
function expectFused(run: Run, expected: Map<string, Map<string, number>>, k: number): void {
  expect([...run.keys()]).toEqual(INPUT.queries.map((q) => q.id));
  for (const [qid, scores] of expected) {
    const order = [...scores].sort(([ia, a], [ib, b]) => b - a || (ia < ib ? 1 : -1)).slice(0, k);
    const hits = run.get(qid)!;
    expect([...hits.keys()], qid).toEqual(order.map(([id]) => id));
    for (const [id, s] of order) expect(hits.get(id), `${qid} ${id}`).toBeCloseTo(s, 12);
  }
}

describe("hybrid ranker", () => {
  it("fuses BM25's and the bi-encoder's top depth by weighted RRF (fusion rrf)", async () => {
    const hybrid = createRanker("hybrid", { encoder: st, lexical: "bm25", dense: "bi-encoder", depth: DEPTH, fusion: "rrf" });
    expect(hybrid.name).toBe(`hybrid(lexical=bm25(k1=1.2,b=0.75),dense=bi-encoder(encoder=${st}),depth=4,fusion=rrf,rrfK=60,lexicalWeight=0.5)`);
    const run = await hybrid.rank(INPUT, { k: 10 });
    const lexical = await createRanker("bm25").rank(INPUT, { k: DEPTH });
    const dense = await createRanker("bi-encoder", { encoder: st }).rank(INPUT, { k: DEPTH });
    const expected = new Map<string, Map<string, number>>();
    for (const q of INPUT.queries) {
      const rl = ranksOf(lexical.get(q.id)!);
      const rd = ranksOf(dense.get(q.id)!);
      const scores = new Map<string, number>();
      for (const id of new Set([...rl.keys(), ...rd.keys()])) {
        scores.set(id, (rl.has(id) ? 0.5 / (60 + rl.get(id)!) : 0) + (rd.has(id) ? 0.5 / (60 + rd.get(id)!) : 0));
      }
      expected.set(q.id, scores);
    }
    expectFused(run, expected, 10);
    // Both lists contribute: BM25 finds English documents the bi-encoder's top 4 may not hold.
    expect(expected.get("q1")!.size).toBeGreaterThan(DEPTH);
    // k cuts the fused list.
    const top2 = await hybrid.rank(INPUT, { k: 2 });
    for (const q of INPUT.queries) expect([...top2.get(q.id)!.keys()]).toEqual([...run.get(q.id)!.keys()].slice(0, 2));
  });

  it("interpolates min–max normalised scores with lexicalWeight (default DEFAULT_HYBRID_LEXICAL_WEIGHT)", async () => {
    const hybrid = createRanker("hybrid", { encoder: st, lexical: "bm25", dense: "bi-encoder", depth: DEPTH, fusion: "interpolate" });
    expect(hybrid.name).toBe(`hybrid(lexical=bm25(k1=1.2,b=0.75),dense=bi-encoder(encoder=${st}),depth=4,fusion=interpolate,lexicalWeight=${DEFAULT_HYBRID_LEXICAL_WEIGHT})`);
    const run = await hybrid.rank(INPUT, { k: 10 });
    const w = DEFAULT_HYBRID_LEXICAL_WEIGHT;
    const lexical = await createRanker("bm25").rank(INPUT, { k: DEPTH });
    const dense = await createRanker("bi-encoder", { encoder: st }).rank(INPUT, { k: DEPTH });
    const expected = new Map<string, Map<string, number>>();
    for (const q of INPUT.queries) {
      const nl = normalised(lexical.get(q.id)!);
      const nd = normalised(dense.get(q.id)!);
      const scores = new Map<string, number>();
      for (const id of new Set([...nl.keys(), ...nd.keys()])) scores.set(id, w * (nl.get(id) ?? 0) + (1 - w) * (nd.get(id) ?? 0));
      expected.set(q.id, scores);
    }
    expectFused(run, expected, 10);
    // lexicalWeight 1: BM25's normalised scores, 0 for the documents only the bi-encoder found.
    const lexicalOnly = await createRanker("hybrid", { encoder: st, lexical: "bm25", dense: "bi-encoder", depth: DEPTH, fusion: "interpolate", lexicalWeight: 1 }).rank(INPUT, { k: 10 });
    for (const q of INPUT.queries) {
      const nl = normalised(lexical.get(q.id)!);
      for (const [id, s] of lexicalOnly.get(q.id)!) expect(s, `${q.id} ${id}`).toBe(nl.get(id) ?? 0);
      expect(lexicalOnly.get(q.id)!.size).toBe(expected.get(q.id)!.size);
    }
  });

  it("with dense rerank fuses BM25 with the bi-encoder's top depth reranked by the second stage", async () => {
    const params = { encoder: st, depth: DEPTH, second: "maxsim", firstWeight: 0.25 };
    const hybrid = createRanker("hybrid", { ...params, lexical: "bm25", dense: "rerank", fusion: "rrf" });
    const rerank = createRanker("rerank", { ...params, first: "bi-encoder" });
    expect(hybrid.name).toBe(`hybrid(lexical=bm25(k1=1.2,b=0.75),dense=${rerank.name},depth=4,fusion=rrf,rrfK=60,lexicalWeight=0.5)`);
    expect(rerank.name).toBe(`rerank(first=bi-encoder(encoder=${st}),depth=4,second=maxsim(encoder=${st}),firstWeight=0.25)`);
    const run = await hybrid.rank(INPUT, { k: 10 });
    const expected = fuseRuns(await createRanker("bm25").rank(INPUT, { k: DEPTH }), await rerank.rank(INPUT, { k: DEPTH }), { method: "rrf", weight: 0.5, k: 10 });
    expect(run).toEqual(expected);
    for (const q of INPUT.queries) expect([...run.get(q.id)!.keys()]).toEqual([...expected.get(q.id)!.keys()]);
  });

  it("reports progress through both components, ending at 1000 of 1000", async () => {
    const calls: [number, number][] = [];
    await createRanker("hybrid", { encoder: st, lexical: "bm25", dense: "rerank", second: "bert-mean", depth: DEPTH }).rank(INPUT, {
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(calls.at(-1)).toEqual([1000, 1000]);
    expect(calls.every(([done, total]) => total === 1000 && done >= 0 && done <= total)).toBe(true);
    // The lexical ranker reports into the first half, the dense one into the second.
    expect(calls.some(([done]) => done > 0 && done <= 500)).toBe(true);
    expect(calls.some(([done]) => done > 500 && done < 1000)).toBe(true);
  });

  it('with lexical "auto" uses bm25 for a pair without a dictionary, and says so through lexicalFor', async () => {
    const auto = createRanker("hybrid", { encoder: st, depth: DEPTH }) as HybridRanker;
    expect(auto.name).toBe(
      `hybrid(lexical=auto,dense=rerank(first=bi-encoder(encoder=${st}),depth=4,second=maxsim(encoder=${st}),firstWeight=${MAXSIM_FIRST_WEIGHT}),depth=4,fusion=interpolate,lexicalWeight=${DEFAULT_HYBRID_LEXICAL_WEIGHT})`,
    );
    // Debian has no Thai dictionary at all; the same language or an unknown one needs none.
    expect(await auto.lexicalFor("th", "en")).toBe("bm25");
    expect(await auto.lexicalFor("th", "de")).toBe("bm25");
    expect(await auto.lexicalFor("en", "en")).toBe("bm25");
    expect(await auto.lexicalFor("en-GB", "en")).toBe("bm25");
    expect(await auto.lexicalFor(undefined, "en")).toBe("bm25");
    const thai = { ...INPUT, queryLang: "th" };
    const run = await auto.rank(thai, { k: 10 });
    expect(run).toEqual(await createRanker("hybrid", { encoder: st, depth: DEPTH, lexical: "bm25" }).rank(thai, { k: 10 }));
    // bm25-psq itself would have failed on that pair.
    const psq = createRanker("hybrid", { encoder: st, depth: DEPTH, lexical: "bm25-psq" }) as HybridRanker;
    expect(await psq.lexicalFor("th", "de")).toBe("bm25-psq");
    await expect(psq.rank(thai)).rejects.toThrow(/^no dictionary for th→de/);
    expect(await (createRanker("hybrid", { encoder: st, lexical: "bm25" }) as HybridRanker).lexicalFor("de", "en")).toBe("bm25");
  });

  const german = existsSync("/usr/share/dictd/freedict-deu-eng.index") || existsSync("/usr/share/dictd/freedict-eng-deu.index");
  it.skipIf(!german)('with lexical "auto" uses bm25-psq where a dictionary is installed (skipped without dict-freedict-deu-eng)', async () => {
    const auto = new HybridRanker({ dense: new PooledRanker("bi-encoder", { encoder: st }) });
    expect(await auto.lexicalFor("de", "en")).toBe("bm25-psq");
    expect(await auto.lexicalFor("en", "de_AT")).toBe("bm25-psq");
  });
});

describe("hybrid ranker parameters", () => {
  it("takes its first stages from createRanker's firstStages when a store gives them", async () => {
    // A store's stages: fixed runs that name every query, with documents the registry's rankers would not pick.
    const calls: string[] = [];
    const stage = (name: string, docs: string[]) => ({
      name,
      rank: async (input: RankingInput, options: { k?: number } = {}): Promise<Run> => {
        calls.push(`${name}@${options.k}`);
        return new Map(input.queries.map((q) => [q.id, new Map(docs.map((d, i) => [d, 10 - i]))]));
      },
    });
    const firstStages = { bm25: stage("sql-bm25", ["d4", "d5"]), "bi-encoder": stage("sql-dense", ["d5", "e3"]) };
    const hybrid = createRanker("hybrid", { encoder: st, lexical: "bm25", dense: "bi-encoder", depth: DEPTH }, { firstStages });
    expect(hybrid.name).toContain("lexical=sql-bm25,dense=sql-dense");
    const run = await hybrid.rank(INPUT, { k: 3 });
    expect(calls).toEqual([`sql-bm25@${DEPTH}`, `sql-dense@${DEPTH}`]);
    expect([...run.get("q1")!.keys()]).toEqual(["d5", "d4", "e3"]);
    const rerank = createRanker("rerank", { encoder: st, first: "bm25", second: "maxsim", depth: 2 }, { firstStages });
    expect(rerank.name).toContain("first=sql-bm25");
    expect(new Set((await rerank.rank(INPUT, { k: 5 })).get("q2")!.keys())).toEqual(new Set(["d4", "d5"]));
  });

  it("is registered, needs an encoder, and lists its parameters", () => {
    expect(rankerNames()).toContain("hybrid");
    // Defaults: dense rerank (the bi-encoder's top depth re-ranked by MaxSim), fusion interpolate.
    expect(createRanker("hybrid").name).toBe(
      `hybrid(lexical=auto,dense=rerank(first=bi-encoder(encoder=crossrank-static),depth=100,second=maxsim(encoder=crossrank-static),firstWeight=${MAXSIM_FIRST_WEIGHT}),depth=100,fusion=interpolate,lexicalWeight=${DEFAULT_HYBRID_LEXICAL_WEIGHT})`,
    );
    expect(rankerParameterNames("hybrid")).toEqual(expect.arrayContaining(["encoder", "lexical", "dense", "depth", "fusion", "rrfK", "lexicalWeight", "second", "firstWeight", "marginals"]));
    expect(createRanker("hybrid", { encoder: "m", dense: "bi-encoder", fusion: "rrf", rrfK: 10, lexicalWeight: 0.7, depth: 50 }).name).toBe(
      "hybrid(lexical=auto,dense=bi-encoder(encoder=m),depth=50,fusion=rrf,rrfK=10,lexicalWeight=0.7)",
    );
    expect(createRanker("hybrid", { encoder: "m", dense: "rerank", lexical: "bm25-psq" }).name).toBe(
      `hybrid(lexical=bm25-psq(k1=1.2,b=0.75),dense=rerank(first=bi-encoder(encoder=m),depth=100,second=maxsim(encoder=m),firstWeight=${MAXSIM_FIRST_WEIGHT}),depth=100,fusion=interpolate,lexicalWeight=${DEFAULT_HYBRID_LEXICAL_WEIGHT})`,
    );
    // An LM-EMD second stage takes its parameters and its own firstWeight default.
    expect(createRanker("hybrid", { encoder: "m", dense: "rerank", second: "lm-emd", lexical: "bm25-psq", fusion: "rrf" }).name).toBe(
      `hybrid(lexical=bm25-psq(k1=1.2,b=0.75),dense=rerank(first=bi-encoder(encoder=m),depth=100,second=lm-emd(encoder=m,gamma=0.1,iterations=100),firstWeight=${LM_EMD_FIRST_WEIGHT},lengthGate=${LM_EMD_LENGTH_GATE}),depth=100,fusion=rrf,rrfK=60,lexicalWeight=0.5)`,
    );
  });

  it("rejects bad values and combinations in one line, naming the ranker and parameter", () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ lexical: "psq" }, 'parameter lexical of ranker hybrid must be a string "auto" or "bm25" or "bm25-psq"; got the string "psq"'],
      [{ dense: "maxsim" }, 'parameter dense of ranker hybrid must be a string "bi-encoder" or "rerank"; got the string "maxsim"'],
      [{ fusion: "sum" }, 'parameter fusion of ranker hybrid must be a string "rrf" or "interpolate"; got the string "sum"'],
      [{ depth: 0 }, "parameter depth of ranker hybrid must be a whole number >= 1; got 0"],
      [{ rrfK: -1 }, "parameter rrfK of ranker hybrid must be a number >= 0; got -1"],
      [{ lexicalWeight: 1.2 }, "parameter lexicalWeight of ranker hybrid must be a number in [0, 1]; got 1.2"],
      [{ fusion: "interpolate", rrfK: 60 }, "parameter rrfK of ranker hybrid does not apply to fusion interpolate"],
      [{ rrfK: 60 }, "parameter rrfK of ranker hybrid does not apply to fusion interpolate"],
      [{ dense: "bi-encoder", second: "maxsim" }, "parameter second of ranker hybrid does not apply to dense bi-encoder (only to dense rerank)"],
      [{ dense: "bi-encoder", firstWeight: 0.5 }, "parameter firstWeight of ranker hybrid does not apply to dense bi-encoder (only to dense rerank)"],
      [{ dense: "rerank", second: "maxsim", gamma: 0.2 }, "parameter gamma of ranker hybrid does not apply to second stage maxsim"],
      [{ dense: "rerank", firstWeight: -0.5 }, "parameter firstWeight of ranker hybrid must be a number in [0, 1]; got -0.5"],
      [{ k1: 1 }, 'unknown parameter "k1" for ranker hybrid; accepted: encoder'],
    ];
    for (const [params, message] of bad) {
      let error: unknown;
      try {
        createRanker("hybrid", { encoder: "m", ...params });
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(params)).toBeInstanceOf(Error);
      expect((error as Error).message, JSON.stringify(params)).toContain(message);
      expect((error as Error).message).not.toContain("\n");
    }
    const dense = new PooledRanker("bi-encoder", { encoder: "m" });
    expect(() => new HybridRanker({ dense, lexicalWeight: 2 })).toThrow("ranker hybrid: lexicalWeight must be a number in [0, 1], got 2");
    expect(() => new HybridRanker({ dense, fusion: "interpolate", rrfK: 5 })).toThrow('ranker hybrid: rrfK applies to fusion "rrf" only');
    expect(() => new HybridRanker({ dense, lexical: "psq" as "bm25" })).toThrow('ranker hybrid: lexical must be "auto", "bm25" or "bm25-psq", got "psq"');
  });
});
