/**
 * The training groups of the trainers that score a query's relevant document against negatives
 * (`trainLmEmdHead`, `trainPooledHead`, `trainCrossEncoderHead`): each epoch every pair becomes a
 * group, the relevant document first and `group − 1` negatives after it, pairs shuffled and cut
 * into batches.
 *
 * Documents are the pool's (`title + "\n" + text` when a title is given, as the rankers index
 * them), then the relevant documents not in it (keys: pool id, else the text); without a pool, the
 * pool is the distinct relevant documents. A query's relevant documents (by key and by text) are
 * never its negatives. "bm25" negatives are drawn each epoch from the query's top `bm25Depth` BM25
 * hits over the pool (mined once), topped up at random from the pool when BM25 finds too few;
 * "random" negatives are drawn uniformly from the pool.
 */
import { bm25Negatives, type TextItem } from "./negatives.js";
import { type Rng, shuffle } from "./rng.js";

/** A training example: a query and a document relevant to it (texts as the model sees them). */
export interface RelevancePair {
  query: string;
  relevant: string;
  /** Identifies the query (pairs with the same id share their relevant documents, none of which is a negative of the query). Default: the text. */
  queryId?: string;
  /** Identifies the relevant document among `pool` ids (so it is never its own query's negative). */
  relevantId?: string;
}

/** One group: the pair's index and its documents (indices into {@link RelevanceGroups.docs}), the relevant one first. */
export interface GroupSpec {
  pair: number;
  docs: number[];
}

/** Options of {@link relevanceGroups} (resolved: the trainers check and default them). */
export interface RelevanceGroupsOptions {
  /** Documents the negatives are drawn from. Default: the distinct relevant documents of the pairs. */
  pool?: readonly TextItem[] | undefined;
  /** Documents per group: the relevant one + (group − 1) negatives. */
  group: number;
  negatives: "bm25" | "random";
  /** BM25 hits each query's negatives are drawn from. */
  bm25Depth: number;
  /** Groups per batch. */
  batchSize: number;
  /** BM25 analyzer language of the pool documents (and of the queries unless `queryLang`). */
  lang?: string | undefined;
  queryLang?: string | undefined;
  /** False when no epoch runs: the pool is then not checked for enough negatives and BM25 mines nothing. */
  training: boolean;
  /** The trainer's name, which starts every error message. */
  caller: string;
}

/** What {@link relevanceGroups} returns. */
export interface RelevanceGroups {
  /** Document texts: the pool's, then the relevant documents not in it. */
  docs: string[];
  /** Indices into `docs` of the pool, each once. */
  pool: number[];
  /** Per pair, the index into `docs` of its relevant document. */
  relevantOf: number[];
  /** Per pair, its BM25 hits (indices into `docs`, relevant documents excluded; empty unless "bm25" and training). */
  mined: number[][];
  /** Negatives per source over the groups of the last `batches` call (bm25: BM25 hits; random: drawn, BM25 top-ups included). */
  counts: { bm25: number; random: number };
  /** The groups of an epoch, in batches of `batchSize` (`trainLoop`'s `batches`). */
  batches(epoch: number, rng: Rng): GroupSpec[][];
}

/** What identifies a pair's query: its id, else its text. */
export function queryKey(p: RelevancePair): string {
  return p.queryId !== undefined ? `id:${p.queryId}` : `text:${p.query}`;
}

