/**
 * Training rows of a suite: a task's queries split into train and test parts, a token head trained
 * by `@crossrank/train`'s `trainLmEmdHead` on the train part (`trainPooledHead` for the bert-cls /
 * bert-max / bert-mean baselines: same losses and loop, cosine of pooled rows), and the ranker over the head folder
 * evaluated on the test part.
 *
 * Split (seeded, by query id): the distinct query ids, sorted, shuffled with the seed; the first
 * round(split × n) are trained on. Parallel tasks (XQuAD's ids are the same in every language) get
 * the same split in every language. Documents:
 * - training pairs: each train query with each of its relevant documents (qrels);
 * - training negatives: drawn from the documents relevant to train queries (never a query's own);
 * - the test pool: every document but those relevant only to train queries, so the ranked
 *   documents (relevant and distractors) were never trained on — unless a document is relevant to
 *   both a train and a test query (counted as `shared`).
 *
 * The cross-encoder (`trainCrossEncoderHead`): the same pairs, pool and negatives train its
 * classifier with the relevance-ranking loss; the head folder is then the ranker's `model`.
 *
 * k-fold cross-validation (`folds: k`, the Pretraining-CLIR study's 5-fold runs): the distinct
 * query ids, sorted, shuffled with the seed, dealt round-robin into k folds ({@link foldQueryIds});
 * fold f is the test part of a split whose train part is the other k − 1 folds (documents as
 * above), so every query is ranked exactly once, by a model that never saw it.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Document, Query, RetrievalTask } from "@crossrank/datasets";
import type { Qrels } from "@crossrank/metrics";
import { resolveLmEmd } from "@crossrank/rankers";
import { defaultCacheDir } from "@crossrank/tokenize";
import { type LmEmdPair, POOLING_OF_RANKER, Rng, shuffle, trainCrossEncoderHead, trainLmEmdHead, trainPooledHead } from "@crossrank/train";
import type { TrainConfig } from "./train-spec.js";

/** A task cut into its train and test parts. */
export interface TaskSplit {
  /** The train queries, their qrels, and the documents relevant to them. */
  train: { queries: Query[]; documents: Document[]; qrels: Qrels };
  /** The test queries over the test pool (a task of its own, same name and languages). */
  test: RetrievalTask;
  /** What was split, for the results. */
  summary: SplitSummary;
}

export interface SplitSummary {
  /** The share of the queries trained on. */
  fraction: number;
  /** k-fold rows: which fold is the test part (0-based) of how many. */
  fold?: { index: number; of: number };
  seed: number;
  trainQueries: number;
  testQueries: number;
  /** Documents relevant to train queries (the training pool). */
  trainDocuments: number;
  /** Documents ranked for the test queries. */
  testDocuments: number;
  /** Documents relevant to both a train and a test query (in both pools). */
  shared: number;
  /** The dataset's own training part the head was trained on (sasaki18's train file), when the task was not split. */
  trainedOn?: string;
}

/**
 * The query ids of the train part: the distinct ids sorted, shuffled with `seed`, the first
 * round(fraction × n) of them (at least 1, at most n − 1).
 */
export function splitQueryIds(ids: readonly string[], fraction: number, seed: number): Set<string> {
  const sorted = [...new Set(ids)].sort();
  if (sorted.length < 2) throw new Error(`a train/test split needs at least 2 queries, the task has ${sorted.length}`);
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`split must be strictly between 0 and 1, got ${String(fraction)}`);
  const count = Math.min(sorted.length - 1, Math.max(1, Math.round(fraction * sorted.length)));
  return new Set(shuffle(sorted, new Rng(seed)).slice(0, count));
}

/**
 * The k folds of the query ids: the distinct ids sorted, shuffled with `seed` (as
 * {@link splitQueryIds}), then dealt round-robin, the i-th id of the shuffle to fold i mod k. Every
 * id is in exactly one fold; fold sizes differ by at most one.
 */
export function foldQueryIds(ids: readonly string[], folds: number, seed: number): string[][] {
  const sorted = [...new Set(ids)].sort();
  if (!(Number.isInteger(folds) && folds >= 2)) throw new RangeError(`folds must be a whole number >= 2, got ${String(folds)}`);
  if (sorted.length < folds) throw new Error(`${folds}-fold cross-validation needs at least ${folds} queries, the task has ${sorted.length}`);
  const out: string[][] = Array.from({ length: folds }, () => []);
  shuffle(sorted, new Rng(seed)).forEach((id, i) => out[i % folds]!.push(id));
  return out;
}

/** Splits `task` (see the module comment). */
export function splitTask(task: RetrievalTask, fraction: number, seed: number): TaskSplit {
  const trainIds = splitQueryIds(
    task.queries.map((q) => q.id),
    fraction,
    seed,
  );
  return splitByTrainIds(task, trainIds, { fraction, seed });
}

