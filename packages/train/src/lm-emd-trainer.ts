/**
 * LM-EMD training: a token head over a frozen encoder, trained through the Sinkhorn (EMD) score so
 * that the lm-emd ranker, run on the head folder, ranks each query's relevant document first.
 *
 * The LM-EMD study fine-tunes mBERT on groups of 5 documents per query, the relevant one first and
 * 4 negatives, with the score s = 1 − distance (distance = Σ C⊙P, C = 1 − cosine of token vectors,
 * P the Sinkhorn plan) and either
 *
 *  - "pairwise": PyTorch's `MarginRankingLoss(margin = 0)` between the relevant document and each
 *    negative, L = mean max(0, margin − (s⁺ − s⁻)), or
 *  - "cross-entropy": `CrossEntropyLoss` over the group's raw scores (no temperature), target 0,
 *
 * with AdamW (lr 1e-6, weight decay 0.01) and γ ∈ {0.1, 1, 10}. Here the encoder stays frozen (no
 * CPU here trains a transformer) and the trainable part is a head applied to every token row before
 * the cost matrix (`appliesTo: "tokens"`, see `@crossrank/encode`'s head.ts); the head is written
 * as a head folder, which is itself an encoder spec, so `lm-emd` with `encoder: <folder>` ranks with
 * it directly. A backend that trains the encoder would take the head's input gradient `dx` on.
 *
 * Scores: s = 1 − distance and s = −distance give the same gradients under both losses (a pairwise
 * loss sees differences, a softmax is shift-invariant); 1 − distance is used, as the study.
 *
 * Gradient: ∂distance/∂C is taken as the plan P (held fixed; emd.ts), chained through the cosine
 * cost and the head. That is the exact gradient of the entropic value W_γ at convergence (envelope
 * theorem; the tests check it against finite differences of the whole group loss built on W_γ),
 * and a surrogate for the transport cost Σ C⊙P* the ranker scores with, which also moves through
 * P*: measured on a small problem, the relative gap is 3% at γ 0.05, 9% at γ 0.1 and about 50% at
 * γ 0.5–1 (autograd through the unrolled iterations, as the study's code, would give the latter).
 *
 * The study's CLS / MAX / MEAN baselines train through the same loop (`pooling`, or
 * {@link trainPooledHead}): the score is then the cosine of the pooled rows (pooled-scorer.ts), the
 * groups, negatives, losses (group-loss.ts) and optimiser are these.
 *
 * Solvers: "batched" (default) is the ranker's own `batchedSinkhorn` (float32, ONNX / WebAssembly /
 * JS), so the training distance is the ranked one; "reference" is the float64 `sinkhorn` per pair.
 *
 * Learning rate: the study's 1e-6 is the default, but it barely moves a freshly initialised head
 * over a frozen model in a few epochs; for a head use about 1e-3. Measured on XQuAD en→de with the
 * fixture model (120 train paragraphs, γ 0.1, 3 epochs, random negatives): at lr 1e-2 margin-0
 * pairwise ranked worse (test P@1 0.16 → 0.11, the head's bias grew: a margin-0 hinge is also
 * lowered by making all rows alike), cross-entropy better (0.16 → 0.23); at 1e-3 both moved less.
 */
import { resolve } from "node:path";
import { type Encoder, type EncoderOptions, type HeadConfig, loadEncoder, writeHead } from "@crossrank/encode";
import { batchedSinkhorn, cosineCostBackward, type Matrix, type OtBackend, tokenBatch } from "@crossrank/ot";
import { type EmdDocument, emdCandidatesAndGrad } from "./emd.js";
import { type HeadMeta, TrainableHead } from "./head-trainer.js";
import { epochLossSummary, type LogEntry } from "./log.js";
import { type GroupLoss, groupLoss, type SolvedGroup } from "./group-loss.js";
import { pooledBatchLoss, type TrainPooling } from "./pooled-scorer.js";
import type { TextItem } from "./negatives.js";
import { type GroupSpec, type RelevancePair, relevanceGroups } from "./relevance-groups.js";
import { Rng } from "./rng.js";
import { trainLoop } from "./trainer.js";

/** The LM-EMD study's two losses. */
export type LmEmdLoss = GroupLoss;

/** The LM-EMD study's optimiser settings (AdamW). */
export const LM_EMD_STUDY_OPTIMIZER = { lr: 1e-6, weightDecay: 0.01 } as const;
/** Documents per training group in the study: the relevant one and 4 negatives. */
export const LM_EMD_GROUP = 5;

