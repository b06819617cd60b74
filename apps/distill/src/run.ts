/**
 * `runDistill(stage, options)`: loads the config, the data and the base vectors, runs one stage or
 * all three in order, and writes everything under the output folder:
 *
 *     <out>/config.json            the config with every default filled in (+ its hash)
 *     <out>/split.json             the articles of train / dev / test
 *     <out>/cache/                 the base encoder's embedding cache (unless `cache` says otherwise)
 *     <out>/<stage>/head/          the trained head: crossrank-head.json + head.safetensors (an encoder spec)
 *     <out>/<stage>/log.jsonl      the training log; plot.svg (+ plot.png with sharp); checkpoint/
 *     <out>/<stage>/eval.json      test-split evaluation before and after the stage
 *     <out>/<stage>/stage.json     summary (steps, best epoch, dev P@1, seconds); written last: the stage is complete
 *     <out>/table.md, table.json   base / warmup / teacher / distill
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { HEAD_CONFIG_FILE, loadEncoder, readHead, writeHead } from "@crossrank/encode";
import { Rng, TrainableHead } from "@crossrank/train";
import { configHash, configJson, type DistillConfig, loadDistillConfig, STAGES, type StageArg, type StageName } from "./config.js";
import { type ArticleSplit, loadXquadCorpus, paragraphsOf, questionsOf, splitArticles, type XquadCorpus } from "./data.js";
import { MEASURES, meanOver, type SplitEvaluation, SplitEvaluator } from "./evaluate.js";
import { type DistillProgress, silentProgress, terminalProgress } from "./progress.js";
import { headConfigFor, type StageContext, type StageTraining, trainDistill, trainTeacher, trainWarmup } from "./stages.js";
import { buildTable, type TableRow } from "./table.js";
import { type BaseVectors, encodeBase } from "./vectors.js";

/** Options of {@link runDistill}. */
export interface RunDistillOptions {
  /** A config file path, or a config from {@link loadDistillConfig} / {@link parseDistillConfig}. */
  config: string | DistillConfig;
  /** Continue an interrupted run: complete stages are skipped, the interrupted one resumes from its checkpoint. */
  resume?: boolean;
  /** Output folder (overrides the config's `out`; relative to the working directory). */
  out?: string;
  /** true: progress on stderr (bars on a TTY); false or absent: silent; or a custom receiver. */
  progress?: boolean | DistillProgress;
  /** Stops the run at the next update (checkpoints stay; resume with `resume: true`). */
  signal?: AbortSignal;
  /** Called as each stage finishes (or is found complete on resume), e.g. to print its head path. */
  onStage?(result: StageResult): void;
}

/** One stage's outcome. */
export interface StageResult {
  stage: StageName;
  /** The head folder (an encoder spec for loadEncoder). */
  head: string;
  /** Whether the stage was found complete and skipped (resume). */
  skipped: boolean;
  /** Test-split evaluations of the stage's starting model and of its trained head. */
  before: SplitEvaluation;
  after: SplitEvaluation;
  summary: StageSummary;
}

/** `<stage>/stage.json`. */
export interface StageSummary {
  stage: StageName;
  complete: true;
  configHash: string;
  head: string;
  from: string;
  steps: number;
  epochsRun: number;
  /** Epoch of the head kept (0-based); −1 when no epoch beat the starting head on dev (`includeStart`). */
  bestEpoch?: number;
  bestDevP1?: number;
  stoppedEarly: boolean;
  seconds: number;
  facts: Record<string, number>;
}

/** What {@link runDistill} returns. */
export interface DistillRunResult {
  out: string;
  configHash: string;
  split: ArticleSplit;
  stages: StageResult[];
  /** Paths of the table files. */
  table: { markdown: string; json: string };
}

/** The folder of a stage's trained head under an output folder. */
export function stageHeadPath(out: string, stage: StageName): string {
  return join(out, stage, "head");
}