/** The k splits of k-fold cross-validation: split f tests fold f and trains on the others (see the module comment). */
export function foldSplits(task: RetrievalTask, folds: number, seed: number): TaskSplit[] {
  const all = task.queries.map((q) => q.id);
  const distinct = new Set(all).size;
  return foldQueryIds(all, folds, seed).map((fold, index) => {
    const held = new Set(fold);
    const trainIds = new Set(all.filter((id) => !held.has(id)));
    return splitByTrainIds(task, trainIds, { fraction: trainIds.size / distinct, seed, fold: { index, of: folds } });
  });
}

function splitByTrainIds(task: RetrievalTask, trainIds: Set<string>, what: Pick<SplitSummary, "fraction" | "seed" | "fold">): TaskSplit {
  const relevantTo = (ids: (id: string) => boolean): Set<string> => {
    const out = new Set<string>();
    for (const [qid, judged] of task.qrels) if (ids(qid)) for (const [doc, rel] of judged) if (rel > 0) out.add(doc);
    return out;
  };
  const trainRelevant = relevantTo((id) => trainIds.has(id));
  const testRelevant = relevantTo((id) => !trainIds.has(id));
  const queries = { train: task.queries.filter((q) => trainIds.has(q.id)), test: task.queries.filter((q) => !trainIds.has(q.id)) };
  const qrelsOf = (keep: (id: string) => boolean): Qrels => new Map([...task.qrels].filter(([qid]) => keep(qid)));
  // A task with candidate sets: each side keeps the documents its queries' candidates name (what is ranked, and the pool negatives come from).
  const candidatesOf = (keep: (id: string) => boolean) => new Map([...(task.candidates ?? [])].filter(([qid]) => keep(qid)));
  const named = (keep: (id: string) => boolean): Set<string> => new Set([...candidatesOf(keep).values()].flat());
  const testNamed = task.candidates !== undefined ? named((id) => !trainIds.has(id)) : undefined;
  const trainNamed = task.candidates !== undefined ? named((id) => trainIds.has(id)) : undefined;
  const testDocuments = task.documents.filter((d) => (testNamed !== undefined ? testNamed.has(d.id) : !trainRelevant.has(d.id) || testRelevant.has(d.id)));
  const trainDocuments = task.documents.filter((d) => (trainNamed !== undefined ? trainNamed.has(d.id) : trainRelevant.has(d.id)));
  const test: RetrievalTask = {
    name: task.name,
    queries: queries.test,
    documents: testDocuments,
    qrels: qrelsOf((id) => !trainIds.has(id)),
    ...(task.candidates !== undefined ? { candidates: candidatesOf((id) => !trainIds.has(id)) } : {}),
    ...(task.queryLang !== undefined ? { queryLang: task.queryLang } : {}),
    ...(task.docLang !== undefined ? { docLang: task.docLang } : {}),
    ...(task.warnings !== undefined ? { warnings: task.warnings } : {}),
  };
  return {
    train: { queries: queries.train, documents: trainDocuments, qrels: qrelsOf((id) => trainIds.has(id)) },
    test,
    summary: {
      ...what,
      trainQueries: queries.train.length,
      testQueries: queries.test.length,
      trainDocuments: trainDocuments.length,
      testDocuments: testDocuments.length,
      shared: [...trainRelevant].filter((d) => testRelevant.has(d)).length,
    },
  };
}

/**
 * The split of a dataset that has its own training part (sasaki18's train file): train on `train`
 * (its queries, qrels and every document — with candidate sets, the documents its candidates
 * name, from which negatives are drawn), rank `test` as it is. `shared` counts the test part's
 * relevant documents whose text is also relevant in the train part.
 */
export function givenSplit(train: RetrievalTask, test: RetrievalTask, seed: number): TaskSplit {
  const relevantTexts = (task: RetrievalTask): Set<string> => {
    const text = new Map(task.documents.map((d) => [d.id, d.text]));
    const out = new Set<string>();
    for (const judged of task.qrels.values()) for (const [doc, rel] of judged) if (rel > 0 && text.has(doc)) out.add(text.get(doc)!);
    return out;
  };
  const trainRelevant = relevantTexts(train);
  return {
    train: { queries: train.queries, documents: train.documents, qrels: train.qrels },
    test,
    summary: {
      fraction: train.queries.length / (train.queries.length + test.queries.length),
      seed,
      trainQueries: train.queries.length,
      testQueries: test.queries.length,
      trainDocuments: train.documents.length,
      testDocuments: test.documents.length,
      shared: [...relevantTexts(test)].filter((t) => trainRelevant.has(t)).length,
      trainedOn: train.name,
    },
  };
}

