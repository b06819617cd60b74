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
 * Groups and negatives are those of the LM-EMD trainer (relevance-groups.ts): "bm25" negatives drawn
 * each epoch from the query's top `bm25Depth` BM25 hits over the pool (the query's relevant documents
 * excluded), topped up at random; "random" drawn uniformly from the pool. Training runs in `trainLoop` (AdamW,
 * checkpoints and exact resume, log.jsonl, plot).
 */
import { type CrossEncoderOptions, type HeadConfig, loadPairFeatures, writeHead } from "@crossrank/encode";
import { TrainableHead } from "./head-trainer.js";
import { relevanceRankingLoss } from "./losses/cross-entropy.js";
import type { TextItem } from "./negatives.js";
import { type GroupSpec, queryKey, type RelevancePair, relevanceGroups } from "./relevance-groups.js";
import { trainLoop } from "./trainer.js";
import { epochLossSummary, type LogEntry } from "./log.js";

export type { RelevancePair } from "./relevance-groups.js";

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

  const training = options.epochs > 0;
  const { docs, pool, relevantOf, mined, counts, batches } = relevanceGroups(pairs, {
    pool: options.pool,
    group,
    negatives: negativesKind,
    bm25Depth,
    batchSize,
    lang: options.lang,
    queryLang: options.queryLang,
    training,
    caller: FN,
  });

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
      batches,
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
    const epochLosses = epochLossSummary(result.log);
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
      ...epochLosses,
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
      ...epochLosses,
      negatives: counts,
      featurized: features.size,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await model.dispose();
  }
}
