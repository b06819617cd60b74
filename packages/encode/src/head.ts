/**
 * Trained heads: a small linear or residual-MLP layer, trained over a frozen encoder's outputs
 * (by @crossrank/train) and applied here at inference, so a trained model is usable wherever an
 * encoder is. A head folder holds
 *
 * - `crossrank-head.json` ({@link HeadConfig}: the base encoder spec, the layer's type and shape,
 *   whether it applies to every token row or to the pooled sentence vector, provenance), and
 * - `head.safetensors` (F32 `weight` [output, input] and `bias` [output]; mlp: `w1` [hidden, input],
 *   `b1` [hidden], `w2` [output, hidden], `b2` [output]).
 *
 * The folder is itself an encoder spec: `loadEncoder("path/to/head")` loads the base encoder and
 * applies the head (see encoder.ts). Forward only; the gradients live in @crossrank/train.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { activationFunction, type Pooling } from "./pooling.js";
import { type NamedTensor, readSafetensors, writeSafetensors } from "./safetensors.js";

/** The head folder's config file. */
export const HEAD_CONFIG_FILE = "crossrank-head.json";
/** The head folder's weights file. */
export const HEAD_WEIGHTS_FILE = "head.safetensors";

/** `crossrank-head.json`. */
export interface HeadConfig {
  format: "crossrank-head";
  version: 1;
  /** The base encoder spec (hub id, folder, "fixture:…"); a relative folder path resolves against the head folder. */
  encoder: string;
  /** Passed to loadEncoder of the base, under the caller's options (the caller's win). */
  encoderOptions?: Record<string, unknown>;
  /** linear: y = W x + b; mlp (residual two-layer): y = x + W2 act(W1 x + b1) + b2. */
  type: "linear" | "mlp";
  input: number;
  output: number;
  /** mlp only. */
  hidden?: number;
  /** mlp only; gelu is torch's exact (erf) form. */
  activation?: "gelu" | "relu" | "tanh";
  /**
   * tokens: every token embedding (before pooling / cost matrices); sentence: the pooled vector
   * (after ST Dense, before Normalize); pair: a cross-encoder's pair features, the input of its
   * classifier, which the (linear) head replaces: output = the number of labels (cross-encoder.ts).
   */
  appliesTo: "tokens" | "sentence" | "pair";
  /** The pooling the head was trained with: the default pooling of encode(). */
  pooling?: Pooling;
  /** L2 normalisation after the head, the default of encode() (sentence heads: true when absent). */
  normalize?: boolean;
  /** Free-form provenance (stage, loss, config hash, steps…). */
  trainedBy?: Record<string, unknown>;
}

/** The tensors of a head, row-major float32 (linear: weight, bias; mlp: w1, b1, w2, b2). */
export interface HeadWeights {
  weight?: Float32Array;
  bias?: Float32Array;
  w1?: Float32Array;
  b1?: Float32Array;
  w2?: Float32Array;
  b2?: Float32Array;
}

/** A validated head. */
export interface Head {
  config: HeadConfig;
  weights: HeadWeights;
  /** [count, input] row-major → [count, output] (a new array; accumulates in float64). */
  apply(rows: Float32Array, count: number): Float32Array;
}

const CONFIG_KEYS = ["format", "version", "encoder", "encoderOptions", "type", "input", "output", "hidden", "activation", "appliesTo", "pooling", "normalize", "trainedBy"] as const;
const WEIGHT_NAMES = ["weight", "bias", "w1", "b1", "w2", "b2"] as const;
type WeightName = (typeof WEIGHT_NAMES)[number];
const HEAD_ACTIVATIONS = ["gelu", "relu", "tanh"] as const;

/**
 * Validates `config` and the shapes of `weights` and returns the head. Errors name what is wrong
 * (and the expected shape); weights must be finite float32. The arrays are used as given, not copied.
 */
export function createHead(config: HeadConfig, weights: HeadWeights): Head {
  return buildHead(config, weights, { config: "head config", weights: "head weights" });
}

