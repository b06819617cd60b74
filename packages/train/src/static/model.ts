/**
 * Static embedding models trained here: one row per vocabulary token; a text's vector is the mean
 * of its token rows, L2-normalised (model2vec / sentence-transformers `StaticEmbedding`). Trained
 * with the symmetric multiple-negatives ranking loss (in-batch softmax over parallel pairs, with a
 * temperature) and sparse AdaGrad: a batch touches only its tokens' rows, and only those rows are
 * updated. Deterministic from seed and data; checkpoints (atomic, @crossrank/train's format), a
 * resumable JSONL log, a loss plot and a progress callback.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeSafetensors } from "@crossrank/encode";
import { readCheckpoint, writeCheckpoint } from "../checkpoint.js";
import { TrainingLog, type LogEntry } from "../log.js";
import { writePlot } from "../plot.js";
import { Rng } from "../rng.js";
import { InBatchSoftmax } from "./in-batch-onnx.js";
import { groupPairs, sampleEpoch, type TextPair } from "./pairs.js";
import { learnVocabulary, StaticTokenizer, staticTokenizerConfig, staticTokenizerJson, staticWords } from "./vocab.js";

/** Training configuration (JSON-serialisable; written into the model card). */
export interface StaticTrainConfig {
  /** Embedding dimension. */
  dim: number;
  /** Vocabulary size (upper bound). */
  vocabSize: number;
  /** Characters rarer than this in the vocabulary corpus become [UNK] (default 1). */
  minCharFrequency?: number;
  /** Words rarer than this take no part in the vocabulary merges (default 1; see learnVocabulary). */
  minWordFrequency?: number;
  /**
   * The vocabulary is learned from at most this many training pairs per `source/lang` group (a
   * seeded sample; default: all). Millions of dictionary pairs add little to the merges but much
   * to the learning time.
   */
  vocabPairsPerGroup?: number;
  epochs: number;
  /** Pairs per batch (the in-batch negatives). */
  batchSize: number;
  /** Softmax temperature (similarities are divided by it). */
  temperature: number;
  /** AdaGrad learning rate. */
  lr: number;
  /** Standard deviation of the random initial rows. */
  initStd: number;
  seed: number;
  /** At most this many pairs per `source/lang` group and epoch. */
  capPerGroup?: number;
  /** Per-source caps (e.g. `{ dict: 20000 }`), overriding capPerGroup. */
  capBySource?: Record<string, number>;
  /** Pairs per epoch of a whole source, water-filled over its groups (see `sampleEpoch`). */
  budgetBySource?: Record<string, number>;
  /** Texts are cut to this many tokens (default 128). */
  maxTokens?: number;
  /** Write a checkpoint every this many updates (and at each epoch end); 0 = only at epoch ends. */
  checkpointEvery?: number;
  /** Dev pairs per group evaluated at each epoch end (default 1000). */
  devPerGroup?: number;
  /** Per-source overrides of devPerGroup (e.g. `{ dict: 200 }`: dozens of dictionary groups). */
  devBySource?: Record<string, number>;
}

/** A tiny configuration, for tests. */
export const TINY_STATIC_CONFIG: StaticTrainConfig = {
  dim: 32,
  vocabSize: 400,
  epochs: 8,
  batchSize: 16,
  temperature: 0.05,
  lr: 0.2,
  initStd: 0.1,
  seed: 1,
  maxTokens: 64,
  checkpointEvery: 0,
  devPerGroup: 200,
};

/**
 * The default training configuration (the data is the recipe's, see `DEFAULT_STATIC_RECIPE`):
 * DDTP groups capped at 12k pairs an epoch (successive epochs walk on through the big ones; about
 * 215k DDTP pairs an epoch) and fixed budgets of 160k dictionary pairs with English on one side
 * and 40k pivot pairs an epoch, water-filled over their groups. With 60k dictionary pairs an epoch
 * German got ~1.3k dictionary pairs an epoch and everyday German sentences stayed at R@1 0.53.
 * 15 epochs of 512-pair batches fit the 30-minute budget since the loss runs on onnxruntime.
 * Against 5 epochs of 256 they lifted DDTP task (a) R@1 in every language but es (−0.006), and
 * everyday German from 0.78 to 0.915; 15 epochs of 256 gained about half as much (see
 * packages/train/README.md). Dev is measured on 500 pairs a DDTP group (each evaluation is
 * quadratic in it), and checkpoints (~130 MB) are written every 2,000 updates and at epoch ends.
 */
