import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Encoder, loadEncoder, type TokenEmbeddings, writeFixtureModel } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import { cosineCost, linearProblem, matrix, sinkhorn } from "@crossrank/ot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clearNeuralMemo,
  createRanker,
  DEFAULT_RERANK_FIRST_WEIGHT,
  explainPair,
  LM_EMD_FIRST_WEIGHT,
  LM_EMD_LENGTH_GATE,
  LmEmdRanker,
  MaxSimRanker,
  neuralMemoStats,
  type RankingInput,
} from "../src/index.js";
import { MAXSIM_ONNX_MIN_WORK } from "../src/neural/maxsim-ranker.js";

// A tiny cross-lingual task from parallel sentences of the fixture model's corpus: English queries,
// German documents (translations and distractors), one document identical to a query (d6) and
// one with a title (d7, encoded as "title\ntext") and a very short one (d8).
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
    { id: "d6", text: "The museum shows paintings from the last three centuries." },
    { id: "d7", text: "Licht ist schneller als Schall.", title: "Physik" },
    // Short, so that its batch pads it a lot (bert-max's faithful quirk shows on such texts).
    { id: "d8", text: "Ja." },
  ],
};
const DOC_TEXTS = INPUT.documents.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));
const QUERY_TEXTS = INPUT.queries.map((q) => q.text);
const ALL = INPUT.documents.length;

let dir: string;
let bert: string;
let st: string;
let encoder: Encoder;
let queryTokens: TokenEmbeddings[];
let docTokens: TokenEmbeddings[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-neural-"));
  bert = (await writeFixtureModel(join(dir, "bert"))).dir;
  st = (await writeFixtureModel(join(dir, "st"), { kind: "sentence-transformers" })).dir;
  // A separate encoder for the hand computations (the rankers share their own).
  encoder = await loadEncoder(bert);
  queryTokens = await encoder.encodeTokens(QUERY_TEXTS);
  docTokens = await encoder.encodeTokens(DOC_TEXTS);
});

afterAll(async () => {
  await encoder?.dispose();
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Rows of one text as a float64 matrix. */
const rowsOf = (t: TokenEmbeddings) => matrix(t.tokens.length, t.dim, t.embeddings);

function unit(v: Float64Array): Float64Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Masked pooling by hand over every row (CLS/SEP included); `paddedTo` zeros in padding rows for max. */
function pool(t: TokenEmbeddings, how: "mean" | "max", paddedTo = 0): Float64Array {
  const n = t.tokens.length;
  const v = new Float64Array(t.dim).fill(how === "mean" ? 0 : -Infinity);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < t.dim; k++) {
      const x = t.embeddings[r * t.dim + k]!;
      v[k] = how === "mean" ? v[k]! + x / n : Math.max(v[k]!, x);
    }
  }
  if (how === "max" && n < paddedTo) for (let k = 0; k < t.dim; k++) v[k] = Math.max(v[k]!, 0);
  return v;
}

/** Every (query, document) score of a run made with k ≥ the collection. */
function scoreOf(run: Run, q: number, d: number): number {
  const s = run.get(INPUT.queries[q]!.id)!.get(INPUT.documents[d]!.id);
  expect(s, `score of ${INPUT.documents[d]!.id} for ${INPUT.queries[q]!.id}`).toBeDefined();
  return s!;
}

function expectRunShape(run: Run, k: number): void {
  expect([...run.keys()]).toEqual(INPUT.queries.map((q) => q.id));
  for (const hits of run.values()) {
    expect(hits.size).toBe(Math.min(k, ALL));
    const scores = [...hits.values()];
    for (const s of scores) expect(Number.isFinite(s)).toBe(true);
    for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeLessThanOrEqual(scores[i - 1]!);
  }
}