/** One group's base token rows: the query and its candidates, `docs[0]` the relevant document. */
export interface LmEmdGroup {
  query: { rows: Float32Array; length: number };
  docs: { rows: Float32Array; length: number }[];
}

/** Options of {@link lmEmdBatchLoss} and {@link lmEmdBatchLossBatched}. */
export interface LmEmdLossOptions {
  /** Default "pairwise". */
  loss?: LmEmdLoss;
  /** Pairwise margin (default 0, the study's). */
  margin?: number;
  /** Entropic regularisation γ (default 0.1). */
  gamma?: number;
  /** Sinkhorn iterations (default 100, the lm-emd ranker's default; every one runs unless `tol` > 0). */
  iterations?: number;
  /** Reference solver only: stopping tolerance on the marginal error (default 0: all iterations, as the ranker). */
  tol?: number;
  /** Sinkhorn domain (default "auto"). */
  method?: "auto" | "kernel" | "log";
  /**
   * Reference solver only. The distance the scores are made of: "transport" (default) Σ C⊙P, what
   * the ranker computes; "entropic" W_γ = Σ C⊙P + γ Σ P (log P − 1), whose exact gradient (at
   * convergence) the returned gradient is — for gradient checks. Both share the gradient.
   */
  distance?: "transport" | "entropic";
  /**
   * Reference solver only. "envelope" (default): the plan held fixed, the exact gradient of W_γ
   * at convergence and cheap; "unrolled": backpropagation through exactly `iterations` kernel-domain
   * Sinkhorn iterations — what the LM-EMD study's autograd computes (needs `tol` 0, not `method: "log"`).
   */
  gradient?: "envelope" | "unrolled";
}

/** What {@link lmEmdBatchLoss} returns. */
export interface LmEmdBatchLoss {
  /** The batch loss: pairwise, the mean over every (relevant, negative) pair of the batch; cross-entropy, the mean over groups. */
  loss: number;
  /** ∂loss/∂head parameters, in the order of `head.params()`. */
  grads: Float32Array[];
  /** Per group, the distances of its candidates (relevant first). */
  distances: Float64Array[];
}


/**
 * The LM-EMD training loss of a batch of groups through `head`, and its gradient in the head's
 * parameters: head on every token row → distance_j (Sinkhorn, plan held fixed in the backward) →
 * s_j = 1 − distance_j → loss; backward ∂L/∂distance_j = −∂L/∂s_j → `emdCandidatesAndGrad`'s
 * backward (∂distance/∂C = P, then the cosine cost) → `head.backward`. Solves with
 * `@crossrank/ot`'s float64 reference `sinkhorn` (see {@link lmEmdBatchLossBatched} for the
 * ranker's batched solver). Does not change the head.
 */
export function lmEmdBatchLoss(head: TrainableHead, groups: readonly LmEmdGroup[], options: LmEmdLossOptions = {}): LmEmdBatchLoss {
  const fn = "lmEmdBatchLoss";
  checkLossOptions(options, groups, fn);
  const which = options.distance ?? "transport";
  const emdOptions = {
    ...(options.gamma !== undefined ? { gamma: options.gamma } : {}),
    ...(options.iterations !== undefined ? { iterations: options.iterations } : {}),
    ...(options.tol !== undefined ? { tol: options.tol } : {}),
    ...(options.method !== undefined ? { method: options.method } : {}),
    ...(options.gradient !== undefined ? { gradient: options.gradient } : {}),
  };
  const solved = groups.map((g): SolvedGroup => {
    const q = head.forward(g.query.rows, g.query.length);
    const docs = g.docs.map((d) => head.forward(d.rows, d.length));
    const emd = emdCandidatesAndGrad(
      q.y,
      g.query.length,
      docs.map((f, j): EmdDocument => ({ rows: f.y, length: g.docs[j]!.length })),
      head.output,
      emdOptions,
    );
    const distances = Float64Array.from(emd.items, (item) => (which === "entropic" ? item.regularizedDistance : item.distance));
    return { q, docs, distances, backward: (d) => emd.backward(d) };
  });
  return groupLoss(head, solved, options.loss, options.margin);
}

/**
 * {@link lmEmdBatchLoss} with the lm-emd ranker's solver: every (query, candidate) pair of the batch
 * in one `batchedSinkhorn` call (`@crossrank/ot`: ONNX / WebAssembly / JS backends, float32, exactly
 * `iterations` iterations, "auto" domain = kernel with a log-domain re-solve of unreliable pairs),
 * so the training distance is the distance the ranker scores with; its plans then go through
 * `cosineCostBackward` as in the reference path. Several times faster than the float64 reference.
 */
