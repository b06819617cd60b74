/**
 * The trainer's config: a JSON file, validated key by key (errors name the file and the key path),
 * with every default filled in. The defaults are CL-ReLKT's XQuAD values as read from its code, so
 * a config naming only the encoder and the output folder trains the faithful recipe.
 *
 * Paths in a config file (`out`, `cache`, `data.dir`, and an encoder given as "./folder" or
 * "../folder" or naming a folder that exists there) resolve against the config file's folder.
 */
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { XQUAD_LANGUAGES } from "@crossrank/datasets";
import { DEFAULT_ENCODER, isBuiltInEncoder, type Pooling } from "@crossrank/encode";

/** The three stages, in training order. */
export const STAGES = ["warmup", "teacher", "distill"] as const;
export type StageName = (typeof STAGES)[number];
/** What the CLI accepts: one stage or all three in order. */
export type StageArg = StageName | "all";

/** Triplet loss settings (CL-ReLKT: margin 0.24 on XQuAD, distance 1 − a·x, summed over the batch). */
export interface TripletLossConfig {
  margin: number;
  distance: "dot" | "cosine" | "euclidean";
  reduction: "sum" | "mean";
}

/** Settings every stage has. */
export interface StageCommon {
  batchSize: number;
  /** AdamW learning rate (constant; halved after an epoch without dev gain when `halveLrOnNoGain`). */
  lr: number;
  epochs: number;
  /** AdamW decoupled weight decay (default 0: CL-ReLKT trains with Keras Adam, no decay). */
  weightDecay: number;
  /**
   * Stop after this many epochs in a row without a dev P@1 gain; undefined: never stop early. Either
   * way the head of the best dev epoch is the one kept.
   */
  patience?: number;
  /** Halve the learning rate after each epoch without dev gain (CL-ReLKT's teacher and distillation). */
  halveLrOnNoGain: boolean;
  /**
   * The head the stage starts from (the previous stage's, or the identity) competes on dev as epoch
   * −1: when no epoch beats it, the stage hands it on unchanged (default false, as CL-ReLKT).
   */
  includeStart: boolean;
}

export interface WarmupConfig extends StageCommon {
  loss: TripletLossConfig;
  negatives: {
    /** BM25 negatives per question (after skipping the top hit, none from the gold article). */
    bm25: number;
    /** From this epoch on (0-based; CL-ReLKT: 3, i.e. after the third epoch) the negative is a random other row's. */
    randomAfterEpoch: number;
  };
  /** Languages of the anchors (default: the train languages; CL-ReLKT's anchors are the non-English questions). */
  anchorLangs: string[];
}

export interface TeacherConfig extends StageCommon {
  loss: TripletLossConfig;
  /** Negatives kept per anchor at each epoch's mining: hard (d_an < d_ap) and semi-hard (d_ap < d_an < d_ap + margin). */
  mining: { hard: number; semiHard: number };
  /** Languages of the anchors (default: English and the train languages; documents are always English). */
  anchorLangs: string[];
  /** Also exclude the other paragraphs of the gold article from the mined negatives (default false: only the gold paragraph). */
  excludeGoldArticle: boolean;
}

export interface DistillStageConfig extends StageCommon {
  /** L = scale·[queryQuery·MSE(T(q_en), S(q_x)) + docDoc·MSE(T(d), S(d)) + docQuery·MSE(T(d), S(q_x))]. */
  weights: { queryQuery: number; docDoc: number; docQuery: number; scale: number };
  /** Languages of the student questions q_x (default: the train languages). */
  studentLangs: string[];
}

/** How the articles are split: fractions, or k-fold cross-validation by article. */
export type SplitConfig =
  | { kind: "ratio"; train: number; dev: number; test: number; seed: number }
  | { kind: "folds"; folds: number; fold: number; seed: number };

export interface DataConfig {
  dataset: "xquad";
  /** Folder holding xquad.<lang>.json; default: found by @crossrank/datasets (../shared/datasets/xquad, $CROSSRANK_DATA…). */
  dir?: string;
  trainLangs: string[];
  heldOutLangs: string[];
  split: SplitConfig;
}

