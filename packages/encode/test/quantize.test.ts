import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ENCODER, type Encoder, loadEncoder, quantizeRowsInt8, quantizeStaticModel, readSafetensors, STATIC_MODEL_NAME, staticModelDir, writeFixtureModel } from "../src/index.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "crossrank-quantize-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function encodeWith(spec: string, texts: string[]): Promise<Float32Array> {
  const e: Encoder = await loadEncoder(spec);
  try {
    return (await e.encode(texts)).data;
  } finally {
    await e.dispose();
  }
}

describe("quantizeRowsInt8", () => {
  it("keeps a row that int8 represents exactly, and rows of zeros at scale 0", () => {
    const rows = Float32Array.from([1, -0.5, 0.25, 0, 0, 0]);
    const exact = Float32Array.from([127, -64, 32].map((v) => v / 127));
    rows.set(exact, 0);
    const { q, scales, maxRelativeError } = quantizeRowsInt8(rows, 2, 3);
    expect(Array.from(q.slice(0, 3))).toEqual([127, -64, 32]);
    expect(scales[0]).toBeCloseTo(1 / 127, 7);
    expect(Array.from(q.slice(3, 6))).toEqual([0, 0, 0]);
    expect(scales[1]).toBe(0);
    expect(maxRelativeError).toBeLessThan(1e-6);
  });

  it("picks the scale with the smallest squared error, no worse than max/127", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const dim = 256;
    const rows = Float32Array.from({ length: 20 * dim }, () => rand() ** 3);
    const { q, scales } = quantizeRowsInt8(rows, 20, dim);
    let better = 0;
    for (let r = 0; r < 20; r++) {
      const row = rows.subarray(r * dim, (r + 1) * dim);
      const max = Math.max(...Array.from(row, Math.abs));
      const err = (s: number, code: (j: number) => number) => row.reduce((e, x, j) => e + (code(j) * s - x) ** 2, 0);
      const chosen = err(scales[r]!, (j) => q[r * dim + j]!);
      const plain = err(max / 127, (j) => Math.round((row[j]! * 127) / max));
      expect(chosen).toBeLessThanOrEqual(plain * (1 + 1e-5));
      if (chosen < 0.98 * plain) better++;
      expect(scales[r]!).toBeLessThanOrEqual(max / 127 + 1e-9);
      expect(scales[r]!).toBeGreaterThanOrEqual((0.7 * max) / 127 - 1e-9);
    }
    // Values cubed from uniform ones are mostly small: for some rows a smaller step pays for
    // clipping the few large values.
    expect(better).toBeGreaterThan(0);
  });

  it("folds existing per-token weights into the scales", () => {
    const { scales } = quantizeRowsInt8(Float32Array.from([1, 0, 0, 2]), 2, 2, Float32Array.from([3, 0.5]));
    expect(scales[0]).toBeCloseTo(3 / 127, 7);
    expect(scales[1]).toBeCloseTo((2 / 127) * 0.5, 7);
  });
});

describe("quantizeStaticModel", () => {
  it("writes I8 embeddings and F32 weights that encode like the float model", async () => {
    const source = (await writeFixtureModel(join(tmp, "float"), { kind: "static" })).dir;
    const out = join(tmp, "int8");
    const result = await quantizeStaticModel(source, out);
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore / 3);
    const tensors = await readSafetensors(join(out, "model.safetensors"));
    expect(tensors.get("embeddings")!.dtype).toBe("I8");
    expect(tensors.get("weights")!.dtype).toBe("F32");
    expect(tensors.get("weights")!.shape).toEqual([result.rows]);
    const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { crossrank: { quantization: unknown } };
    expect(config.crossrank.quantization).toMatchObject({ embeddings: "int8, symmetric per row" });

    const texts = ["The quick brown fox jumps over the lazy dog.", "Der Hund schläft.", "日本語のテキスト"];
    const a = await encodeWith(source, texts);
    const b = await encodeWith(out, texts);
    expect(b.length).toBe(a.length);
    const dim = a.length / texts.length;
    for (let t = 0; t < texts.length; t++) {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let j = 0; j < dim; j++) {
        dot += a[t * dim + j]! * b[t * dim + j]!;
        na += a[t * dim + j]! ** 2;
        nb += b[t * dim + j]! ** 2;
      }
      expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.999);
    }
  });
});

describe("the default encoder", () => {
  it("is the shipped static model, loaded by name", async () => {
    expect(DEFAULT_ENCODER).toBe(STATIC_MODEL_NAME);
    const e = await loadEncoder(DEFAULT_ENCODER);
    try {
      expect(e.id).toBe(STATIC_MODEL_NAME);
      const { rows, dim, data } = await e.encode(["Wo ist der Bahnhof?", "Where is the station?", "Le chat dort."]);
      expect(rows).toBe(3);
      expect(dim).toBeGreaterThan(0);
      const cos = (i: number, j: number) => {
        let s = 0;
        for (let k = 0; k < dim; k++) s += data[i * dim + k]! * data[j * dim + k]!;
        return s;
      };
      // A translation is closer than an unrelated sentence: the model knows German and English.
      expect(cos(0, 1)).toBeGreaterThan(cos(2, 1));
    } finally {
      await e.dispose();
    }
    expect(staticModelDir()).toMatch(/static-model[\\/]model$/);
  });
});
