/**
 * ColBERT's late-interaction score (Khattab & Zaharia 2020): every query token is matched with its
 * most similar document token and the similarities are summed.
 */
import type { Run } from "@crossrank/metrics";
import { documentIds } from "../collection-parts.js";
import type { RankingInput, RankOptions } from "../ranker.js";
import { type CandidateMap, type CandidateRanker, checkInput, checkScore, positions, Progress, topKEntry, yieldToEventLoop } from "./common.js";
import { type ColbertMode, encodeColbertTask, sharedColbert } from "./colbert-memo.js";
import { sharedEncoder } from "./memo.js";
import { checkEncoderSettings, encoderNameParts, type NeuralRankerOptions } from "./settings.js";
import { type EncodedTask, encodeTask, selectRows, tokenCounts } from "./token-ranker.js";

/** Where {@link MaxSimRanker} computes its scores. */
export type MaxSimScoring = "auto" | "onnx" | "js";

/** Options of {@link MaxSimRanker}. */
export interface MaxSimRankerOptions extends NeuralRankerOptions {
  /**
   * Whether CLS/SEP rows take part, on both sides. Default true: ColBERT keeps them (its query
   * embeddings include [CLS], its [Q] marker and the [MASK] padding it appends; its document
   * embeddings include [CLS], [D] and [SEP] and drop only padding and punctuation).
   */
  includeSpecial?: boolean;
  /**
   * Whether the encoder is scored as a ColBERT checkpoint (its [Q]/[D] markers, [MASK] query
   * augmentation, linear projection and document punctuation skip-list, see
   * packages/encode/src/colbert.ts): "auto" (default) when the model is one (`artifact.metadata`,
   * the HF_ColBERT architecture, or `linear.weight` in a local model.safetensors), true always
   * (an error for a model without `linear.weight`), false never (the plain token rows of its
   * BERT). With ColBERT scoring `maxLength` caps the documents (default the checkpoint's doc_maxlen)
   * and `includeSpecial` must stay true (the reference keeps those rows).
   */
  colbert?: ColbertMode;
  /**
   * Where the scores are computed: "js" the plain loop {@link maxSim} (float64 sums); "onnx" one
   * onnxruntime-node graph per block of queries and documents (float32, see ./maxsim-onnx.ts);
   * "auto" (default) onnx wherever a query's work reaches {@link MAXSIM_ONNX_MIN_WORK}, js below
   * that and when onnxruntime cannot load. The two agree to ~1e-6 relative. A constructor option
   * only (not a registry parameter): it changes the speed, not the ranking.
   */
  scoring?: MaxSimScoring;
}

/**
 * Multiply-adds per query (query rows × the rows of the documents it is scored against × dim)
 * from which "auto" scoring uses onnxruntime. Measured with 20 candidates per query (query 4–128
 * rows, documents 8–128 rows, dim 32–768, 2 cores): the JS loop takes 0.6–1.1 ns per
 * multiply-add; an onnxruntime run costs ~30–60 µs plus packing, so they break even at 60k–120k
 * multiply-adds and onnxruntime wins from there on (3–4× at 500k, 20–50× on whole collections).
 * Without candidates the rule applies to the average query (all share the packed documents).
 */
export const MAXSIM_ONNX_MIN_WORK = 100_000;

type MaxSimOnnx = typeof import("./maxsim-onnx.js");

let onnxModule: Promise<MaxSimOnnx | undefined> | undefined;
/** ./maxsim-onnx.js with its session ready, or undefined when onnxruntime cannot load ("auto" then falls back to JS). */
function maybeOnnx(): Promise<MaxSimOnnx | undefined> {
  onnxModule ??= import("./maxsim-onnx.js").then(
    async (m) => {
      await m.maxSimSession();
      return m;
    },
    () => undefined,
  ).catch(() => undefined);
  return onnxModule;
}

/** ./maxsim-onnx.js with its session ready, for "onnx" scoring (throws when onnxruntime cannot load). */
async function requireOnnx(): Promise<MaxSimOnnx> {
  const m = await import("./maxsim-onnx.js");
  await m.maxSimSession();
  return m;
}