describe("neural rankers on the fixture model", () => {
  it("every ranker returns top-k runs with finite scores, and ranks a copy of the query first", async () => {
    const rankers = [
      createRanker("bert-cls", { encoder: bert }),
      createRanker("bert-max", { encoder: bert }),
      createRanker("bert-mean", { encoder: bert }),
      createRanker("bi-encoder", { encoder: st }),
      createRanker("maxsim", { encoder: bert }),
      createRanker("lm-emd", { encoder: bert }),
      createRanker("lm-emd", { encoder: bert, preset: "faithful" }),
    ];
    for (const ranker of rankers) {
      const run = await ranker.rank(INPUT, { k: 3 });
      expectRunShape(run, 3);
      // d6 is q2 word for word: cosine 1, MaxSim = every query token matched exactly, EMD ≈ 0.
      expect([...run.get("q2")!.keys()][0], ranker.name).toBe("d6");
    }
    const rerank = await createRanker("rerank", { encoder: bert, first: "bert-mean", depth: 2 }).rank(INPUT, { k: 3 });
    for (const hits of rerank.values()) expect(hits.size).toBe(2);
  });

  it("bert-mean is the cosine of mean-pooled token rows; the faithful mean only rescales, so it scores the same", async () => {
    const run = await createRanker("bert-mean", { encoder: bert }).rank(INPUT, { k: ALL });
    const faithful = await createRanker("bert-mean", { encoder: bert, preset: "faithful" }).rank(INPUT, { k: ALL });
    for (let q = 0; q < QUERY_TEXTS.length; q++) {
      const qv = unit(pool(queryTokens[q]!, "mean"));
      for (let d = 0; d < ALL; d++) {
        const expected = dot(qv, unit(pool(docTokens[d]!, "mean")));
        expect(scoreOf(run, q, d)).toBeCloseTo(expected, 5);
        expect(scoreOf(faithful, q, d)).toBeCloseTo(expected, 5);
      }
    }
  });

  it("bert-max faithful zeroes padding into the max (texts shorter than their batch), the default does not", async () => {
    const run = await createRanker("bert-max", { encoder: bert }).rank(INPUT, { k: ALL });
    const faithful = await createRanker("bert-max", { encoder: bert, preset: "faithful" }).rank(INPUT, { k: ALL });
    // One batch each (fewer texts than the batch size 16): padded to its longest text.
    const qLen = Math.max(...queryTokens.map((t) => t.tokens.length));
    const dLen = Math.max(...docTokens.map((t) => t.tokens.length));
    let differs = 0;
    for (let q = 0; q < QUERY_TEXTS.length; q++) {
      for (let d = 0; d < ALL; d++) {
        const masked = dot(unit(pool(queryTokens[q]!, "max")), unit(pool(docTokens[d]!, "max")));
        const padded = dot(unit(pool(queryTokens[q]!, "max", qLen)), unit(pool(docTokens[d]!, "max", dLen)));
        expect(scoreOf(run, q, d)).toBeCloseTo(masked, 5);
        expect(scoreOf(faithful, q, d)).toBeCloseTo(padded, 5);
        if (Math.abs(masked - padded) > 1e-3) differs++;
      }
    }
    expect(differs).toBeGreaterThan(0);
  });

  it("bert-cls is the cosine of the first token's vectors; bi-encoder the cosine of the model's own sentence vectors", async () => {
    const cls = await createRanker("bert-cls", { encoder: bert }).rank(INPUT, { k: ALL });
    for (let q = 0; q < QUERY_TEXTS.length; q++) {
      for (let d = 0; d < ALL; d++) {
        const expected = dot(unit(Float64Array.from(queryTokens[q]!.embeddings.subarray(0, encoder.dim))), unit(Float64Array.from(docTokens[d]!.embeddings.subarray(0, encoder.dim))));
        expect(scoreOf(cls, q, d)).toBeCloseTo(expected, 5);
      }
    }
    const stEncoder = await loadEncoder(st);
    try {
      const qs = await stEncoder.encode(QUERY_TEXTS);
      const ds = await stEncoder.encode(DOC_TEXTS);
      const row = (m: { dim: number; data: Float32Array }, i: number) => unit(Float64Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim)));
      const bi = await createRanker("bi-encoder", { encoder: st }).rank(INPUT, { k: ALL });
      for (let q = 0; q < QUERY_TEXTS.length; q++) {
        for (let d = 0; d < ALL; d++) expect(scoreOf(bi, q, d)).toBeCloseTo(dot(row(qs, q), row(ds, d)), 5);
      }
      expect(qs.dim).toBe(stEncoder.sentenceDim);
    } finally {
      await stEncoder.dispose();
    }
  });

  it("maxsim is Σ_i max_j cos(q_i, d_j) over every token (and over content tokens with includeSpecial: false)", async () => {
    const cos = (q: TokenEmbeddings, d: TokenEmbeddings) => cosineCost(rowsOf(q), rowsOf(d));
    const hand = (q: TokenEmbeddings, d: TokenEmbeddings, includeSpecial: boolean) => {
      const c = cos(q, d);
      let total = 0;
      for (let i = 0; i < c.rows; i++) {
        if (!includeSpecial && q.special[i]) continue;
        let best = -Infinity;
        for (let j = 0; j < c.cols; j++) if (includeSpecial || !d.special[j]) best = Math.max(best, 1 - c.data[i * c.cols + j]!);
        total += best;
      }
      return total;
    };
    const run = await createRanker("maxsim", { encoder: bert }).rank(INPUT, { k: ALL });
    const content = await createRanker("maxsim", { encoder: bert, includeSpecial: false }).rank(INPUT, { k: ALL });
    for (let q = 0; q < QUERY_TEXTS.length; q++) {
      for (let d = 0; d < ALL; d++) {
        expect(scoreOf(run, q, d)).toBeCloseTo(hand(queryTokens[q]!, docTokens[d]!, true), 4);
        expect(scoreOf(content, q, d)).toBeCloseTo(hand(queryTokens[q]!, docTokens[d]!, false), 4);
      }
    }
    // The exact copy scores the most a query can: one per query token.
    expect(scoreOf(run, 1, 5)).toBeCloseTo(queryTokens[1]!.tokens.length, 4);
  });

  it("maxsim on onnxruntime equals the JS loop (1e-5 relative), with and without candidates", async () => {
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
    const candidates = new Map([
      ["q1", Int32Array.from([0, 3, 6])],
      ["q2", Int32Array.from([5, 1, 7, 2])],
    ]);
    for (const includeSpecial of [true, false]) {
      const js = new MaxSimRanker({ encoder: bert, includeSpecial, scoring: "js" });
      const onnx = new MaxSimRanker({ encoder: bert, includeSpecial, scoring: "onnx" });
      const runs = [await js.rank(INPUT, { k: ALL }), await onnx.rank(INPUT, { k: ALL })] as const;
      const cands = [await js.rankCandidates(INPUT, candidates, { k: ALL }), await onnx.rankCandidates(INPUT, candidates, { k: ALL })] as const;
      for (const [expected, actual] of [runs, cands]) {
        expect([...actual.keys()]).toEqual([...expected.keys()]);
        for (const [qid, hits] of expected) {
          // Same documents in the same order, scores within float32 rounding.
          expect([...actual.get(qid)!.keys()], qid).toEqual([...hits.keys()]);
          for (const [doc, score] of hits) expect(rel(actual.get(qid)!.get(doc)!, score), `${qid} ${doc}`).toBeLessThanOrEqual(1e-5);
        }
      }
      expect(cands[1].get("q1")!.size).toBe(3);
      expect(cands[1].get("q3")!.size).toBe(0);
      // onnxruntime computes in float32, the JS loop sums in float64.
      for (const hits of runs[1].values()) for (const s of hits.values()) expect(Math.fround(s)).toBe(s);
    }
  });

  it("maxsim's auto scoring takes the JS loop below MAXSIM_ONNX_MIN_WORK per query and onnxruntime from there on", async () => {
    const rows = (t: TokenEmbeddings) => t.tokens.length;
    const dim = docTokens[0]!.dim;
    const isFloat32 = (hits: Map<string, number>) => [...hits.values()].every((s) => Math.fround(s) === s);
    const auto = new MaxSimRanker({ encoder: bert });
    const js = new MaxSimRanker({ encoder: bert, scoring: "js" });
    // Two short candidates for q1 (JS, float64 sums), all documents for q2 (onnxruntime, float32).
    const small = [4, 7];
    const candidates = new Map([
      ["q1", Int32Array.from(small)],
      ["q2", Int32Array.from({ length: ALL }, (_, d) => d)],
    ]);
    expect(rows(queryTokens[0]!) * small.reduce((a, d) => a + rows(docTokens[d]!), 0) * dim).toBeLessThan(MAXSIM_ONNX_MIN_WORK);
    expect(rows(queryTokens[1]!) * docTokens.reduce((a, t) => a + rows(t), 0) * dim).toBeGreaterThanOrEqual(MAXSIM_ONNX_MIN_WORK);
    const run = await auto.rankCandidates(INPUT, candidates, { k: ALL });
    const reference = await js.rankCandidates(INPUT, candidates, { k: ALL });
    expect(isFloat32(run.get("q1")!)).toBe(false);
    expect(isFloat32(run.get("q2")!)).toBe(true);
    expect(isFloat32(reference.get("q2")!)).toBe(false);
    for (const [qid, hits] of reference) {
      for (const [doc, score] of hits) expect(Math.abs(run.get(qid)!.get(doc)! - score)).toBeLessThanOrEqual(1e-5 * Math.abs(score));
    }
  });

  it("lm-emd faithful is −(500 kernel-domain Sinkhorn iterations' cost) on 1 − cosine, as the single-pair solver gives", async () => {
    const expected = (q: number, d: number, iterations: number) =>
      -sinkhorn(linearProblem(cosineCost(rowsOf(queryTokens[q]!), rowsOf(docTokens[d]!))), { reg: 0.1, maxIter: iterations, tol: 0, method: "kernel" }).cost;
    // js: float64 iterations like the reference; auto (onnx here): float32, so a looser match.
    const js = await createRanker("lm-emd", { encoder: bert, preset: "faithful", otBackend: "js" }).rank(INPUT, { k: ALL });
    const auto = await createRanker("lm-emd", { encoder: bert, preset: "faithful" }).rank(INPUT, { k: ALL });
    const byDefault = await createRanker("lm-emd", { encoder: bert }).rank(INPUT, { k: ALL });
    for (let q = 0; q < QUERY_TEXTS.length; q++) {
      for (let d = 0; d < ALL; d++) {
        const e500 = expected(q, d, 500);
        expect(Math.abs(scoreOf(js, q, d) - e500)).toBeLessThan(1e-5);
        expect(Math.abs(scoreOf(auto, q, d) - e500)).toBeLessThan(1e-3);
        expect(Math.abs(scoreOf(byDefault, q, d) - expected(q, d, 100))).toBeLessThan(1e-3);
      }
    }
  });

  it("lm-emd leaves CLS/SEP out of the marginals with includeSpecial: false", async () => {
    const run = await createRanker("lm-emd", { encoder: bert, includeSpecial: false, otBackend: "js" }).rank(INPUT, { k: ALL });
    const content = (t: TokenEmbeddings) => {
      const keep = t.special.map((s, i) => (s ? -1 : i)).filter((i) => i >= 0);
      return matrix(keep.length, t.dim, keep.flatMap((i) => Array.from(t.embeddings.subarray(i * t.dim, (i + 1) * t.dim))));
    };
    for (let q = 0; q < QUERY_TEXTS.length; q++) {
      for (let d = 0; d < ALL; d++) {
        const e = -sinkhorn(linearProblem(cosineCost(content(queryTokens[q]!), content(docTokens[d]!))), { reg: 0.1, maxIter: 100, tol: 0, method: "kernel" }).cost;
        expect(Math.abs(scoreOf(run, q, d) - e)).toBeLessThan(1e-5);
      }
    }
  });

  it("rerank with firstWeight 0 scores only the first stage's top `depth` documents, with the second stage's scores", async () => {
    const depth = 3;
    const rerank = createRanker("rerank", { encoder: bert, first: "bert-mean", depth, otBackend: "js", firstWeight: 0, lengthGate: 0 });
    expect(rerank.name).toBe(`rerank(first=bert-mean(encoder=${bert}),depth=3,second=lm-emd(encoder=${bert},gamma=0.1,iterations=100,otBackend=js))`);
    const run = await rerank.rank(INPUT, { k: 10 });
    const first = await createRanker("bert-mean", { encoder: bert }).rank(INPUT, { k: depth });
    const full = await createRanker("lm-emd", { encoder: bert, otBackend: "js" }).rank(INPUT, { k: ALL });
    for (const q of INPUT.queries) {
      const hits = run.get(q.id)!;
      expect(hits.size).toBe(depth);
      expect([...hits.keys()].sort()).toEqual([...first.get(q.id)!.keys()].sort());
      for (const [doc, score] of hits) expect(score).toBeCloseTo(full.get(q.id)!.get(doc)!, 10);
    }
  });

  it("counts tokens as encodeTokens sees them, for lengthGate (transformer and static models)", async () => {
    const long = "Licht ist schneller als Schall. ".repeat(200);
    const texts = [...DOC_TEXTS, long, ""];
    const bertCounts = await new LmEmdRanker({ encoder: bert }).tokenCounts(texts);
    const bertTokens = await encoder.encodeTokens(texts);
    expect(bertCounts).toEqual(bertTokens.map((t) => t.tokens.length));
    expect(bertCounts[DOC_TEXTS.length]).toBe(encoder.maxLength);
    const staticModel = (await writeFixtureModel(join(dir, "static"), { kind: "static" })).dir;
    const staticEncoder = await loadEncoder(staticModel);
    try {
      const staticCounts = await new MaxSimRanker({ encoder: staticModel }).tokenCounts(texts);
      expect(staticCounts).toEqual((await staticEncoder.encodeTokens(texts)).map((t) => t.tokens.length));
      expect(staticCounts[DOC_TEXTS.length]).toBeGreaterThan(encoder.maxLength);
    } finally {
      await staticEncoder.dispose();
    }
  });

  it("rerank with firstWeight 0 (preset faithful's default) is the old rerank: the second stage's top k on the first stage's candidates", async () => {
    const depth = 4;
    for (const preset of ["default", "faithful"] as const) {
      const params = { encoder: bert, first: "bert-max", depth, otBackend: "js", preset };
      const rerank = createRanker("rerank", preset === "faithful" ? params : { ...params, firstWeight: 0, lengthGate: 0 });
      // What RerankRanker did before interpolation: the first stage's top depth as candidates, then
      // the second stage's rankCandidates with k = min(k, depth).
      const first = await createRanker("bert-max", { encoder: bert, preset }).rank(INPUT, { k: depth });
      const index = new Map(INPUT.documents.map((d, i) => [d.id, i]));
      const candidates = new Map([...first].map(([qid, hits]) => [qid, Int32Array.from(hits.keys(), (id) => index.get(id)!)]));
      const second = new LmEmdRanker({ encoder: bert, otBackend: "js", preset });
      for (const k of [2, 10]) {
        const run = await rerank.rank(INPUT, { k });
        const old = await second.rankCandidates(INPUT, candidates, { k: Math.min(k, depth) });
        expect([...run.entries()].map(([q, hits]) => [q, [...hits]])).toEqual([...old.entries()].map(([q, hits]) => [q, [...hits]]));
      }
      expect(rerank.name).toBe(`rerank(first=bert-max(encoder=${bert}${preset === "faithful" ? ",preset=faithful" : ""}),depth=4,second=${second.name})`);
    }
  });

  it("rerank interpolates the stages' min–max normalised scores; firstWeight 1 keeps the first stage's order", async () => {
    const depth = 5;
    const first = await createRanker("bert-mean", { encoder: bert }).rank(INPUT, { k: depth });
    const full = await createRanker("lm-emd", { encoder: bert, otBackend: "js" }).rank(INPUT, { k: ALL });
    const norm = (scores: Map<string, number>) => {
      const lo = Math.min(...scores.values());
      const hi = Math.max(...scores.values());
      return new Map([...scores].map(([id, s]) => [id, hi > lo ? (s - lo) / (hi - lo) : 0]));
    };
    const byFirst = await createRanker("rerank", { encoder: bert, first: "bert-mean", depth, otBackend: "js", firstWeight: 1 }).rank(INPUT, { k: 10 });
    // A weight other than 0.5, so that swapping the stages' weights would show.
    const w = 0.3;
    const mixed = await createRanker("rerank", { encoder: bert, first: "bert-mean", depth, otBackend: "js", firstWeight: w }).rank(INPUT, { k: 10 });
    for (const q of INPUT.queries) {
      const candidates = first.get(q.id)!;
      expect([...byFirst.get(q.id)!.keys()], q.id).toEqual([...candidates.keys()]);
      const n1 = norm(candidates);
      const n2 = norm(new Map([...candidates.keys()].map((id) => [id, full.get(q.id)!.get(id)!])));
      const hits = mixed.get(q.id)!;
      expect(hits.size).toBe(depth);
      for (const [id, s] of hits) expect(s, `${q.id} ${id}`).toBeCloseTo(w * n1.get(id)! + (1 - w) * n2.get(id)!, 6);
      const scores = [...hits.values()];
      for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeLessThanOrEqual(scores[i - 1]!);
    }
  });

  it("rerank with BM25 encodes only the candidates and the queries", async () => {
    await clearNeuralMemo();
    const first = await createRanker("bm25").rank(INPUT, { k: 2 });
    const candidates = new Set([...first.values()].flatMap((hits) => [...hits.keys()]));
    expect(candidates.size).toBeLessThan(ALL);
    const run = await createRanker("rerank", { encoder: bert, depth: 2 }).rank(INPUT);
    for (const q of INPUT.queries) {
      expect(run.get(q.id)!.size).toBe(first.get(q.id)!.size);
      expect([...run.get(q.id)!.keys()].sort()).toEqual([...first.get(q.id)!.keys()].sort());
    }
    // d6's text equals q2's: one memo entry for both.
    expect(neuralMemoStats().tokenTexts).toBeLessThanOrEqual(candidates.size + QUERY_TEXTS.length);
  });

  it("shares the encoder and the document embeddings between rankers, and reports progress up to its total", async () => {
    await clearNeuralMemo();
    const calls: [number, number][] = [];
    await createRanker("maxsim", { encoder: bert }).rank(INPUT, { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls.at(-1)).toEqual([ALL + 2 * QUERY_TEXTS.length, ALL + 2 * QUERY_TEXTS.length]);
    expect(calls.every(([done, total]) => done <= total)).toBe(true);
    const stats = neuralMemoStats();
    expect(stats.encoders).toBe(1);
    calls.length = 0;
    await createRanker("lm-emd", { encoder: bert }).rank(INPUT, { onProgress: (done, total) => calls.push([done, total]) });
    expect(neuralMemoStats()).toEqual(stats); // nothing new was encoded or loaded
  });

  it("loads fixture:bert (generated into CROSSRANK_CACHE_DIR) like the same model written to a folder", async () => {
    const saved = process.env.CROSSRANK_CACHE_DIR;
    process.env.CROSSRANK_CACHE_DIR = join(dir, "cache");
    try {
      const viaSpec = await createRanker("bert-cls", { encoder: "fixture:bert" }).rank(INPUT, { k: ALL });
      const viaFolder = await createRanker("bert-cls", { encoder: bert }).rank(INPUT, { k: ALL });
      for (let q = 0; q < QUERY_TEXTS.length; q++) for (let d = 0; d < ALL; d++) expect(scoreOf(viaSpec, q, d)).toBeCloseTo(scoreOf(viaFolder, q, d), 6);
    } finally {
      if (saved === undefined) delete process.env.CROSSRANK_CACHE_DIR;
      else process.env.CROSSRANK_CACHE_DIR = saved;
    }
  });

  it("explainPair gives the cost matrix, the plan and the distance the ranker negates", async () => {
    const e = await explainPair(encoder, QUERY_TEXTS[0]!, DOC_TEXTS[0]!, { otBackend: "js" });
    const n = queryTokens[0]!.tokens.length;
    const m = docTokens[0]!.tokens.length;
    expect(e.queryTokens).toEqual(queryTokens[0]!.tokens);
    expect(e.docTokens).toEqual(docTokens[0]!.tokens);
    expect(e.cost.length).toBe(n * m);
    expect(e.plan.length).toBe(n * m);
    const c = cosineCost(rowsOf(queryTokens[0]!), rowsOf(docTokens[0]!));
    for (let i = 0; i < n * m; i++) expect(e.cost[i]!).toBeCloseTo(c.data[i]!, 5);
    expect(e.plan.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(e.distance).toBeCloseTo(dot(e.plan, e.cost), 5);
    const run = await createRanker("lm-emd", { encoder: bert, otBackend: "js" }).rank(INPUT, { k: ALL });
    expect(-e.distance).toBeCloseTo(scoreOf(run, 0, 0), 5);
    const content = await explainPair(encoder, QUERY_TEXTS[0]!, DOC_TEXTS[0]!, { includeSpecial: false });
    expect(content.queryTokens).toEqual(queryTokens[0]!.tokens.filter((_, i) => !queryTokens[0]!.special[i]));
  });
});

