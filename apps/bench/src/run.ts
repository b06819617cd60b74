import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { cpus, platform, release } from "node:os";
import { join, resolve } from "node:path";
import { evaluate, type Run } from "@crossrank/metrics";
import { defaultCacheDir } from "@crossrank/tokenize";
import { createRanker, rankCandidateSets, rankerParameterNames } from "@crossrank/rankers";
import { formatMarkdown } from "./report.js";
import { ensureStaticModels } from "./static-models.js";
import { expandGrid, resolveModelSpec, type Suite } from "./suite.js";
import { suiteTasks, type SuiteTask } from "./tasks.js";
import type { SplitSummary, TaskSplit, TrainedHead } from "./train.js";
import { resolveTrainConfig, type TrainConfig, trainLabel } from "./train-spec.js";

/** Every figure of one (task, ranker configuration) cell, with what produced it. */
export interface CellResult {
  dataset: string;
  task: string;
  queryLang?: string;
  docLang?: string;
  /** The loaded task's own name, e.g. `xquad/question-paragraph/de-en`. */
  taskName: string;
  /** Registry name and the parameters of this grid point. */
  ranker: string;
  params: Record<string, unknown>;
  /** The ranker's self-description, e.g. `bm25(k1=1.2,b=0.75)`: the row label in reports. */
  label: string;
  queries: number;
  documents: number;
  measures: Record<string, number>;
  loadSeconds: number;
  rankSeconds: number;
  queriesPerSecond: number;
  warnings: string[];
  /**
   * Set when the ranker could not run on this machine (e.g. no dictionary for the pair installed):
   * what to install. The cell has no measures then.
   */
  unavailable?: string;
  /** Training rows (a `train` block): the train config of this grid point. */
  train?: TrainConfig;
  /** Training rows: how the task was split (`queries` and `documents` above are the test part's). */
  split?: SplitSummary;
  /** Training rows: the head folder ranked with, whether it was reused from the cache, and the training. */
  head?: TrainedHead;
  /**
   * Cross-validated rows (`folds: k`): per fold, its split (the test part is the fold) and its head.
   * `queries` and the measures above cover every query, each ranked by its fold's head.
   */
  folds?: { split: SplitSummary; head: TrainedHead }[];
}

export interface SuiteResult {
  suite: string;
  description?: string;
  startedAt: string;
  finishedAt: string;
  environment: Environment;
  config: Omit<Suite, "baseDir">;
  results: CellResult[];
}

export interface Environment {
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  packages: Record<string, string>;
}

/** What the harness reports while it runs; the CLI renders it as a progress bar. */
export interface SuiteProgress {
  start(jobs: number): void;
  /** A job (one task × one ranker configuration) begins. */
  job(description: string): void;
  /** Queries ranked so far within the current job. */
  update(done: number, total: number): void;
  /** A job ended; `summary` is a one-line result. */
  jobDone(summary: string): void;
  stop(): void;
}

export interface RunSuiteOptions {
  /** Where `<suite>.json` and `<suite>.md` are written; `null` writes nothing. */
  outDir: string | null;
  progress?: SuiteProgress;
}

/**
 * Runs every (task, ranker configuration) pair of a suite: each task is loaded once and ranked by
 * every configuration of the ranker grid, then evaluated with the suite's measures.
 */
