/**
 * Adaptive batching of concurrent searches: requests with the same options (ranker, parameters,
 * query language, k) that arrive while a batch of theirs is being ranked wait for it to finish and
 * then go together in one `searchBatch` call. An idle server ranks a request at once (no added
 * latency); a busy one ranks many per call, which is where the bi-encoder's matrix product and the
 * re-ranking's shared encoding pay off.
 */
import type { SearchHit, SearchOptions, SearchStore } from "@crossrank/index";

interface Waiting {
  query: string;
  resolve: (hits: SearchHit[]) => void;
  reject: (error: unknown) => void;
}

interface Lane {
  options: SearchOptions;
  queue: Waiting[];
  busy: boolean;
}

export const DEFAULT_MAX_BATCH = 64;

export class SearchBatcher {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly index: SearchStore,
    /** Most queries in one ranker call. */
    private readonly maxBatch: number = DEFAULT_MAX_BATCH,
  ) {}

  /** The hits of `query`, ranked alone or with the concurrent searches that share its options. */
  search(query: string, options: SearchOptions): Promise<SearchHit[]> {
    const key = JSON.stringify([options.ranker ?? null, options.params ?? null, options.queryLang ?? null, options.k ?? null]);
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { options, queue: [], busy: false };
      this.lanes.set(key, lane);
    }
    const result = new Promise<SearchHit[]>((resolve, reject) => lane.queue.push({ query, resolve, reject }));
    // setImmediate: the requests already read in this turn of the event loop join the first batch.
    if (!lane.busy) {
      lane.busy = true;
      setImmediate(() => void this.drain(key, lane));
    }
    return result;
  }

  /** Ranks the lane's queue batch after batch until it is empty, then forgets the lane. */
  private async drain(key: string, lane: Lane): Promise<void> {
    while (lane.queue.length > 0) {
      const batch = lane.queue.splice(0, this.maxBatch);
      try {
        const hits = await this.index.searchBatch(
          batch.map((w) => w.query),
          lane.options,
        );
        batch.forEach((w, i) => w.resolve(hits[i]!));
      } catch (error) {
        // One bad query must not fail the others: retry them one by one when a batch fails.
        if (batch.length === 1) batch[0]!.reject(error);
        else {
          for (const w of batch) {
            try {
              w.resolve((await this.index.searchBatch([w.query], lane.options))[0]!);
            } catch (single) {
              w.reject(single);
            }
          }
        }
      }
    }
    lane.busy = false;
    this.lanes.delete(key);
  }
}