export interface HeadSettings {
  type: "linear" | "mlp";
  appliesTo: "sentence";
  /** Pooling of the base encoder's sentence vectors (default: the encoder's own default), recorded in the head. */
  pooling?: Pooling;
  /** mlp: hidden width (default 2 × input) and activation (default gelu). */
  hidden?: number;
  activation?: "gelu" | "relu" | "tanh";
  /** L2-normalise after the head, in training and at inference (default true). */
  normalize: boolean;
}

/** The validated config with defaults filled in and paths resolved. */
export interface DistillConfig {
  /** Where the config came from (a file path, or a label). */
  source: string;
  /** The base encoder spec (hub id, folder, fixture:…; default crossrank-static, the shipped model); folders resolved to absolute paths. */
  encoder: string;
  /** Passed to loadEncoder (backend, dtype, batchSize, maxLength, offline, revision). */
  encoderOptions: EncoderSettings;
  data: DataConfig;
  head: HeadSettings;
  /** Output folder (absolute); undefined when the config names none (then --out is required). */
  out?: string;
  /** Embedding cache folder for the base encoder (default `<out>/cache`); false: none. */
  cache?: string | false;
  seed: number;
  /** Checkpoint every this many updates (and at every epoch end). */
  checkpointEvery: number;
  stages: { warmup: WarmupConfig; teacher: TeacherConfig; distill: DistillStageConfig };
}

export interface EncoderSettings {
  backend?: "transformers" | "onnx";
  dtype?: "fp32" | "q8";
  batchSize?: number;
  maxLength?: number;
  offline?: boolean;
  revision?: string;
}

/** A config error: the message names the file and the key. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The XQuAD languages other than English (the document language). */
export const XQUAD_QUERY_LANGUAGES: readonly string[] = XQUAD_LANGUAGES.filter((l) => l !== "en");
/** CL-ReLKT's XQuAD train and held-out languages. */
export const DEFAULT_TRAIN_LANGS = ["ar", "de", "es", "ru", "th", "zh", "tr"] as const;
export const DEFAULT_HELD_OUT_LANGS = ["ro", "el", "hi", "vi"] as const;

type Json = Record<string, unknown>;

/** Reads and validates a config file. */
export async function loadDistillConfig(path: string): Promise<DistillConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the config: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  return parseDistillConfig(value, { source: path, baseDir: dirname(file) });
}

/**
 * Validates a parsed config. `source` names it in errors; `baseDir` (default the working
 * directory) is where relative paths resolve.
 */
