/**
 * The three CL-ReLKT stages, each a `trainLoop` (from @crossrank/train) over the head's parameters
 * with the frozen encoder's cached vectors as input:
 *
 * 1. warmup — triplet loss; anchor = a question in a train language, positive = its gold English
 *    paragraph, negative = one of its BM25 negatives (see data.ts: warmupNegatives); from epoch
 *    `randomAfterEpoch` on, the negative of each row is the negative of a random other row.
 * 2. teacher — triplet loss with online mining: at the start of every epoch all training
 *    paragraphs are re-encoded (the current head applied to their cached base vectors) and each
 *    anchor keeps up to `hard` hard (d_an < d_ap) and `semiHard` semi-hard (d_ap < d_an < d_ap +
 *    margin) negatives, nearest first.
 * 3. distill — the teacher frozen, its vectors of the English questions and the paragraphs
 *    computed once; the student (initialised from the teacher) minimises CL-ReLKT's three MSE terms.
 *
 * Every stage evaluates on the dev split at each epoch end (mean P@1 over the train languages) and
 * keeps the best epoch's head; randomness comes only from the loop's seeded RNG, so a run resumed
 * from a checkpoint ends with the same head as an uninterrupted one.
 */
import { type HeadConfig } from "@crossrank/encode";
import {
  batchHardNegatives,
  distillLoss,
  permutation,
  type Rng,
  type StepResult,
  TrainableHead,
  trainLoop,
  type TrainLoopResult,
  tripletLoss,
} from "@crossrank/train";
import type { DistillConfig, StageCommon, StageName, TripletLossConfig } from "./config.js";
import { type ArticleSplit, paragraphsOf, questionsOf, warmupNegatives, type XquadCorpus } from "./data.js";
import { meanOver, type SplitEvaluator } from "./evaluate.js";
import type { DistillProgress } from "./progress.js";
import { backward, type BaseVectors, forward, gather, project, stack } from "./vectors.js";

/** Thrown when the run's AbortSignal fires (at the next update); resume with --resume. */
export class DistillInterruptedError extends Error {
  override name = "DistillInterruptedError";
}

/** What every stage works with. */
export interface StageContext {
  config: DistillConfig;
  corpus: XquadCorpus;
  split: ArticleSplit;
  base: BaseVectors;
  /** The dev-split evaluator over the train languages (early stopping / best epoch). */
  dev: SplitEvaluator;
  /** The stage folder (checkpoint/, log.jsonl, plot.svg). */
  dir: string;
  resume: boolean;
  signal?: AbortSignal;
  progress: DistillProgress;
}

/** A stage's training result: the head holds the best dev epoch's weights. */
export interface StageTraining {
  head: TrainableHead;
  loop: TrainLoopResult;
  /** Stage-specific facts for the provenance (rows, mined negatives…). */
  facts: Record<string, number>;
}

/** The head config of a fresh head over `input`-wide base vectors. */
export function headConfigFor(config: DistillConfig, input: number): HeadConfig {
  const h = config.head;
  const c: HeadConfig = { format: "crossrank-head", version: 1, encoder: config.encoder, type: h.type, input, output: input, appliesTo: "sentence", normalize: h.normalize };
  const encoderOptions: Record<string, unknown> = {};
  for (const key of ["maxLength", "dtype", "revision"] as const) if (config.encoderOptions[key] !== undefined) encoderOptions[key] = config.encoderOptions[key];
  if (Object.keys(encoderOptions).length > 0) c.encoderOptions = encoderOptions;
  if (h.pooling !== undefined) c.pooling = h.pooling;
  if (h.type === "mlp") {
    c.hidden = h.hidden ?? 2 * input;
    c.activation = h.activation ?? "gelu";
  }
  return c;
}

/** The seed of a stage's training loop (shuffling, random negatives): derived from the config seed. */
export function stageSeed(seed: number, stage: StageName): number {
  const k = stage === "warmup" ? 1 : stage === "teacher" ? 2 : 3;
  return (seed + k * 0x9e3779b1) >>> 0;
}

function shapes(head: TrainableHead): number[][] {
  const c = head.config;
  if (c.type === "linear") return [[c.output, c.input], [c.output]];
  const h = c.hidden!;
  return [[h, c.input], [h], [c.output, h], [c.output]];
}