/** The documents, pool, relevance and negatives of training groups over `pairs` (see the module comment). */
export function relevanceGroups(pairs: readonly RelevancePair[], options: RelevanceGroupsOptions): RelevanceGroups {
  const { caller, group, batchSize } = options;
  const docs: string[] = [];
  const docIndex = new Map<string, number>();
  const addDoc = (key: string, text: string): number => {
    let i = docIndex.get(key);
    if (i === undefined) {
      i = docs.length;
      docs.push(text);
      docIndex.set(key, i);
    }
    return i;
  };
  const pool: number[] = [];
  const inPool = new Set<number>();
  const addToPool = (i: number): void => {
    if (inPool.has(i)) return;
    inPool.add(i);
    pool.push(i);
  };
  for (const item of options.pool ?? []) {
    if (typeof item?.id !== "string" || typeof item.text !== "string") throw new Error(`${caller}: pool items need a string id and text`);
    addToPool(addDoc(`id:${item.id}`, item.title ? `${item.title}\n${item.text}` : item.text));
  }
  const relevantOf = pairs.map((p, k) => {
    if (typeof p?.query !== "string" || typeof p.relevant !== "string") throw new Error(`${caller}: pairs[${k}] needs query and relevant texts`);
    return addDoc(p.relevantId !== undefined ? `id:${p.relevantId}` : `text:${p.relevant}`, p.relevant);
  });
  if (options.pool === undefined) for (const i of relevantOf) addToPool(i);

  // What each query must not get as a negative: its relevant documents, by index and by text.
  const relevant = new Map<string, { docs: Set<number>; texts: Set<string> }>();
  pairs.forEach((p, k) => {
    const r = relevant.get(queryKey(p)) ?? { docs: new Set<number>(), texts: new Set<string>() };
    r.docs.add(relevantOf[k]!);
    r.texts.add(docs[relevantOf[k]!]!);
    relevant.set(queryKey(p), r);
  });
  const isRelevant = (pair: number, doc: number): boolean => {
    const r = relevant.get(queryKey(pairs[pair]!))!;
    return r.docs.has(doc) || r.texts.has(docs[doc]!);
  };
  const needed = group - 1;
  if (options.training) {
    pairs.forEach((_, k) => {
      let available = 0;
      for (const d of pool) if (!isRelevant(k, d) && ++available >= needed) break;
      if (available < needed) throw new Error(`${caller}: pairs[${k}] has ${available} possible negatives in the pool, a group of ${group} needs ${needed}`);
    });
  }

  // BM25 negatives, mined once over the pool.
  const mined: number[][] = pairs.map(() => []);
  if (options.training && options.negatives === "bm25") {
    const hits = bm25Negatives(
      pairs.map((p, k) => ({ id: String(k), text: p.query })),
      pool.map((d) => ({ id: String(d), text: docs[d]! })),
      {
        count: options.bm25Depth,
        skipTop: 0,
        exclude: (qid, did) => isRelevant(Number(qid), Number(did)),
        ...(options.lang !== undefined ? { lang: options.lang } : {}),
        ...(options.queryLang !== undefined ? { queryLang: options.queryLang } : {}),
      },
    );
    pairs.forEach((_, k) => (mined[k] = (hits.get(String(k)) ?? []).map(Number)));
  }

  const counts = { bm25: 0, random: 0 };
  // `taken` topped up by rejection sampling over the pool, which has enough negatives (checked above).
  const drawNegatives = (pair: number, taken: readonly number[], rng: Rng): number[] => {
    const out = [...taken];
    let guard = 0;
    while (out.length < needed) {
      const d = pool[rng.int(pool.length)]!;
      if (!isRelevant(pair, d) && !out.includes(d)) out.push(d);
      else if (++guard > 1000 * pool.length) throw new Error(`${caller}: could not draw negatives for pairs[${pair}]`);
    }
    return out;
  };
  const batches = (_epoch: number, rng: Rng): GroupSpec[][] => {
    counts.bm25 = 0;
    counts.random = 0;
    const groups = shuffle(
      pairs.map((_, k) => k),
      rng,
    ).map((k): GroupSpec => {
      const taken = options.negatives === "bm25" ? sampleFrom(mined[k]!, needed, rng) : [];
      const negatives = drawNegatives(k, taken, rng);
      counts.bm25 += taken.length;
      counts.random += negatives.length - taken.length;
      return { pair: k, docs: [relevantOf[k]!, ...negatives] };
    });
    const out: GroupSpec[][] = [];
    for (let b = 0; b < groups.length; b += batchSize) out.push(groups.slice(b, b + batchSize));
    return out;
  };
  return { docs, pool, relevantOf, mined, counts, batches };
}

/** `count` items of `list` drawn without replacement (all of them, in order, when the list is not longer). */
function sampleFrom(list: readonly number[], count: number, rng: Rng): number[] {
  if (list.length <= count) return list.slice();
  const copy = list.slice();
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(copy.length - i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
}
