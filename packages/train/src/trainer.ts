/**
 * A generic, resumable training loop over float32 parameter tensors: AdamW with an optional warmup
 * and linear decay, gradient clipping, a JSONL log, atomic checkpoints every N updates and at every
 * epoch end, dev evaluation and early stopping at epoch ends, and a loss/dev plot at the end.
 *
 * Determinism and resumption. The only randomness the loop hands out is `rng`, passed to
 * `batches(epoch, rng)` once at the start of each epoch. A checkpoint records the RNG state at the
 * start of the epoch it was taken in and how many of that epoch's batches were done; a resumed run
 * restores that state, calls `batches` again (getting the same list) and skips the batches done.
 * Parameters, AdamW moments and step count, the learning-rate scale, the early-stopping state and
 * the best parameters are all restored bit for bit, and the log is cut back to the checkpoint's step,
 * so a run killed at any moment and resumed ends with the same weights and the same log as an
 * uninterrupted run (given a deterministic `step` and `batches`, and `userState` for anything else
 * the caller changes during a run, e.g. negatives mined at an epoch end).
 *
 * Files in `dir`: `checkpoint/` (see checkpoint.ts), `log.jsonl` (see log.ts), `plot.svg` and,
 * when sharp can be loaded, `plot.png`.
 */
import { join } from "node:path";
import { type Checkpoint, type CheckpointTensor, readCheckpoint, removeCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { type LogEntry, TrainingLog } from "./log.js";
import { AdamW, clipGradNorm, constantWithWarmup, linearWarmupDecay } from "./optim.js";
import { writePlot } from "./plot.js";
import { Rng } from "./rng.js";

/** What `step` returns: the batch loss and the gradient of each parameter (same order and lengths as `params`). */
export interface StepResult {
  loss: number;
  grads: Float32Array[];
}

/** Options of {@link trainLoop}. */
export interface TrainLoopOptions<B> {
  /** Run folder: `checkpoint/`, `log.jsonl`, `plot.svg` go here. */
  dir: string;
  /** The trainable tensors (updated in place). */
  params: Float32Array[];
  /** Names of the tensors (checkpoint keys), unique. */
  paramNames: string[];
  /** Shapes of the tensors (their product must be each tensor's length). */
  paramShapes: number[][];
  /** Number of epochs. */
  epochs: number;
  /** Seed of the RNG passed to `batches`. */
  seed: number;
  /**
   * The batches of an epoch, in order. Must be deterministic given the RNG state (draw all the
   * randomness of the epoch from `rng`, here). Called once per epoch (again on resume).
   */
  batches(epoch: number, rng: Rng): B[];
  /** Forward and backward on the current parameters. Must not modify the parameters. */
  step(batch: B): StepResult | Promise<StepResult>;
  /**
   * AdamW settings (defaults as PyTorch: betas [0.9, 0.999], eps 1e-8, weight decay 0.01).
   * `schedule`: "constant" (default; after `warmupSteps` of linear warmup when given) or "linear"
   * (warmup then linear decay to 0 at the last update). `maxGradNorm`: clip the global gradient
   * norm (off by default).
   */
  optimizer: {
    lr: number;
    weightDecay?: number;
    warmupSteps?: number;
    schedule?: "constant" | "linear";
    maxGradNorm?: number;
    betas?: [number, number];
    eps?: number;
  };
  /** Also checkpoint every this many updates (a checkpoint is always written at each epoch end). */
  checkpointEvery?: number;
  /** Continue from the checkpoint in `dir` when there is one (otherwise any old checkpoint and log are removed). */
  resume?: boolean;
  /** Dev measures, called at each epoch end (before `onEpochEnd`); logged as `dev` on the epoch's last update. */
  evaluate?(): Promise<Record<string, number>> | Record<string, number>;
  /**
   * Early stopping on a dev measure (needs `evaluate`): the parameters of the best epoch are kept
   * and restored at the end; training stops after `patience` epochs in a row without a strict gain
   * (`mode` "max", default, or "min"); with `halveLrOnNoGain` the learning rate is halved after
   * each epoch without gain (CL-ReLKT's teacher: patience 20, lr halved on no gain). With
   * `includeStart`, a fresh run evaluates the parameters it starts from before the first update and
   * counts them as epoch −1: when no epoch strictly beats them, they are what is restored
   * (`bestEpoch` −1), so that training never hands back something worse on dev than it was given.
   */
  earlyStopping?: { measure: string; patience: number; mode?: "max" | "min"; halveLrOnNoGain?: boolean; includeStart?: boolean };
  /** Called after each update. */
  onProgress?(info: { step: number; totalSteps: number; epoch: number; loss: number }): void;
  /** Called at each epoch end, after evaluation and before the checkpoint (e.g. re-encode documents for online mining). */
  onEpochEnd?(epoch: number, params: Float32Array[]): Promise<void> | void;
  /**
   * Caller state saved in every checkpoint and restored on resume (before `batches` is called):
   * whatever `batches` or `step` depend on besides the RNG and the parameters, e.g. mined
   * negatives. `save` must return JSON-serialisable data.
   */
  userState?: { save(): unknown; load(value: unknown): void };
  /** fsync checkpoint files (default true: checkpoints survive a power loss, not only a crash). */
  fsync?: boolean;
  /** Write the plot at the end (default true): plot.svg, and plot.png when sharp is available. */
  plot?: boolean;
  /** Clock in milliseconds for the log's `seconds` (default performance.now); tests fix it. */
  clock?: () => number;
}

/** Result of {@link trainLoop}. */
export interface TrainLoopResult {
  /** Updates done (in all, across resumptions). */
  steps: number;
  /** Best value of the early-stopping measure. */
  bestMeasure?: number;
  /** Epoch (0-based) of the best value; its parameters are in `params` at the end. −1: the starting parameters (`includeStart`). */
  bestEpoch?: number;
  /** The whole log (entries from before a resumption included). */
  log: LogEntry[];
  /** Whether early stopping ended the run before `epochs`. */
  stoppedEarly: boolean;
  /** Plot files written. */
  plots: string[];
}

/** The loop's own state, saved as the checkpoint's `extra.loop`. */
interface LoopState {
  seed: number;
  totalSteps: number;
  batchInEpoch: number;
  lrScale: number;
  best?: number;
  bestEpoch?: number;
  noGain: number;
  stopped: boolean;
  seconds: number;
}

export const CHECKPOINT_DIR = "checkpoint";
export const LOG_FILE = "log.jsonl";

/** Runs (or resumes) a training loop; see the module comment. */
export async function trainLoop<B>(o: TrainLoopOptions<B>): Promise<TrainLoopResult> {
  checkOptions(o);
  const checkpointDir = join(o.dir, CHECKPOINT_DIR);
  const logPath = join(o.dir, LOG_FILE);
  const clock = o.clock ?? (() => performance.now());
  const rng = new Rng(o.seed);
  const opt = o.optimizer;
  const adam = new AdamW(o.params, {
    lr: opt.lr,
    ...(opt.betas !== undefined ? { betas: opt.betas } : {}),
    ...(opt.eps !== undefined ? { eps: opt.eps } : {}),
    ...(opt.weightDecay !== undefined ? { weightDecay: opt.weightDecay } : {}),
  });
  const es = o.earlyStopping;
  const higher = (es?.mode ?? "max") === "max";

  let step = 0;
  let epoch = 0;
  let loop: LoopState = { seed: o.seed, totalSteps: -1, batchInEpoch: 0, lrScale: 1, noGain: 0, stopped: false, seconds: 0 };
  let bestParams: Float32Array[] | undefined;
  let log: TrainingLog;

  const checkpoint = o.resume ? await readCheckpoint(checkpointDir) : undefined;
  if (checkpoint !== undefined) {
    restoreParams(o, checkpoint);
    const saved = checkpoint.extra?.loop as LoopState | undefined;
    if (saved === undefined) throw new Error(`${checkpointDir}: not a trainLoop checkpoint (no loop state)`);
    if (saved.seed !== o.seed) throw new Error(`${checkpointDir}: checkpoint was written with seed ${saved.seed}, this run has seed ${o.seed}`);
    loop = saved;
    step = checkpoint.step;
    epoch = checkpoint.epoch;
    rng.setState(checkpoint.rng);
    if (checkpoint.optimizer === undefined) throw new Error(`${checkpointDir}: checkpoint has no optimizer state`);
    adam.load(checkpoint.optimizer);
    if (loop.bestEpoch !== undefined) {
      bestParams = o.paramNames.map((name) => {
        const t = checkpoint.tensors?.[`best.${name}`];
        if (t === undefined) throw new Error(`${checkpointDir}: best parameters ${name} missing`);
        return t.data;
      });
    }
    if (o.userState !== undefined) o.userState.load(checkpoint.extra?.user);
    log = await TrainingLog.resume(logPath, step);
  } else {
    await removeCheckpoint(checkpointDir);
    log = await TrainingLog.create(logPath);
  }
  if (checkpoint === undefined && es?.includeStart === true && o.evaluate !== undefined) {
    const value = measureOf(await o.evaluate(), es.measure);
    loop.best = value;
    loop.bestEpoch = -1;
    bestParams = o.params.map((p) => p.slice());
  }

  const clockStart = clock();
  const secondsBefore = loop.seconds;
  const seconds = (): number => secondsBefore + (clock() - clockStart) / 1000;

  const save = async (rngState: number): Promise<void> => {
    await log.flush();
    loop.seconds = seconds();
    const weights: Record<string, CheckpointTensor> = {};
    o.paramNames.forEach((name, k) => {
      weights[name] = { data: o.params[k] as Float32Array, shape: o.paramShapes[k] as number[] };
    });
    const tensors: Record<string, CheckpointTensor> = {};
    if (bestParams !== undefined) {
      o.paramNames.forEach((name, k) => {
        tensors[`best.${name}`] = { data: bestParams?.[k] as Float32Array, shape: o.paramShapes[k] as number[] };
      });
    }
    const extra: Record<string, unknown> = { loop: { ...loop } };
    if (o.userState !== undefined) extra.user = o.userState.save();
    await writeCheckpoint(checkpointDir, { weights, optimizer: adam.state(), tensors, rng: rngState, step, epoch, extra }, { fsync: o.fsync ?? true });
  };

  const lrAt = (s: number): number => {
    const base = opt.lr * loop.lrScale;
    const warmup = opt.warmupSteps ?? 0;
    return opt.schedule === "linear" ? linearWarmupDecay(s, loop.totalSteps, warmup, base) : constantWithWarmup(s, warmup, base);
  };

  while (!loop.stopped && epoch < o.epochs) {
    const epochRng = rng.state();
    const list = o.batches(epoch, rng);
    if (list.length === 0) throw new Error(`trainLoop: batches(${epoch}) returned no batches`);
    // Fixed once, by the first epoch of the run (saved, so a resumed run uses the same value).
    if (loop.totalSteps < 0) loop.totalSteps = o.epochs * list.length;
    if (loop.batchInEpoch > list.length) throw new Error(`trainLoop: checkpoint is at batch ${loop.batchInEpoch} of epoch ${epoch}, which has ${list.length}`);
    let last: LogEntry | undefined;
    for (let b = loop.batchInEpoch; b < list.length; b++) {
      const lr = lrAt(step);
      const { loss, grads } = await o.step(list[b] as B);
      if (!Number.isFinite(loss)) throw new Error(`trainLoop: loss is ${loss} at step ${step + 1} (epoch ${epoch}, batch ${b})`);
      if (grads.length !== o.params.length) throw new Error(`trainLoop: step returned ${grads.length} gradients for ${o.params.length} parameters`);
      const norm = opt.maxGradNorm !== undefined ? clipGradNorm(grads, opt.maxGradNorm) : undefined;
      adam.step(grads, lr);
      step += 1;
      const entry: LogEntry = { step, epoch, loss, lr, seconds: seconds() };
      if (norm !== undefined) entry.gradNorm = norm;
      o.onProgress?.({ step, totalSteps: loop.totalSteps, epoch, loss });
      if (b === list.length - 1) {
        last = entry; // logged after the evaluation, with the dev measures
      } else {
        await log.append(entry);
        if (o.checkpointEvery !== undefined && step % o.checkpointEvery === 0) {
          loop.batchInEpoch = b + 1;
          await save(epochRng);
        }
      }
    }

    // Epoch end (`last` is undefined only when a checkpoint was taken after the last batch, which
    // does not happen: the last batch is never checkpointed mid-epoch).
    if (last === undefined) throw new Error("trainLoop: internal error: epoch ended without a last step");
    if (o.evaluate !== undefined) {
      const dev = await o.evaluate();
      last.dev = { ...dev };
      if (es !== undefined) {
        const value = measureOf(dev, es.measure);
        if (loop.best === undefined || (higher ? value > loop.best : value < loop.best)) {
          loop.best = value;
          loop.bestEpoch = epoch;
          loop.noGain = 0;
          bestParams = o.params.map((p) => p.slice());
        } else {
          loop.noGain += 1;
          if (es.halveLrOnNoGain) loop.lrScale *= 0.5;
          if (loop.noGain >= es.patience) loop.stopped = true;
        }
      }
    }
    await log.append(last);
    await o.onEpochEnd?.(epoch, o.params);
    epoch += 1;
    loop.batchInEpoch = 0;
    await save(rng.state());
  }

  await log.flush();
  if (bestParams !== undefined) o.params.forEach((p, k) => p.set(bestParams?.[k] as Float32Array));

  const plots: string[] = [];
  if (o.plot ?? true) {
    const svg = join(o.dir, "plot.svg");
    await writePlot(svg, log.entries);
    plots.push(svg);
    const png = join(o.dir, "plot.png");
    try {
      await writePlot(png, log.entries);
      plots.push(png);
    } catch {
      // sharp not installed or unable to render: the SVG is the plot.
    }
  }

  const result: TrainLoopResult = { steps: step, log: [...log.entries], stoppedEarly: loop.stopped && epoch < o.epochs, plots };
  if (loop.best !== undefined) result.bestMeasure = loop.best;
  if (loop.bestEpoch !== undefined) result.bestEpoch = loop.bestEpoch;
  return result;
}

/** The early-stopping measure of an evaluation; throws when it is missing or NaN. */
function measureOf(dev: Record<string, number>, measure: string): number {
  const value = dev[measure];
  if (typeof value !== "number" || Number.isNaN(value)) throw new Error(`trainLoop: evaluate() returned no number for ${JSON.stringify(measure)}`);
  return value;
}

function checkOptions<B>(o: TrainLoopOptions<B>): void {
  const n = o.params.length;
  if (o.paramNames.length !== n || o.paramShapes.length !== n) {
    throw new Error(`trainLoop: ${n} params, ${o.paramNames.length} names, ${o.paramShapes.length} shapes`);
  }
  if (new Set(o.paramNames).size !== n) throw new Error("trainLoop: parameter names must be unique");
  o.params.forEach((p, k) => {
    const shape = o.paramShapes[k] as number[];
    const count = shape.reduce((a, d) => a * d, 1);
    if (count !== p.length) throw new Error(`trainLoop: parameter ${o.paramNames[k]} has ${p.length} values for shape [${shape.join(", ")}]`);
  });
  if (!Number.isInteger(o.epochs) || o.epochs < 0) throw new RangeError(`trainLoop: epochs must be an integer >= 0, got ${String(o.epochs)}`);
  if (o.checkpointEvery !== undefined && (!Number.isInteger(o.checkpointEvery) || o.checkpointEvery < 1)) {
    throw new RangeError(`trainLoop: checkpointEvery must be a positive integer, got ${String(o.checkpointEvery)}`);
  }
  const w = o.optimizer.warmupSteps;
  if (w !== undefined && (!Number.isInteger(w) || w < 0)) throw new RangeError(`trainLoop: warmupSteps must be an integer >= 0, got ${String(w)}`);
  if (o.earlyStopping !== undefined) {
    if (o.evaluate === undefined) throw new Error("trainLoop: earlyStopping needs evaluate");
    const p = o.earlyStopping.patience;
    if (!Number.isInteger(p) || p < 1) throw new RangeError(`trainLoop: earlyStopping.patience must be a positive integer, got ${String(p)}`);
  }
}

function restoreParams<B>(o: TrainLoopOptions<B>, c: Checkpoint): void {
  const names = Object.keys(c.weights);
  if (names.length !== o.paramNames.length || names.some((n, k) => n !== o.paramNames[k])) {
    throw new Error(`checkpoint holds parameters [${names.join(", ")}], this run has [${o.paramNames.join(", ")}]`);
  }
  o.paramNames.forEach((name, k) => {
    const t = c.weights[name] as CheckpointTensor;
    const shape = o.paramShapes[k] as number[];
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`checkpoint parameter ${name} has shape [${t.shape.join(", ")}], this run has [${shape.join(", ")}]`);
    }
    (o.params[k] as Float32Array).set(t.data);
  });
}