export function parseDistillConfig(value: unknown, options: { source?: string; baseDir?: string } = {}): DistillConfig {
  const source = options.source ?? "config";
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const v = new Validator(source);
  const root = v.object(value, "");
  v.keys(root, "", ["encoder", "encoderOptions", "data", "head", "out", "cache", "seed", "checkpointEvery", "stages"]);

  const encoder = resolveEncoderSpec(v.optionalString(root, "encoder", "") ?? DEFAULT_ENCODER, baseDir);
  const encoderOptions = parseEncoderOptions(v, root);
  const seed = v.integer(root, "seed", "", { min: 0, max: 0xffffffff, default: 1 });
  const checkpointEvery = v.integer(root, "checkpointEvery", "", { min: 1, default: 500 });
  const outRaw = v.optionalString(root, "out", "");
  const cacheValue = root.cache;
  let cache: string | false | undefined;
  if (cacheValue === false) cache = false;
  else if (cacheValue !== undefined) cache = resolve(baseDir, v.string(root, "cache", ""));

  // data
  const dataObj = v.optionalObject(root, "data", "") ?? {};
  v.keys(dataObj, "data", ["dataset", "dir", "trainLangs", "heldOutLangs", "split"]);
  const dataset = v.oneOf(dataObj, "dataset", "data", ["xquad"] as const, "xquad");
  const dir = v.optionalString(dataObj, "dir", "data");
  const trainLangs = v.languages(dataObj, "trainLangs", "data", [...DEFAULT_TRAIN_LANGS], XQUAD_QUERY_LANGUAGES, 1);
  const heldOutLangs = v.languages(dataObj, "heldOutLangs", "data", [...DEFAULT_HELD_OUT_LANGS], XQUAD_QUERY_LANGUAGES, 0);
  const overlap = trainLangs.filter((l) => heldOutLangs.includes(l));
  if (overlap.length > 0) v.fail("data.heldOutLangs", `${overlap.join(", ")} also in data.trainLangs (held-out languages are never trained on)`);
  const split = parseSplit(v, dataObj, seed);
  const data: DataConfig = { dataset, trainLangs, heldOutLangs, split, ...(dir !== undefined ? { dir: resolve(baseDir, dir) } : {}) };

  // head
  const headObj = v.optionalObject(root, "head", "") ?? {};
  v.keys(headObj, "head", ["type", "appliesTo", "pooling", "hidden", "activation", "normalize"]);
  const type = v.oneOf(headObj, "type", "head", ["linear", "mlp"] as const, "linear");
  const appliesTo = v.oneOf(headObj, "appliesTo", "head", ["sentence", "tokens"] as const, "sentence");
  if (appliesTo !== "sentence") v.fail("head.appliesTo", `this trainer trains sentence heads over pooled vectors; "tokens" heads are trained by the LM-EMD losses, not here`);
  const pooling = v.optionalOneOf(headObj, "pooling", "head", ["mean", "cls", "max"] as const);
  const hidden = headObj.hidden === undefined ? undefined : v.integer(headObj, "hidden", "head", { min: 1 });
  const activation = v.optionalOneOf(headObj, "activation", "head", ["gelu", "relu", "tanh"] as const);
  if (type === "linear" && (hidden !== undefined || activation !== undefined)) v.fail("head", `"hidden" and "activation" are for type "mlp" only`);
  const head: HeadSettings = {
    type,
    appliesTo: "sentence",
    normalize: v.boolean(headObj, "normalize", "head", true),
    ...(pooling !== undefined ? { pooling } : {}),
    ...(hidden !== undefined ? { hidden } : {}),
    ...(type === "mlp" ? { activation: activation ?? "gelu" } : {}),
  };

  // stages
  const stagesObj = v.optionalObject(root, "stages", "") ?? {};
  v.keys(stagesObj, "stages", [...STAGES]);
  const allowedAnchor = ["en", ...trainLangs];
  const w = v.optionalObject(stagesObj, "warmup", "stages") ?? {};
  const wAt = "stages.warmup";
  v.keys(w, wAt, [...COMMON_KEYS, "loss", "negatives", "anchorLangs"]);
  const negObj = v.optionalObject(w, "negatives", wAt) ?? {};
  v.keys(negObj, `${wAt}.negatives`, ["bm25", "randomAfterEpoch"]);
  const warmup: WarmupConfig = {
    ...parseCommon(v, w, wAt, { batchSize: 16, lr: 1e-5, epochs: 10, halveLrOnNoGain: false }),
    loss: parseTriplet(v, w, wAt),
    negatives: {
      bm25: v.integer(negObj, "bm25", `${wAt}.negatives`, { min: 1, default: 3 }),
      randomAfterEpoch: v.integer(negObj, "randomAfterEpoch", `${wAt}.negatives`, { min: 0, default: 3 }),
    },
    anchorLangs: v.languages(w, "anchorLangs", wAt, [...trainLangs], allowedAnchor, 1),
  };
  const t = v.optionalObject(stagesObj, "teacher", "stages") ?? {};
  const tAt = "stages.teacher";
  v.keys(t, tAt, [...COMMON_KEYS, "loss", "mining", "anchorLangs", "excludeGoldArticle"]);
  const miningObj = v.optionalObject(t, "mining", tAt) ?? {};
  v.keys(miningObj, `${tAt}.mining`, ["hard", "semiHard"]);
  const mining = {
    hard: v.integer(miningObj, "hard", `${tAt}.mining`, { min: 0, default: 1 }),
    semiHard: v.integer(miningObj, "semiHard", `${tAt}.mining`, { min: 0, default: 1 }),
  };
  if (mining.hard + mining.semiHard === 0) v.fail(`${tAt}.mining`, "hard + semiHard must be at least 1");
  const teacher: TeacherConfig = {
    ...parseCommon(v, t, tAt, { batchSize: 16, lr: 1e-5, epochs: 100, patience: 20, halveLrOnNoGain: true }),
    loss: parseTriplet(v, t, tAt),
    mining,
    anchorLangs: v.languages(t, "anchorLangs", tAt, [...allowedAnchor], allowedAnchor, 1),
    excludeGoldArticle: v.boolean(t, "excludeGoldArticle", tAt, false),
  };
  const d = v.optionalObject(stagesObj, "distill", "stages") ?? {};
  const dAt = "stages.distill";
  v.keys(d, dAt, [...COMMON_KEYS, "weights", "studentLangs"]);
  const weightsObj = v.optionalObject(d, "weights", dAt) ?? {};
  v.keys(weightsObj, `${dAt}.weights`, ["queryQuery", "docDoc", "docQuery", "scale"]);
  const distill: DistillStageConfig = {
    ...parseCommon(v, d, dAt, { batchSize: 16, lr: 1e-3, epochs: 30, patience: 20, halveLrOnNoGain: true }),
    weights: {
      queryQuery: v.number(weightsObj, "queryQuery", `${dAt}.weights`, { min: 0, default: 0.001 }),
      docDoc: v.number(weightsObj, "docDoc", `${dAt}.weights`, { min: 0, default: 1 }),
      docQuery: v.number(weightsObj, "docQuery", `${dAt}.weights`, { min: 0, default: 0.01 }),
      scale: v.number(weightsObj, "scale", `${dAt}.weights`, { min: 0, exclusiveMin: true, default: 1000 }),
    },
    studentLangs: v.languages(d, "studentLangs", dAt, [...trainLangs], trainLangs, 1),
  };

  const config: DistillConfig = {
    source,
    encoder,
    encoderOptions,
    data,
    head,
    seed,
    checkpointEvery,
    stages: { warmup, teacher, distill },
    ...(outRaw !== undefined ? { out: resolve(baseDir, outRaw) } : {}),
    ...(cache !== undefined ? { cache } : {}),
  };
  return config;
}

