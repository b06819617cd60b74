import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createHead,
  type Encoder,
  HEAD_CONFIG_FILE,
  HEAD_WEIGHTS_FILE,
  type HeadConfig,
  type HeadWeights,
  loadEncoder,
  readHead,
  type TokenEmbeddings,
  writeFixtureModel,
  writeHead,
  writeSafetensors,
} from "../src/index.js";


let tmp: string;
let bert: string;
let st: string;

const TEXTS = ["The quick brown fox jumps over the lazy dog.", "Bonjour", "El rápido zorro marrón salta sobre el perro perezoso.", "", "Der Hund schläft."];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "crossrank-head-"));
  bert = (await writeFixtureModel(join(tmp, "bert"))).dir;
  st = (await writeFixtureModel(join(tmp, "st"), { kind: "sentence-transformers" })).dir;
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const f32 = (...v: number[]) => Float32Array.from(v);

function config(c: Partial<HeadConfig> & Pick<HeadConfig, "input" | "output">): HeadConfig {
  return { format: "crossrank-head", version: 1, encoder: "../bert", type: "linear", appliesTo: "tokens", ...c };
}

/** Deterministic pseudo-random values in [-scale, scale). */
function seeded(n: number, seed: number, scale = 0.5): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

function identity(n: number): Float32Array {
  const w = new Float32Array(n * n);
  for (let i = 0; i < n; i++) w[i * n + i] = 1;
  return w;
}

/** y = W x + b over every row, in float64. */
function linearRef(rows: Float32Array, count: number, w: Float32Array, b: Float32Array, input: number, output: number): Float64Array {
  const out = new Float64Array(count * output);
  for (let r = 0; r < count; r++) {
    for (let o = 0; o < output; o++) {
      let s = b[o]!;
      for (let i = 0; i < input; i++) s += w[o * input + i]! * rows[r * input + i]!;
      out[r * output + o] = s;
    }
  }
  return out;
}

