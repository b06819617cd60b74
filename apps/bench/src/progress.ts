import cliProgress from "cli-progress";
import type { SuiteProgress } from "./run.js";

/**
 * Renders suite progress on stderr (stdout stays clean for `--json`): a live bar on a terminal,
 * one line per finished job otherwise (CI logs, pipes).
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): SuiteProgress {
  if (!stream.isTTY) {
    let jobs = 0;
    let finished = 0;
    return {
      start: (total) => void (jobs = total),
      job: () => {},
      update: () => {},
      jobDone: (summary) => void stream.write(`[${++finished}/${jobs}] ${summary}\n`),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "{bar} {value}/{total} jobs | {job} | queries {done}/{queries}",
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let finished = 0;
  return {
    start: (total) => bar.start(total, 0, { job: "loading", done: 0, queries: 0 }),
    job: (description) => bar.update(finished, { job: description, done: 0, queries: 0 }),
    update: (done, total) => bar.update(finished, { done, queries: total }),
    jobDone: () => bar.update(++finished),
    stop: () => bar.stop(),
  };
}
