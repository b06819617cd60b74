/**
 * LM-EMD: documents ranked by the entropic optimal-transport (Sinkhorn) distance between the
 * query's and the document's contextual token embeddings, with uniform or idf-weighted marginals.
 */
import type { Encoder } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import type { Query } from "@crossrank/datasets";
import type { BatchedSinkhornResult, OtBackend, SinkhornDomain, TokenBatch, TokenItem, TokenPairs } from "@crossrank/ot";
import { documentIds } from "../collection-parts.js";
import type { RankingInput, RankOptions } from "../ranker.js";
import { type CandidateMap, type CandidateRanker, checkInput, checkScore, positions, Progress, topKEntry } from "./common.js";
import { countFrequencies, type IdfTable } from "./idf.js";
import { idfTable, type SharedEncoder, sharedEncoder, TableTokenRows, type TokenRows, unitRows } from "./memo.js";
import { checkEncoderSettings, documentText, encoderNameParts, type NeuralPreset, type NeuralRankerOptions } from "./settings.js";
import { encodeTask, selectRows, tokenCounts } from "./token-ranker.js";

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

const OT_BACKENDS: readonly string[] = ["auto", "onnx", "webasm", "cpu", "webgpu", "webgl", "js"];

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
 * Pairs per `batchedSinkhornPairs` call: queries are taken in order until their candidates reach
 * this many pairs (a query with more, e.g. every document of a collection, is a call of its own).
 * Enough to fill the solver's batches with pairs of similar lengths across queries; small enough
 * that the scores of one call stay a few MB.
 */
export const LM_EMD_GROUP_PAIRS = 4096;

/**
 * LM-EMD as a ranker: score = −Σ C⊙P, the negated transport cost of the Sinkhorn plan P between
 * the query's and the document's token embeddings, with C = 1 − cosine of L2-normalised token
 * vectors and marginals over every non-padding token (CLS/SEP included unless
 * `includeSpecial: false`): uniform by default, or with `marginals: "idf"` each token's smoothed
 * idf normalised per text (WMD-style weighting). The idf tables are counted once per side: document
 * tokens over all of `input.documents` (candidates or not — idf is a property of the collection;
 * documents a reranker does not encode are only tokenized), query tokens over all of
 * `input.queries`; they are kept in the process-wide memo (./memo.ts), keyed by the encoder's
 * vector settings and the texts, so later calls over the same collection reuse them.
 *
 * The transport problems go to `batchedSinkhornPairs` (@crossrank/ot) with each text's rows given
 * once, several queries' candidates per call (up to {@link LM_EMD_GROUP_PAIRS} pairs): the solver
 * sorts the pairs by length and pads each batch only to its own longest document. A pair's score is
 * the one a call with that pair alone would give, up to float32 rounding.
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

  tokenCounts(texts: readonly string[]): Promise<number[]> {
    return tokenCounts(this.settings, texts);
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
    // idf marginals: one table per side, counted once per collection (kept across calls).
    const idf = this.params.marginals === "idf" ? await idfTables(shared, input, task.queries, task.documents) : undefined;
    // Each text's solver item once: its rows (special ones in or out) and idf weights.
    const docItem = new Int32Array(documents.length).fill(-1);
    const docItems: TokenItem[] = [];
    task.documents.forEach((t, d) => {
      if (t === undefined) return;
      const item = solverItem(t, includeSpecial, idf?.documents);
      if (item === undefined) return;
      docItem[d] = docItems.length;
      docItems.push(item);
    });
    const queryItems = task.queries.map((t) => solverItem(t, includeSpecial, idf?.queries));
    const dim = task.queries[0]!.dim;
    const ids = documentIds(documents);
    const all = candidates === undefined ? positions(documents.length) : undefined;
    const scores = new Float64Array(documents.length);
    const hint = this.params.domain === "kernel" ? ' (the kernel-domain iteration broke down: use domain "auto" or a larger gamma)' : "";
    let qi = 0;
    while (qi < queries.length) {
      // A group of queries: taken in order until their pairs reach LM_EMD_GROUP_PAIRS.
      const groupQueries: Query[] = [];
      const groupItems: TokenItem[] = [];
      const pairQuery: number[] = [];
      const pairDoc: number[] = [];
      /** Per query of the group, its scored documents in pair order (undefined: the query has no row). */
      const docsOf: (Int32Array | undefined)[] = [];
      while (qi < queries.length && (groupQueries.length === 0 || pairQuery.length < LM_EMD_GROUP_PAIRS)) {
        const query = queries[qi]!;
        const item = queryItems[qi];
        const usable: number[] = [];
        if (item !== undefined) {
          const slot = groupItems.length;
          groupItems.push(item);
          for (const doc of all ?? candidates!.get(query.id) ?? []) {
            if (docItem[doc]! < 0) continue; // not encoded (never: candidates are), or no row takes part
            usable.push(doc);
            pairQuery.push(slot);
            pairDoc.push(docItem[doc]!);
          }
        }
        groupQueries.push(query);
        docsOf.push(item === undefined ? undefined : Int32Array.from(usable));
        qi++;
      }
      const costs = pairQuery.length === 0 ? new Float64Array(0) : (await solvePairs(ot, this.params, { queries: groupItems, documents: docItems, query: pairQuery, document: pairDoc, dim })).costs;
      let pair = 0;
      groupQueries.forEach((query, g) => {
        const docs = docsOf[g];
        if (docs === undefined) {
          run.set(query.id, new Map());
          return;
        }
        for (const doc of docs) {
          const s = -costs[pair++]!;
          checkScore(s, this.name, query.id, ids[doc]!, hint);
          scores[doc] = s;
        }
        run.set(query.id, topKEntry(scores, ids, k, docs));
      });
      progress.score(qi);
    }
    return run;
  }
}

