import cliProgress from "cli-progress";

/** A progress bar for one long piece of work (encoding, scoring). */
export interface BarProgress {
  /** Shaped like the libraries' `onProgress(done, total)` callbacks, so it can be passed straight in. */
  update: (done: number, total: number | undefined) => void;
  /** Idempotent: safe to call on success and again in a `finally`. */
  stop: () => void;
}

/**
 * A bar on stderr when stderr is a terminal (stdout stays clean for JSON); silent otherwise, so
 * logs and pipes are not filled with redraws. With the total unknown (undefined: e.g. documents
 * streamed from files), a running count instead of a bar.
 */
export function barProgress(label: string, total: number | undefined, stream: NodeJS.WriteStream = process.stderr): BarProgress {
  if (!stream.isTTY) return { update: () => {}, stop: () => {} };
  const format = total === undefined ? `${label} {value}` : `${label} {bar} {value}/{total} | {eta_formatted} left`;
  const bar = new cliProgress.SingleBar({ stream, format, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  bar.start(total ?? 0, 0);
  let stopped = false;
  return {
    update: (done, newTotal) => {
      if (stopped) return;
      if (newTotal !== undefined && newTotal !== total) bar.setTotal((total = newTotal));
      bar.update(done);
    },
    stop: () => {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}