describe("neural ranker parameters", () => {
  it("uses the shipped static model when no encoder is named", () => {
    for (const name of ["bert-cls", "bert-max", "bert-mean", "bi-encoder", "maxsim", "lm-emd", "rerank", "hybrid"]) {
      expect(createRanker(name).name).toContain("encoder=crossrank-static");
    }
    expect(() => createRanker("bi-encoder", { encoder: "" })).toThrow("parameter encoder of ranker bi-encoder must be a hub id, a model folder, crossrank-static, or fixture:bert");
  });

  it("is named after its parameters", () => {
    expect(createRanker("lm-emd", { encoder: "fixture:bert" }).name).toBe("lm-emd(encoder=fixture:bert,gamma=0.1,iterations=100)");
    expect(createRanker("lm-emd", { encoder: "fixture:bert", preset: "faithful" }).name).toBe("lm-emd(encoder=fixture:bert,preset=faithful,gamma=0.1,iterations=500)");
    expect(createRanker("bert-cls", { encoder: "fixture:bert", backend: "onnx" }).name).toBe("bert-cls(encoder=fixture:bert,backend=onnx)");
    expect(createRanker("maxsim", { encoder: "m", includeSpecial: false }).name).toBe("maxsim(encoder=m,includeSpecial=false)");
    expect(createRanker("rerank", { encoder: "m" }).name).toBe(
      `rerank(first=bm25(k1=1.2,b=0.75),depth=20,second=lm-emd(encoder=m,gamma=0.1,iterations=100),firstWeight=${LM_EMD_FIRST_WEIGHT},lengthGate=${LM_EMD_LENGTH_GATE})`,
    );
    expect(createRanker("rerank", { encoder: "m", second: "bert-mean", depth: 5 }).name).toBe(
      `rerank(first=bm25(k1=1.2,b=0.75),depth=5,second=bert-mean(encoder=m),firstWeight=${DEFAULT_RERANK_FIRST_WEIGHT})`,
    );
    expect(createRanker("rerank", { encoder: "m", firstWeight: 0, lengthGate: 0 }).name).toBe("rerank(first=bm25(k1=1.2,b=0.75),depth=20,second=lm-emd(encoder=m,gamma=0.1,iterations=100))");
    // The LM-EMD study's recipe keeps its label (firstWeight 0 by default under faithful).
    expect(createRanker("rerank", { encoder: "m", depth: 20, second: "lm-emd", preset: "faithful" }).name).toBe(
      "rerank(first=bm25(k1=1.2,b=0.75),depth=20,second=lm-emd(encoder=m,preset=faithful,gamma=0.1,iterations=500))",
    );
  });

  it("rejects bad values and combinations", () => {
    expect(() => createRanker("lm-emd", { encoder: "m", gamma: 0 })).toThrow(/parameter gamma of ranker lm-emd must be a number > 0; got 0/);
    expect(() => createRanker("lm-emd", { encoder: "m", iterations: 2.5 })).toThrow(/iterations/);
    expect(() => createRanker("lm-emd", { encoder: "m", otBackend: "gpu" })).toThrow(/otBackend/);
    expect(() => createRanker("bert-cls", { encoder: "m", preset: "exact" })).toThrow(/preset/);
    expect(() => createRanker("bert-cls", { encoder: "m", includeSpecial: false })).toThrow(/unknown parameter "includeSpecial" for ranker bert-cls/);
    expect(() => createRanker("rerank", { encoder: "m", first: "rerank" })).toThrow(/parameter first of ranker rerank/);
    expect(() => createRanker("rerank", { encoder: "m", second: "bm25" })).toThrow(/parameter second of ranker rerank/);
    expect(() => createRanker("rerank", { encoder: "m", second: "maxsim", gamma: 0.2 })).toThrow("parameter gamma of ranker rerank does not apply to second stage maxsim");
    expect(() => createRanker("rerank", { encoder: "m", depth: 0 })).toThrow(/depth/);
    expect(() => createRanker("rerank", { encoder: "m", firstWeight: 2 })).toThrow("parameter firstWeight of ranker rerank must be a number in [0, 1]; got 2");
    expect(() => createRanker("rerank", { encoder: "m", first: "hybrid" })).toThrow(/parameter first of ranker rerank must be a ranker name other than rerank and hybrid/);
  });

  it("reports a model that cannot be loaded when ranking", async () => {
    const ranker = createRanker("bert-mean", { encoder: join(tmpdir(), "crossrank-no-such-model") });
    await expect(ranker.rank(INPUT)).rejects.toThrow();
  });
});