/** The text the neural rankers encode for a document (title on a line before the text). */
function documentText(doc: Document): string {
  return doc.title ? `${doc.title}\n${doc.text}` : doc.text;
}

/** The training pairs of a split: each train query with each of its relevant documents. */
export function trainingPairs(split: TaskSplit): LmEmdPair[] {
  const docs = new Map(split.train.documents.map((d) => [d.id, d]));
  return split.train.queries.flatMap((q) =>
    [...(split.train.qrels.get(q.id) ?? new Map<string, number>())]
      .filter(([id, rel]) => rel > 0 && docs.has(id))
      .map(([id]) => ({ query: q.text, queryId: q.id, relevant: documentText(docs.get(id)!), relevantId: id })),
  );
}

/** Where a trained head lives and whether it was trained now. */
export interface TrainedHead {
  folder: string;
  reused: boolean;
  seconds: number;
  steps?: number;
  firstEpochLoss?: number;
  lastEpochLoss?: number;
}

/** The ranker parameter that names the trained head folder: the cross-encoder's `model`, the others' `encoder`. */
export function headParameter(ranker: string): "model" | "encoder" {
  return ranker === "cross-encoder" ? "model" : "encoder";
}

/** Bumped when a change to training makes heads of the same settings differ (part of the cache key). */
const HEAD_CACHE_VERSION = 1;

/**
 * The head of one (task, ranker, ranker parameters, train config) cell: `<crossrank cache>/heads/<ranker>-<hash>`
 * where the hash covers the base encoder and its loading options, the ranker's scoring parameters
 * (LM-EMD's γ, iterations, includeSpecial, domain; a baseline's includeSpecial), the train config,
 * the task's name and the training data. An existing head is reused; an interrupted run
 * (a checkpoint, no head yet) is resumed.
 */
export async function trainedHead(
  task: RetrievalTask,
  split: TaskSplit,
  ranker: string,
  params: Record<string, unknown>,
  config: TrainConfig,
  onProgress?: (done: number, total: number) => void,
): Promise<TrainedHead> {
  if (ranker === "cross-encoder") return trainedCrossEncoderHead(task, split, params, config, onProgress);
  const started = performance.now();
  const encoder = params.encoder;
  if (typeof encoder !== "string") throw new Error("training needs the ranker's encoder");
  const pooling = POOLING_OF_RANKER[ranker as keyof typeof POOLING_OF_RANKER];
  if (pooling === undefined && ranker !== "lm-emd") throw new Error(`training: ${ranker} cannot be trained`);
  const loss = config.loss;
  if (loss === "relevance-ranking") throw new Error(`training: relevance-ranking trains the cross-encoder; ${ranker} takes pairwise or cross-entropy`);
  // The faithful preset pools over the padded batch (a vector depends on its batch); training pools the real tokens.
  if (pooling !== undefined && pooling !== "cls" && params.preset === "faithful") throw new Error(`training: ${ranker} with preset faithful pools padded batches, which training does not reproduce; train with the default preset`);
  const lm = pooling === undefined ? resolveLmEmd(params as Parameters<typeof resolveLmEmd>[0]) : undefined;
  const includeSpecial = pooling === undefined ? lm!.includeSpecial : ((params.includeSpecial as boolean | undefined) ?? true);
  const encoderOptions = {
    ...(params.maxLength !== undefined ? { maxLength: params.maxLength as number } : {}),
    ...(params.backend !== undefined ? { backend: params.backend as "transformers" | "onnx" } : {}),
    ...(params.dtype !== undefined ? { dtype: params.dtype as "fp32" | "q8" } : {}),
  };
  const pairs = trainingPairs(split);
  if (pairs.length === 0) throw new Error(`${task.name}: no train query has a relevant document to train on`);
  const key = {
    version: HEAD_CACHE_VERSION,
    encoder,
    encoderOptions,
    ...(lm !== undefined ? { lmEmd: { gamma: lm.gamma, iterations: lm.iterations, includeSpecial: lm.includeSpecial, domain: lm.domain } } : { ranker, includeSpecial }),
    train: config,
    task: task.name,
    data: trainingDataHash(split, pairs),
  };
  const hash = createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 16);
  const folder = join(defaultCacheDir(), "heads", `${ranker}-${hash}`);
  if (existsSync(join(folder, "crossrank-head.json"))) return { folder, reused: true, seconds: (performance.now() - started) / 1000 };

  const common = {
    encoder,
    encoderOptions: { ...encoderOptions, ...(typeof params.cache === "string" ? { cache: params.cache } : {}), ...(params.batchSize !== undefined ? { batchSize: params.batchSize as number } : {}) },
    pairs,
    loss,
    margin: config.margin,
    includeSpecial,
    head: { type: config.head, ...(config.hidden !== undefined ? { hidden: config.hidden } : {}), ...(config.activation !== undefined ? { activation: config.activation } : {}) },
    ...cellTrainOptions(task, split, config, folder, onProgress),
  };
  const result =
    lm === undefined
      ? await trainPooledHead({ ...common, pooling: pooling! })
      : await trainLmEmdHead({
          ...common,
          gamma: lm.gamma,
          iterations: lm.iterations,
          // The ranker's "auto" domain is kernel with a log-domain fallback; the trainer's "auto" picks per problem.
          method: lm.domain,
          solver: config.solver,
          gradient: config.gradient,
        });
  return newlyTrained(folder, started, result);
}

