import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensors } from "@crossrank/encode";
import { afterAll, describe, expect, it } from "vitest";
import { loadHfTokenizer } from "./helpers/hf-tokenizer.js";
import { pairRecallAt1, Rng, StaticTokenizer, TINY_STATIC_CONFIG, trainStaticModel, writeStaticModel, type StaticTrainConfig, type TextPair } from "../src/index.js";

/** Three "languages" with a bijective word mapping over 60 concepts; sentences of 3–6 concepts. */
function syntheticCorpus(n: number, seed: number): TextPair[] {
  const rng = new Rng(99);
  const letters = ["abcdefghij", "klmnopqrst", "uvwxyzäöüé"];
  const lexicon = letters.map((l) => Array.from({ length: 60 }, () => Array.from({ length: 3 + rng.int(4) }, () => l[rng.int(l.length)]).join("")));
  const langs = ["xx", "yy", "zz"];
  const r = new Rng(seed);
  const pairs: TextPair[] = [];
  for (let i = 0; i < n; i++) {
    const concepts = Array.from({ length: 3 + r.int(4) }, () => r.int(60));
    const [la, lb] = [[0, 2], [1, 2], [0, 1]][i % 3] as [number, number];
    const text = (l: number) => concepts.map((c) => lexicon[l]?.[c]).join(" ");
    pairs.push({ a: text(la), b: text(lb), source: "synthetic", lang: `${langs[la]}-${langs[lb]}`, key: `s${seed}-${i}` });
  }
  return pairs;
}

const train = syntheticCorpus(900, 1);
const dev = syntheticCorpus(150, 2);
const config: StaticTrainConfig = { ...TINY_STATIC_CONFIG };
const dirs: string[] = [];
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), "static-model-"));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("trainStaticModel", () => {
  it("learns the synthetic alignment: loss falls, dev R@1 far above chance; the folder round-trips", async () => {
    const work = await tmp();
    const progress: number[] = [];
    const result = await trainStaticModel({ config, train, dev, workDir: work, onProgress: (p) => progress.push(p.step) });
    const losses = result.log.map((e) => e.loss);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first * 0.5);
    expect(progress.at(-1)).toBe(result.steps);
    const r1 = pairRecallAt1(result.model, dev);
    console.log(`synthetic: ${result.steps} steps, ${result.pairsPerSecond.toFixed(0)} pairs/s, loss ${first.toFixed(3)} → ${last.toFixed(3)}, dev R@1 ${r1.toFixed(3)}`, result.dev);
    expect(r1).toBeGreaterThan(0.5); // chance: 1/150
    expect(result.dev["r1/synthetic/xx-zz"]).toBeGreaterThan(0.5);

    const out = join(await tmp(), "model");
    const files = await writeStaticModel(out, result.model, { config, dev: result.dev });
    expect(files).toContain("model.safetensors");
    const tensors = await readSafetensors(join(out, "model.safetensors"));
    const e = tensors.get("embeddings");
    expect(e?.dtype).toBe("F32");
    expect(e?.shape).toEqual([result.model.vocab.length, config.dim]);
    expect(Array.from((e?.data ?? new Float32Array()) as Float32Array).slice(0, 100)).toEqual(Array.from(result.model.embeddings.slice(0, 100)));
    const cfg = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as Record<string, unknown>;
    expect(cfg).toMatchObject({ model_type: "model2vec", normalize: true, hidden_dim: config.dim });
    const hf = await loadHfTokenizer(out);
    const ours = new StaticTokenizer(result.model.vocab);
    for (const p of dev.slice(0, 20)) expect(hf.encode(p.a, { add_special_tokens: false })).toEqual(ours.encode(p.a));
    expect(await readFile(join(out, "README.md"), "utf8")).toContain("temperature");
  });

  it("resumes from a checkpoint to identical weights", async () => {
    const cfg: StaticTrainConfig = { ...config, epochs: 3, checkpointEvery: 7 };
    const full = await trainStaticModel({ config: cfg, train, workDir: await tmp() });
    const work = await tmp();
    const part = await trainStaticModel({ config: cfg, train, workDir: work, stopAfterSteps: 40 });
    expect(part.stopped).toBe(true);
    expect(part.steps).toBe(40);
    const resumed = await trainStaticModel({ config: cfg, train, workDir: work });
    expect(resumed.steps).toBe(full.steps);
    expect(resumed.model.vocab).toEqual(full.model.vocab);
    expect(Buffer.from(resumed.model.embeddings.buffer).equals(Buffer.from(full.model.embeddings.buffer))).toBe(true);
    expect(resumed.log.map((e) => e.loss)).toEqual(full.log.map((e) => e.loss));
  });
});