/** Runs `stage` (or all three stages in order) as configured; see the module comment for the outputs. */
export async function runDistill(stage: StageArg, options: RunDistillOptions): Promise<DistillRunResult> {
  if (stage !== "all" && !(STAGES as readonly string[]).includes(stage)) throw new Error(`unknown stage "${String(stage)}" (warmup, teacher, distill, all)`);
  const config = typeof options.config === "string" ? await loadDistillConfig(options.config) : options.config;
  const outRaw = options.out !== undefined ? resolve(options.out) : config.out;
  if (outRaw === undefined) throw new Error(`${config.source}: no output folder: set "out" in the config or pass --out`);
  const out = outRaw;
  const progress: DistillProgress = options.progress === true ? terminalProgress() : options.progress === false || options.progress === undefined ? silentProgress : options.progress;
  const resume = options.resume === true;
  const hash = configHash(config);
  await mkdir(out, { recursive: true });

  const configFile = join(out, "config.json");
  if (resume) {
    const previous = await readJson<{ configHash?: string }>(configFile);
    if (previous?.configHash !== undefined && previous.configHash !== hash) {
      throw new Error(`${configFile}: this run was started with another config (hash ${previous.configHash}, now ${hash}); run without --resume to start over`);
    }
  }
  await writeJson(configFile, { configHash: hash, config: configJson(config) });

  // Data and split.
  const { trainLangs, heldOutLangs } = config.data;
  progress.message(`distill: loading XQuAD (${["en", ...trainLangs, ...heldOutLangs].join(", ")})`);
  const corpus = await loadXquadCorpus({ languages: [...trainLangs, ...heldOutLangs], ...(config.data.dir !== undefined ? { dir: config.data.dir } : {}) });
  for (const w of corpus.warnings) progress.message(`distill: warning: ${w}`);
  const split = splitArticles(corpus.articles.length, config.data.split);
  await writeJson(join(out, "split.json"), splitJson(corpus, split));
  progress.message(`distill: split ${split.description}`);

  // Base vectors, once.
  const base = await encodeAll(config, corpus, split, out, progress);

  const evalLangs = ["en", ...trainLangs, ...heldOutLangs];
  const test = new SplitEvaluator(corpus, base, "test", split.test, evalLangs, config.head.normalize);
  const dev = new SplitEvaluator(corpus, base, "dev", split.dev, trainLangs, config.head.normalize);

  const todo: StageName[] = stage === "all" ? [...STAGES] : [stage];
  const results: StageResult[] = [];
  for (const s of todo) {
    const result = await runStage(s, { config, corpus, split, base, dev, test, out, hash, resume, progress, ...(options.signal !== undefined ? { signal: options.signal } : {}) });
    results.push(result);
    options.onStage?.(result);
  }

  const table = await writeTable(out, config, split, test);
  progress.message(`distill: table → ${table.markdown}`);
  return { out, configHash: hash, split, stages: results, table };
}

interface RunContext {
  config: DistillConfig;
  corpus: XquadCorpus;
  split: ArticleSplit;
  base: BaseVectors;
  dev: SplitEvaluator;
  test: SplitEvaluator;
  out: string;
  hash: string;
  resume: boolean;
  progress: DistillProgress;
  signal?: AbortSignal;
}

const PREVIOUS: Record<StageName, StageName | undefined> = { warmup: undefined, teacher: "warmup", distill: "teacher" };