export async function lmEmdBatchLossBatched(head: TrainableHead, groups: readonly LmEmdGroup[], options: LmEmdLossOptions & { backend?: OtBackend } = {}): Promise<LmEmdBatchLoss> {
  const fn = "lmEmdBatchLossBatched";
  checkLossOptions(options, groups, fn);
  if (options.distance === "entropic") throw new Error(`${fn}: the batched solver gives the transport distance only (use lmEmdBatchLoss for "entropic")`);
  if (options.gradient === "unrolled") throw new Error(`${fn}: the batched solver gives the envelope gradient only (use lmEmdBatchLoss for "unrolled")`);
  const O = head.output;
  const forwards = groups.map((g) => ({ q: head.forward(g.query.rows, g.query.length), docs: g.docs.map((d) => head.forward(d.rows, d.length)) }));
  const queries = forwards.flatMap((f) => f.docs.map(() => ({ embeddings: f.q.y })));
  const docs = forwards.flatMap((f) => f.docs.map((d) => ({ embeddings: d.y })));
  const out = await batchedSinkhorn(tokenBatch(queries, O), tokenBatch(docs, O), {
    reg: options.gamma ?? 0.1,
    iterations: options.iterations ?? 100,
    domain: options.method ?? "auto",
    backend: options.backend ?? "auto",
    returnPlans: true,
  });
  let k = 0;
  const solved = forwards.map((f, gi): SolvedGroup => {
    const first = k;
    k += f.docs.length;
    const distances = Float64Array.from(f.docs, (_, j) => out.costs[first + j]!);
    distances.forEach((d, j) => {
      if (!Number.isFinite(d)) throw new Error(`${fn}: the distance of group ${gi}, candidate ${j} is ${d} (the kernel-domain iteration broke down: use method "auto" or a larger gamma)`);
    });
    const n = groups[gi]!.query.length;
    const x: Matrix = { rows: n, cols: O, data: Float64Array.from(f.q.y) };
    return {
      q: f.q,
      docs: f.docs,
      distances,
      backward(dDistances) {
        const gq = new Float64Array(n * O);
        const gradDocs = f.docs.map((d, j) => {
          const m = groups[gi]!.docs[j]!.length;
          const plan = out.plans![first + j]!;
          const w = dDistances[j]!;
          const G: Matrix = { rows: n, cols: m, data: Float64Array.from(plan, (p) => w * p) };
          const back = cosineCostBackward(x, { rows: m, cols: O, data: Float64Array.from(d.y) }, G);
          for (let t = 0; t < gq.length; t++) gq[t] = gq[t]! + back.x.data[t]!;
          return Float32Array.from(back.y.data);
        });
        return { gradQuery: Float32Array.from(gq), gradDocs };
      },
    };
  });
  return groupLoss(head, solved, options.loss, options.margin);
}

function checkLossOptions(options: LmEmdLossOptions, groups: readonly LmEmdGroup[], fn: string): void {
  const loss = options.loss ?? "pairwise";
  if (loss !== "pairwise" && loss !== "cross-entropy") throw new Error(`${fn}: loss must be "pairwise" or "cross-entropy", got ${JSON.stringify(loss)}`);
  if (groups.length === 0) throw new Error(`${fn}: no groups`);
  groups.forEach((g, gi) => {
    if (g.docs.length < 2) throw new Error(`${fn}: group ${gi} has ${g.docs.length} documents, expected the relevant one and at least one negative`);
  });
}

/** A training example: a query and a document relevant to it (texts as the encoder sees them). */
export type LmEmdPair = RelevancePair;

/** The head trained by {@link trainLmEmdHead}. */
export interface LmEmdHeadOptions {
  /** Default "linear" (identity at step 0 when output = input). */
  type?: "linear" | "mlp";
  /** Output width (linear only; default = the encoder's width). mlp heads are residual: output = input. */
  output?: number;
  /** mlp hidden width (default 2 × input). */
  hidden?: number;
  /** mlp activation (default "gelu"). */
  activation?: "gelu" | "relu" | "tanh";
  /** Only "tokens": LM-EMD compares token rows. */
  appliesTo?: "tokens";
  /** U(−noise, noise) added to an identity linear head (default 0). */
  noise?: number;
}

