/**
 * The relevance-ranking (RR) objective of Pretraining-CLIR (Yu, Fei & Li, WWW 2021) for a
 * cross-encoder's scoring head, over a frozen encoder. Each training query's relevant document
 * competes with `group − 1` negatives under a softmax of the cross-encoder's scores,
 *
 *     L = (1/n) Σ_i −log( exp(s_i0) / Σ_j exp(s_ij) ),   s_ij = w · f(q_i, d_ij) + b
 *
 * (`relevanceRankingLoss`, column 0 relevant), where f(q, d) are the pair's features — what the
 * model's classifier reads: BertForSequenceClassification's pooled [CLS], tanh(pooler(h_[CLS])) —
 * and (w, b) the classifier, the head trained here. The study fine-tunes the whole encoder; here
 * the encoder is frozen (two CPU cores), so every pair's features are computed once by the
 * export's own forward pass (`@crossrank/encode`'s `loadPairFeatures`) and only the classifier
 * learns. The head starts as the checkpoint's classifier, so epoch 0 is the published model, and
 * is written as a "pair" head folder: `loadCrossEncoder(folder)` and the `cross-encoder` ranker
 * (`model: <folder>`) score with it.
 *
 * Groups and negatives are those of the LM-EMD trainer: "bm25" negatives drawn each epoch from the
 * query's top `bm25Depth` BM25 hits over the pool (the query's relevant documents excluded), topped
 * up at random; "random" drawn uniformly from the pool. Training runs in `trainLoop` (AdamW,
 * checkpoints and exact resume, log.jsonl, plot).
 */
import { type CrossEncoderOptions, type HeadConfig, loadPairFeatures, writeHead } from "@crossrank/encode";
import { TrainableHead } from "./head-trainer.js";
import type { LmEmdPair } from "./lm-emd-trainer.js";
import { relevanceRankingLoss } from "./losses/cross-entropy.js";
import { bm25Negatives, type TextItem } from "./negatives.js";
import { Rng, shuffle } from "./rng.js";
import { trainLoop } from "./trainer.js";
import type { LogEntry } from "./log.js";

/** A training example: a query and a document relevant to it (the LM-EMD trainer's pairs). */
export type RelevancePair = LmEmdPair;

/** Options of {@link trainCrossEncoderHead}. */
export interface CrossEncoderTrainOptions {
  /** The base cross-encoder (hub id, folder, fixture:cross-encoder); its fp32 export's classifier starts the head. */
  model: string;
  /** Passed to `loadPairFeatures`; maxLength is also recorded in the head's `encoderOptions`. */
  modelOptions?: Pick<CrossEncoderOptions, "maxLength" | "batchSize" | "cacheDir" | "revision" | "offline">;
  pairs: readonly RelevancePair[];
  /** Documents the negatives are drawn from (title on a line before the text). Default: the distinct relevant documents of `pairs`. */
  pool?: readonly TextItem[];
  /** Documents per group: the relevant one + (group − 1) negatives. Default 5. */
  group?: number;
  /** Default "bm25" (see the module comment). */
  negatives?: "bm25" | "random";
  /** BM25 hits each query's negatives are drawn from. Default max(20, group − 1). */
  bm25Depth?: number;
  lang?: string;
  queryLang?: string;
  /** AdamW. Default lr 1e-3 (a classifier over frozen features), weight decay 0.01. */
  optimizer?: { lr?: number; weightDecay?: number; warmupSteps?: number; schedule?: "constant" | "linear"; maxGradNorm?: number };
  /** Passes over the pairs (0 writes the checkpoint's classifier as the head). */
  epochs: number;
  /** Groups per update. Default 1. */
  batchSize?: number;
  /** Seeds the group order and the negatives. Default 1. */
  seed?: number;
  /** The run folder, which is also the head folder (`crossrank-head.json`, `head.safetensors`, `log.jsonl`, `checkpoint/`, `plot.svg`). */
  out: string;
  resume?: boolean;
  plot?: boolean;
  onProgress?(info: { step: number; totalSteps: number; epoch: number; loss: number }): void;
  /** Extra provenance merged into the head's `trainedBy`. */
  trainedBy?: Record<string, unknown>;
}