async function runStage(stage: StageName, r: RunContext): Promise<StageResult> {
  const dir = join(r.out, stage);
  const headDir = stageHeadPath(r.out, stage);
  const summaryFile = join(dir, "stage.json");
  const evalFile = join(dir, "eval.json");
  if (r.resume) {
    const done = await readJson<StageSummary>(summaryFile);
    const evals = await readJson<{ before: SplitEvaluation; after: SplitEvaluation }>(evalFile);
    if (done?.complete === true && done.configHash === r.hash && evals !== undefined) {
      r.progress.message(`${stage}: complete, skipped (${headDir})`);
      return { stage, head: headDir, skipped: true, before: evals.before, after: evals.after, summary: done };
    }
  }
  await mkdir(dir, { recursive: true });
  // Whatever this stage and the later ones concluded before is stale once it trains again.
  for (const later of STAGES.slice(STAGES.indexOf(stage))) {
    await rm(join(r.out, later, "stage.json"), { force: true });
    await rm(join(r.out, later, "eval.json"), { force: true });
  }

  // The starting model.
  const previous = PREVIOUS[stage];
  let start: TrainableHead;
  if (previous === undefined) {
    start = TrainableHead.init(headConfigFor(r.config, r.base.dim), new Rng(r.config.seed));
  } else {
    const from = stageHeadPath(r.out, previous);
    const summary = await readJson<StageSummary>(join(r.out, previous, "stage.json"));
    if (summary?.complete !== true) throw new Error(`${stage}: needs the ${previous} head: ${join(from, HEAD_CONFIG_FILE)} is missing or its stage did not complete (run "${previous}" first, or "all")`);
    const head = await readHead(from);
    const expected = headConfigFor(r.config, r.base.dim);
    if (head.config.type !== expected.type || head.config.input !== expected.input || head.config.encoder !== expected.encoder) {
      throw new Error(`${join(from, HEAD_CONFIG_FILE)}: a ${head.config.type} head over ${head.config.encoder} (${head.config.input} wide) does not match this config (${expected.type} over ${expected.encoder}, ${expected.input} wide); run "${previous}" again`);
    }
    start = TrainableHead.fromWeights(expected, head.weights);
  }
  const before = r.test.evaluate(previous === undefined ? undefined : start);
  r.progress.message(`${stage}: before — ${describe(before, r.config)}`);

  const ctx: StageContext = { config: r.config, corpus: r.corpus, split: r.split, base: r.base, dev: r.dev, dir, resume: r.resume, progress: r.progress, ...(r.signal !== undefined ? { signal: r.signal } : {}) };
  const started = performance.now();
  let trained: StageTraining;
  if (stage === "warmup") trained = await trainWarmup(ctx, start);
  else if (stage === "teacher") trained = await trainTeacher(ctx, start);
  else trained = await trainDistill(ctx, start.clone(), start);
  r.progress.stageEnd(stage);
  const seconds = (performance.now() - started) / 1000;

  const after = r.test.evaluate(trained.head);
  r.progress.message(`${stage}: after — ${describe(after, r.config)}`);
  const loop = trained.loop;
  const epochsRun = new Set(loop.log.map((e) => e.epoch)).size;
  const settings = r.config.stages[stage];
  const trainedBy: Record<string, unknown> = {
    tool: "@crossrank/distill",
    recipe: "CL-ReLKT",
    stage,
    from: previous ?? "base",
    configHash: r.hash,
    seed: r.config.seed,
    split: r.split.description,
    trainLangs: r.config.data.trainLangs,
    batchSize: settings.batchSize,
    lr: settings.lr,
    epochs: settings.epochs,
    steps: loop.steps,
    ...("loss" in settings ? { loss: settings.loss } : {}),
    ...("weights" in settings ? { loss: { distill: settings.weights } } : {}),
    ...(loop.bestEpoch !== undefined ? { bestEpoch: loop.bestEpoch } : {}),
    ...(loop.bestMeasure !== undefined ? { bestDevP1: loop.bestMeasure } : {}),
  };
  const { config: headConfig, weights } = trained.head.toConfigAndWeights({ trainedBy });
  await writeHead(headDir, { config: headConfig, weights });
  await writeJson(evalFile, {
    stage,
    split: "test",
    documents: after.documents,
    measures: MEASURES,
    note: "CL-ReLKT's P@5 / P@10 are hit rates: Success@5 / Success@10 here",
    before: { model: previous ?? "base", ...before },
    after: { model: stage, head: headDir, ...after },
  });
  const summary: StageSummary = {
    stage,
    complete: true,
    configHash: r.hash,
    head: headDir,
    from: previous ?? "base",
    steps: loop.steps,
    epochsRun,
    ...(loop.bestEpoch !== undefined ? { bestEpoch: loop.bestEpoch } : {}),
    ...(loop.bestMeasure !== undefined ? { bestDevP1: loop.bestMeasure } : {}),
    stoppedEarly: loop.stoppedEarly,
    seconds,
    facts: trained.facts,
  };
  await writeJson(summaryFile, summary);
  return { stage, head: headDir, skipped: false, before, after, summary };
}

