import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateFixtureModel, writeFixtureModel, type FixtureModel } from "../src/fixture/index.js";
import { erf } from "../src/pooling.js";
import { referenceForward } from "../src/fixture/reference-forward.js";
import { wordPieceEncode } from "../src/fixture/wordpiece.js";

const TEXTS = ["Hello world", "Der Fluss fließt langsam durch die alte Stadt.", "河水缓缓流过老城。", "Река медленно течёт через старый город, и 2024 год."];

let dir: string;
let model: FixtureModel;
let fp32: ort.InferenceSession;
let q8: ort.InferenceSession;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-fixture-onnx-"));
  await writeFixtureModel(dir);
  model = await generateFixtureModel();
  fp32 = await ort.InferenceSession.create(join(dir, "onnx/model.onnx"));
  q8 = await ort.InferenceSession.create(join(dir, "onnx/model_quantized.onnx"));
}, 60_000);
afterAll(async () => {
  await fp32?.release();
  await q8?.release();
  await rm(dir, { recursive: true, force: true });
});

/** Right-padded batch of the texts, as a tokenizer with padding "longest" makes it. */
function batch(texts: readonly string[], typeId = 0) {
  const vocab = new Map(model.vocab.map((t, i) => [t, i]));
  const rows = texts.map((t) => wordPieceEncode(t, vocab).ids);
  const L = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(texts.length * L);
  const mask = new BigInt64Array(texts.length * L);
  const types = new BigInt64Array(texts.length * L);
  rows.forEach((r, b) =>
    r.forEach((id, j) => {
      ids[b * L + j] = BigInt(id);
      mask[b * L + j] = 1n;
      types[b * L + j] = BigInt(typeId);
    }),
  );
  return { ids, mask, types, B: texts.length, L, lengths: rows.map((r) => r.length) };
}

async function run(session: ort.InferenceSession, b: ReturnType<typeof batch>): Promise<Float32Array> {
  const dims = [b.B, b.L];
  const out = await session.run({ input_ids: new ort.Tensor("int64", b.ids, dims), attention_mask: new ort.Tensor("int64", b.mask, dims), token_type_ids: new ort.Tensor("int64", b.types, dims) });
  const t = out.last_hidden_state as ort.Tensor;
  expect(t.dims).toEqual([b.B, b.L, 32]);
  return t.data as Float32Array;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] as number) * (b[i] as number);
    aa += (a[i] as number) ** 2;
    bb += (b[i] as number) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

describe("fixture ONNX graph", () => {
  test("declares the inputs and output of a Hugging Face BERT export", () => {
    expect([...fp32.inputNames].sort()).toEqual(["attention_mask", "input_ids", "token_type_ids"]);
    expect(fp32.outputNames).toEqual(["last_hidden_state"]);
    expect([...q8.inputNames].sort()).toEqual(["attention_mask", "input_ids", "token_type_ids"]);
    expect(q8.outputNames).toEqual(["last_hidden_state"]);
  });

  test("onnxruntime matches the TypeScript reference BERT on a padded batch", async () => {
    const b = batch(TEXTS);
    expect(new Set(b.lengths).size).toBeGreaterThan(1); // really padded
    const got = await run(fp32, b);
    const want = referenceForward(model.weights, { inputIds: b.ids, attentionMask: b.mask, tokenTypeIds: b.types, batch: b.B, seqLength: b.L });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    // token type ids are wired in too
    const b1 = batch(TEXTS, 1);
    const got1 = await run(fp32, b1);
    expect(maxAbsDiff(got1, got)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(got1, referenceForward(model.weights, { inputIds: b1.ids, attentionMask: b1.mask, tokenTypeIds: b1.types, batch: b1.B, seqLength: b1.L }))).toBeLessThan(1e-4);
  }, 30_000);

  test("padding does not change the real tokens' vectors", async () => {
    const padded = batch(TEXTS);
    const all = await run(fp32, padded);
    for (let i = 0; i < TEXTS.length; i++) {
      const alone = await run(fp32, batch([TEXTS[i] as string]));
      const n = padded.lengths[i] as number;
      const rows = all.subarray(i * padded.L * 32, (i * padded.L + n) * 32);
      expect(alone.length).toBe(n * 32);
      expect(maxAbsDiff(rows, alone), TEXTS[i]).toBeLessThan(1e-5);
    }
  }, 30_000);

  test("outputs depend on the input: tokens and contexts give different vectors", async () => {
    const out = await run(fp32, batch(["Hello world", "Hello Moon"]));
    const L = out.length / 2 / 32;
    const cls0 = out.subarray(0, 32);
    const cls1 = out.subarray(L * 32, L * 32 + 32);
    expect(cosine(cls0, cls1)).toBeLessThan(0.999); // CLS sees the whole sentence
    expect(maxAbsDiff(out.subarray(32, 64), out.subarray(32, 64).map((v) => v * 0))).toBeGreaterThan(0.1);
    for (const v of out) expect(Number.isFinite(v)).toBe(true);
  });

  test("q8 model: int8 weights, close to float32", async () => {
    const fpBytes = (await readFile(join(dir, "onnx/model.onnx"))).length;
    const qBytes = (await readFile(join(dir, "onnx/model_quantized.onnx"))).length;
    expect(qBytes).toBeLessThan(fpBytes * 0.4);
    const b = batch(TEXTS);
    const a = await run(fp32, b);
    const q = await run(q8, b);
    expect(maxAbsDiff(a, q)).toBeGreaterThan(0); // really a different model
    expect(maxAbsDiff(a, q)).toBeLessThan(0.25);
    for (let r = 0; r < b.B * b.L; r++) {
      if (b.mask[r] === 0n) continue;
      expect(cosine(a.subarray(r * 32, r * 32 + 32), q.subarray(r * 32, r * 32 + 32))).toBeGreaterThan(0.99);
    }
  }, 30_000);

  test("reference erf is accurate", () => {
    expect(erf(0)).toBeCloseTo(0, 6);
    expect(erf(0.5)).toBeCloseTo(0.5204998778, 6);
    expect(erf(-1)).toBeCloseTo(-0.8427007929, 6);
    expect(erf(3)).toBeCloseTo(0.9999779095, 6);
  });
});
