/**
 * Negative mining: BM25-retrieved negatives (CL-ReLKT's warmup), online hard / semi-hard mining
 * against re-encoded candidates (CL-ReLKT's teacher stage), and in-batch negatives.
 */
import { type AnalyzerOptions, Bm25Index, createAnalyzer } from "@crossrank/rankers";
import type { Rng } from "./rng.js";

/** A query or document for {@link bm25Negatives}. With a title, `title + "\n" + text` is indexed. */
export interface TextItem {
  id: string;
  text: string;
  title?: string;
}

/** Options of {@link bm25Negatives}. */
export interface Bm25NegativesOptions {
  /** Negatives per query (at most; fewer when BM25 finds fewer). */
  count: number;
  /** The first `skipTop` hits are dropped whatever they are (default 1: CL-ReLKT skips the top hit). */
  skipTop?: number;
  /** True for documents that must not be negatives of the query (its gold document or passages of it). */
  exclude?: (queryId: string, docId: string) => boolean;
  /** Language tag of the documents (analyzer locale); queries use it too unless `queryLang` is given. */
  lang?: string;
  /** Language tag of the queries. */
  queryLang?: string;
  /** Other analyzer settings (shared by documents and queries). */
  analyzer?: Omit<AnalyzerOptions, "lang">;
  /** BM25 parameters (default Okapi k1 1.2, b 0.75). */
  k1?: number;
  b?: number;
  /** A ready index of `documents` (then `lang`, `analyzer`, `k1`, `b` are not used for documents). */
  index?: Bm25Index;
}

/**
 * BM25 negatives per query (CL-ReLKT's warmup: Okapi BM25 with default parameters over the
 * paragraphs, the question as query, skip the top hit, keep the next 3 paragraphs not from the gold
 * document): the hits in rank order, minus the first `skipTop`, minus excluded documents, the first
 * `count` of what is left. Returns query id → document ids (every query present, possibly empty).
 */
export function bm25Negatives(queries: readonly TextItem[], documents: readonly TextItem[], options: Bm25NegativesOptions): Map<string, string[]> {
  const { count } = options;
  const skipTop = options.skipTop ?? 1;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`bm25Negatives: count must be an integer >= 0, got ${String(count)}`);
  if (!Number.isInteger(skipTop) || skipTop < 0) throw new RangeError(`bm25Negatives: skipTop must be an integer >= 0, got ${String(skipTop)}`);
  const docAnalyzer = createAnalyzer({ ...(options.analyzer ?? {}), ...(options.lang !== undefined ? { lang: options.lang } : {}) });
  const index =
    options.index ??
    Bm25Index.build(
      documents.map((d) => (d.title !== undefined ? { id: d.id, text: d.text, title: d.title } : { id: d.id, text: d.text })),
      { analyzer: docAnalyzer, ...(options.k1 !== undefined ? { k1: options.k1 } : {}), ...(options.b !== undefined ? { b: options.b } : {}) },
    );
  const queryLang = options.queryLang ?? options.lang;
  const queryAnalyzer = options.index !== undefined && options.queryLang === undefined ? index.analyzer : createAnalyzer({ ...(options.analyzer ?? {}), ...(queryLang !== undefined ? { lang: queryLang } : {}) });
  const exclude = options.exclude ?? (() => false);

  const out = new Map<string, string[]>();
  for (const q of queries) {
    const terms = queryAnalyzer.analyze(q.text);
    const picked: string[] = [];
    if (count > 0) {
      let k = Math.min(index.size, skipTop + count + 8);
      for (;;) {
        const hits = index.searchTerms(terms, Math.max(1, k));
        picked.length = 0;
        for (let r = skipTop; r < hits.length && picked.length < count; r++) {
          const id = (hits[r] as { id: string }).id;
          if (!exclude(q.id, id)) picked.push(id);
        }
        // Enough, or BM25 has nothing more (fewer hits than asked, or the whole collection asked).
        if (picked.length >= count || hits.length < k || k >= index.size) break;
        k = Math.min(index.size, 2 * k);
      }
    }
    out.set(q.id, picked);
  }
  return out;
}

