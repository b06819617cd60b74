import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveModel, Tokenizer } from "@crossrank/tokenize";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  chunkMode,
  detectStaticModel,
  encodeBench,
  type Encoder,
  floatToHalf,
  generateStaticFixtureModel,
  halfToFloat,
  loadEncoder,
  readFixtureCorpus,
  readSafetensors,
  ST_STATIC_EMBEDDING,
  StaticEncoder,
  writeFixtureModel,
  writeSafetensors,
} from "../src/index.js";

let tmp: string;
let m2v: string;
let tokenizer: Tokenizer;
let table: Float32Array;
let vocabSize: number;
const DIM = 64;

const TEXTS = [
  "The quick brown fox jumps over the lazy dog.",
  "Bonjour, le monde !",
  "El rápido zorro marrón salta sobre el perro perezoso.",
  "",
  "Der Hund schläft.  Zwei  Leerzeichen\tTab\nZeile",
  "日本語のテキストと中文",
  "zzqxj unknownword ##weird [SEP] [CLS] trailing ",
];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "crossrank-static-"));
  m2v = (await writeFixtureModel(join(tmp, "m2v"), { kind: "static" })).dir;
  tokenizer = await Tokenizer.load(m2v);
  vocabSize = tokenizer.vocabSize;
  table = (await readSafetensors(join(m2v, "model.safetensors"))).get("embeddings")!.data as Float32Array;
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function withEncoder<T>(spec: string, options: Parameters<typeof loadEncoder>[1], f: (e: Encoder) => Promise<T>): Promise<T> {
  const e = await loadEncoder(spec, options);
  try {
    return await f(e);
  } finally {
    await e.dispose();
  }
}

/** Content ids as model2vec takes them: no special tokens, unknown token dropped. */
function contentIds(text: string): number[] {
  // The fixture vocabulary starts [PAD] [UNK] [CLS] [SEP] [MASK]: [UNK] is 1.
  return tokenizer.tokenize(text, { addSpecialTokens: false, maxLength: 1e9 }).ids.filter((id) => id !== 1);
}

/** Hand computation: mean of w[id]·E[map[id]], optionally L2-normalised. */
function hand(text: string, e: Float32Array, normalize: boolean, weights?: ArrayLike<number>, mapping?: ArrayLike<number>): number[] {
  const ids = contentIds(text);
  const v = new Array<number>(DIM).fill(0);
  for (const id of ids) {
    const row = mapping === undefined ? id : mapping[id]!;
    const w = weights === undefined ? 1 : weights[id]!;
    for (let d = 0; d < DIM; d++) v[d]! += (w * e[row * DIM + d]!) / ids.length;
  }
  if (!normalize || ids.length === 0) return v;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol);
}

