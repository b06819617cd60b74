import type { Query } from "@crossrank/datasets";
import type { Run } from "@crossrank/metrics";

/** Queries between progress reports, which also yield to the event loop so progress bars can redraw. */
const QUERY_BATCH = 256;

/**
 * Ranks `queries` one by one with `search` into a run, rejecting duplicate query ids. Progress is
 * reported as `done + queries so far` out of `total` (rankers count their indexing work in `done`),
 * every few hundred queries and once at the end.
 */
export async function runQueries(
  queries: readonly Query[],
  search: (query: Query) => readonly { id: string; score: number }[],
  progress: { done: number; total: number; onProgress?: (done: number, total: number) => void },
): Promise<Run> {
  const { done, total, onProgress } = progress;
  const run: Run = new Map();
  for (let i = 0; i < queries.length; i++) {
    const query = queries[i]!;
    if (run.has(query.id)) throw new Error(`duplicate query id ${JSON.stringify(query.id)}`);
    const scores = new Map<string, number>();
    for (const hit of search(query)) scores.set(hit.id, hit.score);
    run.set(query.id, scores);
    if ((i + 1) % QUERY_BATCH === 0) {
      onProgress?.(done + i + 1, total);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  onProgress?.(total, total);
  return run;
}