/** A hash of everything in the config that changes what is trained (not `source`, `out`, `cache`). */
export function configHash(config: DistillConfig): string {
  const { source: _source, out: _out, cache: _cache, ...rest } = config;
  void _source;
  void _out;
  void _cache;
  return createHash("sha256").update(stableJson(rest)).digest("hex").slice(0, 16);
}

/** The config as plain JSON (for `<out>/config.json`), defaults filled in. */
export function configJson(config: DistillConfig): Json {
  return JSON.parse(stableJson(config)) as Json;
}

const COMMON_KEYS = ["batchSize", "lr", "epochs", "weightDecay", "patience", "halveLrOnNoGain", "includeStart"] as const;

function parseCommon(v: Validator, o: Json, at: string, defaults: { batchSize: number; lr: number; epochs: number; patience?: number; halveLrOnNoGain: boolean }): StageCommon {
  const patience = o.patience === undefined ? defaults.patience : o.patience === null ? undefined : v.integer(o, "patience", at, { min: 1 });
  return {
    batchSize: v.integer(o, "batchSize", at, { min: 1, default: defaults.batchSize }),
    lr: v.number(o, "lr", at, { min: 0, exclusiveMin: true, default: defaults.lr }),
    epochs: v.integer(o, "epochs", at, { min: 1, default: defaults.epochs }),
    weightDecay: v.number(o, "weightDecay", at, { min: 0, default: 0 }),
    halveLrOnNoGain: v.boolean(o, "halveLrOnNoGain", at, defaults.halveLrOnNoGain),
    includeStart: v.boolean(o, "includeStart", at, false),
    ...(patience !== undefined ? { patience } : {}),
  };
}