/** Distance of online mining, as in the triplet loss: "dot" 1 − a·x (CL-ReLKT), "cosine" 1 − cos, "euclidean" |a − x|. */
export type MiningDistance = "dot" | "cosine" | "euclidean";

/** Options of {@link batchHardNegatives}. */
export interface MiningOptions {
  /** Row width. */
  d: number;
  /** Triplet margin: semi-hard negatives lie in (d_ap, d_ap + margin). */
  margin: number;
  /** Default "dot" (1 − a·x, CL-ReLKT). */
  distance?: MiningDistance;
  /** True for candidates that must not be negatives of an anchor (its positive, passages of its gold document). */
  exclude?: (anchor: number, candidate: number) => boolean;
  /** Hard negatives (d_an < d_ap) kept per anchor (default 1). */
  hard?: number;
  /** Semi-hard negatives (d_ap < d_an < d_ap + margin) kept per anchor (default 1). */
  semiHard?: number;
  /**
   * Which of the qualifying candidates are kept: "hardest" (default: smallest d_an first; ties by
   * candidate index) or "random" (uniformly, needs `rng`).
   */
  select?: "hardest" | "random";
  rng?: Rng;
}

/** One mined negative. */
export interface MinedNegative {
  /** Row of the anchor (and of its positive). */
  anchor: number;
  /** Row of the candidate. */
  candidate: number;
  kind: "hard" | "semi-hard";
  /** d(anchor, candidate). */
  distance: number;
  /** d(anchor, positive). */
  positiveDistance: number;
}

/**
 * Online negative mining (CL-ReLKT's teacher stage, after FaceNet): for each anchor a_i with
 * positive p_i and every candidate c_j not excluded, with d_ap = D(a_i, p_i) and d_an = D(a_i, c_j),
 * c_j is hard when d_an < d_ap and semi-hard when d_ap < d_an < d_ap + margin. Keeps up to
 * `hard` hard and `semiHard` semi-hard negatives per anchor (default one each).
 *
 * @param anchors [n, d] row-major; `positives` [n, d] (row i is the positive of anchor i); `candidates` [m, d]
 * @returns the negatives, by anchor, hard ones first
 */
export function batchHardNegatives(anchors: Float32Array, positives: Float32Array, candidates: Float32Array, options: MiningOptions): MinedNegative[] {
  const { d, margin } = options;
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`batchHardNegatives: d must be a positive integer, got ${String(d)}`);
  if (anchors.length % d !== 0 || candidates.length % d !== 0) throw new Error(`batchHardNegatives: anchors (${anchors.length}) and candidates (${candidates.length}) must be multiples of d = ${d}`);
  if (positives.length !== anchors.length) throw new Error(`batchHardNegatives: ${positives.length / d} positives for ${anchors.length / d} anchors`);
  if (!Number.isFinite(margin) || margin < 0) throw new RangeError(`batchHardNegatives: margin must be a finite number >= 0, got ${String(margin)}`);
  const distance = options.distance ?? "dot";
  const maxHard = options.hard ?? 1;
  const maxSemi = options.semiHard ?? 1;
  const select = options.select ?? "hardest";
  if (select === "random" && options.rng === undefined) throw new Error('batchHardNegatives: select "random" needs rng');
  const n = anchors.length / d;
  const m = candidates.length / d;
  const dist = distanceFunction(distance, d);
  const candidateNorms = distance === "cosine" ? rowNorms(candidates, m, d) : undefined;

  const out: MinedNegative[] = [];
  const hard: { j: number; dan: number }[] = [];
  const semi: { j: number; dan: number }[] = [];
  for (let i = 0; i < n; i++) {
    const dap = dist(anchors, i, positives, i);
    const anchorNorm = distance === "cosine" ? norm(anchors, i, d) : 0;
    hard.length = 0;
    semi.length = 0;
    for (let j = 0; j < m; j++) {
      if (options.exclude?.(i, j)) continue;
      const dan = distance === "cosine" ? cosineDistance(anchors, i, candidates, j, d, anchorNorm, candidateNorms?.[j] ?? 0) : dist(anchors, i, candidates, j);
      if (dan < dap) hard.push({ j, dan });
      else if (dan > dap && dan < dap + margin) semi.push({ j, dan });
    }
    for (const [list, max, kind] of [
      [hard, maxHard, "hard"],
      [semi, maxSemi, "semi-hard"],
    ] as const) {
      const chosen = choose(list, max, select, options.rng);
      for (const c of chosen) out.push({ anchor: i, candidate: c.j, kind, distance: c.dan, positiveDistance: dap });
    }
  }
  return out;
}