/** Reads and validates a head folder (`crossrank-head.json` + `head.safetensors`). */
export async function readHead(folder: string): Promise<Head> {
  return (await readHeadFiles(folder)).head;
}

/**
 * Writes a head folder atomically: both files go into a temporary folder beside `folder`, which
 * then replaces it (an existing head folder is replaced; other files in it, such as training logs,
 * are carried over). The head is validated first, so an invalid one is never written. The JSON is
 * written with its keys in the documented order, the tensors deterministically.
 */
export async function writeHead(folder: string, head: { config: HeadConfig; weights: HeadWeights }): Promise<void> {
  const target = resolve(folder);
  const valid = createHead(head.config, head.weights);
  const existing = await stat(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (existing !== undefined && !existing.isDirectory()) throw new Error(`writeHead: ${target} exists and is not a folder`);
  await mkdir(dirname(target), { recursive: true });
  const tag = `${process.pid}-${randomUUID()}`;
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${tag}`);
  const old = join(dirname(target), `.${basename(target)}.old-${tag}`);
  try {
    await mkdir(tmp);
    await writeFile(join(tmp, HEAD_CONFIG_FILE), `${JSON.stringify(orderedConfig(valid.config), null, 2)}\n`);
    await writeSafetensors(join(tmp, HEAD_WEIGHTS_FILE), headTensors(valid));
    if (existing === undefined) {
      await rename(tmp, target);
      return;
    }
    // Keep what else lives in the folder (logs, plots) with the new head.
    for (const entry of await readdir(target)) {
      if (entry === HEAD_CONFIG_FILE || entry === HEAD_WEIGHTS_FILE) continue;
      await rename(join(target, entry), join(tmp, entry));
    }
    await rename(target, old);
    try {
      await rename(tmp, target);
    } catch (e) {
      await rename(old, target).catch(() => undefined);
      throw e;
    }
    await rm(old, { recursive: true, force: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A head folder read from disk plus the sha256 (hex) of its two files, which identifies it. */
export interface HeadFiles {
  folder: string;
  head: Head;
  sha256: string;
}

/** Reads a head folder once: the hash covers exactly the bytes the head was parsed from. */
export async function readHeadFiles(folder: string): Promise<HeadFiles> {
  const dir = resolve(folder);
  const configPath = join(dir, HEAD_CONFIG_FILE);
  const weightsPath = join(dir, HEAD_WEIGHTS_FILE);
  const configBytes = await readFile(configPath).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") throw new Error(`${dir} is not a head folder: ${HEAD_CONFIG_FILE} is missing`);
    throw e;
  });
  let config: unknown;
  try {
    config = JSON.parse(configBytes.toString("utf8"));
  } catch (e) {
    throw new Error(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  // The config first: a weights error is easier to read knowing the config is right.
  checkConfig(config, configPath);
  const weightBytes = await readFile(weightsPath).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") throw new Error(`${weightsPath} is missing (the weights of the head in ${configPath})`);
    throw e;
  });
  let tensors: Map<string, NamedTensor>;
  try {
    tensors = await readSafetensors(new Uint8Array(weightBytes.buffer, weightBytes.byteOffset, weightBytes.byteLength));
  } catch (e) {
    throw new Error(`${weightsPath}: ${(e as Error).message}`);
  }
  const weights: HeadWeights = {};
  const expected = expectedShapes(config);
  for (const [name, t] of tensors) {
    const shape = expected[name as WeightName];
    if (shape === undefined) {
      throw new Error(`${weightsPath}: unexpected tensor "${name}" for a ${config.type} head (expected ${Object.keys(expected).join(", ")})`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${weightsPath}: tensor "${name}" has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}] from ${HEAD_CONFIG_FILE}`);
    }
    if (t.data instanceof Float32Array) weights[name as WeightName] = t.data;
    else if (t.data instanceof Float64Array) weights[name as WeightName] = Float32Array.from(t.data);
    else throw new Error(`${weightsPath}: tensor "${name}" has dtype ${t.dtype}, expected F32`);
  }
  const head = buildHead(config, weights, { config: configPath, weights: weightsPath });
  const hash = createHash("sha256");
  for (const [name, bytes] of [
    [HEAD_CONFIG_FILE, configBytes],
    [HEAD_WEIGHTS_FILE, weightBytes],
  ] as const) {
    hash.update(`${name}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return { folder: dir, head, sha256: hash.digest("hex") };
}

/** Short description for Encoder.modules, e.g. "Head(linear 32→16, tokens)". */
export function describeHead(config: HeadConfig): string {
  const shape = config.type === "mlp" ? `mlp ${config.input}→${config.hidden}→${config.output}, ${config.activation}` : `linear ${config.input}→${config.output}`;
  return `Head(${shape}, ${config.appliesTo})`;
}

function buildHead(config: HeadConfig, weights: HeadWeights, where: { config: string; weights: string }): Head {
  checkConfig(config, where.config);
  if (weights === null || typeof weights !== "object") throw new Error(`${where.weights}: expected an object of tensors`);
  const expected = expectedShapes(config);
  for (const name of WEIGHT_NAMES) {
    const w = weights[name];
    const shape = expected[name];
    if (shape === undefined) {
      if (w !== undefined) throw new Error(`${where.weights}: unexpected tensor "${name}" for a ${config.type} head (expected ${Object.keys(expected).join(", ")})`);
      continue;
    }
    if (w === undefined) throw new Error(`${where.weights}: missing tensor "${name}" [${shape.join(", ")}] of the ${config.type} head`);
    if (!(w instanceof Float32Array)) throw new Error(`${where.weights}: tensor "${name}" must be a Float32Array`);
    const count = shape.reduce((p, d) => p * d, 1);
    if (w.length !== count) throw new Error(`${where.weights}: tensor "${name}" has ${w.length} values, expected [${shape.join(", ")}] = ${count}`);
    for (let i = 0; i < w.length; i++) {
      if (!Number.isFinite(w[i]!)) throw new Error(`${where.weights}: tensor "${name}" holds a non-finite value (${w[i]}) at ${i}`);
    }
  }
  const apply = config.type === "linear" ? linearApply(config, weights) : mlpApply(config, weights);
  return { config, weights, apply };
}

function linearApply(config: HeadConfig, weights: HeadWeights): Head["apply"] {
  const { input: I, output: O } = config;
  const W = weights.weight!;
  const b = weights.bias!;
  return (rows, count) => {
    checkRows(rows, count, I);
    const out = new Float32Array(count * O);
    for (let r = 0; r < count; r++) {
      const x = r * I;
      for (let o = 0; o < O; o++) {
        let s = b[o]!;
        const w = o * I;
        for (let i = 0; i < I; i++) s += W[w + i]! * rows[x + i]!;
        out[r * O + o] = s;
      }
    }
    return out;
  };
}

function mlpApply(config: HeadConfig, weights: HeadWeights): Head["apply"] {
  const { input: I, output: O } = config;
  const H = config.hidden!;
  const act = activationFunction(config.activation!);
  const w1 = weights.w1!;
  const b1 = weights.b1!;
  const w2 = weights.w2!;
  const b2 = weights.b2!;
  return (rows, count) => {
    checkRows(rows, count, I);
    const out = new Float32Array(count * O);
    const h = new Float64Array(H);
    for (let r = 0; r < count; r++) {
      const x = r * I;
      for (let j = 0; j < H; j++) {
        let s = b1[j]!;
        const w = j * I;
        for (let i = 0; i < I; i++) s += w1[w + i]! * rows[x + i]!;
        h[j] = act(s);
      }
      for (let o = 0; o < O; o++) {
        // Residual: output === input, so x[o] is the same coordinate.
        let s = rows[x + o]! + b2[o]!;
        const w = o * H;
        for (let j = 0; j < H; j++) s += w2[w + j]! * h[j]!;
        out[r * O + o] = s;
      }
    }
    return out;
  };
}

function checkRows(rows: Float32Array, count: number, width: number): void {
  if (!Number.isInteger(count) || count < 0) throw new Error(`head.apply: count must be a non-negative integer (got ${count})`);
  if (rows.length !== count * width) throw new Error(`head.apply: ${rows.length} values are not ${count} rows of width ${width}`);
}

function expectedShapes(config: HeadConfig): Partial<Record<WeightName, number[]>> {
  const { input: I, output: O } = config;
  if (config.type === "linear") return { weight: [O, I], bias: [O] };
  const H = config.hidden!;
  return { w1: [H, I], b1: [H], w2: [O, H], b2: [O] };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkConfig(config: unknown, where: string): asserts config is HeadConfig {
  if (!isPlainObject(config)) throw new Error(`${where}: expected a JSON object`);
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  for (const key of Object.keys(config)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key) && config[key] !== undefined) fail(`unknown field "${key}" (fields: ${CONFIG_KEYS.join(", ")})`);
  }
  if (config.format !== "crossrank-head") fail(`format must be "crossrank-head" (got ${JSON.stringify(config.format)})`);
  if (config.version !== 1) fail(`unsupported version ${JSON.stringify(config.version)} (this @crossrank/encode reads version 1)`);
  if (typeof config.encoder !== "string" || config.encoder === "") fail(`encoder must be a non-empty encoder spec (got ${JSON.stringify(config.encoder)})`);
  if (config.encoderOptions !== undefined && !isPlainObject(config.encoderOptions)) fail(`encoderOptions must be an object`);
  if (config.type !== "linear" && config.type !== "mlp") fail(`unknown head type ${JSON.stringify(config.type)} (linear, mlp)`);
  for (const key of ["input", "output"] as const) {
    const v = config[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) fail(`${key} must be a positive integer (got ${JSON.stringify(v)})`);
  }
  if (config.appliesTo !== "tokens" && config.appliesTo !== "sentence" && config.appliesTo !== "pair") fail(`appliesTo must be "tokens", "sentence" or "pair" (got ${JSON.stringify(config.appliesTo)})`);
  if (config.appliesTo === "pair" && config.type !== "linear") fail(`a pair head replaces a cross-encoder's classifier, so it is linear (got ${JSON.stringify(config.type)})`);
  if (config.type === "mlp") {
    const h = config.hidden;
    if (typeof h !== "number" || !Number.isInteger(h) || h < 1) fail(`an mlp head needs hidden, a positive integer (got ${JSON.stringify(h)})`);
    if (!(HEAD_ACTIVATIONS as readonly unknown[]).includes(config.activation)) fail(`an mlp head needs activation ${HEAD_ACTIVATIONS.join(" | ")} (got ${JSON.stringify(config.activation)})`);
    if (config.output !== config.input) fail(`an mlp head is residual, so output (${String(config.output)}) must equal input (${String(config.input)})`);
  } else {
    if (config.hidden !== undefined) fail(`hidden applies to mlp heads only`);
    if (config.activation !== undefined) fail(`activation applies to mlp heads only`);
  }
  if (config.pooling !== undefined && config.pooling !== "cls" && config.pooling !== "mean" && config.pooling !== "max") {
    fail(`unknown pooling ${JSON.stringify(config.pooling)} (cls, mean, max)`);
  }
  if (config.normalize !== undefined && typeof config.normalize !== "boolean") fail(`normalize must be a boolean`);
  if (config.trainedBy !== undefined && !isPlainObject(config.trainedBy)) fail(`trainedBy must be an object`);
}

/** The config with its keys in the documented order and undefined fields dropped. */
function orderedConfig(config: HeadConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) if (config[key] !== undefined) out[key] = config[key];
  return out;
}

function headTensors(head: Head): Record<string, NamedTensor> {
  const shapes = expectedShapes(head.config);
  const out: Record<string, NamedTensor> = {};
  for (const [name, shape] of Object.entries(shapes)) out[name] = { dtype: "F32", shape, data: head.weights[name as WeightName]! };
  return out;
}