export const DEFAULT_STATIC_CONFIG: StaticTrainConfig = {
  dim: 256,
  vocabSize: 64000,
  minCharFrequency: 3,
  minWordFrequency: 2,
  vocabPairsPerGroup: 20000,
  epochs: 15,
  batchSize: 512,
  temperature: 0.05,
  lr: 0.1,
  initStd: 0.1,
  seed: 1,
  capPerGroup: 12000,
  budgetBySource: { dict: 160000, "dict-pivot": 40000, gettext: 60000, cldr: 20000 },
  maxTokens: 128,
  checkpointEvery: 2000,
  devPerGroup: 500,
  devBySource: { dict: 200, "dict-pivot": 100, gettext: 100, cldr: 100 },
};

/** A trained static model in memory. */
export interface StaticModel {
  vocab: string[];
  dim: number;
  /** Row-major [vocab.length, dim]. */
  embeddings: Float32Array;
}

/** Progress information. */
export interface StaticProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
}

/** Options of {@link trainStaticModel}. */
export interface TrainStaticOptions {
  config: StaticTrainConfig;
  train: readonly TextPair[];
  dev?: readonly TextPair[];
  /** A vocabulary to use; default: learned from the training texts (per language). */
  vocab?: string[];
  /** Folder for checkpoint/, log.jsonl, loss.svg, vocab.txt. Without it nothing is written. */
  workDir?: string;
  /** Continue from the checkpoint in workDir when there is one (default true). */
  resume?: boolean;
  onProgress?: (p: StaticProgress) => void;
  /** Stop after this many updates in total (tests of resume; a checkpoint is written there). */
  stopAfterSteps?: number;
}

/** What {@link trainStaticModel} returns. */
export interface TrainStaticResult {
  model: StaticModel;
  steps: number;
  /** Training seconds of this call. */
  seconds: number;
  /** Pairs per second of this call (updates × batch size / seconds). */
  pairsPerSecond: number;
  log: LogEntry[];
  /** Dev R@1 (a → b within each group's dev sample) at the last evaluation. */
  dev: Record<string, number>;
  /** True when it stopped on stopAfterSteps before the end. */
  stopped: boolean;
}

/** JSON with sorted object keys and no undefined members: equal configurations give equal strings whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Language of each side of a pair: `de-en` → ["de", "en"]. */
function sides(lang: string): [string, string] {
  const i = lang.indexOf("-");
  return i < 0 ? [lang, lang] : [lang.slice(0, i), lang.slice(i + 1)];
}

