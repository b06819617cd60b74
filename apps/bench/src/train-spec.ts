/**
 * The `train:` block of a suite's ranker entry: which keys it takes, their checks, defaults, and
 * the row label's `+train(...)` part. Pure (no training code), so suite parsing stays light.
 *
 * ```yaml
 * rankers:
 *   - name: lm-emd
 *     params: { gamma: [0.1, 1, 10], iterations: 100 }
 *     train: { loss: [pairwise, cross-entropy], epochs: 3, lr: 0.001, group: 5, split: 0.5, seed: 1 }
 *     # the study's gradient: through every Sinkhorn iteration, on the float64 solver
 *     # train: { gradient: unrolled, solver: reference }
 *   # Pretraining-CLIR: the cross-encoder's classifier trained with the relevance-ranking loss, 5-fold cross-validated
 *   - name: cross-encoder
 *     params: { model: fixture:cross-encoder }
 *     train: { loss: relevance-ranking, epochs: 3, lr: 0.001, group: 5, negatives: bm25, folds: 5, seed: 1 }
 * ```
 */

/**
 * Rankers a `train` block can be given to: LM-EMD, and the study's CLS / MAX / MEAN baselines
 * (trained with the same losses, groups and loop; scored by the cosine of the pooled rows).
 */
export const TRAINABLE_RANKERS = ["lm-emd", "bert-cls", "bert-max", "bert-mean", "cross-encoder"] as const;

/**
 * Keys that do not apply to the cross-encoder, whose head is its classifier (a linear layer over
 * the pair features) trained with the relevance-ranking loss only.
 */
const NOT_FOR_CROSS_ENCODER = ["margin", "head", "hidden", "activation", "solver", "gradient"] as const;

/** Keys that set LM-EMD's Sinkhorn solver, refused for the pooled baselines. */
const SINKHORN_KEYS = ["solver", "gradient"] as const;

/** One grid point of a `train` block, defaults filled in. */
export interface TrainConfig {
  /**
   * LM-EMD and its baselines: "pairwise" (MarginRankingLoss, the study's margin 0) or
   * "cross-entropy" over 1 − distance. The cross-encoder: "relevance-ranking", Pretraining-CLIR's
   * RR (softmax over the relevant document and its negatives), its only loss and default.
   */
  loss: "pairwise" | "cross-entropy" | "relevance-ranking";
  margin: number;
  /** 0: the identity head, i.e. the untrained ranker on the same test split (a baseline row). */
  epochs: number;
  lr: number;
  weightDecay: number;
  /** Groups per update. */
  batchSize: number;
  /** Documents per group: the relevant one and group − 1 negatives. */
  group: number;
  negatives: "bm25" | "random";
  bm25Depth?: number;
  /** Fraction of the task's queries trained on; the rest are ranked. */
  split: number;
  /**
   * k-fold cross-validation instead of one split: the queries are dealt into k folds (seeded, see
   * train.ts `foldQueryIds`); each fold is ranked by a model trained on the other k − 1 folds, and
   * the per-query results of all folds are evaluated as one run.
   */
  folds?: number;
  /** Seeds the split and the training. */
  seed: number;
  head: "linear" | "mlp";
  hidden?: number;
  activation?: "gelu" | "relu" | "tanh";
  /** "batched": the ranker's float32 solver; "reference": the float64 Sinkhorn per pair (slower). */
  solver: "batched" | "reference";
  /** "envelope": the plan held fixed (exact at convergence); "unrolled": reverse mode through every iteration, the LM-EMD study's autograd (needs solver "reference"). */
  gradient: "envelope" | "unrolled";
}

type Check = { accepts: string; check: (v: unknown) => boolean; sweep?: false };

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isInt = (min: number) => (v: unknown) => isNumber(v) && Number.isInteger(v) && v >= min;
const oneOf = (...values: string[]): Check => ({ accepts: values.join(" or "), check: (v) => typeof v === "string" && values.includes(v) });

/** Every key of a `train` block, in label order. `sweep: false`: a list is refused (it would give the rows different test sets). */
export const TRAIN_KEYS: Readonly<Record<keyof TrainConfig, Check>> = {
  loss: oneOf("pairwise", "cross-entropy", "relevance-ranking"),
  epochs: { accepts: "a whole number >= 0", check: isInt(0) },
  lr: { accepts: "a number >= 0", check: (v) => isNumber(v) && v >= 0 },
  weightDecay: { accepts: "a number >= 0", check: (v) => isNumber(v) && v >= 0 },
  margin: { accepts: "a number", check: isNumber },
  batchSize: { accepts: "a whole number >= 1", check: isInt(1) },
  group: { accepts: "a whole number >= 2", check: isInt(2) },
  negatives: oneOf("bm25", "random"),
  bm25Depth: { accepts: "a whole number >= 1", check: isInt(1) },
  head: oneOf("linear", "mlp"),
  hidden: { accepts: "a whole number >= 1", check: isInt(1) },
  activation: oneOf("gelu", "relu", "tanh"),
  solver: oneOf("batched", "reference"),
  gradient: oneOf("envelope", "unrolled"),
  split: { accepts: "a number strictly between 0 and 1 (the train fraction)", check: (v) => isNumber(v) && v > 0 && v < 1, sweep: false },
  folds: { accepts: "a whole number >= 2 (cross-validation folds, instead of split)", check: isInt(2), sweep: false },
  seed: { accepts: "a whole number >= 0", check: isInt(0), sweep: false },
};

