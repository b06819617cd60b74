import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEncoder, type SentenceOptions, writeFixtureModel } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachCollectionParts, clearNeuralMemo, createRanker, PooledRanker, type RankingInput } from "../src/index.js";

// English queries, German documents (one with a title, encoded as "title\ntext").
const INPUT: RankingInput = {
  queryLang: "en",
  docLang: "de",
  queries: [
    { id: "q1", text: "The river flows slowly through the old town." },
    { id: "q2", text: "Whales are the largest animals in the sea." },
  ],
  documents: [
    { id: "d1", text: "Der Fluss fließt langsam durch die alte Stadt." },
    { id: "d2", text: "Wale sind die größten Tiere im Meer." },
    { id: "d3", text: "Im Winter liegt im Bergdorf viel Schnee und die Kinder fahren Schlitten." },
    { id: "d4", text: "Licht ist schneller als Schall.", title: "Physik" },
    { id: "d5", text: "Ja." },
  ],
};
const DOC_TEXTS = INPUT.documents.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));
const QUERY_TEXTS = INPUT.queries.map((q) => q.text);
const ALL = INPUT.documents.length;

let dir: string;
let distiluse: string; // DistilUSE's layout: mean pooling, Dense, no Normalize, no similarity_fn_name
let labse: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-similarity-"));
  distiluse = (await writeFixtureModel(join(dir, "distiluse"), { kind: "distiluse" })).dir;
  labse = (await writeFixtureModel(join(dir, "labse"), { kind: "sentence-transformers" })).dir;
});

afterAll(async () => {
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A copy of `base` whose config_sentence_transformers.json says similarity_fn_name `name`. */
async function withSimilarity(base: string, name: string): Promise<string> {
  const copy = join(dir, `${name}-${Math.random().toString(36).slice(2)}`);
  await cp(base, copy, { recursive: true });
  const config = JSON.parse(await readFile(join(copy, "config_sentence_transformers.json"), "utf8")) as Record<string, unknown>;
  await writeFile(join(copy, "config_sentence_transformers.json"), JSON.stringify({ ...config, similarity_fn_name: name }));
  return copy;
}

/** Scores of every (query, document) by hand from the encoder's own vectors: dot products, or cosines. */
async function byHand(model: string, similarity: "dot" | "cosine", options: SentenceOptions = {}): Promise<number[][]> {
  const encoder = await loadEncoder(model);
  try {
    const q = await encoder.encode(QUERY_TEXTS, options);
    const d = await encoder.encode(DOC_TEXTS, options);
    const row = (m: { dim: number; data: Float32Array }, i: number) => Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim));
    const score = (a: number[], b: number[]) => {
      const dot = a.reduce((s, x, k) => s + x * b[k]!, 0);
      return similarity === "dot" ? dot : dot / (Math.hypot(...a) * Math.hypot(...b));
    };
    return QUERY_TEXTS.map((_, i) => DOC_TEXTS.map((_, j) => score(row(q, i), row(d, j))));
  } finally {
    await encoder.dispose();
  }
}

function expectScores(run: Run, expected: number[][]): void {
  INPUT.queries.forEach((query, i) =>
    INPUT.documents.forEach((doc, j) => expect(run.get(query.id)!.get(doc.id), `${query.id} ${doc.id}`).toBeCloseTo(expected[i]![j]!, 5)),
  );
}