/**
 * The solver item of one text: the rows that take part (`selectRows`) with their idf weights when
 * a table is given; undefined when no row takes part (a text of special tokens only, with
 * `includeSpecial: false`).
 */
function solverItem(t: TokenRows, includeSpecial: boolean, idf: IdfTable | undefined): TokenItem | undefined {
  const weights = idf === undefined ? {} : { weights: idf.weights(t, includeSpecial) };
  if (t instanceof TableTokenRows) {
    // A static encoder's text: its slots of the encoder's row table, no rows copied.
    const flags = t.table.special;
    const rows = includeSpecial ? t.slots : t.slots.filter((slot) => flags[slot] === 0);
    return rows.length === 0 ? undefined : { table: t.table.data, rows, ...weights };
  }
  const rows = selectRows(t, includeSpecial);
  return rows.length === 0 ? undefined : { embeddings: rows.data, ...weights };
}

type Ot = typeof import("@crossrank/ot");

/**
 * The two idf tables of one call: document frequencies of document tokens over every document of
 * the input, of query tokens over every query — per side, because the languages differ. Counted
 * on the first call over these texts and kept in the memo (./memo.ts `idfTable`) for later ones.
 */
async function idfTables(
  shared: SharedEncoder,
  input: RankingInput,
  queryRows: readonly TokenRows[],
  docRows: readonly (TokenRows | undefined)[],
): Promise<{ queries: IdfTable; documents: IdfTable }> {
  const documents = await idfTable(shared, input.documents.map(documentText), docRows);
  const queries = await idfTable(
    shared,
    input.queries.map((q) => q.text),
    queryRows,
  );
  return { queries, documents };
}

/** `@crossrank/ot`, imported on first use (it loads sharp and the solver backends' modules). */
function loadOt(): Promise<Ot> {
  return import("@crossrank/ot");
}

/** Costs of the pairs of a ragged problem (the ranker's path). */
function solvePairs(ot: Ot, p: ResolvedLmEmd, pairs: TokenPairs): Promise<BatchedSinkhornResult> {
  // The rows are unit vectors already (normalised once when encoded), so the solver's own
  // normalisation would only repeat that work: cost = 1 − x·y.
  return ot.batchedSinkhornPairs(pairs, { reg: p.gamma, iterations: p.iterations, backend: p.otBackend, domain: p.domain, normalize: false });
}