describe("static fixture model", () => {
  it("is written in model2vec's layout and detected as such", async () => {
    const model = await generateStaticFixtureModel();
    expect([...model.files.keys()]).toEqual(["config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]);
    expect(model.embeddings.shape).toEqual([model.vocab.length, DIM]);
    const config = JSON.parse(await readFile(join(m2v, "config.json"), "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: "model2vec", normalize: true, hidden_dim: DIM });
    expect(await detectStaticModel(await resolveModel(m2v))).toEqual({ format: "model2vec", modulePath: "", normalize: true });
    // Transformer folders are not static.
    const bert = (await writeFixtureModel(join(tmp, "bert"))).dir;
    expect(await detectStaticModel(await resolveModel(bert))).toBeUndefined();
  });

  it("loads through loadEncoder (folder and fixture:static)", async () => {
    await withEncoder(m2v, {}, async (e) => {
      expect(e.backend).toBe("static");
      expect(e.dim).toBe(DIM);
      expect(e.sentenceDim).toBe(DIM);
      expect(e.maxLength).toBe(512);
      expect(e.modules).toEqual([`StaticEmbedding(${vocabSize}×${DIM})`, "Pooling(mean)", "Normalize"]);
      expect(e).toBeInstanceOf(StaticEncoder);
    });
    await withEncoder("fixture:static", {}, async (e) => {
      expect(e.backend).toBe("static");
      expect(e.dim).toBe(DIM);
    });
  });

  it("encodes as the normalised mean of the looked-up rows (no special tokens, no [UNK])", async () => {
    await withEncoder(m2v, {}, async (e) => {
      const out = await e.encode(TEXTS);
      expect(out.rows).toBe(TEXTS.length);
      TEXTS.forEach((t, i) => expectClose(out.data.subarray(i * DIM, (i + 1) * DIM), hand(t, table, true)));
      // Empty text: a zero vector, as model2vec.
      expect([...out.data.subarray(3 * DIM, 4 * DIM)].every((x) => x === 0)).toBe(true);
      const raw = await e.encode(TEXTS, { normalize: false });
      TEXTS.forEach((t, i) => expectClose(raw.data.subarray(i * DIM, (i + 1) * DIM), hand(t, table, false)));
      await expect(e.encode(["x"], { pooling: "cls" })).rejects.toThrow(/only mean pooling/);
    });
  });

  it("encodeTokens gives the looked-up rows per token", async () => {
    await withEncoder(m2v, {}, async (e) => {
      const toks = await e.encodeTokens(TEXTS);
      TEXTS.forEach((t, i) => {
        const ids = contentIds(t);
        const r = toks[i]!;
        expect(r.tokens.length).toBe(ids.length);
        expect(r.embeddings.length).toBe(ids.length * DIM);
        ids.forEach((id, k) => expectClose(r.embeddings.subarray(k * DIM, (k + 1) * DIM), table.subarray(id * DIM, (id + 1) * DIM), 0));
        r.offsets.forEach(([s, end], k) => {
          if (!r.special[k]) expect(end).toBeGreaterThan(s);
        });
      });
    });
  });

  it("its fast ids (per-word memo) equal the tokenizer's on varied multilingual text", async () => {
    const corpus = await readFixtureCorpus();
    const lines = corpus.flatMap((c) => c.text.split("\n")).filter((l) => l !== "");
    const odd = [
      "  leading and trailing  ",
      "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em space",
      "punctuation!!! (brackets) [x] {y} «guillemets» „Anführungszeichen“ — dash",
      "CJK 漢字かなカナ한국어 mixed中文text",
      "emoji 😀👍 and accents: naïve café Ærøskøbing İstanbul",
      "numbers 3.14159 1,000,000 v2.0-beta+build",
      "Καλημέρα κόσμε, Привет мир, مرحبا بالعالم, שלום",
      "control\u0000chars\u200bzero\u200dwidth\ufeffbom",
      "[CLS] [SEP] [MASK] [PAD] [UNK] typed specials",
      "glued[SEP]special, (nested[brackets]) a.b,c;d:e!f?g 'quoted' \"double\" #hash @at $dollar %pct ^caret &amp *star _under ~tilde |pipe \\back",
      "astral punctuation \u{10100}x\u{10101} and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters",
      "combining marks: e\u0301 !\u0301 a\u0308\u0308",
    ];
    expect(chunkMode(JSON.parse(await readFile(join(m2v, "tokenizer.json"), "utf8")) as Record<string, unknown>)).toBe("words");
    expect(chunkMode({ normalizer: null, pre_tokenizer: { type: "ByteLevel" } })).toBe("none");
    expect(chunkMode({ normalizer: { type: "NFKC" }, pre_tokenizer: { type: "WhitespaceSplit" } })).toBe("spaces");
    await withEncoder(m2v, { maxLength: 100000 }, async (e) => {
      const s = e as StaticEncoder;
      for (const text of [...lines, ...odd, ...lines.map((l) => l.toUpperCase())]) {
        expect([...s.ids(text)], text).toEqual(contentIds(text));
        // Twice: the second time from the memo.
        expect([...s.ids(text)], text).toEqual(contentIds(text));
      }
    });
  });

  it("truncates to maxLength tokens", async () => {
    await withEncoder(m2v, { maxLength: 3 }, async (e) => {
      const t = TEXTS[0]!;
      expect([...(e as StaticEncoder).ids(t)]).toEqual(contentIds(t).slice(0, 3));
      expect((await e.encodeTokens([t]))[0]!.tokens).toHaveLength(3);
      expect(e.id).toBe(`${m2v}?maxLength=3`);
    });
  });
});

describe("static layouts", () => {
  it("reads a sentence-transformers StaticEmbedding folder (embedding.weight, no tokenizer_config.json)", async () => {
    const dir = join(tmp, "st-static");
    await mkdir(join(dir, "0_StaticEmbedding"), { recursive: true });
    await writeFile(
      join(dir, "modules.json"),
      JSON.stringify([
        { idx: 0, name: "0", path: "0_StaticEmbedding", type: ST_STATIC_EMBEDDING },
        { idx: 1, name: "1", path: "1_Normalize", type: "sentence_transformers.models.Normalize" },
      ]),
    );
    await mkdir(join(dir, "1_Normalize"));
    await cp(join(m2v, "tokenizer.json"), join(dir, "0_StaticEmbedding", "tokenizer.json"));
    await writeSafetensors(join(dir, "0_StaticEmbedding", "model.safetensors"), { "embedding.weight": { dtype: "F32", shape: [vocabSize, DIM], data: table } });
    expect(await detectStaticModel(await resolveModel(dir))).toEqual({ format: "sentence-transformers", modulePath: "0_StaticEmbedding", normalize: true });
    await withEncoder(dir, { cacheDir: join(tmp, "hubcache") }, async (e) => {
      expect(e.backend).toBe("static");
      const out = await e.encode(TEXTS);
      TEXTS.forEach((t, i) => expectClose(out.data.subarray(i * DIM, (i + 1) * DIM), hand(t, table, true)));
    });
    // Without the Normalize module: plain mean.
    await writeFile(join(dir, "modules.json"), JSON.stringify([{ idx: 0, name: "0", path: "0_StaticEmbedding", type: ST_STATIC_EMBEDDING }]));
    await withEncoder(dir, { cacheDir: join(tmp, "hubcache") }, async (e) => {
      expect(e.modules).not.toContain("Normalize");
      const out = await e.encode([TEXTS[0]!]);
      expectClose(out.data, hand(TEXTS[0]!, table, false));
    });
  });

  it("applies weights and mapping (vocabulary quantization) with F16 embeddings", async () => {
    const dir = join(tmp, "quantized");
    await mkdir(dir, { recursive: true });
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) await cp(join(m2v, f), join(dir, f));
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "model2vec", normalize: false }));
    const rows = 7;
    const emb = Float32Array.from({ length: rows * DIM }, (_, i) => Math.sin(i * 0.37) * 0.5);
    const mapping = BigInt64Array.from({ length: vocabSize }, (_, i) => BigInt((i * 3) % rows));
    const weights = Float32Array.from({ length: vocabSize }, (_, i) => 0.5 + (i % 5) * 0.25);
    await writeSafetensors(join(dir, "model.safetensors"), {
      embeddings: { dtype: "F16", shape: [rows, DIM], data: emb },
      mapping: { dtype: "I64", shape: [vocabSize], data: mapping },
      weights: { dtype: "F32", shape: [vocabSize], data: weights },
    });
    const rounded = emb.map((x) => halfToFloat(floatToHalf(x)));
    const mapNum = Array.from(mapping, Number);
    await withEncoder(dir, {}, async (e) => {
      expect(e.modules[0]).toBe(`StaticEmbedding(${rows}×${DIM}, weights, mapping)`);
      const out = await e.encode(TEXTS);
      TEXTS.forEach((t, i) => expectClose(out.data.subarray(i * DIM, (i + 1) * DIM), hand(t, rounded, false, weights, mapNum)));
      // Token rows are the scaled, mapped rows: their mean is the sentence vector.
      const toks = (await e.encodeTokens([TEXTS[0]!]))[0]!;
      const ids = contentIds(TEXTS[0]!);
      ids.forEach((id, k) => expectClose(toks.embeddings.subarray(k * DIM, (k + 1) * DIM), Array.from(rounded.subarray(mapNum[id]! * DIM, (mapNum[id]! + 1) * DIM), (x) => x * weights[id]!)));
    });
  });

  it("detects a model2vec folder without model_type by its embeddings tensor", async () => {
    const dir = join(tmp, "bare");
    await mkdir(dir, { recursive: true });
    for (const f of ["tokenizer.json", "tokenizer_config.json", "model.safetensors"]) await cp(join(m2v, f), join(dir, f));
    await writeFile(join(dir, "config.json"), JSON.stringify({ normalize: true }));
    expect(await detectStaticModel(await resolveModel(dir))).toEqual({ format: "model2vec", modulePath: "", normalize: true });
    await withEncoder(dir, {}, async (e) => expect(e.backend).toBe("static"));
  });

  it("gives clear errors", async () => {
    const dir = join(tmp, "broken");
    await mkdir(dir, { recursive: true });
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) await cp(join(m2v, f), join(dir, f));
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "model2vec" }));
    await writeSafetensors(join(dir, "model.safetensors"), { other: { dtype: "F32", shape: [2], data: new Float32Array(2) } });
    await expect(loadEncoder(dir)).rejects.toThrow(/no embeddings tensor.*found: other/);
    await writeSafetensors(join(dir, "model.safetensors"), { embeddings: { dtype: "F32", shape: [vocabSize - 1, 4], data: new Float32Array((vocabSize - 1) * 4) } });
    await expect(loadEncoder(dir)).rejects.toThrow(new RegExp(`${vocabSize - 1} rows but the tokenizer has ${vocabSize} tokens`));
    await writeSafetensors(join(dir, "model.safetensors"), {
      embeddings: { dtype: "F32", shape: [3, 4], data: new Float32Array(12) },
      mapping: { dtype: "I32", shape: [vocabSize], data: new Int32Array(vocabSize).fill(3) },
    });
    await expect(loadEncoder(dir)).rejects.toThrow(/mapping\[0\] = 3 is outside the 3 embedding rows/);
    await expect(loadEncoder(m2v, { backend: "onnx" })).rejects.toThrow(/static embedding model.*backend "onnx" does not apply/);
    await expect(encodeBench({ model: m2v, texts: ["a"] })).rejects.toThrow(/static embedding model; the backend comparison only applies to transformer models/);
  });
});

describe("static embedding cache", () => {
  it("serves repeated texts from the cache and keys it on the file contents", async () => {
    const dir = join(tmp, "cached-model");
    await writeFixtureModel(dir, { kind: "static" });
    const cache = join(tmp, "cache");
    const first = await withEncoder(dir, { cache }, (e) => e.encode(TEXTS));
    await withEncoder(dir, { cache }, async (e) => {
      const spy = vi.spyOn(e as unknown as { fill: (t: string) => number }, "fill");
      const again = await e.encode(TEXTS);
      expect(spy).not.toHaveBeenCalled();
      expect([...again.data]).toEqual([...first.data]);
    });
    // Other weights (seed 2) in the same folder: a new fingerprint, no stale vectors.
    await writeFixtureModel(dir, { kind: "static", seed: 2 });
    const fresh = await withEncoder(dir, {}, (e) => e.encode(TEXTS));
    await withEncoder(dir, { cache }, async (e) => {
      const spy = vi.spyOn(e as unknown as { fill: (t: string) => number }, "fill");
      const cached = await e.encode(TEXTS);
      expect(spy).toHaveBeenCalled();
      expect([...cached.data]).toEqual([...fresh.data]);
    });
  });
});