function parseTriplet(v: Validator, stage: Json, at: string): TripletLossConfig {
  const o = v.optionalObject(stage, "loss", at) ?? {};
  const lat = `${at}.loss`;
  v.keys(o, lat, ["margin", "distance", "reduction"]);
  return {
    margin: v.number(o, "margin", lat, { min: 0, default: 0.24 }),
    distance: v.oneOf(o, "distance", lat, ["dot", "cosine", "euclidean"] as const, "dot"),
    reduction: v.oneOf(o, "reduction", lat, ["sum", "mean"] as const, "sum"),
  };
}

function parseSplit(v: Validator, data: Json, defaultSeed: number): SplitConfig {
  const o = v.optionalObject(data, "split", "data") ?? {};
  const at = "data.split";
  const seed = v.integer(o, "seed", at, { min: 0, max: 0xffffffff, default: defaultSeed });
  if (o.folds !== undefined || o.fold !== undefined) {
    v.keys(o, at, ["folds", "fold", "seed"]);
    const folds = v.integer(o, "folds", at, { min: 3, default: 5 });
    const fold = v.integer(o, "fold", at, { min: 0, default: 0 });
    if (fold >= folds) v.fail(`${at}.fold`, `must be in [0, ${folds - 1}] (0-based), got ${fold}`);
    return { kind: "folds", folds, fold, seed };
  }
  v.keys(o, at, ["train", "dev", "test", "seed"]);
  const train = v.number(o, "train", at, { min: 0, exclusiveMin: true, default: 0.6 });
  const dev = v.number(o, "dev", at, { min: 0, exclusiveMin: true, default: 0.2 });
  const test = v.number(o, "test", at, { min: 0, exclusiveMin: true, default: 0.2 });
  const sum = train + dev + test;
  if (Math.abs(sum - 1) > 1e-9) v.fail(at, `train + dev + test must be 1, got ${sum}`);
  return { kind: "ratio", train, dev, test, seed };
}

function parseEncoderOptions(v: Validator, root: Json): EncoderSettings {
  const o = v.optionalObject(root, "encoderOptions", "");
  if (o === undefined) return {};
  const at = "encoderOptions";
  v.keys(o, at, ["backend", "dtype", "batchSize", "maxLength", "offline", "revision"]);
  const out: EncoderSettings = {};
  const backend = v.optionalOneOf(o, "backend", at, ["transformers", "onnx"] as const);
  if (backend !== undefined) out.backend = backend;
  const dtype = v.optionalOneOf(o, "dtype", at, ["fp32", "q8"] as const);
  if (dtype !== undefined) out.dtype = dtype;
  if (o.batchSize !== undefined) out.batchSize = v.integer(o, "batchSize", at, { min: 1 });
  if (o.maxLength !== undefined) out.maxLength = v.integer(o, "maxLength", at, { min: 2 });
  if (o.offline !== undefined) out.offline = v.boolean(o, "offline", at, false);
  const revision = v.optionalString(o, "revision", at);
  if (revision !== undefined) out.revision = revision;
  return out;
}

/** fixture:…, absolute and ~ paths as written; "./x", "../x" or an existing folder against the config's folder; else a hub id. */
function resolveEncoderSpec(spec: string, baseDir: string): string {
  if (isBuiltInEncoder(spec) || isAbsolute(spec) || spec === "~" || spec.startsWith("~/")) return spec;
  const local = resolve(baseDir, spec);
  if (/^\.\.?([\\/]|$)/.test(spec)) return local;
  try {
    if (statSync(local).isDirectory()) return local;
  } catch {
    // not a folder here: a hub id
  }
  return spec;
}

/** JSON with object keys sorted (a stable text for hashing). */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** Small typed accessors whose errors say `<source>: <key path>: …`. */
class Validator {
  constructor(private readonly source: string) {}

  fail(at: string, message: string): never {
    throw new ConfigError(`${this.source}: ${at === "" ? "" : `${at}: `}${message}`);
  }

  private path(at: string, key: string): string {
    return at === "" ? key : `${at}.${key}`;
  }

