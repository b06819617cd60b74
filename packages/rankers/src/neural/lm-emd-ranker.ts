/**
 * LM-EMD: documents ranked by the entropic optimal-transport (Sinkhorn) distance between the
 * query's and the document's contextual token embeddings, with uniform or idf-weighted marginals.
 */
import type { Encoder } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import type { BatchedSinkhornResult, OtBackend, SinkhornDomain, TokenBatch } from "@crossrank/ot";
import type { RankingInput, RankOptions } from "../ranker.js";
import { type CandidateMap, type CandidateRanker, checkInput, checkScore, Progress, topKEntry } from "./common.js";
import { countFrequencies, type IdfTable } from "./idf.js";
import { sharedEncoder, type TokenRows, unitRows } from "./memo.js";
import { checkEncoderSettings, documentText, encoderNameParts, type NeuralPreset, type NeuralRankerOptions } from "./settings.js";
import { encodeTask, selectRows } from "./token-ranker.js";

/** Options of {@link LmEmdRanker} (and of {@link explainPair}). */
export interface LmEmdOptions {
  /** Entropic regularisation γ > 0 in cost units (cosine costs lie in [0, 2]). Default 0.1, the study's. */
  gamma?: number;
  /** Sinkhorn iterations, all run (no early stop). Default 100; 500 under the faithful preset. */
  iterations?: number;
  /** Whether CLS/SEP rows carry mass. Default true: the study's marginals are uniform over every non-pad token. */
  includeSpecial?: boolean;
  /** Where the transport problems are solved (`@crossrank/ot` batched backends). Default "auto". */
  otBackend?: OtBackend;
  /**
   * Sinkhorn iteration domain. Default "auto" (kernel, with pairs whose kernel result is unreliable
   * re-solved in log domain); "kernel" under the faithful preset, as the study.
   */
  domain?: SinkhornDomain;
  /**
   * The transport marginals. "uniform" (default, the study's): every token row carries the same
   * mass. "idf": each row carries its token's smoothed inverse document frequency,
   * ln((N + 1) / (df + 1)) + 1, normalised per text — Word Mover's Distance weighting (Kusner et
   * al. 2015), so frequent tokens (CLS/SEP, function words, common subwords) move little mass and
   * rare, content-bearing ones dominate the distance. The frequencies are counted per side, over
   * that side's own texts (document tokens over every document of the input, query tokens over
   * every query), because the two sides are in different languages: one side's counts say nothing
   * about the other's tokens. Not for {@link explainPair}, which sees no collection.
   */
  marginals?: LmEmdMarginals;
}

/** See {@link LmEmdOptions.marginals}. */
export type LmEmdMarginals = "uniform" | "idf";

/** Options of {@link LmEmdRanker}. */
export interface LmEmdRankerOptions extends NeuralRankerOptions, LmEmdOptions {}

/** The LM-EMD parameters after the preset's defaults. */
export interface ResolvedLmEmd {
  gamma: number;
  iterations: number;
  includeSpecial: boolean;
  otBackend: OtBackend;
  domain: SinkhornDomain;
  marginals: LmEmdMarginals;
}

export const DEFAULT_GAMMA = 0.1;
/** Iterations of the default preset: see the README ("lm-emd"), measured on cosine token costs. */
export const DEFAULT_ITERATIONS = 100;
/** The study's fixed iteration count. */
export const FAITHFUL_ITERATIONS = 500;

const OT_BACKENDS: readonly string[] = ["auto", "onnx", "webasm", "cpu", "webgpu", "js"];

