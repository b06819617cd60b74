import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@crossrank/tokenize";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Encoder, loadEncoder } from "../src/encoder.js";
import { fixtureModelPath, readFixtureCorpus, resolveFixtureOptions } from "../src/fixture/index.js";
import { buildXmodOnnx } from "../src/fixture/xmod-graph.js";
import { generateXmodFixtureModel, type XmodFixtureModel } from "../src/fixture/xmod-fixture.js";
import { xmodReferenceForward } from "../src/fixture/xmod-reference.js";
import { generateXmodWeights, XMOD_BASE_FLAGS, type XmodFlags } from "../src/fixture/xmod-weights.js";
import { languageIndex } from "../src/languages.js";

const GERMAN = "Der Fluss fließt langsam durch die alte Stadt.";
const ENGLISH = "The river flows slowly through the old town.";
const TEXTS = [GERMAN, ENGLISH, "Hund", "The old town and the river"];
const LANGS = ["de_DE", "en_XX", "de_DE", "en_XX"];

let model: XmodFixtureModel;
let folder: string;
let tmp: string;
let encoder: Encoder;

beforeAll(async () => {
  model = generateXmodFixtureModel(resolveFixtureOptions({ kind: "xmod" }), await readFixtureCorpus(), 1);
  folder = await fixtureModelPath("xmod");
  tmp = await mkdtemp(join(tmpdir(), "crossrank-xmod-"));
  encoder = await loadEncoder("fixture:xmod");
}, 60_000);
afterAll(async () => {
  await encoder?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A right-padded batch of TEXTS from the fixture tokenizer, with each row's lang id. */
async function batchOf(texts: readonly string[], langs: readonly string[], languages: readonly string[]) {
  const tokenizer = await Tokenizer.load(folder);
  const batch = tokenizer.encodeBatch(texts);
  const langIds = BigInt64Array.from(langs, (l) => BigInt(languages.indexOf(l)));
  return { batch, langIds };
}

async function runGraph(bytes: Uint8Array, texts: readonly string[], langs: readonly string[], languages: readonly string[]) {
  const { batch, langIds } = await batchOf(texts, langs, languages);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const dims = [batch.batchSize, batch.seqLength];
    const out = await session.run({
      input_ids: new ort.Tensor("int64", batch.inputIds, dims),
      attention_mask: new ort.Tensor("int64", batch.attentionMask, dims),
      lang_ids: new ort.Tensor("int64", langIds, [batch.batchSize]),
    });
    return { batch, langIds, hidden: out.last_hidden_state!.data as Float32Array };
  } finally {
    await session.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("fixture:xmod files", () => {
  it("config.json is an XmodModel with X-MOD's names for the corpus languages; the weights carry XmodModel's names", async () => {
    const config = JSON.parse(await readFile(join(folder, "config.json"), "utf8")) as Record<string, unknown>;
    expect(config.model_type).toBe("xmod");
    expect(config.architectures).toEqual(["XmodModel"]);
    expect(config.languages).toEqual(["ar_AR", "de_DE", "el_GR", "en_XX", "es_XX", "hi_IN", "ja_XX", "ro_RO", "ru_RU", "th_TH", "tr_TR", "vi_VN", "zh_CN"]);
    expect(config.default_language).toBeNull();
    expect(config.max_position_embeddings).toBe(128 + (config.pad_token_id as number) + 1);
    const header = (await readFile(join(folder, "model.safetensors"))).toString("utf8", 8, 400_000);
    expect(header).toContain('"encoder.layer.1.output.adapter_modules.de_DE.dense2.weight"');
    expect(header).toContain('"encoder.layer.0.output.LayerNorm.bias"');
  });
});

describe("the X-MOD graph against a TypeScript XmodModel from the published code", () => {
  it("two languages in one batch, every token, to 1e-5 (fp32); the q8 graph stays close", async () => {
    const { batch, langIds, hidden } = await runGraph(model.files.get("onnx/model.onnx")!, TEXTS, LANGS, model.weights.languages);
    expect(batch.attentionMask).toContain(0n); // padding is in the batch
    const expected = xmodReferenceForward(model.weights, { inputIds: batch.inputIds, attentionMask: batch.attentionMask, langIds, batch: batch.batchSize, seqLength: batch.seqLength });
    // Padded rows are not compared: only real tokens.
    let worst = 0;
    const H = model.weights.bert.shape.hidden;
    for (let b = 0; b < batch.batchSize; b++) {
      for (let j = 0; j < batch.seqLength; j++) {
        if (batch.attentionMask[b * batch.seqLength + j] === 0n) continue;
        for (let h = 0; h < H; h++) worst = Math.max(worst, Math.abs(hidden[(b * batch.seqLength + j) * H + h]! - expected[(b * batch.seqLength + j) * H + h]!));
      }
    }
    expect(worst).toBeLessThan(1e-5);
    const q8 = await runGraph(model.files.get("onnx/model_quantized.onnx")!, TEXTS, LANGS, model.weights.languages);
    expect(maxDiff(q8.hidden, hidden)).toBeLessThan(0.15);
  });

  const variants: [string, Partial<XmodFlags>][] = [
    ["pre_norm with a final encoder.LayerNorm", { preNorm: true }],
    ["adapter_layer_norm, residual before it", { adapterLayerNorm: true, lnBeforeAdapter: false }],
    ["no LayerNorm before the adapter, reduction factor 4", { adapterReuseLayerNorm: false, adapterReductionFactor: 4 }],
  ];
  for (const [what, flags] of variants) {
    it(`config variant: ${what}`, async () => {
      const shape = { ...model.weights.bert.shape, layers: 1 };
      const weights = generateXmodWeights(shape, 7, ["en_XX", "de_DE"], { ...XMOD_BASE_FLAGS, ...flags }, model.weights.padIdx);
      const { batch, langIds, hidden } = await runGraph(buildXmodOnnx(weights), [GERMAN, ENGLISH], ["de_DE", "en_XX"], weights.languages);
      const expected = xmodReferenceForward(weights, { inputIds: batch.inputIds, attentionMask: batch.attentionMask, langIds, batch: batch.batchSize, seqLength: batch.seqLength });
      const L = batch.seqLength;
      const H = shape.hidden;
      // Row 0 (the longer text) has no padding.
      expect(maxDiff(hidden.subarray(0, L * H), expected.subarray(0, L * H))).toBeLessThan(1e-5);
    });
  }
});

describe("encoder over fixture:xmod", () => {
  it("routes X-MOD to the onnx backend and reports the model's languages", () => {
    expect(encoder.backend).toBe("onnx");
    expect(encoder.languages).toEqual(model.weights.languages);
  });

  it("a mixed-language batch equals each text encoded alone in its language, and matches the reference", async () => {
    const together = await encoder.encodeTokens(TEXTS, { languages: ["de", "en", "de-DE", "en_XX"] });
    for (let t = 0; t < TEXTS.length; t++) {
      const [alone] = await encoder.encodeTokens([TEXTS[t]!], { language: LANGS[t] });
      expect(maxDiff(together[t]!.embeddings, alone!.embeddings)).toBeLessThan(1e-5);
      const { batch, langIds } = await batchOf([TEXTS[t]!], [LANGS[t]!], model.weights.languages);
      const expected = xmodReferenceForward(model.weights, { inputIds: batch.inputIds, attentionMask: batch.attentionMask, langIds, batch: 1, seqLength: batch.seqLength });
      expect(maxDiff(alone!.embeddings, expected)).toBeLessThan(1e-5);
    }
  });

  it("the adapters differ: a German text encoded as de and as en gives different vectors", async () => {
    const [de] = await encoder.encodeTokens([GERMAN], { language: "de" });
    const [en] = await encoder.encodeTokens([GERMAN], { language: "en" });
    expect(maxDiff(de!.embeddings, en!.embeddings)).toBeGreaterThan(0.05);
    const pooled = await encoder.encode([GERMAN, GERMAN], { languages: ["de", "en"] });
    expect(maxDiff(pooled.data.subarray(0, pooled.dim), pooled.data.subarray(pooled.dim))).toBeGreaterThan(0.01);
  });

  it("the on-disk cache keys a text by its language", async () => {
    const cached = await loadEncoder("fixture:xmod", { cache: join(tmp, "cache") });
    try {
      const first = await cached.encode([GERMAN], { language: "de" });
      const other = await cached.encode([GERMAN], { language: "en" });
      expect(maxDiff(first.data, other.data)).toBeGreaterThan(0.01);
      const again = await cached.encode([GERMAN], { language: "de" });
      expect(maxDiff(first.data, again.data)).toBe(0);
    } finally {
      await cached.dispose();
    }
  });

  it("errors: no language, unknown language, languages not parallel, backend transformers", async () => {
    await expect(encoder.encodeTokens([GERMAN])).rejects.toThrow(/text 0 has no language.*en_XX.*no default_language/);
    await expect(encoder.encode([GERMAN], { language: "fr" })).rejects.toThrow(/no language adapter for "fr"; the model has ar_AR, de_DE/);
    await expect(encoder.encode([GERMAN, ENGLISH], { languages: ["de"] })).rejects.toThrow(/1 languages for 2 texts/);
    await expect(loadEncoder("fixture:xmod", { backend: "transformers" })).rejects.toThrow(/backend "onnx" only/);
  });

  it("config.json's default_language applies when no language is given", async () => {
    const copy = join(tmp, "xmod-de");
    await cp(folder, copy, { recursive: true });
    const config = JSON.parse(await readFile(join(copy, "config.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(copy, "config.json"), JSON.stringify({ ...config, default_language: "de_DE" }));
    const withDefault = await loadEncoder(copy);
    try {
      const [implicit] = await withDefault.encodeTokens([GERMAN]);
      const [de] = await encoder.encodeTokens([GERMAN], { language: "de" });
      expect(maxDiff(implicit!.embeddings, de!.embeddings)).toBe(0);
    } finally {
      await withDefault.dispose();
    }
  });

  it("a graph with lang_ids indexes config.json's languages whatever its model_type; a languages list alone makes no adapters", async () => {
    const relabelled = join(tmp, "xmod-relabelled");
    await cp(folder, relabelled, { recursive: true });
    const config = JSON.parse(await readFile(join(relabelled, "config.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(relabelled, "config.json"), JSON.stringify({ ...config, model_type: "roberta" }));
    const viaGraph = await loadEncoder(relabelled, { backend: "onnx" });
    try {
      expect(viaGraph.languages).toEqual(model.weights.languages);
      const [a] = await viaGraph.encodeTokens([GERMAN], { language: "de" });
      const [b] = await encoder.encodeTokens([GERMAN], { language: "de" });
      expect(maxDiff(a!.embeddings, b!.embeddings)).toBe(0);
    } finally {
      await viaGraph.dispose();
    }
    await writeFile(join(relabelled, "config.json"), JSON.stringify({ ...config, model_type: "roberta", languages: [] }));
    await expect(loadEncoder(relabelled, { backend: "onnx" })).rejects.toThrow(/its ONNX graph takes lang_ids\): an X-MOD config needs "languages"/);
    const bert = join(tmp, "bert-with-languages");
    await cp(await fixtureModelPath("bert"), bert, { recursive: true });
    const bertConfig = JSON.parse(await readFile(join(bert, "config.json"), "utf8")) as Record<string, unknown>;
    await writeFile(join(bert, "config.json"), JSON.stringify({ ...bertConfig, languages: ["en", "de"] }));
    const plain = await loadEncoder(bert, { backend: "onnx" });
    try {
      expect(plain.languages).toBeUndefined();
      expect((await plain.encodeTokens([GERMAN], { language: "xx" }))[0]!.tokens.length).toBeGreaterThan(2);
    } finally {
      await plain.dispose();
    }
  });

  it("ISO codes map to the model's names; ambiguous and unknown codes name the choices", () => {
    const model = { languages: ["en_XX", "zh_CN", "zh_TW", "de_DE"], defaultLanguage: undefined };
    expect(languageIndex("de", model, "m")).toBe(3);
    expect(languageIndex("DE-de", model, "m")).toBe(3);
    expect(languageIndex("zh_TW", model, "m")).toBe(2);
    expect(() => languageIndex("zh", model, "m")).toThrow(/several of its adapters \(zh_CN, zh_TW\)/);
    expect(() => languageIndex("fr", model, "m")).toThrow(/the model has en_XX, zh_CN, zh_TW, de_DE/);
  });
});