/** Anchors: (language, question) pairs with their base vectors stacked. */
interface Anchors {
  lang: string[];
  question: Int32Array;
  rows: Float32Array;
}

function anchorsOf(ctx: StageContext, langs: readonly string[], filter: (q: number, lang: string) => boolean = () => true): Anchors {
  const lang: string[] = [];
  const question: number[] = [];
  for (const l of langs) {
    for (const q of questionsOf(ctx.corpus, ctx.split.train, l)) {
      if (!filter(q, l)) continue;
      lang.push(l);
      question.push(q);
    }
  }
  const dim = ctx.base.dim;
  const rows = new Float32Array(question.length * dim);
  question.forEach((q, i) => {
    const m = ctx.base.questions.get(lang[i]!);
    if (m === undefined) throw new Error(`no ${lang[i]} question vectors`);
    rows.set(m.subarray(q * dim, (q + 1) * dim), i * dim);
  });
  return { lang, question: Int32Array.from(question), rows };
}

function chunk<T>(items: ArrayLike<number>, size: number, make: (ids: Int32Array) => T): T[] {
  const out: T[] = [];
  for (let s = 0; s < items.length; s += size) {
    const ids = new Int32Array(Math.min(size, items.length - s));
    for (let k = 0; k < ids.length; k++) ids[k] = items[s + k]!;
    out.push(make(ids));
  }
  return out;
}

async function runLoop<B>(
  ctx: StageContext,
  stage: StageName,
  settings: StageCommon,
  head: TrainableHead,
  parts: {
    batches(epoch: number, rng: Rng): B[];
    step(batch: B): StepResult;
    onEpochEnd?(epoch: number): void;
    userState?: { save(): unknown; load(value: unknown): void };
  },
): Promise<TrainLoopResult> {
  const devLangs = ctx.config.data.trainLangs;
  let epoch = -1; // −1 until the first epoch: includeStart's evaluation of the starting head
  return trainLoop<B>({
    dir: ctx.dir,
    params: head.params(),
    paramNames: head.paramNames(),
    paramShapes: shapes(head),
    epochs: settings.epochs,
    seed: stageSeed(ctx.config.seed, stage),
    batches: (e, rng) => {
      epoch = e;
      return parts.batches(e, rng);
    },
    step: (batch) => {
      if (ctx.signal?.aborted === true) throw new DistillInterruptedError(`${stage}: interrupted (resume with --resume)`);
      return parts.step(batch);
    },
    // Keras Adam (CL-ReLKT) uses epsilon 1e-7; weight decay 0 unless configured.
    optimizer: { lr: settings.lr, weightDecay: settings.weightDecay, eps: 1e-7 },
    checkpointEvery: ctx.config.checkpointEvery,
    resume: ctx.resume,
    evaluate: () => {
      const e = ctx.dev.evaluate(head);
      const dev = { "P@1": meanOver(e, devLangs, "P@1"), "MRR@10": meanOver(e, devLangs, "MRR@10") };
      ctx.progress.epochEnd(stage, epoch, dev);
      return dev;
    },
    earlyStopping: { measure: "P@1", patience: settings.patience ?? settings.epochs, halveLrOnNoGain: settings.halveLrOnNoGain, includeStart: settings.includeStart },
    onProgress: (info) => ctx.progress.step(stage, info),
    ...(parts.onEpochEnd !== undefined ? { onEpochEnd: (e: number) => parts.onEpochEnd?.(e) } : {}),
    ...(parts.userState !== undefined ? { userState: parts.userState } : {}),
  });
}

/** One triplet update: rows of anchors, positives and negatives through the head (and normalisation), the triplet loss, and back. */
function tripletStep(head: TrainableHead, normalize: boolean, loss: TripletLossConfig, a: Float32Array, p: Float32Array, n: Float32Array, count: number): StepResult {
  const pass = forward(head, stack([a, p, n]), 3 * count, normalize);
  const d = pass.out;
  const z = pass.z;
  const out = tripletLoss(z.subarray(0, count * d), z.subarray(count * d, 2 * count * d), z.subarray(2 * count * d), count, d, loss);
  return { loss: out.loss, grads: backward(head, pass, stack(out.grads)) };
}

