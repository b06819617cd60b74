import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { FIXTURE_CORPUS_DIR, fixtureModelKey, fixtureModelPath, generateFixtureModel, readFixtureCorpus, writeFixtureModel } from "../src/fixture/index.js";
import { bertStateDict } from "../src/fixture/bert-weights.js";
import { bertWords, isChineseChar, isPunctuation, SPECIAL_TOKENS, wordPieceEncode } from "../src/fixture/wordpiece.js";
import { readSafetensors, readSafetensorsMetadata } from "../src/safetensors.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "crossrank-fixture-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const BERT_FILES = ["config.json", "model.safetensors", "onnx/model.onnx", "onnx/model_quantized.onnx", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"];
const ST_FILES = ["1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors", "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json"];

async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

describe("fixture model generator", () => {
  test("writes the Hugging Face layout, byte-identical on every run", async () => {
    const t0 = performance.now();
    const a = await writeFixtureModel(join(tmp, "a"));
    const ms = performance.now() - t0;
    const b = await writeFixtureModel(join(tmp, "b"));
    expect(a.files).toEqual([...BERT_FILES].sort());
    expect(await listFiles(a.dir)).toEqual(a.files);
    for (const f of a.files) expect(Buffer.compare(await readFile(join(a.dir, f)), await readFile(join(b.dir, f))), f).toBe(0);
    // Generation is meant to take well under 2 s; the bound leaves room for a loaded CI machine.
    expect(ms).toBeLessThan(10_000);
  }, 60_000);

  test("sentence-transformers kind: LaBSE's modules, pooling, dense and normalize", async () => {
    const { dir, files } = await writeFixtureModel(join(tmp, "st"), { kind: "sentence-transformers", hidden: 16, heads: 4, denseOut: 12 });
    expect(files).toEqual([...BERT_FILES, ...ST_FILES].sort());
    expect(await readJson(join(dir, "modules.json"))).toEqual([
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
      { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" },
      { idx: 3, name: "3", path: "3_Normalize", type: "sentence_transformers.models.Normalize" },
    ]);
    const pooling = await readJson(join(dir, "1_Pooling/config.json"));
    expect(pooling).toMatchObject({ word_embedding_dimension: 16, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false, pooling_mode_max_tokens: false, pooling_mode_mean_sqrt_len_tokens: false });
    expect(await readJson(join(dir, "2_Dense/config.json"))).toEqual({ in_features: 16, out_features: 12, bias: true, activation_function: "torch.nn.modules.activation.Tanh" });
    const dense = await readSafetensors(join(dir, "2_Dense/model.safetensors"));
    expect([...dense.keys()].sort()).toEqual(["linear.bias", "linear.weight"]);
    expect(dense.get("linear.weight")).toMatchObject({ dtype: "F32", shape: [12, 16] });
    expect(dense.get("linear.bias")).toMatchObject({ dtype: "F32", shape: [12] });
    expect(await readSafetensorsMetadata(join(dir, "2_Dense/model.safetensors"))).toEqual({ format: "pt" });
    expect(await readJson(join(dir, "sentence_bert_config.json"))).toEqual({ max_seq_length: 128, do_lower_case: false });
    expect(await readJson(join(dir, "config_sentence_transformers.json"))).toHaveProperty("__version__");
    expect(await readdir(join(dir, "3_Normalize"))).toEqual([]);
    // The transformer part is the same BERT as kind "bert" with the same options.
    const plain = await generateFixtureModel({ hidden: 16, heads: 4 });
    const st = await generateFixtureModel({ kind: "sentence-transformers", hidden: 16, heads: 4, denseOut: 12 });
    expect(Buffer.compare(plain.files.get("model.safetensors") as Uint8Array, st.files.get("model.safetensors") as Uint8Array)).toBe(0);
    expect(Array.from(st.dense?.weight.data ?? [])).toEqual(Array.from(dense.get("linear.weight")?.data as Float32Array));
    // Rewriting the folder as a plain BERT removes the sentence-transformers modules.
    await writeFixtureModel(dir, { hidden: 16, heads: 4 });
    expect(await listFiles(dir)).toEqual([...BERT_FILES].sort());
    expect(existsSync(join(dir, "3_Normalize"))).toBe(false);
  }, 60_000);

  test("config, tokenizer files and vocab.txt agree", async () => {
    const dir = join(tmp, "a");
    const vocab = (await readFile(join(dir, "vocab.txt"), "utf8")).split("\n");
    expect(vocab.pop()).toBe("");
    expect(vocab.slice(0, 5)).toEqual([...SPECIAL_TOKENS]);
    expect(new Set(vocab).size).toBe(vocab.length);
    expect(vocab.length).toBeLessThanOrEqual(1500);
    const config = await readJson(join(dir, "config.json"));
    expect(config).toMatchObject({
      model_type: "bert",
      architectures: ["BertModel"],
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 64,
      max_position_embeddings: 128,
      vocab_size: vocab.length,
      type_vocab_size: 2,
      hidden_act: "gelu",
      layer_norm_eps: 1e-12,
      pad_token_id: 0,
    });
    const tok = await readJson<{
      model: { type: string; vocab: Record<string, number>; unk_token: string; continuing_subword_prefix: string; max_input_chars_per_word: number };
      added_tokens: { id: number; content: string; special: boolean }[];
      normalizer: unknown;
      pre_tokenizer: unknown;
      post_processor: { single: unknown[]; special_tokens: Record<string, { ids: number[] }> };
      decoder: unknown;
    }>(join(dir, "tokenizer.json"));
    expect(tok.model).toMatchObject({ type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100 });
    expect(tok.normalizer).toEqual({ type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false });
    expect(tok.pre_tokenizer).toEqual({ type: "BertPreTokenizer" });
    expect(tok.decoder).toEqual({ type: "WordPiece", prefix: "##", cleanup: true });
    expect(tok.post_processor.single).toEqual([{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }]);
    expect(tok.post_processor.special_tokens["[CLS]"]?.ids).toEqual([2]);
    expect(tok.post_processor.special_tokens["[SEP]"]?.ids).toEqual([3]);
    // vocab written in id order, ids = vocab.txt line numbers
    expect(Object.entries(tok.model.vocab)).toHaveLength(vocab.length);
    vocab.forEach((t, i) => expect(tok.model.vocab[t]).toBe(i));
    const rawVocab = (await readFile(join(dir, "tokenizer.json"), "utf8")).split('"vocab": {')[1] as string;
    expect(rawVocab.indexOf('"[PAD]": 0')).toBeLessThan(rawVocab.indexOf('"0"'));
    expect(tok.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual(SPECIAL_TOKENS.map((t, i) => [i, t, true]));
    const tc = await readJson(join(dir, "tokenizer_config.json"));
    expect(tc).toMatchObject({ tokenizer_class: "BertTokenizer", model_max_length: 128, do_lower_case: false, cls_token: "[CLS]", sep_token: "[SEP]", pad_token: "[PAD]", unk_token: "[UNK]", mask_token: "[MASK]" });
    expect(await readJson(join(dir, "special_tokens_map.json"))).toEqual({ cls_token: "[CLS]", mask_token: "[MASK]", pad_token: "[PAD]", sep_token: "[SEP]", unk_token: "[UNK]" });
  });

  test("the vocabulary covers the corpus: every character, no [UNK], frequent words whole", async () => {
    const model = await generateFixtureModel();
    const ids = new Map(model.vocab.map((t, i) => [t, i]));
    const corpus = await readFixtureCorpus();
    expect(corpus.map((c) => c.lang)).toEqual(["ar", "de", "el", "en", "es", "hi", "ja", "ro", "ru", "th", "tr", "vi", "zh"]);
    let pieces = 0;
    let words = 0;
    for (const { text } of corpus) {
      for (const line of text.split("\n")) {
        for (const ch of bertWords(line).join("")) {
          expect(ids.has(ch), ch).toBe(true);
          if (!isChineseChar(ch.codePointAt(0) as number) && !isPunctuation(ch)) expect(ids.has(`##${ch}`), ch).toBe(true);
        }
        const enc = wordPieceEncode(line, ids);
        expect(enc.tokens).not.toContain("[UNK]");
        pieces += enc.tokens.length - 2;
        words += bertWords(line).length;
      }
    }
    // Merges make the vocabulary better than characters: fewer pieces than characters per word.
    expect(pieces / words).toBeLessThan(3);
    for (const w of ["the", "The", "de", "في", "и", "में", "và"]) expect(ids.has(w), w).toBe(true);
    expect(model.vocab.some((t) => t.startsWith("##") && [...t].length > 4)).toBe(true);
    // Unseen characters map to [UNK]; unseen words of known characters do not.
    expect(wordPieceEncode("🙂", ids).tokens).toEqual(["[CLS]", "[UNK]", "[SEP]"]);
    expect(wordPieceEncode("Tastatur 2024 x@y.z", ids).tokens).not.toContain("[UNK]");
    // CJK ideographs are split one per token, punctuation isolated, case kept.
    expect(bertWords("Der Fluss, 河水流!")).toEqual(["Der", "Fluss", ",", "河", "水", "流", "!"]);
  });

  test("vocabSize is an upper bound; other options change weights, not the tokenizer", async () => {
    const small = await generateFixtureModel({ vocabSize: 1200 });
    expect(small.vocab.length).toBe(1200);
    await expect(generateFixtureModel({ vocabSize: 100 })).rejects.toThrow(/too small/);
    const s1 = await generateFixtureModel({ seed: 1 });
    const s2 = await generateFixtureModel({ seed: 2 });
    expect(s2.files.get("tokenizer.json")).toEqual(s1.files.get("tokenizer.json"));
    expect(Buffer.compare(s1.files.get("onnx/model.onnx") as Uint8Array, s2.files.get("onnx/model.onnx") as Uint8Array)).not.toBe(0);
    await expect(generateFixtureModel({ hidden: 30, heads: 4 })).rejects.toThrow(/multiple of heads/);
    await expect(generateFixtureModel({ kind: "gpt" as never })).rejects.toThrow(/unknown kind/);
  }, 60_000);

  test("model.safetensors holds the weights under BertModel's names", async () => {
    const model = await generateFixtureModel();
    const st = await readSafetensors(join(tmp, "a", "model.safetensors"));
    const want = bertStateDict(model.weights);
    expect([...st.keys()].sort()).toEqual(Object.keys(want).sort());
    expect(st.get("embeddings.word_embeddings.weight")?.shape).toEqual([model.vocab.length, 32]);
    expect(st.get("encoder.layer.1.intermediate.dense.weight")?.shape).toEqual([64, 32]); // [out, in] as torch.nn.Linear
    for (const [name, w] of Object.entries(want)) expect(Buffer.from((st.get(name)?.data as Float32Array).buffer).equals(Buffer.from(w.data.buffer)), name).toBe(true);
    // seeded weights: normal-ish, std ≈ 0.1; LayerNorm γ = 1, β = 0
    const we = want["encoder.layer.0.attention.self.query.weight"]?.data as Float32Array;
    const std = Math.sqrt(we.reduce((s, v) => s + v * v, 0) / we.length);
    expect(std).toBeGreaterThan(0.08);
    expect(std).toBeLessThan(0.12);
    expect(Array.from(want["embeddings.LayerNorm.weight"]?.data ?? []).every((v) => v === 1)).toBe(true);
    expect(Array.from(want["embeddings.LayerNorm.bias"]?.data ?? []).every((v) => v === 0)).toBe(true);
  });
});

describe("fixtureModelPath", () => {
  test("generates once into <cacheDir>/fixtures/<kind>-<hash>, concurrent callers share it", async () => {
    const cacheDir = join(tmp, "cache");
    const paths = await Promise.all([fixtureModelPath("bert", { cacheDir }), fixtureModelPath("bert", { cacheDir }), fixtureModelPath("sentence-transformers", { cacheDir })]);
    const key = await fixtureModelKey({ kind: "bert" });
    expect(key).toMatch(/^[0-9a-f]{12}$/);
    expect(paths[0]).toBe(join(cacheDir, "fixtures", `bert-${key}`));
    expect(paths[1]).toBe(paths[0]);
    expect(paths[2]).toBe(join(cacheDir, "fixtures", `sentence-transformers-${await fixtureModelKey({ kind: "sentence-transformers" })}`));
    expect((await readdir(join(cacheDir, "fixtures"))).sort()).toEqual([`bert-${key}`, `sentence-transformers-${await fixtureModelKey({ kind: "sentence-transformers" })}`]);
    expect(existsSync(join(paths[2] as string, "3_Normalize"))).toBe(true);
    const bert = paths[0] as string;
    for (const f of BERT_FILES) expect(Buffer.compare(await readFile(join(bert, f)), await readFile(join(tmp, "a", f))), f).toBe(0);
    // Other options, other folder.
    const other = await fixtureModelPath("bert", { cacheDir, layers: 1 });
    expect(other).not.toBe(bert);
    expect((await readJson(join(other, "config.json"))).num_hidden_layers).toBe(1);
  }, 60_000);

  test("a folder another process already renamed into place is used as is; a damaged one is regenerated", async () => {
    const cacheDir = join(tmp, "cache2");
    const target = join(cacheDir, "fixtures", `bert-${await fixtureModelKey({ kind: "bert" })}`);
    await writeFixtureModel(target);
    const marker = join(target, "marker.txt");
    await import("node:fs/promises").then((fs) => fs.writeFile(marker, "x"));
    expect(await fixtureModelPath("bert", { cacheDir })).toBe(target);
    expect(existsSync(marker)).toBe(true);
    await rm(join(target, "onnx"), { recursive: true });
    expect(await fixtureModelPath("bert", { cacheDir })).toBe(target);
    expect(existsSync(join(target, "onnx", "model.onnx"))).toBe(true);
    expect(existsSync(marker)).toBe(false);
    expect(await readdir(join(cacheDir, "fixtures"))).toEqual([`bert-${await fixtureModelKey({ kind: "bert" })}`]);
  }, 60_000);

  test("racing generators (separate module instances, as separate processes would be) end with one complete folder", async () => {
    const cacheDir = join(tmp, "cache3");
    const instances = [];
    for (let i = 0; i < 3; i++) {
      vi.resetModules(); // a fresh copy of the module: no shared in-process memo
      instances.push((await import("../src/fixture/index.js")) as typeof import("../src/fixture/index.js"));
    }
    const paths = await Promise.all(instances.map((m) => m.fixtureModelPath("bert", { cacheDir })));
    expect(new Set(paths).size).toBe(1);
    expect(await readdir(join(cacheDir, "fixtures"))).toEqual([`bert-${await fixtureModelKey({ kind: "bert" })}`]);
    for (const f of BERT_FILES) expect(Buffer.compare(await readFile(join(paths[0] as string, f)), await readFile(join(tmp, "a", f))), f).toBe(0);
  }, 60_000);

  test("default cache root follows CROSSRANK_CACHE_DIR", async () => {
    const saved = process.env.CROSSRANK_CACHE_DIR;
    process.env.CROSSRANK_CACHE_DIR = join(tmp, "envcache");
    try {
      const p = await fixtureModelPath("bert");
      expect(p.startsWith(join(tmp, "envcache", "fixtures", "bert-"))).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.CROSSRANK_CACHE_DIR;
      else process.env.CROSSRANK_CACHE_DIR = saved;
    }
  }, 60_000);

  test("the corpus is committed beside the sources", () => {
    expect(existsSync(join(FIXTURE_CORPUS_DIR, "en.txt"))).toBe(true);
  });
});
