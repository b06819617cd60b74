import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ColbertEncoder, type ColbertRows, colbertScore, loadColbert, readSafetensors, writeFixtureModel, writeSafetensors } from "@crossrank/encode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clearNeuralMemo, createRanker, MaxSimRanker, type RankingInput } from "../src/index.js";

// maxsim on a ColBERT checkpoint (fixture:colbert's layout): the scores must be Σ over the
// checkpoint's query rows of the best dot product with its document rows, the rows computed by
// @crossrank/encode's ColbertEncoder (itself checked against a reference there).
const INPUT: RankingInput = {
  queryLang: "en",
  docLang: "de",
  queries: [
    { id: "q1", text: "The river flows slowly through the old town." },
    { id: "q2", text: "Whales are the largest animals in the sea." },
  ],
  documents: [
    { id: "d1", text: "Der Fluss fließt langsam durch die alte Stadt." },
    { id: "d2", text: "Wale sind die größten Tiere im Meer!" },
    { id: "d3", text: "Bienen sammeln Nektar von den Blumen, jeden Tag." },
    { id: "d4", text: "Licht ist schneller als Schall.", title: "Physik" },
  ],
};
const DOC_TEXTS = INPUT.documents.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));

let dir: string;
let folder: string;
let colbert: ColbertEncoder;
let queries: ColbertRows[];
let documents: ColbertRows[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-maxsim-colbert-"));
  folder = (await writeFixtureModel(join(dir, "colbert"), { kind: "colbert" })).dir;
  colbert = await loadColbert(folder);
  queries = await colbert.encodeQueries(INPUT.queries.map((q) => q.text));
  documents = await colbert.encodeDocuments(DOC_TEXTS);
}, 120_000);
afterAll(async () => {
  await colbert?.dispose();
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Σ_i max_j q_i·d_j by hand. */
function expected(q: ColbertRows, d: ColbertRows): number {
  let total = 0;
  for (let i = 0; i < q.rows; i++) {
    let best = -Infinity;
    for (let j = 0; j < d.rows; j++) {
      let s = 0;
      for (let k = 0; k < q.dim; k++) s += q.embeddings[i * q.dim + k]! * d.embeddings[j * q.dim + k]!;
      best = Math.max(best, s);
    }
    total += best;
  }
  return total;
}

describe("maxsim on a ColBERT checkpoint", () => {
  for (const scoring of ["js", "onnx"] as const) {
    it(`colbert "auto" scores it as the reference does (scoring ${scoring}), with and without candidates`, async () => {
      const ranker = new MaxSimRanker({ encoder: folder, scoring });
      const run = await ranker.rank(INPUT, { k: 10 });
      const reranked = await ranker.rankCandidates(INPUT, new Map([["q1", Int32Array.of(0, 2)], ["q2", Int32Array.of(1, 3)]]), { k: 10 });
      INPUT.queries.forEach((q, qi) => {
        INPUT.documents.forEach((d, di) => {
          const want = expected(queries[qi]!, documents[di]!);
          expect(run.get(q.id)!.get(d.id), `${q.id} ${d.id}`).toBeCloseTo(want, 4);
          const candidate = reranked.get(q.id)!.get(d.id);
          if (candidate !== undefined) expect(candidate).toBeCloseTo(want, 4);
        });
        expect(reranked.get(q.id)!.size).toBe(2);
      });
      // The query rows are query_maxlen long whatever the text.
      expect(queries.every((q) => q.rows === colbert.settings.queryMaxlen)).toBe(true);
    });
  }

  it("colbert false ranks with the plain BERT token rows (other scores); true on a plain model is an error", async () => {
    const plain = await new MaxSimRanker({ encoder: folder, colbert: false, scoring: "js" }).rank(INPUT, { k: 10 });
    const reference = expected(queries[0]!, documents[0]!);
    expect(Math.abs(plain.get("q1")!.get("d1")! - reference)).toBeGreaterThan(1e-3);
    const bert = (await writeFixtureModel(join(dir, "bert"))).dir;
    await expect(new MaxSimRanker({ encoder: bert, colbert: true }).rank(INPUT)).rejects.toThrow(/not a ColBERT checkpoint/);
    // "auto" on a plain model: today's scoring.
    const auto = await new MaxSimRanker({ encoder: bert, scoring: "js" }).rank(INPUT, { k: 10 });
    const forced = await new MaxSimRanker({ encoder: bert, colbert: false, scoring: "js" }).rank(INPUT, { k: 10 });
    expect(auto.get("q2")!.get("d2")).toBe(forced.get("q2")!.get("d2"));
  });

  it('similarity "l2" scores Σ_i max_j −‖q_i − d_j‖² (= 2·cosine score − 2·query rows)', async () => {
    const l2Folder = (await writeFixtureModel(join(dir, "l2"), { kind: "colbert" })).dir;
    const metadata = JSON.parse(await readFile(join(l2Folder, "artifact.metadata"), "utf8"));
    await writeFile(join(l2Folder, "artifact.metadata"), JSON.stringify({ ...metadata, similarity: "l2" }));
    const run = await new MaxSimRanker({ encoder: l2Folder, scoring: "js" }).rank(INPUT, { k: 10 });
    expect(run.get("q2")!.get("d2")).toBeCloseTo(colbertScore(queries[1]!, documents[1]!, "l2"), 4);
  });

  it("an X-MOD checkpoint (ColBERT-XM's shape): queries through queryLang's adapter, documents through docLang's", async () => {
    const xm = (await writeFixtureModel(join(dir, "colbert-xm"), { kind: "xmod" })).dir;
    const weights = Object.fromEntries(await readSafetensors(join(xm, "model.safetensors")));
    const linear = (await readSafetensors(join(folder, "model.safetensors"))).get("linear.weight")!;
    await writeSafetensors(join(xm, "model.safetensors"), { ...weights, "linear.weight": linear }, { format: "pt" });
    await writeFile(join(xm, "artifact.metadata"), await readFile(join(folder, "artifact.metadata"), "utf8"));
    const run = await new MaxSimRanker({ encoder: xm, scoring: "js" }).rank(INPUT, { k: 10 });
    const direct = await loadColbert(xm);
    try {
      const [q] = await direct.encodeQueries([INPUT.queries[1]!.text], { language: "en" });
      const [d] = await direct.encodeDocuments([DOC_TEXTS[1]!], { language: "de" });
      const [wrong] = await direct.encodeDocuments([DOC_TEXTS[1]!], { language: "en" });
      expect(run.get("q2")!.get("d2")).toBeCloseTo(expected(q!, d!), 4);
      expect(Math.abs(expected(q!, wrong!) - expected(q!, d!))).toBeGreaterThan(1e-4);
    } finally {
      await direct.dispose();
    }
  });

  it("rerank's second stage maxsim takes colbert; the parameters are checked", async () => {
    const rerank = createRanker("rerank", { encoder: folder, second: "maxsim", colbert: true, firstWeight: 0, depth: 4 });
    const run = await rerank.rank(INPUT, { k: 10 });
    // firstWeight 0: the second stage's scores decide the order (the fused score is monotone in them).
    const order = [...run.get("q2")!.keys()];
    const byReference = [...INPUT.documents.keys()].filter((di) => run.get("q2")!.has(INPUT.documents[di]!.id)).sort((a, b) => expected(queries[1]!, documents[b]!) - expected(queries[1]!, documents[a]!));
    expect(order).toEqual(byReference.map((di) => INPUT.documents[di]!.id));
    expect(() => createRanker("maxsim", { encoder: folder, colbert: "yes" })).toThrow(/colbert/);
    expect(() => createRanker("rerank", { encoder: folder, second: "lm-emd", colbert: true })).toThrow(/parameter colbert of ranker rerank does not apply to second stage lm-emd/);
    expect(() => new MaxSimRanker({ encoder: folder, colbert: true, includeSpecial: false })).toThrow(/includeSpecial false does not apply to ColBERT scoring/);
    await expect(new MaxSimRanker({ encoder: folder, includeSpecial: false }).rank(INPUT)).rejects.toThrow(/is a ColBERT checkpoint.*includeSpecial false does not apply/);
    expect(new MaxSimRanker({ encoder: folder, colbert: true }).name).toBe(`maxsim(encoder=${folder},colbert=true)`);
  });
});