export async function runSuite(suite: Suite, options: RunSuiteOptions): Promise<SuiteResult> {
  const startedAt = new Date().toISOString();
  const tasks: SuiteTask[] = suite.datasets.flatMap((spec) => suiteTasks(spec, suite.baseDir));
  const configs = rankerConfigs(suite);
  // Build every ranker up front so that a bad name or parameter fails before hours of work.
  for (const config of configs) createRanker(config.name, config.params);
  // Training code (and its dependencies) is loaded only by suites that train.
  const training = configs.some((c) => c.train !== undefined) ? await import("./train.js") : undefined;

  const progress = options.progress;
  if (suite.staticModels !== undefined) await ensureStaticModels(suite.staticModels);
  const applies = (config: RankerConfig, task: SuiteTask) => config.queryLangs === undefined || (task.queryLang !== undefined && config.queryLangs.includes(task.queryLang));
  progress?.start(tasks.reduce((n, task) => n + configs.filter((c) => applies(c, task)).length, 0));
  const results: CellResult[] = [];
  try {
    for (const suiteTask of tasks) {
      const loadStart = performance.now();
      const task = await suiteTask.load();
      const loadSeconds = (performance.now() - loadStart) / 1000;
      const splits = new Map<string, TaskSplit>();
      for (const config of configs) {
        if (!applies(config, suiteTask)) continue;
        let ranker = createRanker(config.name, config.params);
        let label = ranker.name;
        let ranked = task;
        let trained: { config: TrainConfig; split: TaskSplit; head: TrainedHead } | undefined;
        // k-fold rows: per fold, the split and the ranker over the head trained without that fold.
        let folds: { split: TaskSplit; head: TrainedHead; ranker: ReturnType<typeof createRanker> }[] | undefined;
        if (config.train !== undefined && training !== undefined && config.train.config.folds !== undefined) {
          const trainConfig = config.train.config;
          label = `${ranker.name}${config.train.label}`;
          if (suiteTask.loadTrain !== undefined) throw new Error(`${task.name}: the dataset has its own training part; folds apply to datasets split by query`);
          folds = [];
          for (const split of training.foldSplits(task, trainConfig.folds!, trainConfig.seed)) {
            progress?.job(`${task.name} ${label}: training fold ${split.summary.fold!.index + 1}/${trainConfig.folds}`);
            const head = await training.trainedHead(task, split, config.name, config.params, trainConfig, (done, total) => progress?.update(done, total));
            folds.push({ split, head, ranker: createRanker(config.name, { ...config.params, [training.headParameter(config.name)]: head.folder }) });
          }
        } else if (config.train !== undefined && training !== undefined) {
          // Train a head on the train queries (or reuse it), then rank the test queries with it.
          const trainConfig = config.train.config;
          label = `${ranker.name}${config.train.label}`;
          const splitKey = `${trainConfig.split}/${trainConfig.seed}`;
          let split = splits.get(splitKey);
          if (split === undefined) {
            // A dataset with its own training part (sasaki18's train file) trains on it; others are split by query.
            split = suiteTask.loadTrain !== undefined ? training.givenSplit(await suiteTask.loadTrain(), task, trainConfig.seed) : training.splitTask(task, trainConfig.split, trainConfig.seed);
            splits.set(splitKey, split);
          }
          progress?.job(`${task.name} ${label}: training`);
          const head = await training.trainedHead(task, split, config.name, config.params, trainConfig, (done, total) => progress?.update(done, total));
          ranker = createRanker(config.name, { ...config.params, [training.headParameter(config.name)]: head.folder });
          ranked = split.test;
          trained = { config: trainConfig, split, head };
        }
        progress?.job(`${task.name} ${label}`);
        // What every cell of this (task, ranker) says, whether or not the ranker could run.
        const identity = {
          dataset: suiteTask.dataset,
          task: suiteTask.task,
          queryLang: task.queryLang ?? suiteTask.queryLang,
          docLang: task.docLang ?? suiteTask.docLang,
          taskName: task.name,
          ranker: config.name,
          params: reportedParams(config.params),
          label,
          documents: ranked.documents.length,
          loadSeconds,
          warnings: task.warnings ?? [],
        };
        const rankStart = performance.now();
        let run: Run;
        try {
          const rankOptions = { k: suite.k, onProgress: (done: number, total: number) => progress?.update(done, total) };
          // A task with candidate sets (sasaki18) ranks each query against its own candidates only.
          const rankWith = (r: typeof ranker, t: typeof ranked): Promise<Run> => (t.candidates !== undefined ? rankCandidateSets(r, t, t.candidates, rankOptions) : r.rank(t, rankOptions));
          if (folds === undefined) run = await rankWith(ranker, ranked);
          else {
            // k-fold: each fold's queries by its own head, merged into one run (the folds share no query).
            run = new Map();
            for (const f of folds) for (const [query, hits] of await rankWith(f.ranker, f.split.test)) run.set(query, hits);
          }
        } catch (error) {
          // A ranker that needs something this machine lacks (a dictionary) leaves its cell empty
          // with what to install, rather than ending the whole suite on a fresh machine.
          if ((error as Error).name !== "MissingDictionaryError") throw error;
          const unavailable = (error as Error).message;
          results.push({ ...identity, queries: 0, measures: {}, rankSeconds: 0, queriesPerSecond: 0, unavailable });
          progress?.jobDone(`${task.name} ${label}: not run (${unavailable})`);
          continue;
        }
        const rankSeconds = (performance.now() - rankStart) / 1000;
        const evaluation = evaluate(ranked.qrels, run, suite.measures);
        const cell: CellResult = {
          ...identity,
          queries: ranked.queries.length,
          measures: evaluation.mean,
          rankSeconds,
          queriesPerSecond: ranked.queries.length / Math.max(rankSeconds, 1e-9),
          ...(trained !== undefined ? { train: trained.config, split: trained.split.summary, head: trained.head } : {}),
          ...(folds !== undefined ? { train: config.train!.config, folds: folds.map((f) => ({ split: f.split.summary, head: f.head })) } : {}),
        };
        results.push(cell);
        progress?.jobDone(
          `${task.name} ${label}: ` +
            suite.measures.map((m) => `${m} ${(cell.measures[m] ?? 0).toFixed(3)}`).join(", "),
        );
      }
    }
  } finally {
    progress?.stop();
  }

  const { baseDir: _baseDir, ...config } = suite;
  const result: SuiteResult = {
    suite: suite.name,
    description: suite.description,
    startedAt,
    finishedAt: new Date().toISOString(),
    environment: environment(),
    config,
    results,
  };
  if (options.outDir !== null) await writeSuiteResult(result, suite, options.outDir);
  return result;
}