/** Training texts by language, for the vocabulary. */
export function textsByLanguage(pairs: readonly TextPair[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (l: string, t: string) => {
    let list = out.get(l);
    if (list === undefined) out.set(l, (list = []));
    list.push(t);
  };
  for (const p of pairs) {
    const [la, lb] = sides(p.lang);
    add(la, p.a);
    add(lb, p.b);
  }
  return out;
}

/** The pairs the vocabulary is learned from: all, or a seeded sample of at most `perGroup` per group. */
function vocabularyPairs(pairs: readonly TextPair[], perGroup: number | undefined, seed: number): readonly TextPair[] {
  if (perGroup === undefined) return pairs;
  return sampleEpoch(groupPairs(pairs), { seed, epoch: 0, capPerGroup: perGroup });
}

let sumScratch = new Float64Array(0);

/** Mean of token rows, L2-normalised, into `out` (zeros for no tokens); returns the pre-normalisation norm. */
function embedInto(ids: ArrayLike<number>, emb: Float32Array, dim: number, out: Float32Array | Float64Array, o: number): number {
  // Called for every text of every batch: one float64 accumulator, reused (embedInto is synchronous).
  if (sumScratch.length < dim) sumScratch = new Float64Array(dim);
  const sum = sumScratch;
  sum.fill(0, 0, dim);
  const n = ids.length;
  for (let t = 0; t < n; t++) {
    const r = (ids[t] as number) * dim;
    for (let k = 0; k < dim; k++) sum[k] = (sum[k] as number) + (emb[r + k] as number);
  }
  let ss = 0;
  for (let k = 0; k < dim; k++) {
    const v = n === 0 ? 0 : (sum[k] as number) / n;
    sum[k] = v;
    ss += v * v;
  }
  const norm = Math.sqrt(ss);
  for (let k = 0; k < dim; k++) out[o + k] = norm > 0 ? (sum[k] as number) / norm : 0;
  return norm;
}

/**
 * The token ids whose rows make a text's vector: [UNK] is dropped, as `@crossrank/encode` (and
 * model2vec) drop it when encoding, so that training sees texts the way the model is used.
 */
function embeddedIds(tokenizer: StaticTokenizer, text: string): number[] {
  return tokenizer.encode(text).filter((id) => id !== tokenizer.unkId);
}

/** Encodes texts with a model: [texts.length, dim] row-major, each row L2-normalised. */
export function encodeStatic(model: StaticModel, texts: readonly string[], tokenizer = new StaticTokenizer(model.vocab)): Float64Array {
  const out = new Float64Array(texts.length * model.dim);
  texts.forEach((t, i) => embedInto(embeddedIds(tokenizer, t), model.embeddings, model.dim, out, i * model.dim));
  return out;
}

/** R@1 of retrieving each pair's b among all b's from its a (cosine). */
export function pairRecallAt1(model: StaticModel, pairs: readonly TextPair[], tokenizer = new StaticTokenizer(model.vocab)): number {
  if (pairs.length === 0) return 0;
  const d = model.dim;
  const A = encodeStatic(model, pairs.map((p) => p.a), tokenizer);
  const B = encodeStatic(model, pairs.map((p) => p.b), tokenizer);
  let hits = 0;
  for (let i = 0; i < pairs.length; i++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let j = 0; j < pairs.length; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (A[i * d + k] as number) * (B[j * d + k] as number);
      if (s > bestScore) {
        bestScore = s;
        best = j;
      }
    }
    if (best === i || pairs[best]?.b === pairs[i]?.b) hits++;
  }
  return hits / pairs.length;
}

/** Dev R@1 per `source/lang` group (first `perGroup` pairs of each; `bySource` overrides it per source). */
export function devRecall(model: StaticModel, dev: readonly TextPair[], perGroup: number, bySource: Readonly<Record<string, number>> = {}): Record<string, number> {
  const tokenizer = new StaticTokenizer(model.vocab);
  const out: Record<string, number> = {};
  for (const [g, list] of groupPairs(dev)) {
    const n = bySource[g.slice(0, g.indexOf("/"))] ?? perGroup;
    if (n > 0) out[`r1/${g}`] = pairRecallAt1(model, list.slice(0, n), tokenizer);
  }
  return out;
}

const CHECKPOINT = "checkpoint";

/**
 * Trains a static model on parallel pairs (see the module comment). Epoch e's pairs are
 * `sampleEpoch(groups, {seed, epoch: e, caps})`, cut into full batches; an update is the
 * symmetric in-batch softmax loss and a sparse AdaGrad step on the rows the batch touched.
 */