/** One pair with its plan (explainPair's path). */
function solvePair(ot: Ot, p: ResolvedLmEmd, queries: TokenBatch, documents: TokenBatch): Promise<BatchedSinkhornResult> {
  return ot.batchedSinkhorn(queries, documents, { reg: p.gamma, iterations: p.iterations, backend: p.otBackend, domain: p.domain, normalize: false, returnPlans: true });
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
  /** The marginals: each query row's and each document column's mass (each sums to 1; the plan's row and column sums at convergence). */
  queryMass: Float64Array;
  docMass: Float64Array;
  /** The batched backend that solved it. */
  backend: string;
}

/** Options of {@link explainPair}: the ranker's, and the document frequencies that idf marginals weigh tokens by. */
export interface ExplainPairOptions extends LmEmdOptions {
  preset?: NeuralPreset;
  /**
   * With marginals "idf": document frequencies of the collection's documents under this encoder
   * ({@link countDocumentFrequencies}), which weigh the document's tokens. Required for "idf".
   */
  documentFrequencies?: IdfTable;
  /**
   * With marginals "idf": frequencies over a set of queries for the query's tokens. Without them
   * the query's tokens carry equal mass (one query is no collection to count over).
   */
  queryFrequencies?: IdfTable;
  /** The query's and the document's languages, for an encoder with per-language adapters (X-MOD); ignored by others. */
  queryLang?: string;
  docLang?: string;
}

/**
 * Document frequencies of `texts` under `encoder`'s tokenizer (tokenized as the encoder would
 * truncate them, not encoded): what {@link explainPair}'s idf marginals take as `documentFrequencies`.
 */
export function countDocumentFrequencies(encoder: Encoder, texts: readonly string[]): Promise<IdfTable> {
  return countFrequencies(encoder, texts, []);
}

/**
 * The LM-EMD cost matrix, transport plan and distance between one query and one document, for
 * explanations (the CLI's `explain` draws them with `heatmapSvg`). Same parameters and defaults as
 * the ranker (`preset` picks the iteration count and domain defaults); the encoder is used
 * directly, without the memo.
 *
 * With `marginals: "idf"` each document token carries mass in proportion to its smoothed idf
 * under `documentFrequencies` (counted over the collection, as the ranker counts them), and each
 * query token under `queryFrequencies` when given, else equally.
 *
 * @throws Error when a side has no token with `includeSpecial: false`, the distance is not finite,
 *   or `marginals` is "idf" without `documentFrequencies` (a single pair is no collection).
 */
export async function explainPair(encoder: Encoder, query: string, doc: string, options: ExplainPairOptions = {}): Promise<PairExplanation> {
  const { documentFrequencies, queryFrequencies, queryLang, docLang, ...rest } = options;
  const p = resolveLmEmd(rest, "explainPair");
  if (p.marginals === "idf" && documentFrequencies === undefined) {
    throw new Error(`explainPair: marginals "idf" needs the document frequencies of a collection (option documentFrequencies, from countDocumentFrequencies); a single pair has none`);
  }
  const [qe, de] = await encoder.encodeTokens([query, doc], { languages: [queryLang, docLang] });
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
  // Each side's mass: idf-weighted where a table is given (marginals "idf"), else equal.
  const mass = (tokens: readonly string[], table: IdfTable | undefined) => {
    const w = Float64Array.from(tokens, (t) => (p.marginals === "idf" && table !== undefined ? table.idf(t) : 1));
    const total = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / total);
  };
  const queryMass = mass(q.tokens, queryFrequencies);
  const docMass = mass(d.tokens, documentFrequencies);
  const ot = await loadOt();
  // Uniform marginals are the solver's default (no weights), as the ranker solves them.
  const weighted = p.marginals === "idf";
  const result = await solvePair(
    ot,
    p,
    ot.tokenBatch([{ embeddings: q.kept.data, ...(weighted ? { weights: queryMass } : {}) }], dim),
    ot.tokenBatch([{ embeddings: d.kept.data, ...(weighted ? { weights: docMass } : {}) }], dim),
  );
  const distance = result.costs[0]!;
  if (!Number.isFinite(distance)) throw new Error(`explainPair: the distance is ${distance}${p.domain === "kernel" ? ' (the kernel-domain iteration broke down: use domain "auto")' : ""}`);
  return { queryTokens: q.tokens, docTokens: d.tokens, cost, plan: result.plans![0]!, distance, queryMass, docMass, backend: result.backend };
}
