/**
 * ColBERT's late-interaction score (Khattab & Zaharia 2020): every query token is matched with its
 * most similar document token and the similarities are summed.
 */
import type { Run } from "@crossrank/metrics";
import type { RankingInput, RankOptions } from "../ranker.js";
import { type CandidateMap, type CandidateRanker, checkInput, checkScore, Progress, topKEntry, yieldToEventLoop } from "./common.js";
import { sharedEncoder } from "./memo.js";
import { checkEncoderSettings, encoderNameParts, type NeuralRankerOptions } from "./settings.js";
import { encodeTask, selectRows } from "./token-ranker.js";

/** Options of {@link MaxSimRanker}. */
export interface MaxSimRankerOptions extends NeuralRankerOptions {
  /**
   * Whether CLS/SEP rows take part, on both sides. Default true: ColBERT keeps them (its query
   * embeddings include [CLS], its [Q] marker and the [MASK] padding it appends; its document
   * embeddings include [CLS], [D] and [SEP] and drop only padding and punctuation).
   */
  includeSpecial?: boolean;
}

/**
 * MaxSim over L2-normalised token embeddings (padding never included):
 *
 *     score(q, d) = Σ_i max_j cos(q_i, d_j)
 *
 * This is ColBERT's scoring function on a given encoder; what a ColBERT checkpoint adds is not
 * reproduced: its [Q]/[D] marker tokens, query augmentation with [MASK] tokens up to a fixed query
 * length, its linear projection to 128 dimensions and its punctuation skip-list. With a plain
 * language model it is a token-matching baseline next to LM-EMD (which spreads each token's mass
 * instead of taking the best match). The preset does not apply.
 *
 * A query without rows (only possible with `includeSpecial: false` and no content token) gets an
 * empty result; a document without rows is left out of every result.
 */
export class MaxSimRanker implements CandidateRanker {
  readonly name: string;
  private readonly settings: MaxSimRankerOptions;
  private readonly includeSpecial: boolean;

  constructor(options: MaxSimRankerOptions) {
    checkEncoderSettings(options, "maxsim");
    if (options.includeSpecial !== undefined && typeof options.includeSpecial !== "boolean") {
      throw new Error(`ranker maxsim: includeSpecial must be a boolean, got ${JSON.stringify(options.includeSpecial)}`);
    }
    this.settings = { ...options };
    this.includeSpecial = options.includeSpecial ?? true;
    const parts = encoderNameParts(options);
    if (!this.includeSpecial) parts.push("includeSpecial=false");
    this.name = `maxsim(${parts.join(",")})`;
  }

  rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    return this.rankCandidates(input, undefined, options);
  }

  async rankCandidates(input: RankingInput, candidates: CandidateMap | undefined, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    const { queries, documents } = input;
    const progress = new Progress(options.onProgress, documents.length, queries.length);
    const run: Run = new Map();
    if (queries.length === 0) return run;
    const shared = await sharedEncoder(this.settings);
    const task = await encodeTask(shared, input, candidates, progress);
    const docRows = task.documents.map((t) => (t === undefined ? undefined : selectRows(t, this.includeSpecial)));
    const ids = documents.map((d) => d.id);
    const all = Int32Array.from({ length: documents.length }, (_, i) => i);
    const scores = new Float64Array(documents.length);
    for (let qi = 0; qi < queries.length; qi++) {
      const query = queries[qi]!;
      const q = selectRows(task.queries[qi]!, this.includeSpecial);
      const listed = candidates === undefined ? all : (candidates.get(query.id) ?? new Int32Array(0));
      // Documents without rows cannot be scored: keep them out of the candidates.
      const cands = listed.filter((d) => docRows[d]!.length > 0);
      if (q.length === 0) {
        run.set(query.id, new Map());
      } else {
        for (const doc of cands) {
          const d = docRows[doc]!;
          const s = maxSim(q.data, q.length, d.data, d.length, task.queries[qi]!.dim);
          checkScore(s, this.name, query.id, ids[doc]!);
          scores[doc] = s;
        }
        run.set(query.id, topKEntry(scores, ids, k, cands));
      }
      progress.score(qi + 1);
      if (qi % 16 === 15) await yieldToEventLoop();
    }
    return run;
  }
}

/**
 * Σ_i max_j x_i·y_j for unit rows x ([n, dim]) and y ([m, dim]), float64 accumulation. Each
 * document row is read once per four query rows.
 */
export function maxSim(x: Float32Array, n: number, y: Float32Array, m: number, dim: number): number {
  let total = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x0 = i * dim;
    const x1 = x0 + dim;
    const x2 = x1 + dim;
    const x3 = x2 + dim;
    let b0 = -Infinity;
    let b1 = -Infinity;
    let b2 = -Infinity;
    let b3 = -Infinity;
    for (let j = 0; j < m; j++) {
      const y0 = j * dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < dim; k++) {
        const v = y[y0 + k]!;
        s0 += x[x0 + k]! * v;
        s1 += x[x1 + k]! * v;
        s2 += x[x2 + k]! * v;
        s3 += x[x3 + k]! * v;
      }
      if (s0 > b0) b0 = s0;
      if (s1 > b1) b1 = s1;
      if (s2 > b2) b2 = s2;
      if (s3 > b3) b3 = s3;
    }
    total += b0 + b1 + b2 + b3;
  }
  for (; i < n; i++) {
    const x0 = i * dim;
    let best = -Infinity;
    for (let j = 0; j < m; j++) {
      const y0 = j * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) s += x[x0 + k]! * y[y0 + k]!;
      if (s > best) best = s;
    }
    total += best;
  }
  return total;
}