/** One row of the suite: a ranker and one grid point of its parameters (and of its `train` block). */
export interface RankerConfig {
  name: string;
  params: Record<string, unknown>;
  /** A training row: the train config of this grid point and the row label's `+train(...)` suffix. */
  train?: { config: TrainConfig; label: string };
  /** Only tasks with these query languages (the entry's `queryLangs`). */
  queryLangs?: string[];
}

/**
 * Every row of the suite: each ranker entry's parameter grid, times its `train` grid when it has
 * one (params outer, train inner). Training labels are short (loss, epochs, swept keys) unless two
 * rows would share one; those get every key they set.
 */
export function rankerConfigs(suite: Suite): RankerConfig[] {
  const configs = suite.rankers.flatMap((spec) =>
    expandGrid(spec.params).flatMap((raw): RankerConfig[] => {
      const params = withSuiteDefaults(suite, spec.name, raw);
      const only = spec.queryLangs === undefined ? {} : { queryLangs: spec.queryLangs };
      if (spec.train === undefined) return [{ name: spec.name, params, ...only }];
      const block = spec.train;
      return expandGrid(block).map((point) => {
        const config = resolveTrainConfig(point, spec.name);
        return { name: spec.name, params, train: { config, label: trainLabel(config, block) }, ...only };
      });
    }),
  );
  // Short labels that coincide across different settings (e.g. two entries differing in a fixed lr) get the full form.
  const key = (c: RankerConfig) => JSON.stringify([c.name, c.params]) + c.train!.label;
  const seen = new Map<string, Set<string>>();
  for (const c of configs) if (c.train !== undefined) seen.set(key(c), (seen.get(key(c)) ?? new Set()).add(JSON.stringify(c.train.config)));
  return configs.map((c) => {
    if (c.train === undefined || (seen.get(key(c))?.size ?? 0) < 2) return c;
    // Every setting, defaults included.
    return { ...c, train: { ...c.train, label: trainLabel(c.train.config, { ...c.train.config }, true) } };
  });
}

/**
 * A ranker's parameters with the suite-wide settings filled in where the ranker takes them and
 * the entry does not set them: the suite's encoder and the embedding cache folder. The entry's own
 * relative `encoder` folder and `cache` folder resolve against the suite's folder, like the
 * suite-level `encoder` and `embeddingCache`.
 */
export function withSuiteDefaults(suite: Suite, name: string, params: Record<string, unknown>): Record<string, unknown> {
  const accepted = rankerParameterNames(name);
  const filled = { ...params };
  if (accepted.includes("encoder") && filled.encoder === undefined && suite.encoder !== undefined) filled.encoder = suite.encoder;
  if (typeof filled.encoder === "string") filled.encoder = resolveModelSpec(filled.encoder, suite.baseDir);
  if (typeof filled.cache === "string" && filled.cache !== "") filled.cache = resolve(suite.baseDir, filled.cache);
  if (accepted.includes("cache") && filled.cache === undefined && suite.embeddingCache !== false) {
    filled.cache = suite.embeddingCache ?? join(defaultCacheDir(), "embeddings");
  }
  return filled;
}

/** Parameters as results record them: without the embedding cache folder, which changes no figure and names a local path. */
function reportedParams(params: Record<string, unknown>): Record<string, unknown> {
  const { cache: _cache, ...rest } = params;
  return rest;
}

/** Writes `<outDir>/<suite>.json` (every figure) and `<outDir>/<suite>.md` (the tables). */
export async function writeSuiteResult(
  result: SuiteResult,
  suite: Suite,
  outDir: string,
): Promise<{ json: string; markdown: string }> {
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, `${suite.name}.json`);
  const markdown = join(outDir, `${suite.name}.md`);
  await writeFile(json, JSON.stringify(result, null, 2) + "\n");
  await writeFile(markdown, formatMarkdown(result, suite));
  return { json, markdown };
}

const require = createRequire(import.meta.url);

function environment(): Environment {
  const packages: Record<string, string> = {};
  for (const name of ["@crossrank/bench", "@crossrank/datasets", "@crossrank/metrics", "@crossrank/rankers"]) {
    try {
      packages[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      // Only reachable when the harness itself is loaded outside its workspace; versions are informative.
    }
  }
  return {
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    packages,
  };
}