/** AdamW and its schedule (see trainLoop). */
export interface LmEmdOptimizerOptions {
  /** Default 1e-6, the study's (for the whole of mBERT); a head over a frozen model wants about 1e-3. */
  lr?: number;
  /** Default 0.01, the study's. */
  weightDecay?: number;
  warmupSteps?: number;
  schedule?: "constant" | "linear";
  maxGradNorm?: number;
}

/** Options of {@link trainLmEmdHead}. */
export interface LmEmdTrainOptions {
  /** The base encoder spec (hub id, folder, `fixture:bert`, or a head folder to stack on). */
  encoder: string;
  /** Passed to `loadEncoder`; maxLength / dtype / backend are also recorded in the head's `encoderOptions`. */
  encoderOptions?: EncoderOptions;
  /** Training examples: one group per pair and epoch. */
  pairs: readonly LmEmdPair[];
  /**
   * Documents the negatives are drawn from (`title + "\n" + text` is encoded when a title is given,
   * as the rankers do). Default: the distinct relevant documents of `pairs`. A document relevant to
   * a query (by id, or by text) is never one of its negatives.
   */
  pool?: readonly TextItem[];
  /** Default "pairwise". */
  loss?: LmEmdLoss;
  /** Pairwise margin, default 0 (the study's). */
  margin?: number;
  /** Entropic regularisation γ, default 0.1. */
  gamma?: number;
  /** Sinkhorn iterations, default 100 (as the lm-emd ranker's default preset). */
  iterations?: number;
  /** Sinkhorn domain, default "auto". */
  method?: "auto" | "kernel" | "log";
  /** Whether CLS/SEP rows carry mass, default true (as the lm-emd ranker). */
  includeSpecial?: boolean;
  /**
   * "batched" (default): the lm-emd ranker's solver (`batchedSinkhorn`, float32, see
   * {@link lmEmdBatchLossBatched}); "reference": `@crossrank/ot`'s float64 `sinkhorn` per pair
   * ({@link lmEmdBatchLoss}), several times slower.
   */
  solver?: "batched" | "reference";
  /**
   * "envelope" (default; plan held fixed) or "unrolled" (through the Sinkhorn iterations, the
   * LM-EMD study's autograd; needs solver "reference"). See {@link LmEmdLossOptions.gradient}.
   */
  gradient?: "envelope" | "unrolled";
  /** Backend of the batched solver (default "auto"). */
  otBackend?: OtBackend;
  /** Documents per group: the relevant one + (group − 1) negatives. Default 5. */
  group?: number;
  /**
   * "bm25" (default): drawn each epoch from the query's top `bm25Depth` BM25 hits over the pool
   * (mined once, the query's relevant documents excluded), topped up with random pool documents
   * when BM25 finds too few — across scripts BM25 only matches shared names and numbers;
   * "random": drawn uniformly from the pool every epoch.
   */
  negatives?: "bm25" | "random";
  /**
   * "bm25" negatives: each epoch the group's negatives are drawn from the query's top `bm25Depth`
   * BM25 hits (default max(20, group − 1)). With depth = group − 1 every epoch repeats the same top
   * hits, and a head then learns which documents are often negatives — a document prior, not a
   * match: on XQuAD en→de with the fixture model the train-set P@1 fell from 0.20 to chance.
   */
  bm25Depth?: number;
  /** BM25 analyzer language of the pool documents (and of the queries unless `queryLang`). */
  lang?: string;
  queryLang?: string;
  head?: LmEmdHeadOptions;
  optimizer?: LmEmdOptimizerOptions;
  /**
   * Absent: LM-EMD (the Sinkhorn distance over token rows). "cls" / "max" / "mean": the study's
   * baselines instead — the head's rows pooled and scored by cosine (pooled-scorer.ts), with the
   * same losses, groups, negatives and loop; the head then serves the `bert-cls` / `bert-max` /
   * `bert-mean` rankers. The Sinkhorn settings (gamma, iterations, method, solver, gradient,
   * otBackend) do not apply then and are refused. See {@link trainPooledHead}.
   */
  pooling?: TrainPooling;
  /** Passes over the pairs (0 writes the initial head: the identity, so the base encoder's ranking). */
  epochs: number;
  /** Groups per update, default 1. */
  batchSize?: number;
  /** Seeds the order of the groups, random negatives and head initialisation. Default 1. */
  seed?: number;
  /**
   * The run folder, which is also the head folder: `crossrank-head.json` + `head.safetensors` (the
   * trained head, an encoder spec) beside `log.jsonl`, `checkpoint/`, `plot.svg`.
   */
  out: string;
  /** Continue from the checkpoint in `out` (default false: start over). */
  resume?: boolean;
  /** Also checkpoint every this many updates (always at each epoch end). */
  checkpointEvery?: number;
  /** Write plot.svg / plot.png (default true). */
  plot?: boolean;
  /** Dev measures at each epoch end (e.g. P@1 of the lm-emd ranker over the head so far). */
  evaluate?(head: TrainableHead): Promise<Record<string, number>> | Record<string, number>;
  earlyStopping?: { measure: string; patience: number; mode?: "max" | "min" };
  onProgress?(info: { step: number; totalSteps: number; epoch: number; loss: number }): void;
  /** Extra provenance merged into the head's `trainedBy`. */
  trainedBy?: Record<string, unknown>;
}