/** Stage 1: triplets with BM25 negatives, then random negatives. */
export async function trainWarmup(ctx: StageContext, head: TrainableHead): Promise<StageTraining> {
  const w = ctx.config.stages.warmup;
  const { corpus, base } = ctx;
  const dim = base.dim;
  const negatives = warmupNegatives(corpus, ctx.split.train, { count: w.negatives.bm25 });
  const anchors = anchorsOf(ctx, w.anchorLangs, (q) => corpus.questions[q]!.text.en !== undefined);
  const rowAnchor: number[] = [];
  const rowPos: number[] = [];
  const rowNeg: number[] = [];
  anchors.question.forEach((q, i) => {
    for (const neg of negatives.get(q) ?? []) {
      rowAnchor.push(i);
      rowPos.push(corpus.questions[q]!.paragraph);
      rowNeg.push(neg);
    }
  });
  const rows = rowAnchor.length;
  if (rows === 0) throw new Error("warmup: no training triplets (no BM25 negatives found: are there at least two training articles?)");
  const articleOf = (p: number): number => corpus.paragraphs[p]!.article;

  interface Batch {
    rows: Int32Array;
    neg: Int32Array;
  }
  const loop = await runLoop<Batch>(ctx, "warmup", w, head, {
    batches: (epoch, rng) => {
      const order = permutation(rows, rng);
      const neg = Int32Array.from(rowNeg);
      if (epoch >= w.negatives.randomAfterEpoch && rows > 1) {
        // CL-ReLKT: the negative of each row becomes the negative of a random other row (redrawn,
        // a few times at most, while that paragraph is from the row's gold article).
        for (let i = 0; i < rows; i++) {
          for (let attempt = 0; attempt < 8; attempt++) {
            let j = rng.int(rows - 1);
            if (j >= i) j++;
            const candidate = rowNeg[j]!;
            if (articleOf(candidate) !== articleOf(rowPos[i]!)) {
              neg[i] = candidate;
              break;
            }
          }
        }
      }
      return chunk(order, w.batchSize, (ids) => ({ rows: ids, neg: ids.map((r) => neg[r]!) }));
    },
    step: (batch) => {
      const n = batch.rows.length;
      const a = gather(anchors.rows, dim, Array.from(batch.rows, (r) => rowAnchor[r]!));
      const p = gather(base.paragraphs, dim, Array.from(batch.rows, (r) => rowPos[r]!));
      const ng = gather(base.paragraphs, dim, batch.neg);
      return tripletStep(head, ctx.config.head.normalize, w.loss, a, p, ng, n);
    },
  });
  return { head, loop, facts: { triplets: rows, anchors: anchors.question.length } };
}