describe("pooled rankers: dot product or cosine", () => {
  it("a bi-encoder over a folder without Normalize scores q·d of its raw vectors (the notebook's q @ c.T)", async () => {
    const run = await createRanker("bi-encoder", { encoder: distiluse }).rank(INPUT, { k: ALL });
    const dot = await byHand(distiluse, "dot");
    expectScores(run, dot);
    // Not cosines: the raw vectors are far from unit length.
    const cosine = await byHand(distiluse, "cosine");
    expect(Math.abs(dot[0]![0]! - cosine[0]![0]!)).toBeGreaterThan(1e-3);
  });

  it("similarity cosine on that folder scores cosines, and says so in its name", async () => {
    const ranker = createRanker("bi-encoder", { encoder: distiluse, similarity: "cosine" });
    expect(ranker.name).toContain("similarity=cosine");
    expectScores(await ranker.rank(INPUT, { k: ALL }), await byHand(distiluse, "cosine"));
  });

  it("a folder's similarity_fn_name is followed: cosine without Normalize; dot with it", async () => {
    const cosineFolder = await withSimilarity(distiluse, "cosine");
    expectScores(await createRanker("bi-encoder", { encoder: cosineFolder }).rank(INPUT, { k: ALL }), await byHand(distiluse, "cosine"));
    // LaBSE's vectors are unit length (Normalize), so dot = cosine there; the part key records dot.
    const dotFolder = await withSimilarity(labse, "dot");
    const documents = [...INPUT.documents];
    const part = await new PooledRanker("bi-encoder", { encoder: dotFolder }).prebuild(documents);
    expect(JSON.parse(part.key)).toContainEqual({ similarity: "dot" });
    expectScores(await createRanker("bi-encoder", { encoder: dotFolder }).rank(INPUT, { k: ALL }), await byHand(labse, "dot"));
    // The LaBSE folder as generated (similarity_fn_name cosine) keeps the key it always had.
    const plainPart = await new PooledRanker("bi-encoder", { encoder: labse }).prebuild(documents);
    expect(JSON.parse(plainPart.key)).toHaveLength(4);
  });

  it("a folder naming euclidean or manhattan needs the parameter", async () => {
    const euclidean = await withSimilarity(labse, "euclidean");
    await expect(createRanker("bi-encoder", { encoder: euclidean }).rank(INPUT, { k: ALL })).rejects.toThrow(
      /declares similarity_fn_name "euclidean".*give the parameter similarity "cosine" or "dot"/,
    );
    expectScores(await createRanker("bi-encoder", { encoder: euclidean, similarity: "cosine" }).rank(INPUT, { k: ALL }), await byHand(labse, "cosine"));
    expect(() => createRanker("bi-encoder", { encoder: labse, similarity: "euclidean" })).toThrow('parameter similarity of ranker bi-encoder must be a string "cosine" or "dot"');
  });

  it("bert-mean stays cosine over any folder (the LM-EMD study's baseline); dot scores its unnormalised means", async () => {
    const options = { pooling: "mean", dense: false } as const;
    expectScores(await createRanker("bert-mean", { encoder: distiluse }).rank(INPUT, { k: ALL }), await byHand(distiluse, "cosine", options));
    expectScores(await createRanker("bert-mean", { encoder: distiluse, similarity: "dot" }).rank(INPUT, { k: ALL }), await byHand(distiluse, "dot", { ...options, normalize: false }));
  });

  it("prebuilt dot-product vectors (attached, or built in chunks) rank as the ranker does alone", async () => {
    const expected = await createRanker("bi-encoder", { encoder: distiluse }).rank(INPUT, { k: ALL });
    const documents = [...INPUT.documents];
    const builder = await new PooledRanker("bi-encoder", { encoder: distiluse }).partBuilder();
    await builder.add(documents.slice(0, 2));
    await builder.add(documents.slice(2));
    const part = await builder.finish();
    const prebuilt = await new PooledRanker("bi-encoder", { encoder: distiluse }).prebuild(documents);
    expect(part.key).toBe(prebuilt.key);
    attachCollectionParts(documents, [part]);
    const run = await createRanker("bi-encoder", { encoder: distiluse }).rank({ ...INPUT, documents }, { k: ALL });
    for (const q of INPUT.queries) for (const d of INPUT.documents) expect(run.get(q.id)!.get(d.id)).toBeCloseTo(expected.get(q.id)!.get(d.id)!, 5);
  });
});
