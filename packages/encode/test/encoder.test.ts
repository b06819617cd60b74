import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, stat, truncate } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MissingModelFileError } from "@crossrank/tokenize";
import { InferenceSession } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Encoder, generateFixtureModel, loadEncoder, referenceForward, type TokenEmbeddings, writeFixtureModel } from "../src/index.js";


let tmp: string;
let bert: string;
let st: string;

const TEXTS = [
  "The quick brown fox jumps over the lazy dog.",
  "Bonjour",
  "El rápido zorro marrón salta sobre el perro perezoso, y luego corre hacia el bosque.",
  "",
  "Der Hund schläft.",
];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "crossrank-encoder-"));
  bert = (await writeFixtureModel(join(tmp, "bert"))).dir;
  st = (await writeFixtureModel(join(tmp, "st"), { kind: "sentence-transformers" })).dir;
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Runs `f` with an encoder that is disposed afterwards. */
async function withEncoder<T>(spec: string, options: Parameters<typeof loadEncoder>[1], f: (e: Encoder) => Promise<T>): Promise<T> {
  const e = await loadEncoder(spec, options);
  try {
    return await f(e);
  } finally {
    await e.dispose();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function rowsOf(t: TokenEmbeddings): Float32Array[] {
  return Array.from({ length: t.tokens.length }, (_, r) => t.embeddings.subarray(r * t.dim, (r + 1) * t.dim));
}

/** Counts onnxruntime session runs (both backends end in InferenceSession.run). */
function countRuns(): { count: () => number; restore: () => void } {
  // Typed as a factory, but at runtime a class whose instances every session is.
  const proto = (InferenceSession as unknown as { prototype: { run: () => Promise<unknown> } }).prototype;
  const spy = vi.spyOn(proto, "run");
  return { count: () => spy.mock.calls.length, restore: () => spy.mockRestore() };
}

describe("token embeddings", () => {
  it("are the model's last hidden state over the non-padding tokens (checked against a plain-TypeScript BERT)", async () => {
    const model = await generateFixtureModel();
    await withEncoder(bert, {}, async (e) => {
      expect(e.dim).toBe(32);
      expect(e.sentenceDim).toBe(32);
      expect(e.backend).toBe("transformers");
      expect(e.dtype).toBe("fp32");
      expect(e.id).toBe(bert);
      expect(e.modules).toEqual(["Transformer", "Pooling(mean)"]);
      const out = await e.encodeTokens(TEXTS);
      expect(out).toHaveLength(TEXTS.length);
      out.forEach((t, i) => {
        expect(t.text).toBe(TEXTS[i]);
        expect(t.tokens[0]).toBe("[CLS]");
        expect(t.tokens.at(-1)).toBe("[SEP]");
        expect(t.special[0]).toBe(true);
        expect(t.special.at(-1)).toBe(true);
        expect(t.offsets).toHaveLength(t.tokens.length);
        expect(t.embeddings.length).toBe(t.tokens.length * t.dim);
        const item = e.tokenizer.tokenize(TEXTS[i]!);
        expect(t.tokens).toEqual(item.tokens);
        const ref = referenceForward(model.weights, { inputIds: item.ids, attentionMask: item.ids.map(() => 1), batch: 1, seqLength: item.ids.length });
        expect(maxAbsDiff(t.embeddings, ref)).toBeLessThan(1e-4);
      });
      expect(out[3]!.tokens).toEqual(["[CLS]", "[SEP]"]);
    });
  });

  it("do not depend on the batch: a text alone or next to a longer one gives the same rows", async () => {
    await withEncoder(bert, { batchSize: 2, backend: "onnx" }, async (e) => {
      const [alone] = await e.encodeTokens(["Bonjour"]);
      const [, padded] = await e.encodeTokens([TEXTS[2]!, "Bonjour"]);
      expect(padded!.tokens).toEqual(alone!.tokens);
      expect(maxAbsDiff(padded!.embeddings, alone!.embeddings)).toBeLessThan(1e-5);
    });
  });

  it("keep the input order although batches are sorted by length, and report progress per batch", async () => {
    await withEncoder(bert, { batchSize: 2 }, async (e) => {
      const progress: [number, number][] = [];
      const all = await e.encodeTokens(TEXTS, { onProgress: (done, total) => progress.push([done, total]) });
      expect(progress).toEqual([[2, 5], [4, 5], [5, 5]]);
      for (let i = 0; i < TEXTS.length; i++) {
        const [one] = await e.encodeTokens([TEXTS[i]!]);
        expect(all[i]!.tokens).toEqual(one!.tokens);
        expect(maxAbsDiff(all[i]!.embeddings, one!.embeddings)).toBeLessThan(1e-5);
      }
    });
  });

  it("are truncated to maxLength", async () => {
    await withEncoder(bert, { maxLength: 8 }, async (e) => {
      expect(e.maxLength).toBe(8);
      expect(e.id).toBe(`${bert}?maxLength=8`);
      const [t] = await e.encodeTokens([TEXTS[2]!]);
      expect(t!.tokens).toHaveLength(8);
      expect(t!.tokens.at(-1)).toBe("[SEP]");
    });
    await expect(loadEncoder(bert, { maxLength: 4096 })).rejects.toThrow(/maxLength 4096 exceeds .* \(128 tokens\)/);
  });
});

describe("backends", () => {
  it("transformers.js and raw onnxruntime agree (tokens and sentences)", async () => {
    for (const dir of [bert, st]) {
      const [a, b] = await Promise.all([loadEncoder(dir, { backend: "transformers" }), loadEncoder(dir, { backend: "onnx" })]);
      try {
        expect(b.backend).toBe("onnx");
        const ta = await a.encodeTokens(TEXTS);
        const tb = await b.encodeTokens(TEXTS);
        ta.forEach((t, i) => expect(maxAbsDiff(t.embeddings, tb[i]!.embeddings)).toBeLessThan(1e-4));
        expect(maxAbsDiff((await a.encode(TEXTS)).data, (await b.encode(TEXTS)).data)).toBeLessThan(1e-4);
      } finally {
        await a.dispose();
        await b.dispose();
      }
    }
  });

  it("q8 loads onnx/model_quantized.onnx on both backends", async () => {
    const fp32 = await withEncoder(bert, {}, (e) => e.encode(TEXTS, { normalize: true }));
    for (const backend of ["transformers", "onnx"] as const) {
      await withEncoder(bert, { dtype: "q8", backend }, async (e) => {
        expect(e.dtype).toBe("q8");
        expect(e.id).toBe(`${bert}?dtype=q8`);
        const q = await e.encode(TEXTS, { normalize: true });
        const diff = maxAbsDiff(q.data, fp32.data);
        expect(diff).toBeGreaterThan(0); // really the other file
        for (let i = 0; i < TEXTS.length; i++) {
          let cos = 0;
          for (let d = 0; d < q.dim; d++) cos += q.data[i * q.dim + d]! * fp32.data[i * q.dim + d]!;
          expect(cos).toBeGreaterThan(0.99);
        }
      });
    }
  });
});

describe("sentence embeddings", () => {
  it("mean without normalize is the mean of the token rows; max and cls likewise", async () => {
    await withEncoder(bert, { batchSize: 3 }, async (e) => {
      const tokens = await e.encodeTokens(TEXTS);
      const mean = await e.encode(TEXTS, { pooling: "mean" });
      const max = await e.encode(TEXTS, { pooling: "max" });
      const cls = await e.encode(TEXTS, { pooling: "cls" });
      const content = await e.encode(TEXTS, { pooling: "mean", includeSpecial: false });
      expect([mean.rows, mean.dim]).toEqual([TEXTS.length, 32]);
      tokens.forEach((t, i) => {
        const rows = rowsOf(t);
        const at = (r: { data: Float32Array; dim: number }) => r.data.subarray(i * r.dim, (i + 1) * r.dim);
        const m = new Float64Array(t.dim);
        const x = new Float64Array(t.dim).fill(-Infinity);
        const c = new Float64Array(t.dim);
        rows.forEach((row, r) =>
          row.forEach((v, d) => {
            m[d]! += v / rows.length;
            x[d] = Math.max(x[d]!, v);
            if (!t.special[r]) c[d]! += v;
          }),
        );
        const nContent = t.special.filter((s) => !s).length;
        expect(maxAbsDiff(at(mean), m)).toBeLessThan(1e-5);
        expect(maxAbsDiff(at(max), x)).toBeLessThan(1e-5);
        expect(maxAbsDiff(at(cls), rows[0]!)).toBeLessThan(1e-5);
        // "" has no content tokens: a zero vector, not NaN
        expect(maxAbsDiff(at(content), nContent === 0 ? c : c.map((v) => v / nContent))).toBeLessThan(1e-5);
      });
      const unit = await e.encode(TEXTS, { normalize: true });
      for (let i = 0; i < TEXTS.length; i++) expect(Math.hypot(...unit.data.subarray(i * 32, (i + 1) * 32))).toBeCloseTo(1, 5);
    });
  });

  it("paddedPooling batches in input order and divides by the padded length (the LM-EMD study)", async () => {
    const texts = ["Bonjour", TEXTS[2]!, "Der Hund schläft."];
    await withEncoder(bert, { batchSize: 2 }, async (e) => {
      const tokens = await e.encodeTokens(texts);
      const L = tokens[1]!.tokens.length; // batch 1 = texts 0 and 1, padded to text 1
      const mean = await e.encode(texts, { pooling: "mean", paddedPooling: true });
      const max = await e.encode(texts, { pooling: "max", paddedPooling: true });
      const plain = await e.encode(texts, { pooling: "mean" });
      const rows0 = rowsOf(tokens[0]!);
      const sum0 = new Float64Array(32);
      const max0 = new Float64Array(32).fill(-Infinity);
      for (const row of rows0) row.forEach((v, d) => ((sum0[d]! += v), (max0[d] = Math.max(max0[d]!, v))));
      expect(maxAbsDiff(mean.data.subarray(0, 32), sum0.map((v) => v / L))).toBeLessThan(1e-5);
      expect(maxAbsDiff(max.data.subarray(0, 32), max0.map((v) => Math.max(v, 0)))).toBeLessThan(1e-5);
      expect(max0.some((v) => v < 0)).toBe(true); // the quirk shows on this text
      // the longest text of its batch and a text alone in its batch have no padding
      expect(maxAbsDiff(mean.data.subarray(32), plain.data.subarray(32))).toBeLessThan(1e-5);
    });
  });

  it("a sentence-transformers folder applies Pooling, Dense + tanh and Normalize (as Python's SentenceTransformer)", async () => {
    const model = await generateFixtureModel({ kind: "sentence-transformers" });
    await withEncoder(st, { backend: "onnx" }, async (e) => {
      expect(e.dim).toBe(32);
      expect(e.sentenceDim).toBe(24);
      expect(e.modules).toEqual(["Transformer", "Pooling(cls)", "Dense(32→24, tanh)", "Normalize"]);
      const out = await e.encode(TEXTS);
      expect([out.rows, out.dim]).toEqual([TEXTS.length, 24]);
      const tokens = await e.encodeTokens(TEXTS);
      const { weight, bias } = model.dense!;
      tokens.forEach((t, i) => {
        const cls = t.embeddings.subarray(0, 32);
        const y = Array.from({ length: 24 }, (_, o) => Math.tanh(bias.data[o]! + cls.reduce((s, v, k) => s + weight.data[o * 32 + k]! * v, 0)));
        const norm = Math.hypot(...y);
        expect(maxAbsDiff(out.data.subarray(i * 24, (i + 1) * 24), y.map((v) => v / norm))).toBeLessThan(1e-5);
        expect(Math.hypot(...out.data.subarray(i * 24, (i + 1) * 24))).toBeCloseTo(1, 5);
      });
      const raw = await e.encode(TEXTS, { dense: false, normalize: false });
      expect(raw.dim).toBe(32);
      tokens.forEach((t, i) => expect(maxAbsDiff(raw.data.subarray(i * 32, (i + 1) * 32), t.embeddings.subarray(0, 32))).toBeLessThan(1e-6));
    });
  });
});

describe("embedding cache", () => {
  it("hits return identical vectors without running the model; only misses are encoded", async () => {
    const cache = join(tmp, "cache-hits");
    const first = await withEncoder(st, { cache, batchSize: 2 }, async (e) => ({ s: await e.encode(TEXTS), t: await e.encodeTokens(TEXTS) }));
    await withEncoder(st, { cache, batchSize: 2, backend: "onnx" }, async (e) => {
      const runs = countRuns();
      try {
        const progress: number[] = [];
        const s = await e.encode(TEXTS, { onProgress: (d) => progress.push(d) });
        const t = await e.encodeTokens(TEXTS);
        expect(runs.count()).toBe(0);
        expect(progress).toEqual([5]);
        expect(Array.from(s.data)).toEqual(Array.from(first.s.data));
        t.forEach((x, i) => expect(x).toEqual(first.t[i]));
        const more = [...TEXTS, "Ein neuer Satz.", "Another new one", "Y otra"];
        const s2 = await e.encode(more);
        expect(runs.count()).toBe(2); // three misses in batches of two
        expect(Array.from(s2.data.subarray(0, 5 * 24))).toEqual(Array.from(first.s.data));
        // options that change vectors are another namespace
        await e.encode(TEXTS, { normalize: false });
        expect(runs.count()).toBe(5);
      } finally {
        runs.restore();
      }
    });
    // 61k texts must not become 61k files: one data file + one description per namespace, plus the file-hash memo
    const files = await readdir(cache);
    expect(files.filter((f) => f.endsWith(".emb"))).toHaveLength(3);
    expect(files).toHaveLength(7);
  });

  it("paddedPooling vectors are cached per (padded length, text)", async () => {
    const cache = join(tmp, "cache-padded");
    const texts = ["Bonjour", TEXTS[2]!, "Bonjour"];
    const a = await withEncoder(bert, { cache, batchSize: 2 }, (e) => e.encode(texts, { pooling: "max", paddedPooling: true }));
    // "Bonjour" padded to the long text and "Bonjour" alone differ, and both come back from the cache
    expect(maxAbsDiff(a.data.subarray(0, 32), a.data.subarray(64))).toBeGreaterThan(1e-3);
    await withEncoder(bert, { cache, batchSize: 2 }, async (e) => {
      const runs = countRuns();
      try {
        const b = await e.encode(texts, { pooling: "max", paddedPooling: true });
        expect(runs.count()).toBe(0);
        expect(Array.from(b.data)).toEqual(Array.from(a.data));
      } finally {
        runs.restore();
      }
    });
  });

  it("a truncated cache file is recovered: the torn record is re-encoded", async () => {
    const cache = join(tmp, "cache-torn");
    const first = await withEncoder(bert, { cache, batchSize: 2 }, (e) => e.encode(TEXTS));
    const [file] = (await readdir(cache)).filter((f) => f.endsWith(".emb"));
    await truncate(join(cache, file!), (await stat(join(cache, file!))).size - 10);
    await withEncoder(bert, { cache, batchSize: 2 }, async (e) => {
      const runs = countRuns();
      try {
        const again = await e.encode(TEXTS);
        expect(runs.count()).toBe(1);
        expect(maxAbsDiff(again.data, first.data)).toBeLessThan(1e-6);
      } finally {
        runs.restore();
      }
    });
  });
});

describe("loading", () => {
  it("missing files give errors that name them and say how to make them", async () => {
    const noOnnx = (await writeFixtureModel(join(tmp, "no-onnx"))).dir;
    await rm(join(noOnnx, "onnx/model.onnx"));
    const err = await loadEncoder(noOnnx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingModelFileError);
    expect((err as MissingModelFileError).file).toBe("onnx/model.onnx");
    expect((err as Error).message).toMatch(/onnx\/model\.onnx[\s\S]*optimum-cli export onnx --model <hub id or folder> --task feature-extraction <out-dir>[\s\S]*move <out-dir>\/model\.onnx/);
    // q8 is still there
    await withEncoder(noOnnx, { dtype: "q8" }, async (e) => expect(e.dim).toBe(32));

    const noQ8 = (await writeFixtureModel(join(tmp, "no-q8"))).dir;
    await rm(join(noQ8, "onnx/model_quantized.onnx"));
    await expect(loadEncoder(noQ8, { dtype: "q8" })).rejects.toThrow(/onnx\/model_quantized\.onnx[\s\S]*optimum-cli onnxruntime quantize/);

    const noTok = (await writeFixtureModel(join(tmp, "no-tok"))).dir;
    await rm(join(noTok, "tokenizer.json"));
    await expect(loadEncoder(noTok)).rejects.toThrow(/tokenizer\.json/);

    await expect(loadEncoder(join(tmp, "nowhere"))).rejects.toThrow(/does not exist/);
    await expect(loadEncoder("fixture:gpt")).rejects.toThrow(/unknown fixture model "fixture:gpt" \(fixture:bert, fixture:sentence-transformers, fixture:static, fixture:cross-encoder(, fixture:[a-z-]+)*\)/);
    await expect(loadEncoder(bert, { batchSize: 0 })).rejects.toThrow(/batchSize/);
  });

  it("fixture:bert and fixture:sentence-transformers are generated on first use", async () => {
    const saved = process.env.CROSSRANK_CACHE_DIR;
    process.env.CROSSRANK_CACHE_DIR = join(tmp, "crossrank-cache");
    try {
      await withEncoder("fixture:sentence-transformers", {}, async (e) => {
        expect(e.id).toBe("fixture:sentence-transformers");
        expect(e.sentenceDim).toBe(24);
        const direct = await withEncoder(st, {}, (d) => d.encode(TEXTS));
        expect(Array.from((await e.encode(TEXTS)).data)).toEqual(Array.from(direct.data));
      });
    } finally {
      if (saved === undefined) delete process.env.CROSSRANK_CACHE_DIR;
      else process.env.CROSSRANK_CACHE_DIR = saved;
    }
  });

  it("a disposed encoder refuses work", async () => {
    const e = await loadEncoder(bert, { backend: "onnx" });
    await e.dispose();
    await e.dispose();
    await expect(e.encode(["x"])).rejects.toThrow(/disposed/);
  });

  describe("hub ids", () => {
    let server: Server;
    let endpoint: string;
    const requests: string[] = [];

    beforeAll(async () => {
      // A stand-in for huggingface.co: /<owner>/<name>/resolve/main/<path> → the fixture folder.
      server = createServer((req, res) => {
        const url = decodeURIComponent(req.url ?? "");
        requests.push(url);
        const m = /^\/crossrank\/fixture-st\/resolve\/main\/(.+)$/.exec(url);
        const path = m === null || m[1]!.includes("..") ? undefined : join(st, m[1]!);
        stat(path ?? "/nonexistent").then(
          (s) => {
            if (!s.isFile()) throw new Error("not a file");
            res.writeHead(200, { "content-length": s.size });
            createReadStream(path!).pipe(res);
          },
          () => {
            res.writeHead(404).end("Entry not found");
          },
        );
      });
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise((ok) => server.close(ok));
    });

    it("are downloaded into the cache once and load like the folder; offline they load from the cache", async () => {
      const cacheDir = join(tmp, "hub-cache");
      const fromFolder = await withEncoder(st, {}, (e) => e.encode(TEXTS));
      await withEncoder("crossrank/fixture-st", { endpoint, cacheDir, offline: false }, async (e) => {
        expect(e.modules).toEqual(["Transformer", "Pooling(cls)", "Dense(32→24, tanh)", "Normalize"]);
        expect(Array.from((await e.encode(TEXTS)).data)).toEqual(Array.from(fromFolder.data));
      });
      expect(requests).toContain("/crossrank/fixture-st/resolve/main/onnx/model.onnx");
      expect(requests).toContain("/crossrank/fixture-st/resolve/main/2_Dense/model.safetensors");
      const before = requests.length;
      await withEncoder("crossrank/fixture-st", { endpoint, cacheDir, offline: true }, async (e) => {
        expect(Array.from((await e.encode(TEXTS)).data)).toEqual(Array.from(fromFolder.data));
      });
      expect(requests.length).toBe(before);
    });

    it("offline with an empty cache is an error naming the missing file and the cache folder", async () => {
      const cacheDir = join(tmp, "empty-hub-cache");
      const before = requests.length;
      const err = await loadEncoder("crossrank/fixture-st", { endpoint, cacheDir, offline: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MissingModelFileError);
      expect((err as Error).message).toMatch(/config\.json/);
      expect((err as Error).message).toContain(join(cacheDir, "crossrank", "fixture-st", "main"));
      expect(requests.length).toBe(before);
    });
  });
});