describe("bi-encoder prompts (config_sentence_transformers.json)", () => {
  it("puts the folder's query and passage prompts before queries and documents, as E5 models are used; the study's baselines do not", async () => {
    const e5 = (await writeFixtureModel(join(dir, "e5"), { kind: "sentence-transformers" })).dir;
    const stConfig = JSON.parse(await readFile(join(e5, "config_sentence_transformers.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(e5, "config_sentence_transformers.json"), JSON.stringify({ ...stConfig, prompts: { query: "query: ", passage: "passage: " } }));
    const run = await createRanker("bi-encoder", { encoder: e5 }).rank(INPUT, { k: ALL });
    const plain = await createRanker("bi-encoder", { encoder: st }).rank(INPUT, { k: ALL });
    const byHand = await loadEncoder(e5);
    try {
      expect(byHand.prompts).toEqual({ query: "query: ", passage: "passage: " });
      const q = await byHand.encode(QUERY_TEXTS.map((t) => `query: ${t}`));
      const d = await byHand.encode(DOC_TEXTS.map((t) => `passage: ${t}`));
      INPUT.queries.forEach((query, i) => {
        const hits = run.get(query.id)!;
        INPUT.documents.forEach((doc, j) => {
          const cos = dot(unit(Float64Array.from(q.data.subarray(i * q.dim, (i + 1) * q.dim))), unit(Float64Array.from(d.data.subarray(j * d.dim, (j + 1) * d.dim))));
          expect(hits.get(doc.id), `${query.id} ${doc.id}`).toBeCloseTo(cos, 5);
        });
      });
      // The prompts change the scores (the same weights without them score otherwise).
      expect(run.get("q1")!.get("d1")).not.toBeCloseTo(plain.get("q1")!.get("d1")!, 5);
      // bert-mean, a baseline of the LM-EMD study, encodes the texts as they are.
      const baseline = await createRanker("bert-mean", { encoder: e5 }).rank(INPUT, { k: ALL });
      const baselinePlain = await createRanker("bert-mean", { encoder: st }).rank(INPUT, { k: ALL });
      expect(baseline.get("q1")!.get("d1")).toBeCloseTo(baselinePlain.get("q1")!.get("d1")!, 6);
    } finally {
      await byHand.dispose();
    }
    await writeFile(join(e5, "config_sentence_transformers.json"), JSON.stringify({ ...stConfig, prompts: { query: "query: " }, default_prompt_name: "passage" }));
    await expect(loadEncoder(e5)).rejects.toThrow('default_prompt_name "passage" is not one of the prompts');
  });
});

describe("bi-encoder title option", () => {
  it("encodes the text alone with title false (the LaBSE / DistilUSE notebook), titles on a line before the text by default", async () => {
    const withTitles = await createRanker("bi-encoder", { encoder: st }).rank(INPUT, { k: ALL });
    const ranker = createRanker("bi-encoder", { encoder: st, title: false });
    expect(ranker.name).toContain("title=false");
    const without = await ranker.rank(INPUT, { k: ALL });
    const byHand = await loadEncoder(st);
    try {
      const q = await byHand.encode(QUERY_TEXTS);
      const d = await byHand.encode(INPUT.documents.map((doc) => doc.text));
      const cos = (i: number, j: number) => dot(unit(Float64Array.from(q.data.subarray(i * q.dim, (i + 1) * q.dim))), unit(Float64Array.from(d.data.subarray(j * d.dim, (j + 1) * d.dim))));
      INPUT.queries.forEach((query, i) => INPUT.documents.forEach((doc, j) => expect(without.get(query.id)!.get(doc.id), `${query.id} ${doc.id}`).toBeCloseTo(cos(i, j), 5)));
    } finally {
      await byHand.dispose();
    }
    // d7 has a title: its score changes; d1 has none: its score does not.
    expect(without.get("q1")!.get("d7")).not.toBeCloseTo(withTitles.get("q1")!.get("d7")!, 5);
    expect(without.get("q1")!.get("d1")).toBeCloseTo(withTitles.get("q1")!.get("d1")!, 6);
    expect(() => createRanker("bi-encoder", { encoder: st, title: "no" })).toThrow("parameter title of ranker bi-encoder must be a boolean");
  });
});