/** What {@link trainLmEmdHead} returns. */
export interface LmEmdTrainResult {
  /** The head folder (= `out`): an encoder spec. */
  folder: string;
  config: HeadConfig;
  head: TrainableHead;
  steps: number;
  log: LogEntry[];
  /** Mean training loss of the first and of the last epoch (undefined without updates). */
  firstEpochLoss?: number;
  lastEpochLoss?: number;
  /** Negatives per source over the groups of the last epoch (bm25: BM25 hits; random: drawn, BM25 top-ups included). */
  negatives: { bm25: number; random: number };
  /** Texts encoded by the base encoder (each once). */
  encoded: number;
  seconds: number;
}

const FN = "trainLmEmdHead";

/**
 * Trains a token head through LM-EMD (see the module comment) with `trainLoop` (checkpoints,
 * resume, log.jsonl, plot) and writes the head folder `out` (encoder = the base spec; `trainedBy`
 * records loss, γ, iterations, group, negatives, epochs, lr, seed…). The base encoder's token rows
 * of every text are computed once (`encodeTokens`) and kept in memory; each step applies the head
 * to them.
 */
export async function trainLmEmdHead(options: LmEmdTrainOptions): Promise<LmEmdTrainResult> {
  const started = performance.now();
  const o = resolveOptions(options);
  const { pairs } = options;

  // With 0 epochs no group is built (the identity head is written as is).
  const training = options.epochs > 0;
  const { docs, pool, relevantOf, mined, counts, batches } = relevanceGroups(pairs, {
    pool: options.pool,
    group: o.group,
    negatives: o.negatives,
    bm25Depth: o.bm25Depth,
    batchSize: o.batchSize,
    lang: options.lang,
    queryLang: options.queryLang,
    training,
    caller: FN,
  });

  // The base encoder's token rows, each text encoded once.
  const encoder = await loadEncoder(options.encoder, options.encoderOptions ?? {});
  const rows = new Map<string, { rows: Float32Array; length: number }>();
  let encoded = 0;
  try {
    const encodeMissing = async (texts: Iterable<string>): Promise<void> => {
      const missing = [...new Set(texts)].filter((t) => !rows.has(t));
      if (missing.length === 0) return;
      const out = await encoder.encodeTokens(missing);
      missing.forEach((text, i) => {
        const e = out[i];
        if (e === undefined) throw new Error(`${FN}: the encoder returned ${out.length} results for ${missing.length} texts`);
        rows.set(text, selectRows(e, o.includeSpecial, text, o.pooling));
      });
      encoded += missing.length;
    };
    if (training) await encodeMissing([...pairs.map((p) => p.query), ...relevantOf.map((d) => docs[d]!), ...mined.flatMap((list) => list.map((d) => docs[d]!))]);

    const config: HeadConfig = headConfig(options, o, encoder);
    const head = TrainableHead.init(config, new Rng((o.seed ^ 0x5eed) >>> 0), o.head.noise !== undefined ? { noise: o.head.noise } : {});
    const lossOptions: LmEmdLossOptions = { loss: o.loss, margin: o.margin, gamma: o.gamma, iterations: o.iterations, method: o.method, gradient: o.gradient };

    const result = await trainLoop<GroupSpec[]>({
      dir: options.out,
      params: head.params(),
      paramNames: head.paramNames(),
      paramShapes: paramShapes(config),
      epochs: options.epochs,
      seed: o.seed,
      batches,
      step: async (batch) => {
        await encodeMissing(batch.flatMap((g) => [pairs[g.pair]!.query, ...g.docs.map((d) => docs[d]!)]));
        const groups: LmEmdGroup[] = batch.map((g) => ({ query: rows.get(pairs[g.pair]!.query)!, docs: g.docs.map((d) => rows.get(docs[d]!)!) }));
        const out = o.pooling !== undefined
          ? pooledBatchLoss(head, groups, { pooling: o.pooling, loss: o.loss, margin: o.margin })
          : o.solver === "batched" ? await lmEmdBatchLossBatched(head, groups, { ...lossOptions, ...(options.otBackend !== undefined ? { backend: options.otBackend } : {}) }) : lmEmdBatchLoss(head, groups, lossOptions);
        return { loss: out.loss, grads: out.grads };
      },
      optimizer: {
        lr: o.lr,
        weightDecay: o.weightDecay,
        ...(options.optimizer?.warmupSteps !== undefined ? { warmupSteps: options.optimizer.warmupSteps } : {}),
        ...(options.optimizer?.schedule !== undefined ? { schedule: options.optimizer.schedule } : {}),
        ...(options.optimizer?.maxGradNorm !== undefined ? { maxGradNorm: options.optimizer.maxGradNorm } : {}),
      },
      ...(options.checkpointEvery !== undefined ? { checkpointEvery: options.checkpointEvery } : {}),
      resume: options.resume ?? false,
      ...(options.evaluate !== undefined ? { evaluate: () => options.evaluate!(head) } : {}),
      ...(options.earlyStopping !== undefined ? { earlyStopping: options.earlyStopping } : {}),
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      ...(options.plot !== undefined ? { plot: options.plot } : {}),
    });

    const epochLosses = epochLossSummary(result.log);
    const trainedBy: Record<string, unknown> = {
      stage: o.pooling === undefined ? "lm-emd" : `bert-${o.pooling}`,
      package: "@crossrank/train",
      loss: o.loss,
      ...(o.loss === "pairwise" ? { margin: o.margin } : {}),
      ...(o.pooling === undefined
        ? { score: "1 - distance", gamma: o.gamma, iterations: o.iterations, method: o.method, solver: o.solver, gradient: o.gradient }
        : { score: "cosine", pooling: o.pooling }),
      includeSpecial: o.includeSpecial,
      group: o.group,
      negatives: o.negatives,
      ...(o.negatives === "bm25" ? { bm25Depth: o.bm25Depth } : {}),
      pairs: pairs.length,
      pool: pool.length,
      epochs: options.epochs,
      batchSize: o.batchSize,
      optimizer: "AdamW",
      lr: o.lr,
      weightDecay: o.weightDecay,
      seed: o.seed,
      steps: result.steps,
      ...epochLosses,
      ...(result.bestEpoch !== undefined ? { bestEpoch: result.bestEpoch, bestMeasure: result.bestMeasure } : {}),
      ...(options.trainedBy ?? {}),
    };
    // A baseline's head records its pooling (and normalisation): encode()'s default over the folder.
    const meta: HeadMeta = o.pooling === undefined ? { trainedBy } : { trainedBy, pooling: o.pooling, normalize: true };
    const written = head.toConfigAndWeights(meta);
    await writeHead(options.out, written);
    return {
      folder: options.out,
      config: written.config,
      head,
      steps: result.steps,
      log: result.log,
      ...epochLosses,
      negatives: counts,
      encoded,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await encoder.dispose();
  }
}

/** Options of {@link trainPooledHead}: {@link LmEmdTrainOptions} without the Sinkhorn settings, with the pooling. */
export type PooledTrainOptions = Omit<LmEmdTrainOptions, "pooling" | "gamma" | "iterations" | "method" | "solver" | "gradient" | "otBackend"> & { pooling: TrainPooling };

/**
 * Trains a token head for the CLS / MAX / MEAN baselines (`bert-cls`, `bert-max`, `bert-mean`)
 * exactly as {@link trainLmEmdHead} trains LM-EMD's — same pairs, groups, negatives, losses over
 * s = 1 − distance, AdamW loop, checkpoints and head folder — with the score the cosine of the
 * pooled rows (pooled-scorer.ts). The head folder records its pooling; rank with it through the
 * matching ranker (`encoder: <folder>`).
 */
export function trainPooledHead(options: PooledTrainOptions): Promise<LmEmdTrainResult> {
  return trainLmEmdHead(options);
}

interface Resolved {
  loss: LmEmdLoss;
  margin: number;
  gamma: number;
  iterations: number;
  method: "auto" | "kernel" | "log";
  includeSpecial: boolean;
  solver: "batched" | "reference";
  gradient: "envelope" | "unrolled";
  group: number;
  negatives: "bm25" | "random";
  bm25Depth: number;
  lr: number;
  weightDecay: number;
  batchSize: number;
  seed: number;
  head: Required<Pick<LmEmdHeadOptions, "type" | "activation">> & LmEmdHeadOptions;
  pooling?: TrainPooling;
}

function resolveOptions(options: LmEmdTrainOptions): Resolved {
  if (options === null || typeof options !== "object") throw new Error(`${FN}: options must be an object`);
  if (typeof options.encoder !== "string" || options.encoder === "") throw new Error(`${FN}: encoder must be a model spec (hub id, folder, fixture:bert)`);
  if (!Array.isArray(options.pairs) || options.pairs.length === 0) throw new Error(`${FN}: pairs must be a non-empty list of {query, relevant}`);
  if (typeof options.out !== "string" || options.out === "") throw new Error(`${FN}: out must be a folder`);
  const r: Resolved = {
    loss: options.loss ?? "pairwise",
    margin: options.margin ?? 0,
    gamma: options.gamma ?? 0.1,
    iterations: options.iterations ?? 100,
    method: options.method ?? "auto",
    includeSpecial: options.includeSpecial ?? true,
    solver: options.solver ?? "batched",
    gradient: options.gradient ?? "envelope",
    group: options.group ?? LM_EMD_GROUP,
    negatives: options.negatives ?? "bm25",
    bm25Depth: options.bm25Depth ?? Math.max(20, (options.group ?? LM_EMD_GROUP) - 1),
    lr: options.optimizer?.lr ?? LM_EMD_STUDY_OPTIMIZER.lr,
    weightDecay: options.optimizer?.weightDecay ?? LM_EMD_STUDY_OPTIMIZER.weightDecay,
    batchSize: options.batchSize ?? 1,
    seed: options.seed ?? 1,
    ...(options.pooling !== undefined ? { pooling: options.pooling } : {}),
    head: { ...options.head, type: options.head?.type ?? "linear", activation: options.head?.activation ?? "gelu" },
  };
  if (r.loss !== "pairwise" && r.loss !== "cross-entropy") throw new Error(`${FN}: loss must be "pairwise" or "cross-entropy", got ${JSON.stringify(r.loss)}`);
  if (!Number.isFinite(r.margin)) throw new Error(`${FN}: margin must be a finite number, got ${String(r.margin)}`);
  if (!(typeof r.gamma === "number" && Number.isFinite(r.gamma) && r.gamma > 0)) throw new Error(`${FN}: gamma must be a number > 0, got ${String(r.gamma)}`);
  if (!Number.isInteger(r.iterations) || r.iterations < 1) throw new Error(`${FN}: iterations must be an integer >= 1, got ${String(r.iterations)}`);
  if (r.method !== "auto" && r.method !== "kernel" && r.method !== "log") throw new Error(`${FN}: method must be "auto", "kernel" or "log", got ${JSON.stringify(r.method)}`);
  if (typeof r.includeSpecial !== "boolean") throw new Error(`${FN}: includeSpecial must be a boolean`);
  if (r.solver !== "batched" && r.solver !== "reference") throw new Error(`${FN}: solver must be "batched" or "reference", got ${JSON.stringify(r.solver)}`);
  if (r.gradient !== "envelope" && r.gradient !== "unrolled") throw new Error(`${FN}: gradient must be "envelope" or "unrolled", got ${JSON.stringify(r.gradient)}`);
  if (r.gradient === "unrolled" && r.solver !== "reference") throw new Error(`${FN}: gradient "unrolled" needs solver "reference"`);
  if (!Number.isInteger(r.group) || r.group < 2) throw new Error(`${FN}: group must be an integer >= 2 (the relevant document and at least one negative), got ${String(r.group)}`);
  if (!Number.isInteger(r.bm25Depth) || r.bm25Depth < r.group - 1) throw new Error(`${FN}: bm25Depth must be an integer >= group − 1 = ${r.group - 1}, got ${String(r.bm25Depth)}`);
  if (r.negatives !== "bm25" && r.negatives !== "random") throw new Error(`${FN}: negatives must be "bm25" or "random", got ${JSON.stringify(r.negatives)}`);
  if (!(Number.isFinite(r.lr) && r.lr >= 0)) throw new Error(`${FN}: optimizer.lr must be a number >= 0, got ${String(r.lr)}`);
  if (!(Number.isFinite(r.weightDecay) && r.weightDecay >= 0)) throw new Error(`${FN}: optimizer.weightDecay must be a number >= 0, got ${String(r.weightDecay)}`);
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) throw new Error(`${FN}: batchSize must be an integer >= 1, got ${String(r.batchSize)}`);
  if (!Number.isInteger(options.epochs) || options.epochs < 0) throw new Error(`${FN}: epochs must be an integer >= 0, got ${String(options.epochs)}`);
  if (!Number.isInteger(r.seed) || r.seed < 0) throw new Error(`${FN}: seed must be an integer >= 0, got ${String(r.seed)}`);
  if (r.head.type !== "linear" && r.head.type !== "mlp") throw new Error(`${FN}: head.type must be "linear" or "mlp", got ${JSON.stringify(r.head.type)}`);
  if (r.pooling !== undefined) {
    if (r.pooling !== "cls" && r.pooling !== "max" && r.pooling !== "mean") throw new Error(`${FN}: pooling must be "cls", "max" or "mean", got ${JSON.stringify(r.pooling)}`);
    for (const key of ["gamma", "iterations", "method", "solver", "gradient", "otBackend"] as const) {
      if (options[key] !== undefined) throw new Error(`${FN}: ${key} applies to LM-EMD's Sinkhorn distance, not to pooling ${JSON.stringify(r.pooling)} (scored by cosine)`);
    }
  }
  if (r.head.appliesTo !== undefined && r.head.appliesTo !== "tokens") throw new Error(`${FN}: head.appliesTo must be "tokens" (LM-EMD compares token rows), got ${JSON.stringify(r.head.appliesTo)}`);
  return r;
}