export async function trainStaticModel(options: TrainStaticOptions): Promise<TrainStaticResult> {
  const c = options.config;
  const dim = c.dim;
  const B = c.batchSize;
  const tau = c.temperature;
  const maxTokens = c.maxTokens ?? 128;
  const work = options.workDir;
  const ckDir = work === undefined ? undefined : join(work, CHECKPOINT);
  const checkpoint = ckDir !== undefined && options.resume !== false ? await readCheckpoint(ckDir) : undefined;

  let vocab = options.vocab;
  if (vocab === undefined && checkpoint !== undefined && work !== undefined) vocab = (await readFile(join(work, "vocab.txt"), "utf8")).split("\n").slice(0, -1);
  vocab ??= learnVocabulary(textsByLanguage(vocabularyPairs(options.train, c.vocabPairsPerGroup, c.seed)), { size: c.vocabSize, minCharFrequency: c.minCharFrequency ?? 1, minWordFrequency: c.minWordFrequency ?? 1 });
  if (work !== undefined) {
    await mkdir(work, { recursive: true });
    await writeFile(join(work, "vocab.txt"), `${vocab.join("\n")}\n`);
  }
  const tokenizer = new StaticTokenizer(vocab);
  const V = vocab.length;

  // Token ids of every training text, once.
  const idCache = new Map<string, Int32Array>();
  const ids = (text: string): Int32Array => {
    let v = idCache.get(text);
    if (v === undefined) idCache.set(text, (v = Int32Array.from(embeddedIds(tokenizer, text).slice(0, maxTokens))));
    return v;
  };
  // Pairs with a side that has no word cannot be embedded. Checking words spares WordPiece on
  // millions of dictionary pairs that are mostly never sampled. A side whose words are all [UNK]
  // (rare: characters below minCharFrequency) embeds as zeros and passes no gradient.
  const usable = options.train.filter((p) => staticWords(p.a).length > 0 && staticWords(p.b).length > 0);
  const groups = groupPairs(usable);
  const epochPairs = (epoch: number) => sampleEpoch(groups, { seed: c.seed, epoch, capPerGroup: c.capPerGroup, capBySource: c.capBySource, budgetBySource: c.budgetBySource });
  const stepsPerEpoch = Math.floor(epochPairs(0).length / B);
  const totalSteps = stepsPerEpoch * c.epochs;

  let emb: Float32Array;
  let acc: Float32Array;
  let step = 0;
  let seconds0 = 0;
  if (checkpoint !== undefined) {
    const w = checkpoint.weights.embeddings;
    const a = checkpoint.tensors?.adagrad;
    if (w === undefined || a === undefined || w.shape[0] !== V || w.shape[1] !== dim) throw new Error(`trainStaticModel: checkpoint in ${String(ckDir)} does not match the configuration`);
    // Same shapes are not enough: resuming another configuration's finished run would return its
    // weights unchanged under this configuration's name.
    const written = checkpoint.extra?.config;
    if (written !== undefined && written !== canonicalJson(c)) throw new Error(`trainStaticModel: the checkpoint in ${String(ckDir)} was written by another configuration; remove it or pass resume: false`);
    emb = w.data;
    acc = a.data;
    step = checkpoint.step;
    seconds0 = Number(checkpoint.extra?.seconds ?? 0);
  } else {
    const rng = new Rng(c.seed);
    emb = new Float32Array(V * dim);
    for (let i = 0; i < emb.length; i++) emb[i] = rng.normal(0, c.initStd);
    for (let k = 0; k < dim; k++) emb[k] = 0; // [PAD]
    acc = new Float32Array(V * dim);
  }
  const log = work === undefined ? undefined : checkpoint !== undefined ? await TrainingLog.resume(join(work, "log.jsonl"), step) : await TrainingLog.create(join(work, "log.jsonl"));
  const model: StaticModel = { vocab, dim, embeddings: emb };

  const save = async (epochOfNext: number, seconds: number) => {
    if (ckDir === undefined) return;
    await log?.flush();
    await writeCheckpoint(ckDir, { weights: { embeddings: { data: emb, shape: [V, dim] } }, tensors: { adagrad: { data: acc, shape: [V, dim] } }, rng: c.seed >>> 0, step, epoch: epochOfNext, extra: { seconds, config: canonicalJson(c) } }, { fsync: false });
  };

  // Work buffers. Loss and gradients with respect to the unit rows come from onnxruntime (see
  // ./in-batch-onnx.ts); the rest (gathering rows, the normalisation's backward pass, the sparse
  // scatter and AdaGrad) stays here.
  const XA = new Float32Array(B * dim);
  const XB = new Float32Array(B * dim);
  const nA = new Float64Array(B);
  const nB = new Float64Array(B);
  const grad = new Float32Array(V * dim);
  const touched = new Uint8Array(V);
  const touchedList: number[] = [];
  const inBatch = await InBatchSoftmax.create(B, tau);

  const start = Date.now();
  const stepsAtStart = step;
  let dev: Record<string, number> = {};
  let stopped = false;
  const entries: LogEntry[] = [];

  /** Back through the mean and the L2 normalisation: dmean_i = (dX_i − X_i (X_i·dX_i)) / n_i, into every token row of text i. */
  const row = new Float64Array(dim);
  const backSide = (batch: readonly TextPair[], side: "a" | "b", X: Float32Array, norms: Float64Array, dX: Float32Array) => {
    for (let i = 0; i < B; i++) {
      const n = norms[i] as number;
      if (n === 0) continue;
      const o = i * dim;
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += (X[o + k] as number) * (dX[o + k] as number);
      const tok = ids((batch[i] as TextPair)[side]);
      const scale = 1 / (n * tok.length);
      for (let k = 0; k < dim; k++) row[k] = ((dX[o + k] as number) - (X[o + k] as number) * dot) * scale;
      for (let t = 0; t < tok.length; t++) {
        const r = tok[t] as number;
        if (touched[r] === 0) {
          touched[r] = 1;
          touchedList.push(r);
        }
        const go = r * dim;
        for (let k = 0; k < dim; k++) grad[go + k] = (grad[go + k] as number) + (row[k] as number);
      }
    }
  };

  try {
    outer: for (let epoch = Math.floor(step / Math.max(1, stepsPerEpoch)); epoch < c.epochs; epoch++) {
      const pairs = epochPairs(epoch);
      for (let s = step - epoch * stepsPerEpoch; s < stepsPerEpoch; s++) {
        const batch = pairs.slice(s * B, (s + 1) * B);
        for (let i = 0; i < B; i++) {
          const p = batch[i] as TextPair;
          nA[i] = embedInto(ids(p.a), emb, dim, XA, i * dim);
          nB[i] = embedInto(ids(p.b), emb, dim, XB, i * dim);
        }
        const { loss, gradA, gradB } = await inBatch.run(XA, XB, dim);
        backSide(batch, "a", XA, nA, gradA);
        backSide(batch, "b", XB, nB, gradB);
        // Sparse AdaGrad on the touched rows, in increasing row order (deterministic).
        touchedList.sort((x, y) => x - y);
        for (const r of touchedList) {
          const o = r * dim;
          for (let k = 0; k < dim; k++) {
            const g = grad[o + k] as number;
            const a2 = (acc[o + k] as number) + g * g;
            acc[o + k] = a2;
            emb[o + k] = (emb[o + k] as number) - (c.lr * g) / (Math.sqrt(a2) + 1e-10);
            grad[o + k] = 0;
          }
          touched[r] = 0;
        }
        touchedList.length = 0;
        step++;
        const seconds = seconds0 + (Date.now() - start) / 1000;
        const entry: LogEntry = { step, epoch, loss, lr: c.lr, seconds };
        const epochEnd = s === stepsPerEpoch - 1;
        if (epochEnd && options.dev !== undefined && options.dev.length > 0) {
          dev = devRecall(model, options.dev, c.devPerGroup ?? 1000, c.devBySource);
          entry.dev = dev;
        }
        entries.push(entry);
        await log?.append(entry);
        options.onProgress?.({ step, totalSteps, epoch, loss });
        const every = c.checkpointEvery ?? 0;
        if (epochEnd) await save(epoch + 1, seconds);
        else if (every > 0 && step % every === 0) await save(epoch, seconds);
        if (options.stopAfterSteps !== undefined && step >= options.stopAfterSteps && step < totalSteps) {
          if (!epochEnd && !(every > 0 && step % every === 0)) await save(epoch, seconds);
          stopped = true;
          break outer;
        }
      }
    }
  } finally {
    await inBatch.release();
  }
  // A run resumed after its last epoch trains nothing: evaluate the model it returns all the same.
  if (!stopped && Object.keys(dev).length === 0 && options.dev !== undefined && options.dev.length > 0) dev = devRecall(model, options.dev, c.devPerGroup ?? 1000, c.devBySource);
  await log?.flush();
  if (log !== undefined && work !== undefined && log.entries.length > 0) await writePlot(join(work, "loss.svg"), log.entries);
  const seconds = (Date.now() - start) / 1000;
  return { model, steps: step, seconds, pairsPerSecond: ((step - stepsAtStart) * B) / Math.max(seconds, 1e-9), log: log?.entries ?? entries, dev, stopped };
}