function choose(list: { j: number; dan: number }[], max: number, select: "hardest" | "random", rng: Rng | undefined): { j: number; dan: number }[] {
  if (max <= 0 || list.length === 0) return [];
  if (select === "random") {
    const pool = list.slice();
    const out: { j: number; dan: number }[] = [];
    const r = rng as Rng;
    for (let k = 0; k < Math.min(max, pool.length); k++) {
      const pick = k + Math.floor(r.next() * (pool.length - k));
      const t = pool[k] as { j: number; dan: number };
      pool[k] = pool[pick] as { j: number; dan: number };
      pool[pick] = t;
      out.push(pool[k] as { j: number; dan: number });
    }
    return out;
  }
  return list
    .slice()
    .sort((a, b) => a.dan - b.dan || a.j - b.j)
    .slice(0, max);
}

type RowDistance = (a: Float32Array, i: number, b: Float32Array, j: number) => number;

function distanceFunction(distance: MiningDistance, d: number): RowDistance {
  switch (distance) {
    case "dot":
      return (a, i, b, j) => 1 - dot(a, i, b, j, d);
    case "euclidean":
      return (a, i, b, j) => {
        let s = 0;
        for (let k = 0; k < d; k++) {
          const diff = (a[i * d + k] as number) - (b[j * d + k] as number);
          s += diff * diff;
        }
        return Math.sqrt(s);
      };
    case "cosine":
      return (a, i, b, j) => cosineDistance(a, i, b, j, d, norm(a, i, d), norm(b, j, d));
    default:
      throw new Error(`batchHardNegatives: distance must be "dot", "cosine" or "euclidean", got ${JSON.stringify(distance)}`);
  }
}

function dot(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0;
  const ai = i * d;
  const bj = j * d;
  for (let k = 0; k < d; k++) s += (a[ai + k] as number) * (b[bj + k] as number);
  return s;
}

function norm(a: Float32Array, i: number, d: number): number {
  return Math.sqrt(dot(a, i, a, i, d));
}

function rowNorms(a: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = norm(a, i, d);
  return out;
}

/** 1 − cos (a zero row has cosine 0, distance 1, as in the triplet loss). */
function cosineDistance(a: Float32Array, i: number, b: Float32Array, j: number, d: number, na: number, nb: number): number {
  if (na === 0 || nb === 0) return 1;
  return 1 - dot(a, i, b, j, d) / (na * nb);
}

/**
 * In-batch negatives: for row i of a batch whose rows have positives `keys` (e.g. document ids),
 * the rows j ≠ i whose positive is a different document (a duplicate of i's positive is not a
 * negative) and not excluded. These are the negatives the in-batch softmax (multiple negatives
 * ranking) loss uses for query i.
 */
export function inBatchNegatives(keys: readonly string[], exclude?: (i: number, j: number) => boolean): number[][] {
  return keys.map((ki, i) => {
    const out: number[] = [];
    keys.forEach((kj, j) => {
      if (j !== i && kj !== ki && !exclude?.(i, j)) out.push(j);
    });
    return out;
  });
}

/**
 * One random in-batch negative per row (CL-ReLKT's warmup after epoch 3: "a random other row"):
 * a uniformly drawn row j with a different key, or −1 when there is none. One RNG draw per row
 * that has a candidate.
 */
export function randomInBatchNegatives(keys: readonly string[], rng: Rng, exclude?: (i: number, j: number) => boolean): Int32Array {
  const lists = inBatchNegatives(keys, exclude);
  const out = new Int32Array(keys.length).fill(-1);
  lists.forEach((list, i) => {
    if (list.length > 0) out[i] = list[Math.floor(rng.next() * list.length)] as number;
  });
  return out;
}