/** The head's config: input = the encoder's token width; recorded base spec and vector-changing loading options. */
function headConfig(options: LmEmdTrainOptions, o: Resolved, encoder: Encoder): HeadConfig {
  const input = encoder.dim;
  const eo = options.encoderOptions ?? {};
  const encoderOptions: Record<string, unknown> = {};
  if (eo.maxLength !== undefined) encoderOptions.maxLength = eo.maxLength;
  if (eo.dtype !== undefined) encoderOptions.dtype = eo.dtype;
  if (eo.backend !== undefined) encoderOptions.backend = eo.backend;
  const base = {
    format: "crossrank-head" as const,
    version: 1 as const,
    encoder: absoluteSpec(options.encoder),
    ...(Object.keys(encoderOptions).length > 0 ? { encoderOptions } : {}),
    appliesTo: "tokens" as const,
  };
  if (o.head.type === "mlp") {
    if (o.head.output !== undefined && o.head.output !== input) throw new Error(`${FN}: an mlp head is residual: head.output must equal the encoder's width ${input}`);
    return { ...base, type: "mlp", input, output: input, hidden: o.head.hidden ?? 2 * input, activation: o.head.activation };
  }
  return { ...base, type: "linear", input, output: o.head.output ?? input };
}

/** A relative folder spec (./x, ../x, . or ..) made absolute: a head config resolves relative paths against the head folder, not the working folder. */
function absoluteSpec(spec: string): string {
  if (spec === "." || spec === ".." || /^\.\.?[\\/]/.test(spec)) return resolve(spec);
  return spec;
}