/** Options of {@link writeStaticModel}. */
export interface WriteStaticModelOptions {
  /** The training configuration, for config.json's and README.md's record. */
  config?: StaticTrainConfig;
  /** Data sources, for the model card (`ddtp-short/de-en: 10000 pairs`, …). */
  sources?: Record<string, number>;
  /** Dev measures, for the model card. */
  dev?: Record<string, number>;
}

/**
 * Writes a model2vec folder: config.json, model.safetensors (`embeddings` F32 [vocab, dim]),
 * tokenizer.json, tokenizer_config.json, special_tokens_map.json, README.md. Written in a temporary
 * sibling folder first and renamed into place.
 */
export async function writeStaticModel(dir: string, model: StaticModel, options: WriteStaticModelOptions = {}): Promise<string[]> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  const files: Record<string, string> = {
    "config.json": json({ model_type: "model2vec", architectures: ["StaticModel"], tokenizer_name: null, apply_pca: null, apply_zipf: null, hidden_dim: model.dim, seq_length: 1000000, normalize: true, crossrank: { trainer: "@crossrank/train trainStaticModel", config: options.config ?? null, ...(options.dev === undefined ? {} : { dev: options.dev }) } }),
    "tokenizer.json": staticTokenizerJson(model.vocab),
    "tokenizer_config.json": json(staticTokenizerConfig(model.vocab)),
    "special_tokens_map.json": json({ cls_token: "[CLS]", mask_token: "[MASK]", pad_token: "[PAD]", sep_token: "[SEP]", unk_token: "[UNK]" }),
    "README.md": modelCard(model, options),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(tmp, name), text);
  await writeSafetensors(join(tmp, "model.safetensors"), { embeddings: { dtype: "F32", shape: [model.vocab.length, model.dim], data: model.embeddings } });
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return [...Object.keys(files), "model.safetensors"].sort();
}

