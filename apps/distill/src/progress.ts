/**
 * Progress on stderr (stdout carries only the head paths): a cli-progress bar on a terminal, a line
 * now and then otherwise (CI logs, pipes).
 */
import cliProgress from "cli-progress";
import type { StageName } from "./config.js";

export interface StepInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
}

/** Receives the trainer's progress. */
export interface DistillProgress {
  /** A line of information ("loading XQuAD…", "warmup: dev P@1 …"). */
  message(text: string): void;
  /** Texts encoded by the base encoder so far. */
  encode(done: number, total: number): void;
  /** After each update of a stage. */
  step(stage: StageName, info: StepInfo): void;
  /** After each epoch's dev evaluation. */
  epochEnd(stage: StageName, epoch: number, dev: Record<string, number>): void;
  /** A stage's training is over. */
  stageEnd(stage: StageName): void;
}

/** Progress that goes nowhere. */
export const silentProgress: DistillProgress = {
  message: () => {},
  encode: () => {},
  step: () => {},
  epochEnd: () => {},
  stageEnd: () => {},
};

const fmt = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(3));

/** Progress on `stream` (default stderr): bars on a TTY, plain lines otherwise. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): DistillProgress {
  if (!stream.isTTY) return lineProgress(stream);
  let bar: cliProgress.SingleBar | undefined;
  let barKind: string | undefined;
  let smooth: number | undefined;
  let dev = "-";
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
    barKind = undefined;
  };
  const start = (kind: string, format: string, total: number, payload: Record<string, unknown>): cliProgress.SingleBar => {
    if (bar !== undefined && barKind === kind) return bar;
    stop();
    bar = new cliProgress.SingleBar({ stream, format, hideCursor: true, clearOnComplete: false, etaBuffer: 200, fps: 5 }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, payload);
    barKind = kind;
    return bar;
  };
  return {
    message(text) {
      if (bar !== undefined) stop();
      stream.write(`${text}\n`);
    },
    encode(done, total) {
      const b = start("encode", "encode  {bar} {value}/{total} texts | eta {eta_formatted}", total, {});
      b.update(done);
      if (done >= total) stop();
    },
    step(stage, info) {
      if (barKind !== stage) {
        smooth = undefined;
        dev = "-";
      }
      smooth = smooth === undefined ? info.loss : 0.98 * smooth + 0.02 * info.loss;
      const b = start(stage, `${stage.padEnd(7)} {bar} {value}/{total} | epoch {epoch} | loss {loss} | dev P@1 {dev} | eta {eta_formatted}`, info.totalSteps, { epoch: 0, loss: "-", dev });
      if (info.step > b.getTotal()) b.setTotal(info.step);
      b.update(info.step, { epoch: info.epoch, loss: smooth.toPrecision(4), dev });
    },
    epochEnd(stage, _epoch, values) {
      dev = fmt(values["P@1"]);
      if (barKind === stage) bar?.update({ dev });
    },
    stageEnd() {
      stop();
    },
  };
}

/** Plain lines: about 20 per stage plus one per epoch. */
function lineProgress(stream: NodeJS.WriteStream): DistillProgress {
  let lastEncode = -1;
  let smooth: number | undefined;
  let current: string | undefined;
  let started = 0;
  return {
    message: (text) => void stream.write(`${text}\n`),
    encode(done, total) {
      const tenth = Math.floor((10 * done) / Math.max(1, total));
      if (tenth !== lastEncode || done === total) {
        if (tenth !== lastEncode) stream.write(`encode: ${done}/${total} texts\n`);
        lastEncode = tenth;
      }
    },
    step(stage, info) {
      if (current !== stage) {
        current = stage;
        smooth = undefined;
        started = Date.now();
      }
      smooth = smooth === undefined ? info.loss : 0.98 * smooth + 0.02 * info.loss;
      const every = Math.max(1, Math.ceil(info.totalSteps / 20));
      if (info.step % every === 0) {
        const s = (Date.now() - started) / 1000;
        stream.write(`${stage}: step ${info.step}/${info.totalSteps} epoch ${info.epoch} loss ${smooth.toPrecision(4)} (${s.toFixed(0)} s)\n`);
      }
    },
    epochEnd(stage, epoch, dev) {
      stream.write(`${stage}: ${epoch < 0 ? "start" : `epoch ${epoch}`} dev P@1 ${fmt(dev["P@1"])} MRR@10 ${fmt(dev["MRR@10"])}\n`);
    },
    stageEnd() {
      current = undefined;
    },
  };
}