function normalize(v: ArrayLike<number>): Float64Array {
  const n = Math.hypot(...Array.from(v));
  return Float64Array.from(v, (x) => (n === 0 ? 0 : x / n));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function withEncoder<T>(spec: string, options: Parameters<typeof loadEncoder>[1], f: (e: Encoder) => Promise<T>): Promise<T> {
  const e = await loadEncoder(spec, options);
  try {
    return await f(e);
  } finally {
    await e.dispose();
  }
}

/** A head folder under tmp (the base as a path relative to it, "../bert" by default). */
async function headFolder(name: string, c: HeadConfig, weights: HeadWeights): Promise<string> {
  const dir = join(tmp, name);
  await writeHead(dir, { config: c, weights });
  return dir;
}

describe("forward math", () => {
  it("linear: y = W x + b, W stored [output, input]", () => {
    const head = createHead(config({ input: 3, output: 2 }), { weight: f32(1, 2, 3, -1, 0, 0.5), bias: f32(0.5, -1) });
    expect(Array.from(head.apply(f32(1, 1, 1, 2, 0, -2), 2))).toEqual([6.5, -1.5, -3.5, -4]);
    expect(head.apply(new Float32Array(0), 0)).toHaveLength(0);
    expect(() => head.apply(f32(1, 2), 1)).toThrow(/2 values are not 1 rows of width 3/);
  });

  it("mlp: y = x + W2 act(W1 x + b1) + b2 with gelu (erf form), relu and tanh", () => {
    // W1 and the inputs are chosen so the pre-activations are [1, -0.5] and [0.3, 2].
    const w1 = f32(1, 0, 0.5, 1);
    const x = f32(1, -1, 0.3, 1.85);
    const pre = [
      [1, -0.5],
      [0.3, 2],
    ];
    const w2 = f32(1, 2, 0, -1);
    const b2 = f32(0.1, -0.2);
    // 0.5·z·(1 + erf(z/√2)), from Python's math.erf
    const gelu = new Map([
      [1, 0.8413447460685429],
      [-0.5, -0.15426876936299344],
      [0.3, 0.18537342665668577],
      [2, 1.9544997361036416],
    ]);
    const acts = { gelu: (z: number) => gelu.get(z)!, relu: (z: number) => Math.max(z, 0), tanh: Math.tanh };
    for (const [activation, act] of Object.entries(acts) as [keyof typeof acts, (z: number) => number][]) {
      const head = createHead(config({ type: "mlp", input: 2, output: 2, hidden: 2, activation }), { w1, b1: f32(0, 0), w2, b2 });
      const y = head.apply(x, 2);
      const expected = pre.flatMap(([p0, p1], r) => {
        const [h0, h1] = [act(p0!), act(p1!)];
        return [x[r * 2]! + (h0 + 2 * h1) + 0.1, x[r * 2 + 1]! - h1 - 0.2];
      });
      expect(maxAbsDiff(y, expected), activation).toBeLessThan(2e-6);
    }
  });

  it("mlp with b1 and a hidden width other than the input", () => {
    const head = createHead(config({ type: "mlp", input: 2, output: 2, hidden: 3, activation: "relu" }), {
      w1: f32(1, 0, 0, 1, 1, 1),
      b1: f32(0, -1, 0.5),
      w2: f32(1, 1, 1, 0, 0, 2),
      b2: f32(0, 0),
    });
    // x = [2, 0.5]: h = relu([2, -0.5, 3]) = [2, 0, 3]; y = x + [5, 6]
    expect(Array.from(head.apply(f32(2, 0.5), 1))).toEqual([7, 6.5]);
  });
});

describe("validation", () => {
  const linear = { weight: new Float32Array(6), bias: new Float32Array(2) };
  it("createHead checks the config", () => {
    expect(() => createHead(config({ input: 3, output: 2, type: "conv" as "linear" }), linear)).toThrow(/head config: unknown head type "conv" \(linear, mlp\)/);
    expect(() => createHead({ ...config({ input: 3, output: 2 }), version: 2 as 1 }, linear)).toThrow(/unsupported version 2/);
    expect(() => createHead({ ...config({ input: 3, output: 2 }), format: "x" as "crossrank-head" }, linear)).toThrow(/format must be "crossrank-head"/);
    expect(() => createHead(config({ input: 0, output: 2 }), linear)).toThrow(/input must be a positive integer/);
    expect(() => createHead(config({ input: 3, output: 2, appliesTo: "pooled" as "tokens" }), linear)).toThrow(/appliesTo must be "tokens", "sentence" or "pair"/);
    expect(() => createHead(config({ input: 3, output: 2, pooling: "sum" as "mean" }), linear)).toThrow(/unknown pooling "sum"/);
    expect(() => createHead(config({ input: 3, output: 2, activation: "relu" }), linear)).toThrow(/activation applies to mlp heads only/);
    expect(() => createHead({ ...config({ input: 3, output: 2 }), appliesto: "tokens" } as HeadConfig, linear)).toThrow(/unknown field "appliesto"/);
    const mlp = { w1: new Float32Array(8), b1: new Float32Array(4), w2: new Float32Array(8), b2: new Float32Array(2) };
    expect(() => createHead(config({ type: "mlp", input: 2, output: 2, hidden: 4 }), mlp)).toThrow(/needs activation gelu \| relu \| tanh \(got undefined\)/);
    expect(() => createHead(config({ type: "mlp", input: 2, output: 2, hidden: 4, activation: "swish" as "gelu" }), mlp)).toThrow(/needs activation/);
    expect(() => createHead(config({ type: "mlp", input: 2, output: 3, hidden: 4, activation: "gelu" }), mlp)).toThrow(/output \(3\) must equal input \(2\)/);
    expect(() => createHead(config({ type: "mlp", input: 2, output: 2, activation: "gelu" }), mlp)).toThrow(/needs hidden/);
  });

  it("createHead checks the weights", () => {
    const c = config({ input: 3, output: 2 });
    expect(() => createHead(c, { weight: new Float32Array(5), bias: new Float32Array(2) })).toThrow(/tensor "weight" has 5 values, expected \[2, 3\] = 6/);
    expect(() => createHead(c, { weight: new Float32Array(6) })).toThrow(/missing tensor "bias" \[2\]/);
    expect(() => createHead(c, { ...linear, w1: new Float32Array(1) })).toThrow(/unexpected tensor "w1" for a linear head/);
    expect(() => createHead(c, { weight: f32(0, 0, NaN, 0, 0, 0), bias: new Float32Array(2) })).toThrow(/non-finite value \(NaN\) at 2/);
    expect(() => createHead(c, { weight: new Float64Array(6) as unknown as Float32Array, bias: new Float32Array(2) })).toThrow(/"weight" must be a Float32Array/);
  });

  it("readHead names the file at fault", async () => {
    const dir = join(tmp, "bad");
    await expect(readHead(dir)).rejects.toThrow(/is not a head folder: crossrank-head.json is missing/);
    await mkdir(dir, { recursive: true });
    const cfgPath = join(dir, HEAD_CONFIG_FILE);
    const weightsPath = join(dir, HEAD_WEIGHTS_FILE);
    await writeFile(cfgPath, JSON.stringify(config({ input: 3, output: 2 })));
    await expect(readHead(dir)).rejects.toThrow(`${weightsPath} is missing`);
    await writeFile(cfgPath, JSON.stringify({ ...config({ input: 3, output: 2 }), type: "attention" }));
    await expect(readHead(dir)).rejects.toThrow(`${cfgPath}: unknown head type "attention"`);
    await writeFile(cfgPath, "{ not json");
    await expect(readHead(dir)).rejects.toThrow(`${cfgPath}: not valid JSON`);
    await writeFile(cfgPath, JSON.stringify(config({ input: 3, output: 2 })));
    await writeSafetensors(weightsPath, { weight: { dtype: "F32", shape: [3, 2], data: new Float32Array(6) }, bias: { dtype: "F32", shape: [2], data: new Float32Array(2) } });
    await expect(readHead(dir)).rejects.toThrow(`${weightsPath}: tensor "weight" has shape [3, 2], expected [2, 3] from crossrank-head.json`);
    await writeSafetensors(weightsPath, { weight: { dtype: "F32", shape: [2, 3], data: new Float32Array(6) } });
    await expect(readHead(dir)).rejects.toThrow(`${weightsPath}: missing tensor "bias"`);
    await writeSafetensors(weightsPath, { weight: { dtype: "F32", shape: [2, 3], data: new Float32Array(6) }, bias: { dtype: "I32", shape: [2], data: new Int32Array(2) } });
    await expect(readHead(dir)).rejects.toThrow(`${weightsPath}: tensor "bias" has dtype I32, expected F32`);
    await writeSafetensors(weightsPath, { weight: { dtype: "F32", shape: [2, 3], data: new Float32Array(6) }, bias: { dtype: "F32", shape: [2], data: new Float32Array(2) }, extra: { dtype: "F32", shape: [1], data: new Float32Array(1) } });
    await expect(readHead(dir)).rejects.toThrow(`${weightsPath}: unexpected tensor "extra"`);
    await writeFile(weightsPath, "garbage");
    await expect(readHead(dir)).rejects.toThrow(weightsPath);
  });
});

describe("writeHead / readHead", () => {
  it("round-trips linear and mlp heads, keys in the documented order", async () => {
    const lin = {
      config: config({ input: 3, output: 2, appliesTo: "sentence", pooling: "max", normalize: false, encoderOptions: { maxLength: 16 }, trainedBy: { stage: "warmup", steps: 10 } }),
      weights: { weight: seeded(6, 1), bias: seeded(2, 2) },
    };
    const mlp = { config: config({ type: "mlp", input: 4, output: 4, hidden: 8, activation: "gelu" }), weights: { w1: seeded(32, 3), b1: seeded(8, 4), w2: seeded(32, 5), b2: seeded(4, 6) } };
    for (const [name, h] of [
      ["rt-linear", lin],
      ["rt-mlp", mlp],
    ] as const) {
      const dir = join(tmp, name);
      await writeHead(dir, h);
      expect((await readdir(dir)).sort()).toEqual([HEAD_CONFIG_FILE, HEAD_WEIGHTS_FILE]);
      const back = await readHead(dir);
      expect(back.config).toEqual(h.config);
      expect(Object.keys(back.weights).sort()).toEqual(Object.keys(h.weights).sort());
      for (const [k, v] of Object.entries(h.weights)) expect(Array.from(back.weights[k as keyof HeadWeights]!)).toEqual(Array.from(v));
      const x = seeded(h.config.input * 3, 7);
      expect(Array.from(back.apply(x, 3))).toEqual(Array.from(createHead(h.config, h.weights).apply(x, 3)));
    }
    const json = JSON.parse(await readFile(join(tmp, "rt-linear", HEAD_CONFIG_FILE), "utf8")) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(["format", "version", "encoder", "encoderOptions", "type", "input", "output", "appliesTo", "pooling", "normalize", "trainedBy"]);
  });

  it("replaces an existing head folder atomically, keeping its other files and leaving no temporaries", async () => {
    const parent = join(tmp, "replace");
    const dir = join(parent, "head");
    await writeHead(dir, { config: config({ input: 2, output: 2 }), weights: { weight: identity(2), bias: f32(0, 0) } });
    await writeFile(join(dir, "log.jsonl"), "{}\n");
    const next = { config: config({ type: "mlp", input: 2, output: 2, hidden: 3, activation: "tanh" }), weights: { w1: seeded(6, 1), b1: seeded(3, 2), w2: seeded(6, 3), b2: seeded(2, 4) } };
    await writeHead(dir, next);
    expect((await readHead(dir)).config).toEqual(next.config);
    expect((await readdir(dir)).sort()).toEqual([HEAD_CONFIG_FILE, HEAD_WEIGHTS_FILE, "log.jsonl"]);
    expect(await readdir(parent)).toEqual(["head"]);
    // An invalid head is never written.
    await expect(writeHead(dir, { config: config({ input: 2, output: 2 }), weights: { weight: new Float32Array(3), bias: f32(0, 0) } })).rejects.toThrow(/"weight" has 3 values/);
    expect((await readHead(dir)).config).toEqual(next.config);
    expect(await readdir(parent)).toEqual(["head"]);
  });
});

describe("loadEncoder on a head folder", () => {
  it("an identity tokens head gives the base encoder's rows under its own id", async () => {
    const dir = await headFolder("identity", config({ input: 32, output: 32, trainedBy: { note: "identity" } }), { weight: identity(32), bias: new Float32Array(32) });
    const base = await withEncoder(bert, {}, async (e) => ({ id: e.id, tokens: await e.encodeTokens(TEXTS), mean: await e.encode(TEXTS) }));
    await withEncoder(dir, {}, async (e) => {
      expect(e.id).toMatch(/\+head:[0-9a-f]{12}$/);
      expect(e.id.startsWith(`${bert}+head:`)).toBe(true);
      expect(e.id).not.toBe(base.id);
      expect(e.dim).toBe(32);
      expect(e.modules).toEqual(["Transformer", "Head(linear 32→32, tokens)", "Pooling(mean)"]);
      const tokens = await e.encodeTokens(TEXTS);
      tokens.forEach((t, i) => {
        expect(t.tokens).toEqual(base.tokens[i]!.tokens);
        expect(t.dim).toBe(32);
        expect(maxAbsDiff(t.embeddings, base.tokens[i]!.embeddings)).toBeLessThan(1e-6);
      });
      expect(maxAbsDiff((await e.encode(TEXTS)).data, base.mean.data)).toBeLessThan(1e-6);
    });
    // The config file itself is a spec too.
    await withEncoder(join(dir, HEAD_CONFIG_FILE), {}, async (e) => expect(e.id.startsWith(`${bert}+head:`)).toBe(true));
  });

  it("a tokens head transforms every row (W·row + b); pooling, paddedPooling and normalize see the transformed rows", async () => {
    const weight = seeded(16 * 32, 11);
    const bias = seeded(16, 12);
    const dir = await headFolder("tokens-16", config({ input: 32, output: 16 }), { weight, bias });
    const base = await withEncoder(bert, {}, (e) => e.encodeTokens(TEXTS));
    await withEncoder(dir, { batchSize: 2 }, async (e) => {
      expect([e.dim, e.sentenceDim]).toEqual([16, 16]);
      const tokens = await e.encodeTokens(TEXTS);
      const transformed: Float64Array[] = base.map((t) => linearRef(t.embeddings, t.tokens.length, weight, bias, 32, 16));
      tokens.forEach((t, i) => {
        expect(t.dim).toBe(16);
        expect(t.embeddings.length).toBe(t.tokens.length * 16);
        expect(maxAbsDiff(t.embeddings, transformed[i]!)).toBeLessThan(1e-5);
      });
      const rowsOf = (i: number) => Array.from({ length: base[i]!.tokens.length }, (_, r) => transformed[i]!.subarray(r * 16, (r + 1) * 16));
      const mean = await e.encode(TEXTS, { pooling: "mean" });
      const max = await e.encode(TEXTS, { pooling: "max" });
      const cls = await e.encode(TEXTS, { pooling: "cls" });
      const unit = await e.encode(TEXTS, { pooling: "mean", normalize: true });
      expect([mean.rows, mean.dim]).toEqual([TEXTS.length, 16]);
      TEXTS.forEach((_, i) => {
        const rows = rowsOf(i);
        const m = Float64Array.from({ length: 16 }, (_, d) => rows.reduce((s, r) => s + r[d]!, 0) / rows.length);
        const x = Float64Array.from({ length: 16 }, (_, d) => Math.max(...rows.map((r) => r[d]!)));
        const at = (r: { data: Float32Array }) => r.data.subarray(i * 16, (i + 1) * 16);
        expect(maxAbsDiff(at(mean), m)).toBeLessThan(1e-5);
        expect(maxAbsDiff(at(max), x)).toBeLessThan(1e-5);
        expect(maxAbsDiff(at(cls), rows[0]!)).toBeLessThan(1e-5);
        expect(maxAbsDiff(at(unit), normalize(m))).toBeLessThan(1e-5);
      });
      // paddedPooling: batches in input order; unselected rows are zero rows of the padded length.
      const texts = ["Bonjour", TEXTS[0]!];
      const pm = await e.encode(texts, { pooling: "mean", paddedPooling: true });
      const px = await e.encode(texts, { pooling: "max", paddedPooling: true });
      const L = base[0]!.tokens.length;
      expect(L).toBeGreaterThan(base[1]!.tokens.length);
      [1, 0].forEach((src, b) => {
        const rows = rowsOf(src);
        const m = Float64Array.from({ length: 16 }, (_, d) => rows.reduce((s, r) => s + r[d]!, 0) / L);
        const x = Float64Array.from({ length: 16 }, (_, d) => Math.max(...rows.map((r) => r[d]!), rows.length < L ? 0 : -Infinity));
        expect(maxAbsDiff(pm.data.subarray(b * 16, (b + 1) * 16), m)).toBeLessThan(1e-5);
        expect(maxAbsDiff(px.data.subarray(b * 16, (b + 1) * 16), x)).toBeLessThan(1e-5);
      });
    });
  });

  it("a sentence head transforms the pooled vector after Dense and before Normalize", async () => {
    const weight = seeded(8 * 24, 21);
    const bias = seeded(8, 22);
    const dir = await headFolder("sentence-st", config({ encoder: "../st", input: 24, output: 8, appliesTo: "sentence" }), { weight, bias });
    const base = await withEncoder(st, {}, async (e) => ({ pooled: await e.encode(TEXTS, { normalize: false }), tokens: await e.encodeTokens(TEXTS) }));
    expect(base.pooled.dim).toBe(24);
    await withEncoder(dir, {}, async (e) => {
      expect([e.dim, e.sentenceDim]).toEqual([32, 8]);
      expect(e.modules).toEqual(["Transformer", "Pooling(cls)", "Dense(32→24, tanh)", "Head(linear 24→8, sentence)", "Normalize"]);
      const expected = linearRef(base.pooled.data, TEXTS.length, weight, bias, 24, 8);
      const raw = await e.encode(TEXTS, { normalize: false });
      expect([raw.rows, raw.dim]).toEqual([TEXTS.length, 8]);
      expect(maxAbsDiff(raw.data, expected)).toBeLessThan(1e-5);
      const unit = await e.encode(TEXTS);
      TEXTS.forEach((_, i) => expect(maxAbsDiff(unit.data.subarray(i * 8, (i + 1) * 8), normalize(expected.subarray(i * 8, (i + 1) * 8)))).toBeLessThan(1e-5));
      // Token rows are untouched by a sentence head.
      (await e.encodeTokens(TEXTS)).forEach((t, i) => expect(maxAbsDiff(t.embeddings, base.tokens[i]!.embeddings)).toBeLessThan(1e-6));
      await expect(e.encode(TEXTS, { dense: false })).rejects.toThrow(/dense: false is not available/);
    });
  });

  it("a sentence head's pooling and normalize are the defaults (mlp over a plain model)", async () => {
    const h = { w1: seeded(64 * 32, 31), b1: seeded(64, 32), w2: seeded(32 * 64, 33), b2: seeded(32, 34) };
    const c = config({ type: "mlp", input: 32, output: 32, hidden: 64, activation: "gelu", appliesTo: "sentence", pooling: "max" });
    const dir = await headFolder("sentence-mlp", c, h);
    const pooled = await withEncoder(bert, {}, (e) => e.encode(TEXTS, { pooling: "max" }));
    const expected = createHead(c, h).apply(pooled.data, TEXTS.length);
    await withEncoder(dir, {}, async (e) => {
      expect(e.modules).toEqual(["Transformer", "Pooling(max)", "Head(mlp 32→64→32, gelu, sentence)", "Normalize"]);
      const out = await e.encode(TEXTS);
      TEXTS.forEach((_, i) => expect(maxAbsDiff(out.data.subarray(i * 32, (i + 1) * 32), normalize(expected.subarray(i * 32, (i + 1) * 32)))).toBeLessThan(1e-5));
      // dense: false is fine without Dense modules (what the bert-* rankers ask for).
      expect(maxAbsDiff((await e.encode(TEXTS, { dense: false, normalize: false })).data, expected)).toBeLessThan(1e-5);
    });
  });

  it("encoderOptions go under the caller's options; ids differ between heads and from the base", async () => {
    const weights = { weight: identity(32), bias: new Float32Array(32) };
    const a = await headFolder("opts", config({ input: 32, output: 32, encoderOptions: { maxLength: 8 } }), weights);
    const b = await headFolder("opts-b", config({ input: 32, output: 32, encoderOptions: { maxLength: 8 }, trainedBy: { run: 2 } }), weights);
    const ida = await withEncoder(a, {}, async (e) => {
      expect(e.maxLength).toBe(8);
      expect(e.id).toMatch(new RegExp(`^${bert.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\?maxLength=8\\+head:[0-9a-f]{12}$`));
      return e.id;
    });
    await withEncoder(a, { maxLength: 16 }, async (e) => expect(e.maxLength).toBe(16));
    const idb = await withEncoder(b, {}, async (e) => e.id);
    expect(idb).not.toBe(ida);
    expect(idb.split("+head:")[0]).toBe(ida.split("+head:")[0]);
  });

  it("the head is part of the embedding cache's fingerprint", async () => {
    const cache = join(tmp, "cache");
    const weight = seeded(32 * 32, 41);
    const bias = seeded(32, 42);
    const dir = await headFolder("cached", config({ input: 32, output: 32 }), { weight, bias });
    const ident = await headFolder("cached-identity", config({ input: 32, output: 32 }), { weight: identity(32), bias: new Float32Array(32) });
    const plain = await withEncoder(bert, { cache }, async (e) => ({ pooled: await e.encode(TEXTS), tokens: await e.encodeTokens(TEXTS) }));
    const namespaces = async () => (await readdir(cache)).filter((f) => f.endsWith(".emb")).length;
    const before = await namespaces();
    const check = (tokens: TokenEmbeddings[]) =>
      tokens.forEach((t, i) => expect(maxAbsDiff(t.embeddings, linearRef(plain.tokens[i]!.embeddings, t.tokens.length, weight, bias, 32, 32))).toBeLessThan(1e-5));
    check(await withEncoder(dir, { cache }, (e) => e.encodeTokens(TEXTS)));
    expect(await namespaces()).toBe(before + 1);
    check(await withEncoder(dir, { cache }, (e) => e.encodeTokens(TEXTS))); // hits, still headed
    expect(await namespaces()).toBe(before + 1);
    // Even a head that changes nothing gets its own namespace.
    await withEncoder(ident, { cache }, (e) => e.encode(TEXTS));
    expect(await namespaces()).toBe(before + 2);
    // ...and the plain encoder still reads its own vectors.
    expect(maxAbsDiff(await withEncoder(bert, { cache }, (e) => e.encode(TEXTS).then((r) => r.data)), plain.pooled.data)).toBe(0);
  });

  it("heads stack: a head folder may name another as its encoder", async () => {
    const w1 = seeded(32 * 32, 51);
    const b1 = seeded(32, 52);
    const w2 = seeded(16 * 32, 53);
    const b2 = seeded(16, 54);
    const inner = await headFolder("stack-inner", config({ input: 32, output: 32 }), { weight: w1, bias: b1 });
    const outer = await headFolder("stack-outer", config({ encoder: "../stack-inner", input: 32, output: 16 }), { weight: w2, bias: b2 });
    expect(outer).not.toBe(inner);
    const base = await withEncoder(bert, {}, (e) => e.encodeTokens(TEXTS));
    await withEncoder(outer, {}, async (e) => {
      expect(e.id.split("+head:")).toHaveLength(3);
      expect(e.modules).toEqual(["Transformer", "Head(linear 32→32, tokens)", "Head(linear 32→16, tokens)", "Pooling(mean)"]);
      (await e.encodeTokens(TEXTS)).forEach((t, i) => {
        const n = t.tokens.length;
        const once = Float32Array.from(linearRef(base[i]!.embeddings, n, w1, b1, 32, 32));
        expect(maxAbsDiff(t.embeddings, linearRef(once, n, w2, b2, 32, 16))).toBeLessThan(1e-5);
      });
    });
  });

  it("errors name the head file: width mismatch, tokens over sentence, cycles, missing weights", async () => {
    const narrow = await headFolder("narrow", config({ input: 16, output: 16 }), { weight: identity(16), bias: new Float32Array(16) });
    await expect(loadEncoder(narrow)).rejects.toThrow(`${join(narrow, HEAD_CONFIG_FILE)}: the tokens head takes 16-wide rows but the token embeddings of ${bert} are 32 wide`);
    const wideSentence = await headFolder("wide-sentence", config({ encoder: "../st", input: 32, output: 8, appliesTo: "sentence" }), { weight: new Float32Array(256), bias: new Float32Array(8) });
    await expect(loadEncoder(wideSentence)).rejects.toThrow(/sentence head takes 32-wide vectors but the sentence embeddings of .* are 24 wide/);
    const sentence = await headFolder("sentence-base", config({ input: 32, output: 32, appliesTo: "sentence" }), { weight: identity(32), bias: new Float32Array(32) });
    const over = await headFolder("tokens-over-sentence", config({ encoder: sentence, input: 32, output: 32 }), { weight: identity(32), bias: new Float32Array(32) });
    await expect(loadEncoder(over)).rejects.toThrow(/a tokens head cannot sit on an encoder with a sentence head/);
    const loop = await headFolder("loop", config({ encoder: ".", input: 32, output: 32 }), { weight: identity(32), bias: new Float32Array(32) });
    await expect(loadEncoder(loop)).rejects.toThrow(/in a cycle/);
    await rm(join(narrow, HEAD_WEIGHTS_FILE));
    await expect(loadEncoder(narrow)).rejects.toThrow(`${join(narrow, HEAD_WEIGHTS_FILE)} is missing`);
    const missingBase = await headFolder("missing-base", config({ encoder: "../nowhere", input: 32, output: 32 }), { weight: identity(32), bias: new Float32Array(32) });
    await expect(loadEncoder(missingBase)).rejects.toThrow(/does not exist/);
  });
});