function modelCard(model: StaticModel, o: WriteStaticModelOptions): string {
  const lines = [
    "---",
    "library_name: model2vec",
    "tags: [static-embeddings, multilingual, crossrank]",
    "---",
    "",
    "# crossrank static multilingual embeddings",
    "",
    `Static token embeddings (${model.vocab.length} WordPiece tokens × ${model.dim} dimensions) in the model2vec format:`,
    "a text's vector is the mean of its token rows, L2-normalised. Trained by `@crossrank/train`'s",
    "`trainStaticModel` with a symmetric in-batch softmax (multiple-negatives ranking) loss over parallel",
    "pairs and sparse AdaGrad. A build artifact: deterministic from the seed and the data below.",
    "",
    "Tokenizer: BertNormalizer (lowercase, accents kept, CJK ideographs split), BertPreTokenizer, WordPiece.",
    "",
    "## Training configuration",
    "",
    "```json",
    JSON.stringify(o.config ?? {}, null, 2),
    "```",
    "",
    "## Data",
    "",
    "- DDTP (Debian Description Translation Project) translations aligned with English by Description-md5",
    "  (the kinds the recipe names: short ↔ short, long ↔ long, short ↔ whole description), split into",
    "  train/dev by a seeded hash of the md5.",
    "- Bilingual dictionaries (freedict, CC-CEDICT) as headword ↔ gloss pairs, every installed language pair",
    "  among the recipe's languages: `dict` (English on one side) and `dict-pivot` (two other languages).",
    ...(Object.keys(o.sources ?? {}).some((g) => g.startsWith("gettext/"))
      ? ["- gettext catalogues (`.mo` files of Debian packages): translated message ↔ English msgid (`gettext`), split by", "  English string."]
      : []),
    "",
  ];
  if (o.sources !== undefined) {
    lines.push("| source/lang | training pairs |", "|---|---:|");
    for (const [k, v] of Object.entries(o.sources)) lines.push(`| ${k} | ${v} |`);
    lines.push("");
  }
  if (o.dev !== undefined) {
    lines.push("## Dev R@1 (pair retrieval within each group's dev sample)", "", "| group | R@1 |", "|---|---:|");
    for (const [k, v] of Object.entries(o.dev)) lines.push(`| ${k} | ${v.toFixed(3)} |`);
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

/** Pair counts per `source/lang` group, for the model card. */
export function pairSources(pairs: readonly TextPair[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [g, list] of groupPairs(pairs)) out[g] = list.length;
  return out;
}
