/**
 * The fixture folders load through @huggingface/transformers exactly as a downloaded model folder
 * would: AutoTokenizer / AutoModel.from_pretrained(<absolute folder path>) with remote models
 * disallowed, so nothing can reach the network.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoModel, AutoTokenizer, env, type PreTrainedTokenizer, Tensor } from "@huggingface/transformers";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readFixtureCorpus, writeFixtureModel } from "../src/fixture/index.js";
import { wordPieceEncode } from "../src/fixture/wordpiece.js";

let bertDir: string;
let stDir: string;
let root: string;
let vocab: string[];
let tokenizer: PreTrainedTokenizer;

beforeAll(async () => {
  // A folder given as an absolute path is read from disk directly (it is not a hub id, so
  // env.localModelPath is not involved); with remote models disallowed a missing file is an error
  // instead of a download.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  root = await mkdtemp(join(tmpdir(), "crossrank-fixture-tjs-"));
  bertDir = (await writeFixtureModel(join(root, "bert"))).dir;
  stDir = (await writeFixtureModel(join(root, "st"), { kind: "sentence-transformers" })).dir;
  vocab = (await readFile(join(bertDir, "vocab.txt"), "utf8")).split("\n").slice(0, -1);
  tokenizer = await AutoTokenizer.from_pretrained(bertDir);
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function ids(t: Tensor): number[][] {
  return (t.tolist() as bigint[][]).map((r) => r.map(Number));
}

describe("fixture model in @huggingface/transformers", () => {
  test('AutoTokenizer: "Hello world" → [CLS] … [SEP] with vocab.txt ids', () => {
    const enc = tokenizer("Hello world");
    const got = (ids(enc.input_ids as Tensor)[0] ?? []) as number[];
    expect(got[0]).toBe(vocab.indexOf("[CLS]"));
    expect(got.at(-1)).toBe(vocab.indexOf("[SEP]"));
    const tokens = got.map((i) => vocab[i] as string);
    expect(tokens.join(" ").replace(/ ##/g, "")).toBe("[CLS] Hello world [SEP]");
    expect(got).toEqual(wordPieceEncode("Hello world", new Map(vocab.map((t, i) => [t, i]))).ids);
    expect(ids(enc.token_type_ids as Tensor)[0]?.every((v) => v === 0)).toBe(true);
    expect(tokenizer.model_max_length).toBe(128);
    expect(tokenizer.pad_token_id).toBe(0);
  });

  test("AutoTokenizer agrees with the generator's own WordPiece on every corpus line and on unseen text", async () => {
    const map = new Map(vocab.map((t, i) => [t, i]));
    const texts = (await readFixtureCorpus()).flatMap((c) => c.text.split("\n").filter((l) => l !== ""));
    texts.push("Unseen: Ünïcödé façade, naïve café — 3.14 × 2 = 6.28!", "tab\there\nnew line", "emoji 🙂 ok", "x".repeat(120), "中文and English混合", "(quoted) «guillemets» [brackets]");
    for (const text of texts) expect((ids(tokenizer(text).input_ids as Tensor)[0] ?? []), text).toEqual(wordPieceEncode(text, map).ids);
  });

  test("AutoModel fp32 and q8 give the raw onnxruntime output of onnx/model.onnx and onnx/model_quantized.onnx", async () => {
    const texts = ["Hello world", "Der Fluss fließt langsam durch die alte Stadt.", "河水缓缓流过老城。"];
    const enc = tokenizer(texts, { padding: true });
    const dims = (enc.input_ids as Tensor).dims;
    const attention = ids(enc.attention_mask as Tensor);
    expect(attention.some((r) => r.includes(0))).toBe(true); // padded
    for (const [dtype, file] of [
      ["fp32", "onnx/model.onnx"],
      ["q8", "onnx/model_quantized.onnx"],
    ] as const) {
      const model = await AutoModel.from_pretrained(bertDir, { dtype, device: "cpu" });
      try {
        const out = (await model(enc)) as { last_hidden_state: Tensor };
        expect(out.last_hidden_state.dims).toEqual([...dims, 32]);
        const session = await ort.InferenceSession.create(join(bertDir, file));
        const feeds: Record<string, ort.Tensor> = {};
        for (const name of ["input_ids", "attention_mask", "token_type_ids"] as const) {
          const t = enc[name] as Tensor;
          feeds[name] = new ort.Tensor("int64", t.data as BigInt64Array, t.dims);
        }
        const raw = (await session.run(feeds)).last_hidden_state as ort.Tensor;
        await session.release();
        const a = out.last_hidden_state.data as Float32Array;
        const b = raw.data as Float32Array;
        let max = 0;
        for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
        expect(max, dtype).toBeLessThan(1e-6);
      } finally {
        await model.dispose();
      }
    }
  }, 60_000);

  test("the sentence-transformers fixture loads the same way", async () => {
    const tok = await AutoTokenizer.from_pretrained(stDir);
    const model = await AutoModel.from_pretrained(stDir, { dtype: "fp32", device: "cpu" });
    try {
      const out = (await model(tok(["Hello world"]))) as { last_hidden_state: Tensor };
      expect(out.last_hidden_state.dims[2]).toBe(32);
    } finally {
      await model.dispose();
    }
  }, 60_000);

  test("a folder without the requested file is an error, not a download", async () => {
    await expect(AutoModel.from_pretrained(join(root, "nothing-here"), { dtype: "fp32", device: "cpu" })).rejects.toThrow();
  }, 30_000);
});