  object(value: unknown, at: string): Json {
    if (value === null || typeof value !== "object" || Array.isArray(value)) this.fail(at, `expected an object, got ${describe(value)}`);
    return value as Json;
  }

  optionalObject(o: Json, key: string, at: string): Json | undefined {
    const value = o[key];
    if (value === undefined) return undefined;
    return this.object(value, this.path(at, key));
  }

  /** Unknown keys are errors (they are usually typos); keys starting with "_" are comments. */
  keys(o: Json, at: string, known: readonly string[]): void {
    for (const key of Object.keys(o)) {
      if (key.startsWith("_") || known.includes(key)) continue;
      const hint = closest(key, known);
      this.fail(this.path(at, key), `unknown key${hint !== undefined ? ` (did you mean "${hint}"?)` : ""}; known: ${known.join(", ")}`);
    }
  }

  string(o: Json, key: string, at: string): string {
    const value = o[key];
    if (value === undefined) this.fail(this.path(at, key), "missing (required)");
    if (typeof value !== "string" || value.trim() === "") this.fail(this.path(at, key), `expected a non-empty string, got ${describe(value)}`);
    return value;
  }

  optionalString(o: Json, key: string, at: string): string | undefined {
    return o[key] === undefined ? undefined : this.string(o, key, at);
  }

  boolean(o: Json, key: string, at: string, fallback: boolean): boolean {
    const value = o[key];
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") this.fail(this.path(at, key), `expected true or false, got ${describe(value)}`);
    return value;
  }

  number(o: Json, key: string, at: string, opts: { min?: number; exclusiveMin?: boolean; max?: number; default?: number }): number {
    const value = o[key];
    const where = this.path(at, key);
    if (value === undefined) {
      if (opts.default !== undefined) return opts.default;
      this.fail(where, "missing (required)");
    }
    if (typeof value !== "number" || !Number.isFinite(value)) this.fail(where, `expected a number, got ${describe(value)}`);
    if (opts.min !== undefined && (opts.exclusiveMin ? value <= opts.min : value < opts.min)) {
      this.fail(where, `must be ${opts.exclusiveMin ? ">" : ">="} ${opts.min}, got ${value}`);
    }
    if (opts.max !== undefined && value > opts.max) this.fail(where, `must be <= ${opts.max}, got ${value}`);
    return value;
  }

  integer(o: Json, key: string, at: string, opts: { min?: number; max?: number; default?: number }): number {
    const value = this.number(o, key, at, opts);
    if (!Number.isInteger(value)) this.fail(this.path(at, key), `expected an integer, got ${value}`);
    return value;
  }

  oneOf<T extends string>(o: Json, key: string, at: string, allowed: readonly T[], fallback: T): T {
    return this.optionalOneOf(o, key, at, allowed) ?? fallback;
  }

  optionalOneOf<T extends string>(o: Json, key: string, at: string, allowed: readonly T[]): T | undefined {
    const value = o[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      this.fail(this.path(at, key), `expected one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${describe(value)}`);
    }
    return value as T;
  }

  languages(o: Json, key: string, at: string, fallback: string[], allowed: readonly string[], minCount: number): string[] {
    const value = o[key];
    const where = this.path(at, key);
    if (value === undefined) return fallback;
    if (!Array.isArray(value)) this.fail(where, `expected an array of language codes, got ${describe(value)}`);
    const out: string[] = [];
    value.forEach((lang, i) => {
      if (typeof lang !== "string" || !allowed.includes(lang)) this.fail(`${where}[${i}]`, `expected one of ${allowed.join(", ")}, got ${describe(lang)}`);
      if (out.includes(lang)) this.fail(`${where}[${i}]`, `"${lang}" listed twice`);
      out.push(lang);
    });
    if (out.length < minCount) this.fail(where, `needs at least ${minCount} language${minCount === 1 ? "" : "s"}`);
    return out;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** The known key nearest to `key` (edit distance ≤ 2, or a case-only difference), for "did you mean". */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name);
    if (d <= 2 && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