/** Stage 2: triplets with online hard / semi-hard negatives, mined at the start of every epoch. */
export async function trainTeacher(ctx: StageContext, head: TrainableHead): Promise<StageTraining> {
  const t = ctx.config.stages.teacher;
  const { corpus, base } = ctx;
  const dim = base.dim;
  const normalize = ctx.config.head.normalize;
  const anchors = anchorsOf(ctx, t.anchorLangs);
  const nA = anchors.question.length;
  if (nA === 0) throw new Error("teacher: no training questions");
  const candidates = paragraphsOf(corpus, ctx.split.train);
  const candidateOf = new Map(candidates.map((p, j) => [p, j]));
  const positive = Int32Array.from(anchors.question, (q) => candidateOf.get(corpus.questions[q]!.paragraph)!);
  const candidateArticle = candidates.map((p) => corpus.paragraphs[p]!.article);
  const anchorArticle = Array.from(anchors.question, (q) => corpus.questions[q]!.article);
  const candidateBase = gather(base.paragraphs, dim, candidates);

  /** [anchor row, paragraph] pairs of the current epoch. */
  let mined = new Int32Array(0);
  let minedCounts = { hard: 0, semiHard: 0, fallback: 0 };
  const mine = (): void => {
    const c = project(head, candidateBase, candidates.length, normalize);
    const d = c.length / candidates.length;
    const a = project(head, anchors.rows, nA, normalize);
    const p = gather(c, d, positive);
    const exclude = (i: number, j: number): boolean => j === positive[i] || (t.excludeGoldArticle && candidateArticle[j] === anchorArticle[i]);
    let found = batchHardNegatives(a, p, c, { d, margin: t.loss.margin, distance: t.loss.distance, hard: t.mining.hard, semiHard: t.mining.semiHard, exclude });
    minedCounts = { hard: found.filter((f) => f.kind === "hard").length, semiHard: found.filter((f) => f.kind === "semi-hard").length, fallback: 0 };
    if (found.length === 0) {
      // Nothing violates the margin any more: keep each anchor's nearest negative so the epoch has
      // triplets (their loss and gradient are 0 unless the model moves them back into the margin).
      found = batchHardNegatives(a, p, c, { d, margin: 1e30, distance: t.loss.distance, hard: 1, semiHard: 1, exclude }).filter((f, k, all) => k === 0 || all[k - 1]!.anchor !== f.anchor);
      minedCounts.fallback = found.length;
    }
    mined = new Int32Array(found.length * 2);
    found.forEach((f, k) => {
      mined[2 * k] = f.anchor;
      mined[2 * k + 1] = candidates[f.candidate]!;
    });
  };
  mine();
  const epochs: { hard: number; semiHard: number; fallback: number }[] = [];

  interface Batch {
    anchor: Int32Array;
    neg: Int32Array;
  }
  const loop = await runLoop<Batch>(ctx, "teacher", t, head, {
    batches: (_epoch, rng) => {
      const count = mined.length / 2;
      epochs.push(minedCounts);
      return chunk(permutation(count, rng), t.batchSize, (ids) => ({ anchor: ids.map((k) => mined[2 * k]!), neg: ids.map((k) => mined[2 * k + 1]!) }));
    },
    step: (batch) => {
      const n = batch.anchor.length;
      const a = gather(anchors.rows, dim, batch.anchor);
      const p = gather(base.paragraphs, dim, Array.from(batch.anchor, (i) => corpus.questions[anchors.question[i]!]!.paragraph));
      const ng = gather(base.paragraphs, dim, batch.neg);
      return tripletStep(head, normalize, t.loss, a, p, ng, n);
    },
    onEpochEnd: (epoch) => {
      // Re-encode and re-mine for the next epoch (with the current, not the best, head: CL-ReLKT).
      if (epoch + 1 < t.epochs) mine();
    },
    userState: {
      save: () => ({ mined: Array.from(mined), counts: minedCounts }),
      load: (value) => {
        const v = value as { mined: number[]; counts: typeof minedCounts };
        mined = Int32Array.from(v.mined);
        minedCounts = v.counts;
      },
    },
  });
  const last = epochs.at(-1) ?? minedCounts;
  return { head, loop, facts: { anchors: nA, candidates: candidates.length, lastHard: last.hard, lastSemiHard: last.semiHard, lastFallback: last.fallback } };
}

/** Stage 3: the student (a copy of the teacher) learns the teacher's English vectors for every language. */
export async function trainDistill(ctx: StageContext, teacher: TrainableHead, student: TrainableHead): Promise<StageTraining> {
  const s = ctx.config.stages.distill;
  const { corpus, base } = ctx;
  const dim = base.dim;
  const normalize = ctx.config.head.normalize;
  const anchors = anchorsOf(ctx, s.studentLangs, (q) => corpus.questions[q]!.text.en !== undefined);
  const n = anchors.question.length;
  if (n === 0) throw new Error("distill: no training questions");
  // Teacher targets, computed once: T(q_en) per row, T(d) per row (the gold paragraph).
  const enRows = gather(base.questions.get("en")!, dim, anchors.question);
  const gold = Int32Array.from(anchors.question, (q) => corpus.questions[q]!.paragraph);
  const teacherQueryEn = project(teacher, enRows, n, normalize);
  const teacherDoc = project(teacher, gather(base.paragraphs, dim, gold), n, normalize);
  const d = teacherQueryEn.length / n;

  const loop = await runLoop<Int32Array>(ctx, "distill", s, student, {
    batches: (_epoch, rng) => chunk(permutation(n, rng), s.batchSize, (ids) => ids),
    step: (rows) => {
      const m = rows.length;
      const pass = forward(student, stack([gather(anchors.rows, dim, rows), gather(base.paragraphs, dim, Array.from(rows, (r) => gold[r]!))]), 2 * m, normalize);
      const out = distillLoss(
        { teacherQueryEn: gather(teacherQueryEn, d, rows), studentQueryX: pass.z.subarray(0, m * d), teacherDoc: gather(teacherDoc, d, rows), studentDoc: pass.z.subarray(m * d) },
        d,
        s.weights,
      );
      return { loss: out.loss, grads: backward(student, pass, stack(out.grads)) };
    },
  });
  return { head: student, loop, facts: { pairs: n } };
}