/** What {@link trainCrossEncoderHead} returns. */
export interface CrossEncoderTrainResult {
  folder: string;
  config: HeadConfig;
  head: TrainableHead;
  steps: number;
  log: LogEntry[];
  firstEpochLoss?: number;
  lastEpochLoss?: number;
  /** Negatives per source over the groups of the last epoch. */
  negatives: { bm25: number; random: number };
  /** (query, document) pairs run through the model (each once). */
  featurized: number;
  seconds: number;
}

const FN = "trainCrossEncoderHead";

interface GroupSpec {
  pair: number;
  docs: number[];
}

/** Trains a cross-encoder's classifier with the RR loss (see the module comment) and writes the pair head folder `out`. */
export async function trainCrossEncoderHead(options: CrossEncoderTrainOptions): Promise<CrossEncoderTrainResult> {
  const started = performance.now();
  if (typeof options?.model !== "string" || options.model === "") throw new Error(`${FN}: model must be a cross-encoder spec (hub id, folder, fixture:cross-encoder)`);
  if (!Array.isArray(options.pairs) || options.pairs.length === 0) throw new Error(`${FN}: pairs must be a non-empty list of {query, relevant}`);
  if (typeof options.out !== "string" || options.out === "") throw new Error(`${FN}: out must be a folder`);
  const group = options.group ?? 5;
  const negativesKind = options.negatives ?? "bm25";
  const bm25Depth = options.bm25Depth ?? Math.max(20, group - 1);
  const batchSize = options.batchSize ?? 1;
  const seed = options.seed ?? 1;
  const lr = options.optimizer?.lr ?? 1e-3;
  const weightDecay = options.optimizer?.weightDecay ?? 0.01;
  const wholeAtLeast = (v: unknown, min: number) => typeof v === "number" && Number.isInteger(v) && v >= min;
  if (!wholeAtLeast(group, 2)) throw new Error(`${FN}: group must be a whole number >= 2, got ${String(group)}`);
  if (negativesKind !== "bm25" && negativesKind !== "random") throw new Error(`${FN}: negatives must be "bm25" or "random", got ${JSON.stringify(negativesKind)}`);
  if (!wholeAtLeast(bm25Depth, 1)) throw new Error(`${FN}: bm25Depth must be a whole number >= 1, got ${String(bm25Depth)}`);
  if (!wholeAtLeast(batchSize, 1)) throw new Error(`${FN}: batchSize must be a whole number >= 1, got ${String(batchSize)}`);
  if (!wholeAtLeast(options.epochs, 0)) throw new Error(`${FN}: epochs must be a whole number >= 0, got ${String(options.epochs)}`);
  if (!wholeAtLeast(seed, 0)) throw new Error(`${FN}: seed must be a whole number >= 0, got ${String(seed)}`);
  const { pairs } = options;

  // Documents: the pool, then relevant documents not in it (keys: pool id, else the text).
  const docs: string[] = [];
  const docIndex = new Map<string, number>();
  const addDoc = (key: string, text: string): number => {
    let i = docIndex.get(key);
    if (i === undefined) {
      i = docs.length;
      docs.push(text);
      docIndex.set(key, i);
    }
    return i;
  };
  const pool: number[] = [];
  for (const item of options.pool ?? []) {
    if (typeof item?.id !== "string" || typeof item.text !== "string") throw new Error(`${FN}: pool items need a string id and text`);
    const i = addDoc(`id:${item.id}`, item.title ? `${item.title}\n${item.text}` : item.text);
    if (!pool.includes(i)) pool.push(i);
  }
  const relevantOf = pairs.map((p, k) => {
    if (typeof p?.query !== "string" || typeof p.relevant !== "string") throw new Error(`${FN}: pairs[${k}] needs query and relevant texts`);
    return addDoc(p.relevantId !== undefined ? `id:${p.relevantId}` : `text:${p.relevant}`, p.relevant);
  });
  if (options.pool === undefined) for (const i of relevantOf) if (!pool.includes(i)) pool.push(i);
  // A query's relevant documents (by index and by text) are never its negatives.
  const queryKey = (p: RelevancePair): string => (p.queryId !== undefined ? `id:${p.queryId}` : `text:${p.query}`);
  const relevant = new Map<string, { docs: Set<number>; texts: Set<string> }>();
  pairs.forEach((p, k) => {
    const r = relevant.get(queryKey(p)) ?? { docs: new Set(), texts: new Set() };
    r.docs.add(relevantOf[k]!);
    r.texts.add(docs[relevantOf[k]!]!);
    relevant.set(queryKey(p), r);
  });
  const isRelevant = (pair: number, doc: number): boolean => {
    const r = relevant.get(queryKey(pairs[pair]!))!;
    return r.docs.has(doc) || r.texts.has(docs[doc]!);
  };
  const needed = group - 1;
  const training = options.epochs > 0;
  if (training) {
    pairs.forEach((_, k) => {
      const available = pool.filter((d) => !isRelevant(k, d)).length;
      if (available < needed) throw new Error(`${FN}: pairs[${k}] has ${available} possible negatives in the pool, a group of ${group} needs ${needed}`);
    });
  }
  const mined: number[][] = pairs.map(() => []);
  if (training && negativesKind === "bm25") {
    const hits = bm25Negatives(
      pairs.map((p, k) => ({ id: String(k), text: p.query })),
      pool.map((d) => ({ id: String(d), text: docs[d]! })),
      {
        count: bm25Depth,
        skipTop: 0,
        exclude: (qid, did) => isRelevant(Number(qid), Number(did)),
        ...(options.lang !== undefined ? { lang: options.lang } : {}),
        ...(options.queryLang !== undefined ? { queryLang: options.queryLang } : {}),
      },
    );
    pairs.forEach((_, k) => (mined[k] = (hits.get(String(k)) ?? []).map(Number)));
  }
  const counts = { bm25: 0, random: 0 };
  const groupsOf = (_epoch: number, rng: Rng): GroupSpec[][] => {
    counts.bm25 = 0;
    counts.random = 0;
    const groups = shuffle(
      pairs.map((_, k) => k),
      rng,
    ).map((k): GroupSpec => {
      const taken = negativesKind === "bm25" ? sampleFrom(mined[k]!, needed, rng) : [];
      const negatives = [...taken];
      while (negatives.length < needed) {
        const d = pool[rng.int(pool.length)]!;
        if (!isRelevant(k, d) && !negatives.includes(d)) negatives.push(d);
      }
      counts.bm25 += taken.length;
      counts.random += negatives.length - taken.length;
      return { pair: k, docs: [relevantOf[k]!, ...negatives] };
    });
    const batches: GroupSpec[][] = [];
    for (let b = 0; b < groups.length; b += batchSize) batches.push(groups.slice(b, b + batchSize));
    return batches;
  };

  const maxLength = options.modelOptions?.maxLength;
  const model = await loadPairFeatures(options.model, { ...(options.modelOptions ?? {}), backend: "onnx" });
  try {
    const classifier = model.classifier;
    if (classifier.weights === undefined) throw new Error(`${FN}: the classifier of ${model.id} is not stored as float32 in its graph (a quantized export?); train on the fp32 export`);
    const config: HeadConfig = {
      format: "crossrank-head",
      version: 1,
      encoder: options.model,
      ...(maxLength !== undefined ? { encoderOptions: { maxLength } } : {}),
      type: "linear",
      input: classifier.width,
      output: classifier.labels,
      appliesTo: "pair",
    };
    const head = TrainableHead.fromWeights(config, classifier.weights);
    const W = classifier.width;
    const L = classifier.labels;

    // Features of each (query, document) pair, computed once: key `${pair query key}\0${doc}`.
    const features = new Map<string, Float32Array>();
    const featureKey = (pair: number, doc: number) => `${queryKey(pairs[pair]!)}\0${doc}`;
    const featurize = async (wanted: readonly [number, number][]): Promise<void> => {
      const missing = [...new Map(wanted.map(([p, d]) => [featureKey(p, d), [p, d] as const])).entries()].filter(([key]) => !features.has(key));
      if (missing.length === 0) return;
      const rows = await model.features(missing.map(([, [p, d]]) => [pairs[p]!.query, docs[d]!] as const));
      missing.forEach(([key], i) => features.set(key, rows.slice(i * W, (i + 1) * W)));
    };
    if (training) await featurize(pairs.flatMap((_, k) => [relevantOf[k]!, ...mined[k]!].map((d) => [k, d] as [number, number])));

    const result = await trainLoop<GroupSpec[]>({
      dir: options.out,
      params: head.params(),
      paramNames: head.paramNames(),
      paramShapes: [
        [L, W],
        [L],
      ],
      epochs: options.epochs,
      seed,
      batches: groupsOf,
      step: async (batch) => {
        await featurize(batch.flatMap((g) => g.docs.map((d) => [g.pair, d] as [number, number])));
        const k1 = group;
        const x = new Float32Array(batch.length * k1 * W);
        batch.forEach((g, i) => g.docs.forEach((d, j) => x.set(features.get(featureKey(g.pair, d))!, (i * k1 + j) * W)));
        const { y, cache } = head.forward(x, batch.length * k1);
        // The score of a pair is the classifier's first label.
        const scores = new Float32Array(batch.length * k1);
        for (let r = 0; r < scores.length; r++) scores[r] = y[r * L]!;
        const { loss, grads } = relevanceRankingLoss(scores, batch.length, k1);
        const dy = new Float32Array(y.length);
        for (let r = 0; r < scores.length; r++) dy[r * L] = grads[0]![r]!;
        return { loss, grads: head.gradList(head.backward(cache, dy).grads) };
      },
      optimizer: {
        lr,
        weightDecay,
        ...(options.optimizer?.warmupSteps !== undefined ? { warmupSteps: options.optimizer.warmupSteps } : {}),
        ...(options.optimizer?.schedule !== undefined ? { schedule: options.optimizer.schedule } : {}),
        ...(options.optimizer?.maxGradNorm !== undefined ? { maxGradNorm: options.optimizer.maxGradNorm } : {}),
      },
      resume: options.resume ?? false,
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      ...(options.plot !== undefined ? { plot: options.plot } : {}),
    });
    const epochLoss = (epoch: number): number | undefined => {
      const entries = result.log.filter((e) => e.epoch === epoch);
      return entries.length === 0 ? undefined : entries.reduce((s, e) => s + e.loss, 0) / entries.length;
    };
    const lastEpoch = result.log.length > 0 ? result.log[result.log.length - 1]!.epoch : undefined;
    const firstEpochLoss = epochLoss(0);
    const lastEpochLoss = lastEpoch === undefined ? undefined : epochLoss(lastEpoch);
    const trainedBy: Record<string, unknown> = {
      stage: "cross-encoder",
      package: "@crossrank/train",
      loss: "relevance-ranking",
      score: "classifier(pair features), label 0",
      group,
      negatives: negativesKind,
      ...(negativesKind === "bm25" ? { bm25Depth } : {}),
      pairs: pairs.length,
      pool: pool.length,
      epochs: options.epochs,
      batchSize,
      optimizer: "AdamW",
      lr,
      weightDecay,
      seed,
      steps: result.steps,
      ...(firstEpochLoss !== undefined ? { firstEpochLoss } : {}),
      ...(lastEpochLoss !== undefined ? { lastEpochLoss } : {}),
      ...(options.trainedBy ?? {}),
    };
    const written = head.toConfigAndWeights({ trainedBy });
    await writeHead(options.out, written);
    return {
      folder: options.out,
      config: written.config,
      head,
      steps: result.steps,
      log: result.log,
      ...(firstEpochLoss !== undefined ? { firstEpochLoss } : {}),
      ...(lastEpochLoss !== undefined ? { lastEpochLoss } : {}),
      negatives: counts,
      featurized: features.size,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await model.dispose();
  }
}

/** `count` items of `list` drawn without replacement (all of them, in order, when the list is not longer). */
function sampleFrom(list: readonly number[], count: number, rng: Rng): number[] {
  if (list.length <= count) return list.slice();
  const copy = list.slice();
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
}