/** Applies the preset's defaults and checks the values (one-line Errors). */
export function resolveLmEmd(options: LmEmdOptions & { preset?: NeuralPreset }, ranker = "lm-emd"): ResolvedLmEmd {
  const faithful = options.preset === "faithful";
  const gamma = options.gamma ?? DEFAULT_GAMMA;
  const iterations = options.iterations ?? (faithful ? FAITHFUL_ITERATIONS : DEFAULT_ITERATIONS);
  const includeSpecial = options.includeSpecial ?? true;
  const otBackend = options.otBackend ?? "auto";
  const domain = options.domain ?? (faithful ? "kernel" : "auto");
  const marginals = options.marginals ?? "uniform";
  if (typeof gamma !== "number" || !Number.isFinite(gamma) || gamma <= 0) throw new Error(`ranker ${ranker}: gamma must be a number > 0, got ${String(gamma)}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`ranker ${ranker}: iterations must be a whole number >= 1, got ${String(iterations)}`);
  if (typeof includeSpecial !== "boolean") throw new Error(`ranker ${ranker}: includeSpecial must be a boolean, got ${JSON.stringify(includeSpecial)}`);
  if (!OT_BACKENDS.includes(otBackend)) throw new Error(`ranker ${ranker}: otBackend must be one of ${OT_BACKENDS.join(", ")}, got ${JSON.stringify(otBackend)}`);
  if (domain !== "auto" && domain !== "kernel" && domain !== "log") throw new Error(`ranker ${ranker}: domain must be "auto", "kernel" or "log", got ${JSON.stringify(domain)}`);
  if (marginals !== "uniform" && marginals !== "idf") throw new Error(`ranker ${ranker}: marginals must be "uniform" or "idf", got ${JSON.stringify(marginals)}`);
  return { gamma, iterations, includeSpecial, otBackend, domain, marginals };
}

/**
 * Padded document floats per `batchedSinkhorn` call (256 MiB): all candidates of a query go into
 * one call unless their padded token tensor would exceed this.
 */
const MAX_BATCH_FLOATS = 2 ** 26;

/** Documents packed for the solver: batches of length-sorted documents and which document each item is. */
interface DocChunk {
  batch: TokenBatch;
  docs: Int32Array;
}

/**
 * LM-EMD as a ranker: score = −Σ C⊙P, the negated transport cost of the Sinkhorn plan P between
 * the query's and the document's token embeddings, with C = 1 − cosine of L2-normalised token
 * vectors and marginals over every non-padding token (CLS/SEP included unless
 * `includeSpecial: false`): uniform by default, or with `marginals: "idf"` each token's smoothed
 * idf normalised per text (WMD-style weighting). The idf tables are counted once per call, one
 * per side: document tokens over all of `input.documents` (candidates or not — idf is a property
 * of the collection; documents a reranker does not encode are only tokenized), query tokens over
 * all of `input.queries`. They are not kept past the call. All candidates of one query are solved
 * in one `batchedSinkhorn` call (the query broadcast against them), split only when their padded
 * tensor exceeds 256 MiB.
 *
 * Presets: "faithful" is the study's protocol (kernel domain, exactly 500 iterations, γ 0.1);
 * "default" runs 100 iterations in the "auto" domain (kernel, unreliable pairs re-solved in log
 * domain). Either way a non-finite score is an error, never a NaN in the run.
 */
export class LmEmdRanker implements CandidateRanker {
  readonly name: string;
  readonly params: Readonly<ResolvedLmEmd>;
  private readonly settings: LmEmdRankerOptions;

  constructor(options: LmEmdRankerOptions) {
    checkEncoderSettings(options, "lm-emd");
    this.params = resolveLmEmd(options);
    this.settings = { ...options };
    const p = this.params;
    const parts = [...encoderNameParts(options), `gamma=${p.gamma}`, `iterations=${p.iterations}`];
    if (!p.includeSpecial) parts.push("includeSpecial=false");
    if (options.marginals !== undefined) parts.push(`marginals=${p.marginals}`);
    if (options.domain !== undefined) parts.push(`domain=${p.domain}`);
    if (options.otBackend !== undefined) parts.push(`otBackend=${p.otBackend}`);
    this.name = `lm-emd(${parts.join(",")})`;
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
    const ot = await loadOt();
    const task = await encodeTask(shared, input, candidates, progress);
    const { includeSpecial } = this.params;
    // idf marginals: one table per side, counted once for this call (every query reuses them).
    const idf = this.params.marginals === "idf" ? await idfTables(shared.encoder, input, task.queries, task.documents) : undefined;
    const docRows = task.documents.map((t) => (t === undefined ? undefined : { ...selectRows(t, includeSpecial), ...(idf === undefined ? {} : { weights: idf.documents.weights(t, includeSpecial) }) }));
    const dim = task.queries[0]!.dim;
    const ids = documents.map((d) => d.id);
    // Every query sees the same documents without candidates: pack them once.
    const allChunks = candidates === undefined ? packDocuments(ot, Int32Array.from({ length: documents.length }, (_, i) => i), docRows, dim) : undefined;
    const scores = new Float64Array(documents.length);
    for (let qi = 0; qi < queries.length; qi++) {
      const query = queries[qi]!;
      const q = selectRows(task.queries[qi]!, includeSpecial);
      const qWeights = idf === undefined || q.length === 0 ? undefined : idf.queries.weights(task.queries[qi]!, includeSpecial);
      const chunks = allChunks ?? packDocuments(ot, candidates!.get(query.id) ?? new Int32Array(0), docRows, dim);
      if (q.length === 0) {
        run.set(query.id, new Map());
      } else {
        const qBatch = ot.tokenBatch([{ embeddings: q.data, ...(qWeights === undefined ? {} : { weights: qWeights }) }], dim);
        const scored: number[] = [];
        for (const chunk of chunks) {
          const costs = await solvePairs(ot, this.params, qBatch, chunk.batch, false);
          chunk.docs.forEach((doc, i) => {
            const s = -costs.costs[i]!;
            checkScore(s, this.name, query.id, ids[doc]!, this.params.domain === "kernel" ? ' (the kernel-domain iteration broke down: use domain "auto" or a larger gamma)' : "");
            scores[doc] = s;
            scored.push(doc);
          });
        }
        run.set(query.id, topKEntry(scores, ids, k, Int32Array.from(scored)));
      }
      progress.score(qi + 1);
    }
    return run;
  }
}

type Ot = typeof import("@crossrank/ot");

/**
 * The two idf tables of one call: document frequencies of document tokens over every document of
 * the input, of query tokens over every query — per side, because the languages differ.
 */
async function idfTables(
  encoder: Encoder,
  input: RankingInput,
  queryRows: readonly TokenRows[],
  docRows: readonly (TokenRows | undefined)[],
): Promise<{ queries: IdfTable; documents: IdfTable }> {
  const documents = await countFrequencies(encoder, input.documents.map(documentText), docRows);
  const queries = await countFrequencies(encoder, input.queries.map((q) => q.text), queryRows);
  return { queries, documents };
}

/** `@crossrank/ot`, imported on first use (it loads sharp and the solver backends' modules). */
function loadOt(): Promise<Ot> {
  return import("@crossrank/ot");
}

function solvePairs(ot: Ot, p: ResolvedLmEmd, queries: TokenBatch, documents: TokenBatch, returnPlans: boolean): Promise<BatchedSinkhornResult> {
  // The rows are unit vectors already (normalised once when encoded), so the solver's own
  // normalisation would only repeat that work: cost = 1 − x·y.
  return ot.batchedSinkhorn(queries, documents, { reg: p.gamma, iterations: p.iterations, backend: p.otBackend, domain: p.domain, normalize: false, returnPlans });
}

/**
 * Packs the documents `docs` (those with at least one row) into token batches, shortest first so
 * that each batch is padded little, cutting a new batch only when the padded tensor would exceed
 * {@link MAX_BATCH_FLOATS}. Rows with `weights` (idf marginals) pass them on as the documents'
 * marginals; without, the batch is uniform.
 */
function packDocuments(ot: Ot, docs: Int32Array, rows: readonly ({ data: Float32Array; length: number; weights?: Float32Array } | undefined)[], dim: number): DocChunk[] {
  const usable = Array.from(docs).filter((d) => (rows[d]?.length ?? 0) > 0);
  usable.sort((a, b) => rows[a]!.length - rows[b]!.length || a - b);
  const chunks: DocChunk[] = [];
  let start = 0;
  while (start < usable.length) {
    let end = start + 1;
    // Sorted ascending, so the batch's padded length is its last document's.
    while (end < usable.length && (end - start + 1) * rows[usable[end]!]!.length * dim <= MAX_BATCH_FLOATS) end++;
    const part = usable.slice(start, end);
    chunks.push({
      batch: ot.tokenBatch(
        part.map((d) => {
          const { data, weights } = rows[d]!;
          return weights === undefined ? { embeddings: data } : { embeddings: data, weights };
        }),
        dim,
      ),
      docs: Int32Array.from(part),
    });
    start = end;
  }
  return chunks;
}

/** What {@link explainPair} returns: the matrices an explanation heat map draws. */
export interface PairExplanation {
  /** Token strings of the rows (query) and columns (document) that carry mass. */
  queryTokens: string[];
  docTokens: string[];
  /** [n, m] row-major, C = 1 − cosine of the token vectors; n = queryTokens.length, m = docTokens.length. */
  cost: Float32Array;
  /** [n, m] row-major transport plan P (sums to 1). */
  plan: Float32Array;
  /** Σ C⊙P: the LM-EMD distance (the ranker's score is its negation). */
  distance: number;
  /** The batched backend that solved it. */
  backend: string;
}

/**
 * The LM-EMD cost matrix, transport plan and distance between one query and one document, for
 * explanations (the CLI's `explain` draws them with `heatmapSvg`). Same parameters and defaults as
 * the ranker (`preset` picks the iteration count and domain defaults); the encoder is used
 * directly, without the memo.
 *
 * @throws Error when a side has no token with `includeSpecial: false`, the distance is not finite,
 *   or `marginals` is "idf" (document frequencies need a collection; a single pair has none).
 */
export async function explainPair(encoder: Encoder, query: string, doc: string, options: LmEmdOptions & { preset?: NeuralPreset } = {}): Promise<PairExplanation> {
  const p = resolveLmEmd(options, "explainPair");
  if (p.marginals !== "uniform") throw new Error(`explainPair: marginals "${p.marginals}" needs a collection to count document frequencies over; a single pair has none (use "uniform")`);
  const [qe, de] = await encoder.encodeTokens([query, doc]);
  if (qe === undefined || de === undefined) throw new Error("explainPair: the encoder returned fewer than 2 results");
  const pick = (e: { text: string; tokens: string[]; special: boolean[]; embeddings: Float32Array; dim: number }, what: string) => {
    const rows = unitRows(e.embeddings, e.special, e.dim, e.text);
    const kept = selectRows(rows, p.includeSpecial);
    if (kept.length === 0) throw new Error(`explainPair: the ${what} has no content token (includeSpecial is false)`);
    const tokens = e.tokens.filter((_, i) => p.includeSpecial || !e.special[i]);
    return { kept, tokens };
  };
  const q = pick(qe, "query");
  const d = pick(de, "document");
  const dim = qe.dim;
  const n = q.kept.length;
  const m = d.kept.length;
  const cost = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += q.kept.data[i * dim + k]! * d.kept.data[j * dim + k]!;
      cost[i * m + j] = 1 - s;
    }
  }
  const ot = await loadOt();
  const result = await solvePairs(ot, p, ot.tokenBatch([{ embeddings: q.kept.data }], dim), ot.tokenBatch([{ embeddings: d.kept.data }], dim), true);
  const distance = result.costs[0]!;
  if (!Number.isFinite(distance)) throw new Error(`explainPair: the distance is ${distance}${p.domain === "kernel" ? ' (the kernel-domain iteration broke down: use domain "auto")' : ""}`);
  return { queryTokens: q.tokens, docTokens: d.tokens, cost, plan: result.plans![0]!, distance, backend: result.backend };
}
