/**
 * The training log: JSON Lines, one object per optimiser update (`step`, `epoch`, `loss`, `lr`,
 * `seconds`, and `dev` — the dev measures — on the last update of an epoch when the run evaluates).
 * A resumed run first truncates the log to its checkpoint's step, so that the log of an interrupted
 * and resumed run is the log of the uninterrupted run.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** One line of the training log. */
export interface LogEntry {
  /** Updates done, this one included (1-based). */
  step: number;
  /** Epoch of the update (0-based). */
  epoch: number;
  /** Training loss of the update's batch. */
  loss: number;
  /** Learning rate the update used. */
  lr: number;
  /** Seconds of training since the start of the run (time before an interruption included). */
  seconds: number;
  /** Gradient norm before clipping (when clipping is on). */
  gradNorm?: number;
  /** Dev measures, on the last update of an epoch when the run evaluates. */
  dev?: Record<string, number>;
}

/**
 * The mean training loss of the first epoch (0) and of the last epoch in `log`, each present only when
 * the log has updates in it: what the trainers report as `firstEpochLoss` / `lastEpochLoss`.
 */
export function epochLossSummary(log: readonly LogEntry[]): { firstEpochLoss?: number; lastEpochLoss?: number } {
  const epochLoss = (epoch: number): number | undefined => {
    const entries = log.filter((e) => e.epoch === epoch);
    return entries.length === 0 ? undefined : entries.reduce((s, e) => s + e.loss, 0) / entries.length;
  };
  const firstEpochLoss = epochLoss(0);
  const lastEpochLoss = log.length === 0 ? undefined : epochLoss(log[log.length - 1]!.epoch);
  return { ...(firstEpochLoss !== undefined ? { firstEpochLoss } : {}), ...(lastEpochLoss !== undefined ? { lastEpochLoss } : {}) };
}

/** Parses a JSONL log; a malformed line (e.g. the last one, cut by a crash) ends the log. */
export function parseLog(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      break;
    }
    if (typeof entry !== "object" || entry === null || typeof (entry as LogEntry).step !== "number") break;
    out.push(entry as LogEntry);
  }
  return out;
}

/** Reads a JSONL log; [] when the file does not exist. */
export async function readLog(path: string): Promise<LogEntry[]> {
  try {
    return parseLog(await readFile(path, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** One entry as its log line (fixed key order, so logs compare byte for byte). */
export function formatLogEntry(e: LogEntry): string {
  const o: LogEntry = { step: e.step, epoch: e.epoch, loss: e.loss, lr: e.lr, seconds: e.seconds };
  if (e.gradNorm !== undefined) o.gradNorm = e.gradNorm;
  if (e.dev !== undefined) o.dev = e.dev;
  return JSON.stringify(o);
}

/**
 * Appends entries to a JSONL log, buffered: lines reach the file on {@link flush} (the trainer
 * flushes before every checkpoint, at epoch ends and at least every `flushSeconds`).
 */
export class TrainingLog {
  readonly path: string;
  readonly entries: LogEntry[];
  private pending: string[] = [];
  private lastFlush = Date.now();
  private readonly flushMs: number;

  private constructor(path: string, entries: LogEntry[], flushSeconds: number) {
    this.path = path;
    this.entries = entries;
    this.flushMs = flushSeconds * 1000;
  }

  /** A new, empty log (an existing file is replaced). */
  static async create(path: string, options: { flushSeconds?: number } = {}): Promise<TrainingLog> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, "");
    return new TrainingLog(path, [], options.flushSeconds ?? 2);
  }

  /**
   * The existing log cut to the entries with `step <= step` (those after a checkpoint belong to
   * the lost part of an interrupted run); the file is rewritten atomically.
   */
  static async resume(path: string, step: number, options: { flushSeconds?: number } = {}): Promise<TrainingLog> {
    await mkdir(dirname(path), { recursive: true });
    const kept = (await readLog(path)).filter((e) => e.step <= step);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, kept.map((e) => `${formatLogEntry(e)}\n`).join(""));
    await rename(tmp, path);
    return new TrainingLog(path, kept, options.flushSeconds ?? 2);
  }

  /** Adds an entry (written at the next flush; flushes when the last flush is older than `flushSeconds`). */
  async append(entry: LogEntry): Promise<void> {
    this.entries.push(entry);
    this.pending.push(formatLogEntry(entry));
    if (Date.now() - this.lastFlush >= this.flushMs) await this.flush();
  }

  /** Writes buffered lines to the file. */
  async flush(): Promise<void> {
    this.lastFlush = Date.now();
    if (this.pending.length === 0) return;
    const text = this.pending.map((l) => `${l}\n`).join("");
    this.pending = [];
    await appendFile(this.path, text);
  }
}

/** Options of {@link progressBar}. */
export interface ProgressBarOptions {
  /** Where to draw (default process.stderr). Without a TTY, a line is printed every `every` steps. */
  stream?: NodeJS.WriteStream;
  /** Bar width in characters (default 30). */
  width?: number;
  /** Label in front of the bar. */
  label?: string;
  /** Non-TTY output: print a line every this many steps (default: about 20 lines per run). */
  every?: number;
}

/**
 * An `onProgress` callback drawing a progress bar with step, epoch, a running mean of the loss and
 * an ETA: redrawn in place on a TTY, a plain line now and then otherwise.
 */
export function progressBar(options: ProgressBarOptions = {}): (info: { step: number; totalSteps: number; epoch: number; loss: number }) => void {
  const stream = options.stream ?? process.stderr;
  const width = options.width ?? 30;
  const label = options.label ? `${options.label} ` : "";
  const start = Date.now();
  let firstStep: number | undefined;
  let smooth: number | undefined;
  return ({ step, totalSteps, epoch, loss }) => {
    firstStep ??= step - 1;
    smooth = smooth === undefined ? loss : 0.95 * smooth + 0.05 * loss;
    const fraction = totalSteps > 0 ? Math.min(1, step / totalSteps) : 0;
    const done = Math.round(fraction * width);
    const elapsed = (Date.now() - start) / 1000;
    const rate = (step - firstStep) / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (totalSteps - step) / rate : 0;
    const text = `${label}[${"#".repeat(done)}${"-".repeat(width - done)}] ${step}/${totalSteps} epoch ${epoch} loss ${smooth.toPrecision(4)} eta ${formatSeconds(eta)}`;
    if (stream.isTTY) {
      stream.write(`\r${text}`);
      if (step >= totalSteps) stream.write("\n");
    } else {
      const every = options.every ?? Math.max(1, Math.ceil(totalSteps / 20));
      if (step % every === 0 || step >= totalSteps) stream.write(`${text}\n`);
    }
  };
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