/**
 * MaxSim over L2-normalised token embeddings (padding never included):
 *
 *     score(q, d) = Σ_i max_j cos(q_i, d_j)
 *
 * A ColBERT checkpoint (colbert-ir/colbertv2.0, ColBERT-XM; `colbert`, default "auto") is scored as
 * stanford-futuredata/ColBERT scores it: the rows are its own (`[CLS] [Q] … [SEP]` padded with
 * [MASK] to query_maxlen, `[CLS] [D] … [SEP]` to doc_maxlen, BERT → `linear.weight` → unit rows,
 * the document's punctuation skip-list dropped; see packages/encode/src/colbert.ts) and the score
 * is the same sum of best dot products (similarity "cosine"), or Σ_i max_j −‖q_i − d_j‖² =
 * 2·score − 2·|q| for unit rows (similarity "l2"). With a plain language model it is a
 * token-matching baseline next to LM-EMD (which spreads each token's mass instead of taking the
 * best match). The preset does not apply.
 *
 * Scoring (`scoring`, default "auto"): without candidates the documents are packed once into
 * length-sorted chunks and blocks of queries are scored against them with onnxruntime; with
 * candidates (a rerank's second stage) each query's candidates are packed and scored in one run.
 * Either way the JS loop {@link maxSim} is used instead where a query's work (the average query's,
 * without candidates) is below {@link MAXSIM_ONNX_MIN_WORK}.
 *
 * A query without rows (only possible with `includeSpecial: false` and no content token) gets an
 * empty result; a document without rows is left out of every result.
 */
export class MaxSimRanker implements CandidateRanker {
  readonly name: string;
  private readonly settings: MaxSimRankerOptions;
  private readonly includeSpecial: boolean;
  private readonly scoring: MaxSimScoring;
  private readonly colbert: ColbertMode;

  constructor(options: MaxSimRankerOptions) {
    checkEncoderSettings(options, "maxsim");
    if (options.includeSpecial !== undefined && typeof options.includeSpecial !== "boolean") {
      throw new Error(`ranker maxsim: includeSpecial must be a boolean, got ${JSON.stringify(options.includeSpecial)}`);
    }
    if (options.scoring !== undefined && options.scoring !== "auto" && options.scoring !== "onnx" && options.scoring !== "js") {
      throw new Error(`ranker maxsim: scoring must be "auto", "onnx" or "js", got ${JSON.stringify(options.scoring)}`);
    }
    if (options.colbert !== undefined && options.colbert !== "auto" && typeof options.colbert !== "boolean") {
      throw new Error(`ranker maxsim: colbert must be "auto", true or false, got ${JSON.stringify(options.colbert)}`);
    }
    if (options.colbert === true && options.includeSpecial === false) {
      throw new Error("ranker maxsim: includeSpecial false does not apply to ColBERT scoring (colbert true), which keeps [CLS], the markers, [SEP] and the [MASK] rows as the reference does");
    }
    this.settings = { ...options };
    this.includeSpecial = options.includeSpecial ?? true;
    this.scoring = options.scoring ?? "auto";
    this.colbert = options.colbert ?? "auto";
    const parts = encoderNameParts(options);
    if (!this.includeSpecial) parts.push("includeSpecial=false");
    if (options.colbert !== undefined) parts.push(`colbert=${String(options.colbert)}`);
    if (options.scoring !== undefined) parts.push(`scoring=${options.scoring}`);
    this.name = `maxsim(${parts.join(",")})`;
  }

  rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    return this.rankCandidates(input, undefined, options);
  }

  tokenCounts(texts: readonly string[]): Promise<number[]> {
    return tokenCounts(this.settings, texts);
  }

  async rankCandidates(input: RankingInput, candidates: CandidateMap | undefined, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    const { queries, documents } = input;
    const progress = new Progress(options.onProgress, documents.length, queries.length);
    const run: Run = new Map();
    if (queries.length === 0) return run;
    const checkpoint = this.colbert === false ? undefined : await sharedColbert(this.settings, this.colbert);
    let task: EncodedTask;
    if (checkpoint !== undefined) {
      if (!this.includeSpecial) throw new Error(`ranker ${this.name}: ${this.settings.encoder} is a ColBERT checkpoint, scored with the rows the reference keeps; includeSpecial false does not apply (or set colbert false)`);
      task = await encodeColbertTask(checkpoint, input, candidates, progress);
    } else {
      task = await encodeTask(await sharedEncoder(this.settings), input, candidates, progress);
    }
    // Similarity "l2" of unit rows: Σ_i max_j −‖q_i − d_j‖² = 2·Σ_i max_j q_i·d_j − 2·|q|.
    const l2 = checkpoint?.settings.similarity === "l2";
    const finish = (score: number, queryRows: number) => (l2 ? 2 * score - 2 * queryRows : score);
    const docRows = task.documents.map((t) => (t === undefined ? undefined : selectRows(t, this.includeSpecial)));
    // From here on the rows are reached through docRows only (which packing may release).
    task.documents = [];
    const queryRows = task.queries.map((t) => selectRows(t, this.includeSpecial));
    const dim = task.queries[0]!.dim;
    const ids = documentIds(documents);
    // Documents without rows cannot be scored: they are never candidates.
    const usable = (list: Int32Array): Int32Array => list.filter((d) => (docRows[d]?.length ?? 0) > 0);

    if (candidates === undefined) {
      const all = usable(positions(documents.length));
      let docRowCount = 0;
      for (const d of all) docRowCount += docRows[d]!.length;
      let queryRowCount = 0;
      for (const q of queryRows) queryRowCount += q.length;
      const onnx = await this.onnxFor((queryRowCount * docRowCount * dim) / queries.length);
      if (onnx !== undefined) {
        await this.rankAllOnnx(onnx, queries.map((q) => q.id), queryRows, docRows, all, ids, dim, k, run, progress, finish);
        return run;
      }
    }

    const scores = new Float64Array(documents.length);
    const all = candidates === undefined ? usable(positions(documents.length)) : undefined;
    const scratch = { buffer: new Float32Array(0) };
    for (let qi = 0; qi < queries.length; qi++) {
      const query = queries[qi]!;
      const q = queryRows[qi]!;
      const cands = all ?? usable(candidates!.get(query.id) ?? new Int32Array(0));
      if (q.length === 0) {
        run.set(query.id, new Map());
      } else {
        let candRows = 0;
        for (const doc of cands) candRows += docRows[doc]!.length;
        const onnx = cands.length === 0 ? undefined : await this.onnxFor(q.length * candRows * dim);
        if (onnx !== undefined) {
          const chunks = onnx.packChunks(cands, docRows, dim, { scratch });
          await onnx.scoreBlock(onnx.queryBlock([q], dim), chunks, dim, (_, doc, s) => {
            checkScore(s, this.name, query.id, ids[doc]!);
            scores[doc] = finish(s, q.length);
          });
        } else {
          for (const doc of cands) {
            const d = docRows[doc]!;
            const s = maxSim(q.data, q.length, d.data, d.length, dim);
            checkScore(s, this.name, query.id, ids[doc]!);
            scores[doc] = finish(s, q.length);
          }
        }
        run.set(query.id, topKEntry(scores, ids, k, cands));
      }
      progress.score(qi + 1);
      if (qi % 16 === 15) await yieldToEventLoop();
    }
    return run;
  }

  /** The onnx module when this much work (multiply-adds) should go to onnxruntime, else undefined (JS). */
  private async onnxFor(work: number): Promise<MaxSimOnnx | undefined> {
    if (this.scoring === "js") return undefined;
    if (this.scoring === "onnx") return requireOnnx();
    return work >= MAXSIM_ONNX_MIN_WORK ? maybeOnnx() : undefined;
  }

  /**
   * Every query against every usable document on onnxruntime: the documents are packed once
   * (releasing their unpacked rows as they go), then blocks of queries are scored chunk by chunk.
   */
  private async rankAllOnnx(
    onnx: MaxSimOnnx,
    queryIds: readonly string[],
    queryRows: readonly { data: Float32Array; length: number }[],
    docRows: ({ data: Float32Array; length: number } | undefined)[],
    all: Int32Array,
    ids: readonly string[],
    dim: number,
    k: number,
    run: Run,
    progress: Progress,
    finish: (score: number, queryRows: number) => number,
  ): Promise<void> {
    const chunks = onnx.packChunks(all, docRows, dim, { release: true });
    // Entries in query order; queries without rows keep the empty result.
    for (const id of queryIds) run.set(id, new Map());
    const active = queryRows.flatMap((q, i) => (q.length > 0 ? [i] : []));
    const ends = onnx.queryGroups(active.map((i) => queryRows[i]!.length));
    const n = ids.length;
    const scores = new Float64Array(Math.min(onnx.QUERY_BATCH, Math.max(1, active.length)) * n);
    let start = 0;
    for (const end of ends) {
      const group = active.slice(start, end);
      const block = onnx.queryBlock(group.map((i) => queryRows[i]!), dim);
      await onnx.scoreBlock(block, chunks, dim, (i, doc, s) => {
        checkScore(s, this.name, queryIds[group[i]!]!, ids[doc]!);
        scores[i * n + doc] = finish(s, queryRows[group[i]!]!.length);
      });
      group.forEach((qi, i) => run.set(queryIds[qi]!, topKEntry(scores.subarray(i * n, (i + 1) * n), ids, k, all)));
      progress.score(group[group.length - 1]! + 1);
      start = end;
    }
    progress.score(queryIds.length);
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