function paramShapes(config: HeadConfig): number[][] {
  if (config.type === "linear") return [[config.output, config.input], [config.output]];
  const H = config.hidden!;
  return [[H, config.input], [H], [config.output, H], [config.output]];
}

/**
 * One text's token rows as trained on: all rows, or the content rows only (includeSpecial false);
 * CLS pooling reads the first row alone (whatever includeSpecial says, as encode()'s cls pooling),
 * and the head works row by row, so that row is all it needs.
 */
function selectRows(e: { embeddings: Float32Array; special: boolean[]; dim: number }, includeSpecial: boolean, text: string, pooling?: TrainPooling): { rows: Float32Array; length: number } {
  const d = e.dim;
  if (e.special.length === 0) throw new Error(`${FN}: the encoder gave no token for ${JSON.stringify(text.slice(0, 60))}`);
  if (pooling === "cls") return { rows: e.embeddings.slice(0, d), length: 1 };
  if (includeSpecial) return { rows: e.embeddings, length: e.special.length };
  const keep = e.special.flatMap((s, i) => (s ? [] : [i]));
  if (keep.length === 0) throw new Error(`${FN}: ${JSON.stringify(text.slice(0, 60))} has no content token (includeSpecial is false)`);
  const rows = new Float32Array(keep.length * d);
  keep.forEach((i, r) => rows.set(e.embeddings.subarray(i * d, (i + 1) * d), r * d));
  return { rows, length: keep.length };
}
