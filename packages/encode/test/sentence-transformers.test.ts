import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveModel } from "@crossrank/tokenize";
import { beforeAll, describe, expect, it } from "vitest";
import { loadEncoder, readSentenceTransformers, readSafetensors, writeFixtureModel } from "../src/index.js";


let tmp: string;
let st: string; // a generated sentence-transformers fixture folder (LaBSE's layout)

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "crossrank-st-"));
  st = (await writeFixtureModel(join(tmp, "st"), { kind: "sentence-transformers" })).dir;
});

/** A copy of the fixture folder with `edit` applied. */
async function variant(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(tmp, name);
  await cp(st, dir, { recursive: true });
  await edit(dir);
  return dir;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

async function read(dir: string) {
  return readSentenceTransformers(await resolveModel(dir));
}

describe("readSentenceTransformers", () => {
  it("reads LaBSE's pipeline: CLS pooling, Dense + tanh, Normalize, max_seq_length", async () => {
    const c = (await read(st))!;
    expect(c.transformerPath).toBe("");
    expect(c.pooling).toBe("cls");
    expect(c.poolingDim).toBe(32);
    expect(c.maxSeqLength).toBe(128);
    expect(c.doLowerCase).toBe(false);
    expect(c.normalize).toBe(true);
    expect(c.dense).toHaveLength(1);
    const d = c.dense[0]!;
    expect([d.path, d.inFeatures, d.outFeatures, d.activation]).toEqual(["2_Dense", 32, 24, "tanh"]);
    const weights = await readSafetensors(join(st, "2_Dense/model.safetensors"));
    expect(Array.from(d.weight)).toEqual(Array.from(weights.get("linear.weight")!.data as Float32Array));
    expect(Array.from(d.bias!)).toEqual(Array.from(weights.get("linear.bias")!.data as Float32Array));
    expect(c.files).toEqual(["modules.json", "config_sentence_transformers.json", "sentence_bert_config.json", "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors"]);
  });

  it("a folder without modules.json is a plain model", async () => {
    const bert = (await writeFixtureModel(join(tmp, "bert"))).dir;
    expect(await read(bert)).toBeUndefined();
  });

  it("mean / max pooling modes and other activations", async () => {
    const dir = await variant("mean-relu", async (d) => {
      await writeFile(join(d, "1_Pooling/config.json"), json({ word_embedding_dimension: 32, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true }));
      await writeFile(join(d, "2_Dense/config.json"), json({ in_features: 32, out_features: 24, bias: true, activation_function: "torch.nn.modules.linear.Identity" }));
    });
    const c = (await read(dir))!;
    expect(c.pooling).toBe("mean");
    expect(c.dense[0]!.activation).toBe("identity");
  });

  it("rejects pooling modes it does not implement, naming them", async () => {
    const sqrt = await variant("sqrt", (d) => writeFile(join(d, "1_Pooling/config.json"), json({ pooling_mode_cls_token: false, pooling_mode_mean_sqrt_len_tokens: true })));
    await expect(read(sqrt)).rejects.toThrow(/pooling_mode_mean_sqrt_len_tokens is not supported.*cls_token, pooling_mode_mean_tokens, pooling_mode_max_tokens/);
    const two = await variant("two-modes", (d) => writeFile(join(d, "1_Pooling/config.json"), json({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: true })));
    await expect(read(two)).rejects.toThrow(/pooling_mode_cls_token \+ pooling_mode_mean_tokens.*concatenated/);
  });

  it("rejects unknown modules, activations and module orders", async () => {
    const modules = [
      { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
      { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
      { idx: 2, name: "2", path: "2_LayerNorm", type: "sentence_transformers.models.LayerNorm" },
    ];
    const layerNorm = await variant("layernorm", (d) => writeFile(join(d, "modules.json"), json(modules)));
    await expect(read(layerNorm)).rejects.toThrow(/unsupported module type "sentence_transformers.models.LayerNorm"/);
    const order = await variant("order", (d) => writeFile(join(d, "modules.json"), json([modules[0], { ...modules[1], idx: 3 }, { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" }])));
    await expect(read(order)).rejects.toThrow(/order Transformer, Pooling, Dense…, Normalize/);
    const gelu = await variant("selu", (d) => writeFile(join(d, "2_Dense/config.json"), json({ in_features: 32, out_features: 24, activation_function: "torch.nn.modules.activation.SELU" })));
    await expect(read(gelu)).rejects.toThrow(/unsupported activation_function "torch.nn.modules.activation.SELU"/);
  });

  it("a Dense layer with only pytorch_model.bin says how to convert it", async () => {
    const dir = await variant("bin", async (d) => {
      await rename(join(d, "2_Dense/model.safetensors"), join(d, "2_Dense/pytorch_model.bin"));
    });
    await expect(read(dir)).rejects.toThrow(/2_Dense\/pytorch_model.bin is a PyTorch pickle[\s\S]*save_file[\s\S]*2_Dense\/model.safetensors/);
    const none = await variant("no-weights", (d) => rm(join(d, "2_Dense/model.safetensors")));
    await expect(read(none)).rejects.toThrow(/2_Dense\/model.safetensors/);
  });

  it("checks the Dense weights against config.json", async () => {
    const dir = await variant("shape", (d) => writeFile(join(d, "2_Dense/config.json"), json({ in_features: 32, out_features: 20 })));
    await expect(read(dir)).rejects.toThrow(/"linear.weight" has shape \[24, 32\], expected \[20, 32\]/);
  });
});

describe("sentence-transformers folders in the encoder", () => {
  it("a Transformer module in 0_Transformer/ loads like one at the root, honoring its sentence_bert_config", async () => {
    const dir = await variant("sub", async (d) => {
      await mkdir(join(d, "0_Transformer"));
      for (const f of await readdir(d)) {
        if (/^(config\.json|tokenizer.*|special_tokens_map\.json|vocab\.txt|model\.safetensors|onnx|sentence_bert_config\.json)$/.test(f)) {
          await rename(join(d, f), join(d, "0_Transformer", f));
        }
      }
      const modules = [
        { idx: 0, name: "0", path: "0_Transformer", type: "sentence_transformers.models.Transformer" },
        { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
        { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" },
        { idx: 3, name: "3", path: "3_Normalize", type: "sentence_transformers.models.Normalize" },
      ];
      await writeFile(join(d, "modules.json"), json(modules));
      await writeFile(join(d, "0_Transformer/sentence_bert_config.json"), json({ max_seq_length: 12, do_lower_case: true }));
    });
    const texts = ["Der schnelle braune Fuchs springt über den faulen Hund und läuft weiter in den Wald.", "Bonjour"];
    const sub = await loadEncoder(dir);
    const root = await loadEncoder(st, { maxLength: 12 });
    try {
      expect(sub.maxLength).toBe(12);
      const tokens = await sub.encodeTokens(texts);
      expect(tokens[0]!.tokens).toHaveLength(12);
      expect(tokens[0]!.text).toBe(texts[0]!.toLowerCase());
      const a = await sub.encode(texts);
      const b = await root.encode(texts.map((t) => t.toLowerCase()));
      expect(a.dim).toBe(24);
      for (let i = 0; i < a.data.length; i++) expect(Math.abs(a.data[i]! - b.data[i]!)).toBeLessThan(1e-6);
    } finally {
      await sub.dispose();
      await root.dispose();
    }
  });

  it("a Pooling dimension that does not match the model is an error at load", async () => {
    const dir = await variant("pool-dim", (d) => writeFile(join(d, "1_Pooling/config.json"), json({ word_embedding_dimension: 768, pooling_mode_cls_token: true })));
    await expect(loadEncoder(dir)).rejects.toThrow(/word_embedding_dimension is 768 but the model's hidden size is 32/);
  });
});

describe("how a folder's vectors are compared (Encoder.similarity)", () => {
  it("the distiluse fixture is DistilUSE's pipeline: mean pooling, Dense, no Normalize, no similarity_fn_name → dot", async () => {
    const dir = (await writeFixtureModel(join(tmp, "distiluse"), { kind: "distiluse" })).dir;
    const c = (await read(dir))!;
    expect([c.pooling, c.normalize, c.dense.length, c.similarityFnName]).toEqual(["mean", false, 1, undefined]);
    const encoder = await loadEncoder(dir);
    try {
      expect(encoder.modules).toEqual(["Transformer", "Pooling(mean)", "Dense(32→24, tanh)"]);
      expect(encoder.similarity).toBe("dot");
      // Its vectors are not unit length: dot product and cosine rank differently.
      const { data, dim } = await encoder.encode(["Der Hund läuft.", "Le chien court dans le parc."]);
      const norms = [0, 1].map((r) => Math.hypot(...data.subarray(r * dim, (r + 1) * dim)));
      for (const n of norms) expect(Math.abs(n - 1)).toBeGreaterThan(1e-3);
    } finally {
      await encoder.dispose();
    }
  });

  it("LaBSE's folder (Normalize, similarity_fn_name cosine) and a plain model are cosine", async () => {
    const labse = await loadEncoder(st);
    const bert = await loadEncoder((await writeFixtureModel(join(tmp, "plain"))).dir);
    try {
      expect(labse.similarity).toBe("cosine");
      expect(bert.similarity).toBe("cosine");
    } finally {
      await labse.dispose();
      await bert.dispose();
    }
  });

  it("similarity_fn_name wins over the modules: dot with Normalize, cosine without", async () => {
    const withConfig = (name: string, value: unknown, dropNormalize: boolean) =>
      variant(name, async (d) => {
        await writeFile(join(d, "config_sentence_transformers.json"), json({ __version__: { sentence_transformers: "3.0.1" }, similarity_fn_name: value }));
        if (dropNormalize) await writeFile(join(d, "modules.json"), json((JSON.parse(await readFile(join(d, "modules.json"), "utf8")) as unknown[]).slice(0, 3)));
      });
    const dot = await loadEncoder(await withConfig("sim-dot", "dot", false));
    const cosine = await loadEncoder(await withConfig("sim-cosine", "cosine", true));
    const euclidean = await loadEncoder(await withConfig("sim-euclidean", "euclidean", false));
    try {
      expect(dot.similarity).toBe("dot");
      expect(dot.modules.at(-1)).toBe("Normalize");
      expect(cosine.similarity).toBe("cosine");
      expect(cosine.modules.at(-1)).not.toBe("Normalize");
      expect(euclidean.similarity).toBe("euclidean");
    } finally {
      await dot.dispose();
      await cosine.dispose();
      await euclidean.dispose();
    }
    const bad = await withConfig("sim-bad", "jaccard", false);
    await expect(read(bad)).rejects.toThrow(/similarity_fn_name must be one of "cosine", "dot", "euclidean", "manhattan", got "jaccard"/);
  });
});