/** Defaults of a `train` block (lr and weightDecay are the LM-EMD study's AdamW settings). */
export const TRAIN_DEFAULTS = {
  loss: "pairwise",
  margin: 0,
  epochs: 1,
  lr: 1e-6,
  weightDecay: 0.01,
  batchSize: 1,
  group: 5,
  negatives: "bm25",
  split: 0.5,
  seed: 1,
  head: "linear",
  solver: "batched",
  gradient: "envelope",
} as const satisfies Partial<TrainConfig>;

/** What is wrong with a `train` block: the key (undefined: the block itself) and a message. */
export interface TrainSpecProblem {
  key?: string;
  message: string;
}

/** Checks a `train` block of ranker `ranker`; undefined when it is valid. */
export function checkTrainSpec(train: Record<string, unknown>, ranker: string): TrainSpecProblem | undefined {
  if (!(TRAINABLE_RANKERS as readonly string[]).includes(ranker)) {
    return { message: `only ${TRAINABLE_RANKERS.join(", ")} can be trained, not ${JSON.stringify(ranker)}` };
  }
  for (const [key, value] of Object.entries(train)) {
    const spec = (TRAIN_KEYS as Record<string, Check>)[key];
    if (spec === undefined) return { key, message: `unknown key (a train block takes ${Object.keys(TRAIN_KEYS).join(", ")})` };
    if (Array.isArray(value)) {
      if (spec.sweep === false) return { key, message: `cannot be swept (every row of a table must share one test split): give one value, ${spec.accepts}` };
      if (value.length === 0) return { key, message: "an empty sweep expands to no configuration" };
      for (const [i, v] of value.entries()) if (!spec.check(v)) return { key: `${key}[${i}]`, message: `expected ${spec.accepts}, got ${JSON.stringify(v)}` };
    } else if (!spec.check(value)) {
      return { key, message: `expected ${spec.accepts}, got ${JSON.stringify(value)}` };
    }
  }
  if ("folds" in train && "split" in train) return { key: "folds", message: "folds and split exclude each other: give split (one train/test split) or folds (k-fold cross-validation)" };
  const losses = Array.isArray(train.loss) ? train.loss : train.loss === undefined ? [] : [train.loss];
  if (ranker === "cross-encoder") {
    for (const key of NOT_FOR_CROSS_ENCODER) if (key in train) return { key, message: "does not apply to the cross-encoder, whose trained head is its classifier (linear) under the relevance-ranking loss" };
    if (losses.some((l) => l !== "relevance-ranking")) return { key: "loss", message: "the cross-encoder is trained with relevance-ranking (Pretraining-CLIR's RR)" };
    return undefined;
  }
  if (losses.includes("relevance-ranking")) return { key: "loss", message: `relevance-ranking trains the cross-encoder; ${ranker} takes pairwise or cross-entropy` };
  if (ranker !== "lm-emd") {
    for (const key of SINKHORN_KEYS) if (key in train) return { key, message: `sets LM-EMD's Sinkhorn solver; ${ranker} is scored by the cosine of pooled vectors` };
  }
  // The unrolled gradient differentiates the float64 reference iteration only.
  const listed = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
  if (listed(train.gradient).includes("unrolled") && !(listed(train.solver).length > 0 && listed(train.solver).every((v) => v === "reference"))) {
    return { key: "gradient", message: 'gradient "unrolled" needs solver: reference (the batched solver gives the envelope gradient only)' };
  }
  return undefined;
}

/** Defaults that differ per ranker: the cross-encoder's loss, and an lr for a classifier over frozen features. */
const RANKER_TRAIN_DEFAULTS: Readonly<Record<string, Partial<TrainConfig>>> = {
  "cross-encoder": { loss: "relevance-ranking", lr: 1e-3 },
};

/** One grid point of a `train` block of ranker `ranker` with the defaults filled in. */
export function resolveTrainConfig(point: Record<string, unknown>, ranker?: string): TrainConfig {
  return { ...TRAIN_DEFAULTS, ...(ranker !== undefined ? RANKER_TRAIN_DEFAULTS[ranker] : {}), ...point } as TrainConfig;
}

/**
 * The `+train(...)` suffix of a row label: `epochs=0` alone for the identity head (no other
 * setting matters then); else `loss` and `epochs` (defaults included), then every key the entry
 * sweeps, and `folds` when the rows are cross-validated. `full` adds every key the entry sets
 * (except split and seed, shared by the table) — used when the short labels of two configurations
 * would coincide.
 */
export function trainLabel(config: TrainConfig, block: Record<string, unknown>, full = false): string {
  if (config.epochs === 0) return config.folds !== undefined ? `+train(epochs=0,folds=${config.folds})` : "+train(epochs=0)";
  const keys = (Object.keys(TRAIN_KEYS) as (keyof TrainConfig)[]).filter(
    (k) => k === "loss" || k === "epochs" || (k === "folds" && config.folds !== undefined) || (k in block && k !== "split" && k !== "seed" && (full || Array.isArray(block[k]))),
  );
  return `+train(${keys.map((k) => `${k}=${String(config[k])}`).join(",")})`;
}