/**
 * What every head trainer takes from a cell: the split's training documents as the negatives' pool,
 * the train config's groups, negatives, optimiser and schedule, the task's languages (BM25), the head
 * folder (resumed when a run was interrupted) and the bench's provenance.
 */
function cellTrainOptions(task: RetrievalTask, split: TaskSplit, config: TrainConfig, folder: string, onProgress?: (done: number, total: number) => void) {
  return {
    pool: split.train.documents.map((d) => ({ id: d.id, text: d.text, ...(d.title ? { title: d.title } : {}) })),
    group: config.group,
    negatives: config.negatives,
    ...(config.bm25Depth !== undefined ? { bm25Depth: config.bm25Depth } : {}),
    ...(task.docLang !== undefined ? { lang: task.docLang } : {}),
    ...(task.queryLang !== undefined ? { queryLang: task.queryLang } : {}),
    optimizer: { lr: config.lr, weightDecay: config.weightDecay },
    epochs: config.epochs,
    batchSize: config.batchSize,
    seed: config.seed,
    out: folder,
    resume: true,
    ...(onProgress !== undefined ? { onProgress: (info: { step: number; totalSteps: number }) => onProgress(info.step, info.totalSteps) } : {}),
    trainedBy: { bench: { task: task.name, split: split.summary } },
  };
}

/** The report of a head trained just now (`started`: when the cell's training began). */
function newlyTrained(folder: string, started: number, result: { steps: number; firstEpochLoss?: number; lastEpochLoss?: number }): TrainedHead {
  return {
    folder,
    reused: false,
    seconds: (performance.now() - started) / 1000,
    steps: result.steps,
    ...(result.firstEpochLoss !== undefined ? { firstEpochLoss: result.firstEpochLoss } : {}),
    ...(result.lastEpochLoss !== undefined ? { lastEpochLoss: result.lastEpochLoss } : {}),
  };
}

/** The cache key's hash of a split's training data (pairs and pool). */
function trainingDataHash(split: TaskSplit, pairs: readonly LmEmdPair[]): string {
  const data = createHash("sha256");
  for (const p of pairs) data.update(`${p.queryId}\0${p.query}\0${p.relevantId}\0${p.relevant}\0`);
  for (const d of split.train.documents) data.update(`${d.id}\0${documentText(d)}\0`);
  return data.digest("hex");
}

/**
 * The cross-encoder's trained classifier for one cell: `<crossrank cache>/heads/cross-encoder-<hash>`,
 * the hash over the model and its loading options, the train config, the task and the training
 * data; reused when it exists, resumed from its checkpoint when interrupted.
 */
async function trainedCrossEncoderHead(task: RetrievalTask, split: TaskSplit, params: Record<string, unknown>, config: TrainConfig, onProgress?: (done: number, total: number) => void): Promise<TrainedHead> {
  const started = performance.now();
  const model = params.model;
  if (typeof model !== "string") throw new Error("training needs the cross-encoder's model");
  if (params.dtype === "q8") throw new Error("training: the cross-encoder's classifier is trained on the fp32 export (its int8 export holds int8 weights); leave dtype unset");
  const modelOptions = { ...(params.maxLength !== undefined ? { maxLength: params.maxLength as number } : {}) };
  const pairs = trainingPairs(split);
  if (pairs.length === 0) throw new Error(`${task.name}: no train query has a relevant document to train on`);
  const key = { version: HEAD_CACHE_VERSION, model, modelOptions, train: config, task: task.name, data: trainingDataHash(split, pairs) };
  const folder = join(defaultCacheDir(), "heads", `cross-encoder-${createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 16)}`);
  if (existsSync(join(folder, "crossrank-head.json"))) return { folder, reused: true, seconds: (performance.now() - started) / 1000 };
  const result = await trainCrossEncoderHead({
    model,
    modelOptions: { ...modelOptions, ...(params.batchSize !== undefined ? { batchSize: params.batchSize as number } : {}) },
    pairs,
    ...cellTrainOptions(task, split, config, folder, onProgress),
  });
  return newlyTrained(folder, started, result);
}