function describe(e: SplitEvaluation, config: DistillConfig): string {
  const parts = [`train langs P@1 ${meanOver(e, config.data.trainLangs, "P@1").toFixed(3)}`];
  if (config.data.heldOutLangs.length > 0) parts.push(`held-out P@1 ${meanOver(e, config.data.heldOutLangs, "P@1").toFixed(3)}`);
  if (e.languages.en !== undefined) parts.push(`en P@1 ${e.languages.en["P@1"].toFixed(3)}`);
  return parts.join(", ");
}

/** Encodes every text the run needs with the base encoder (cached on disk). */
async function encodeAll(config: DistillConfig, corpus: XquadCorpus, split: ArticleSplit, out: string, progress: DistillProgress): Promise<BaseVectors> {
  const cache = config.cache === false ? false : (config.cache ?? join(out, "cache"));
  const encoder = await loadEncoder(config.encoder, { ...config.encoderOptions, cache });
  try {
    const all = [...split.train, ...split.dev, ...split.test];
    const questions = new Map<string, number[]>();
    questions.set("en", questionsOf(corpus, all, "en"));
    for (const l of config.data.trainLangs) questions.set(l, questionsOf(corpus, all, l));
    for (const l of config.data.heldOutLangs) questions.set(l, questionsOf(corpus, split.test, l));
    const started = performance.now();
    progress.message(`distill: encoding with ${encoder.id} (${encoder.modules.join(" → ")})`);
    const base = await encodeBase(encoder, corpus, { paragraphs: paragraphsOf(corpus, all), questions }, { ...(config.head.pooling !== undefined ? { pooling: config.head.pooling } : {}), onProgress: (d, t) => progress.encode(d, t) });
    progress.message(`distill: ${base.texts} texts encoded (${base.dim}-wide) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return base;
  } finally {
    await encoder.dispose();
  }
}

function splitJson(corpus: XquadCorpus, split: ArticleSplit): unknown {
  const part = (articles: number[]) => ({
    articles: articles.map((a) => ({ index: a, title: corpus.articles[a]!.title })),
    paragraphs: paragraphsOf(corpus, articles).length,
    questions: questionsOf(corpus, articles).length,
  });
  return { description: split.description, train: part(split.train), dev: part(split.dev), test: part(split.test) };
}

/** Writes table.md / table.json from the stages' eval.json files found under `out`. */
async function writeTable(out: string, config: DistillConfig, split: ArticleSplit, test: SplitEvaluator): Promise<{ markdown: string; json: string }> {
  const evals = new Map<StageName, { before: SplitEvaluation; after: SplitEvaluation & { head?: string } }>();
  for (const s of STAGES) {
    const e = await readJson<{ before: SplitEvaluation; after: SplitEvaluation & { head?: string } }>(join(out, s, "eval.json"));
    if (e !== undefined) evals.set(s, e);
  }
  const rows: TableRow[] = [{ model: "base", ...(evals.get("warmup") !== undefined ? { languages: evals.get("warmup")!.before.languages } : {}) }];
  for (const s of STAGES) {
    const e = evals.get(s);
    rows.push({ model: s, ...(e !== undefined ? { head: stageHeadPath(out, s), languages: e.after.languages } : {}) });
  }
  const documents = [...evals.values()][0]?.after.documents ?? 0;
  const { json, markdown } = buildTable({ encoder: config.encoder, split: split.description, documents: documents || test.documents, trainLangs: config.data.trainLangs, heldOutLangs: config.data.heldOutLangs, rows });
  const md = join(out, "table.md");
  const js = join(out, "table.json");
  await writeText(md, markdown);
  await writeJson(js, json);
  return { markdown: md, json: js };
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

async function writeText(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeText(path, `${JSON.stringify(value, null, 2)}\n`);
}
