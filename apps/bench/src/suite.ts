import { readFile } from "node:fs/promises";
import { basename, dirname, extname, resolve } from "node:path";
import type { KeySplit } from "@crossrank/datasets";
import { parseMeasures } from "@crossrank/metrics";
import { parse as parseYaml } from "yaml";
import { checkTrainSpec } from "./train-spec.js";

/**
 * A benchmark suite: datasets × language pairs × rankers × parameters, like the LM-EMD study's
 * `params.yaml` plus experiment queue. Parameter values given as lists are sweeps: a ranker entry
 * expands to the cartesian product of its lists (see `expandGrid`).
 */
export interface Suite {
  name: string;
  description?: string;
  datasets: DatasetSpec[];
  rankers: RankerSpec[];
  /** Measures computed for every (task, ranker) cell, as `@crossrank/metrics` names them. */
  measures: string[];
  /** Documents kept per query. Default 100. */
  k: number;
  /** How results are laid out in the Markdown report; default: one table per (dataset, task). */
  tables?: TableSpec[];
  /**
   * The encoder of every ranker that takes one and does not name its own (`params.encoder`): a
   * hub id, a model folder (relative paths resolve against the suite file) or `fixture:bert` /
   * `fixture:sentence-transformers`.
   */
  encoder?: string;
  /**
   * On-disk embedding cache for the neural rankers, so a re-run does not re-encode: a folder, or
   * `false` for none. Default: `embeddings/` under crossrank's cache folder (`CROSSRANK_CACHE_DIR`,
   * else `$XDG_CACHE_HOME/crossrank`, else `~/.cache/crossrank`).
   */
  embeddingCache?: string | false;
  /**
   * Static models the suite needs, built (`@crossrank/train`'s `buildStaticModel`) before anything
   * runs unless the folder already holds a model built from the same recipe: `out` is the folder
   * (relative to the suite file), `recipe` a recipe file (relative to the suite file) or "default".
   */
  staticModels?: StaticModelSpec[];
  /** Folder that relative paths in the suite resolve against (the suite file's folder). */
  baseDir: string;
}

/** A model a suite builds first (see `Suite.staticModels`); paths are absolute once parsed. */
export interface StaticModelSpec {
  out: string;
  recipe: string;
}

/** The task families each loader offers; `xquad` tasks are `@crossrank/datasets`' XQuAD tasks. */
export type DatasetSpec =
  | { dataset: "xquad"; tasks: string[]; queryLangs: string[]; docLang: string; dir?: string }
  | {
      dataset: "jsonl";
      /**
       * The JSONL file (relative to the suite file), or `data` instead: a file of a dataset found by
       * `@crossrank/datasets`' lookup (`resolveDatasetPath`: $CROSSRANK_DATA/NAME/FILE, then
       * ../shared/datasets/NAME/FILE, then the download cache).
       */
      path?: string;
      /** `NAME/FILE`: see `path`. */
      data?: { name: string; file: string };
      queryLangs: string[];
      docLang: string;
      /** The first N records per language (both limits below). */
      limit?: number;
      /** The first N docLang records as documents (the LaBSE / DistilUSE notebook's 1000). */
      documentLimit?: number;
      /** The first N queryLang records whose article is among the documents. */
      queryLimit?: number;
    }
  | {
      dataset: "ddtp";
      tasks: string[];
      queryLangs: string[];
      docLang: string;
      dir?: string;
      /** Only the queries on one side of the md5 split the static trainer uses (`dev`: held out from training). */
      split?: KeySplit;
      /**
       * At most this many queries per task: those with the smallest ids (DDTP ids are md5s, so a
       * deterministic sample spread over the packages). Default: all.
       */
      limit?: number;
    }
  | {
      dataset: "parallel";
      queries: string;
      documents: string;
      queryLang?: string;
      docLang?: string;
      /**
       * The dataset name in results and tables (default "parallel"), so that two parallel sets of
       * one suite (e.g. everyday and everyday-dev) get tables of their own.
       */
      name?: string;
      /** Only `limit` queries, evenly spaced through the file (every line stays a document). Default: all. */
      limit?: number;
    }
  | {
      /**
       * The LM-EMD study's data (`@crossrank/datasets`' loadSasaki18Task): English queries, documents
       * in each of `docLangs`, every query ranked against its own candidate set; one task per
       * language. Train blocks train on the `train` file's queries and their candidates (not on a
       * split of the test file), as the study does.
       */
      dataset: "sasaki18";
      docLangs: string[];
      /** The evaluated file (default "test1", the study's). */
      test?: string;
      /** The file train blocks train on (default "train"). */
      train?: string;
      /** The extracted sasaki18 folder (default: found as every dataset is, e.g. `$CROSSRANK_DATA/sasaki18`). */
      dir?: string;
      /** Only the first `limit` queries of the test file (with their candidates). Default: all. */
      limit?: number;
      /** Only the first `trainLimit` queries of the train file. Default: all. */
      trainLimit?: number;
    }
  | {
      dataset: "trec";
      topics: string;
      qrels: string;
      collection: string;
      queryLang?: string;
      docLang?: string;
    };

export interface RankerSpec {
  name: string;
  /** Scalars are fixed; arrays are swept. */
  params: Record<string, unknown>;
  /**
   * Train a head before ranking (see train.ts, train-spec.ts): a token head for lm-emd, bert-cls,
   * bert-max, bert-mean (`trainLmEmdHead`), the classifier for cross-encoder
   * (`trainCrossEncoderHead`, relevance-ranking loss); lists swept like `params` (the grid is params
   * × train). Each task's queries are split into train and test parts (or k folds, `folds`); the row
   * is the ranker over the head, on the test part (every fold's, merged).
   */
  train?: Record<string, unknown>;
  /**
   * Run this ranker only on tasks whose query language is listed (e.g. bm25-psq where a dictionary
   * exists); other cells of its row read "–". Default: every task.
   */
  queryLangs?: string[];
}

export interface TableSpec {
  title: string;
  /** Which results go in this table: matched against the result's dataset and task. */
  dataset?: string;
  task?: string;
  /** Measures shown in each cell, joined with " / " (e.g. `P@1 / MAP`). */
  cells: string[];
}

export class SuiteError extends Error {
  override name = "SuiteError";
}

const DATASET_KINDS = ["xquad", "jsonl", "ddtp", "parallel", "trec", "sasaki18"] as const;

/** Reads and validates a suite file (YAML or JSON); errors name the file and the offending key. */
export async function loadSuite(path: string): Promise<Suite> {
  const text = await readFile(path, "utf8");
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new SuiteError(`${path}: not valid YAML/JSON: ${(error as Error).message.split("\n")[0]}`);
  }
  const fallbackName = basename(path, extname(path));
  return parseSuite(raw, { source: path, baseDir: dirname(resolve(path)), fallbackName });
}

/** Validates an in-memory suite description (what `loadSuite` reads, or what the CLI builds). */
export function parseSuite(
  raw: unknown,
  context: { source: string; baseDir: string; fallbackName?: string },
): Suite {
  const where = (key: string) => `${context.source}: ${key}`;
  const root = asRecord(raw, where("(top level)"));
  const name = optionalString(root.name, where("name")) ?? context.fallbackName;
  if (!name) throw new SuiteError(`${where("name")}: a suite needs a name`);
  if (!/^[\w.-]+$/.test(name)) {
    throw new SuiteError(`${where("name")}: use letters, digits, '.', '_' or '-' (it names the result files), got "${name}"`);
  }
  const datasets = asArray(root.datasets, where("datasets")).map((entry, i) =>
    parseDatasetSpec(entry, where(`datasets[${i}]`)),
  );
  const rankers = asArray(root.rankers, where("rankers")).map((entry, i) =>
    parseRankerSpec(entry, where(`rankers[${i}]`)),
  );
  const measures = stringList(root.measures, where("measures"));
  try {
    parseMeasures(measures);
  } catch (error) {
    throw new SuiteError(`${where("measures")}: ${(error as Error).message}`);
  }
  const k = root.k === undefined ? 100 : positiveInteger(root.k, where("k"));
  const tables =
    root.tables === undefined
      ? undefined
      : asArray(root.tables, where("tables")).map((entry, i) => {
          const at = where(`tables[${i}]`);
          const table = asRecord(entry, at);
          const cells = stringList(table.cells, `${at}.cells`);
          for (const cell of cells) {
            if (!measures.includes(cell)) {
              throw new SuiteError(`${at}.cells: "${cell}" is not one of the suite's measures (${measures.join(", ")})`);
            }
          }
          return {
            title: requiredString(table.title, `${at}.title`),
            dataset: optionalString(table.dataset, `${at}.dataset`),
            task: optionalString(table.task, `${at}.task`),
            cells,
          };
        });
  const description = optionalString(root.description, where("description"));
  const encoder = optionalString(root.encoder, where("encoder"));
  const embeddingCache = root.embeddingCache === false ? false : optionalString(root.embeddingCache, where("embeddingCache"));
  const staticModels =
    root.staticModels === undefined
      ? undefined
      : asArray(root.staticModels, where("staticModels")).map((entry, i) => {
          const at = where(`staticModels[${i}]`);
          const model = asRecord(entry, at);
          for (const key of Object.keys(model)) if (key !== "out" && key !== "recipe") throw new SuiteError(`${at}.${key}: unknown key (a static model has out and recipe)`);
          const recipe = optionalString(model.recipe, `${at}.recipe`) ?? "default";
          return { out: resolve(context.baseDir, requiredString(model.out, `${at}.out`)), recipe: recipe === "default" ? recipe : resolve(context.baseDir, recipe) };
        });
  return {
    name,
    description,
    datasets,
    rankers,
    measures,
    k,
    tables,
    ...(encoder === undefined ? {} : { encoder: resolveModelSpec(encoder, context.baseDir) }),
    ...(embeddingCache === undefined ? {} : { embeddingCache: embeddingCache === false ? false : resolve(context.baseDir, embeddingCache) }),
    ...(staticModels === undefined ? {} : { staticModels }),
    baseDir: context.baseDir,
  };
}

/**
 * A model spec as written in a suite: relative folder paths (`.`, `..`, or starting with `./`,
 * `../`, `.\`, `..\` — what `@crossrank/tokenize` reads as a folder rather than a hub id) are
 * made absolute against the suite's folder; hub ids, absolute paths, `~/…` and `fixture:` specs
 * stay as they are.
 */
export function resolveModelSpec(spec: string, baseDir: string): string {
  return spec === "." || spec === ".." || /^\.\.?[\\/]/.test(spec) ? resolve(baseDir, spec) : spec;
}

function parseDatasetSpec(raw: unknown, at: string): DatasetSpec {
  const entry = asRecord(raw, at);
  const kind = requiredString(entry.dataset, `${at}.dataset`);
  switch (kind) {
    case "xquad":
    case "ddtp": {
      const common = {
        tasks: stringList(entry.tasks, `${at}.tasks`),
        queryLangs: stringList(entry.queryLangs, `${at}.queryLangs`),
        docLang: optionalString(entry.docLang, `${at}.docLang`) ?? "en",
        dir: optionalString(entry.dir, `${at}.dir`),
      };
      if (kind === "xquad") return { dataset: kind, ...common };
      return {
        dataset: kind,
        ...common,
        ...(entry.split === undefined ? {} : { split: parseKeySplit(entry.split, `${at}.split`) }),
        ...(entry.limit === undefined ? {} : { limit: positiveInteger(entry.limit, `${at}.limit`) }),
      };
    }
    case "jsonl": {
      if (entry.path !== undefined && entry.data !== undefined) throw new SuiteError(`${at}: give path (a file) or data (NAME/FILE of a dataset), not both`);
      if (entry.limit !== undefined && (entry.queryLimit !== undefined || entry.documentLimit !== undefined)) {
        throw new SuiteError(`${at}.limit: limit sets both sides; give it or queryLimit / documentLimit, not both`);
      }
      const optionalLimit = (key: "limit" | "queryLimit" | "documentLimit") => (entry[key] === undefined ? {} : { [key]: positiveInteger(entry[key], `${at}.${key}`) });
      return {
        dataset: "jsonl",
        ...(entry.data !== undefined ? { data: datasetFile(entry.data, `${at}.data`) } : { path: requiredString(entry.path, `${at}.path`) }),
        queryLangs: stringList(entry.queryLangs, `${at}.queryLangs`),
        docLang: optionalString(entry.docLang, `${at}.docLang`) ?? "en",
        ...optionalLimit("limit"),
        ...optionalLimit("documentLimit"),
        ...optionalLimit("queryLimit"),
      };
    }
    case "parallel":
      return {
        dataset: "parallel",
        queries: requiredString(entry.queries, `${at}.queries`),
        documents: requiredString(entry.documents, `${at}.documents`),
        queryLang: optionalString(entry.queryLang, `${at}.queryLang`),
        docLang: optionalString(entry.docLang, `${at}.docLang`),
        ...(entry.name === undefined ? {} : { name: requiredString(entry.name, `${at}.name`) }),
        ...(entry.limit === undefined ? {} : { limit: positiveInteger(entry.limit, `${at}.limit`) }),
      };
    case "sasaki18":
      return {
        dataset: "sasaki18",
        docLangs: stringList(entry.docLangs, `${at}.docLangs`),
        ...(entry.test === undefined ? {} : { test: requiredString(entry.test, `${at}.test`) }),
        ...(entry.train === undefined ? {} : { train: requiredString(entry.train, `${at}.train`) }),
        ...(entry.dir === undefined ? {} : { dir: requiredString(entry.dir, `${at}.dir`) }),
        ...(entry.limit === undefined ? {} : { limit: positiveInteger(entry.limit, `${at}.limit`) }),
        ...(entry.trainLimit === undefined ? {} : { trainLimit: positiveInteger(entry.trainLimit, `${at}.trainLimit`) }),
      };
    case "trec":
      return {
        dataset: "trec",
        topics: requiredString(entry.topics, `${at}.topics`),
        qrels: requiredString(entry.qrels, `${at}.qrels`),
        collection: requiredString(entry.collection, `${at}.collection`),
        queryLang: optionalString(entry.queryLang, `${at}.queryLang`),
        docLang: optionalString(entry.docLang, `${at}.docLang`),
      };
    default:
      throw new SuiteError(`${at}.dataset: expected one of ${DATASET_KINDS.join(", ")}, got "${kind}"`);
  }
}

/** `data: NAME/FILE`: a dataset name (as `resolveDatasetPath` takes it) and a relative file inside it. */
function datasetFile(raw: unknown, at: string): { name: string; file: string } {
  const text = requiredString(raw, at);
  const slash = text.indexOf("/");
  const name = text.slice(0, slash);
  const file = text.slice(slash + 1);
  if (slash <= 0 || file === "" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || file.split("/").includes("..")) {
    throw new SuiteError(`${at}: expected NAME/FILE (a dataset name, then a file inside it, e.g. wikipedia-sample/wiki.jsonl), got ${JSON.stringify(text)}`);
  }
  return { name, file };
}

/** `split: dev` or `split: {part: dev, devFraction: 0.1, seed: 0}`. */
function parseKeySplit(raw: unknown, at: string): KeySplit {
  const part = (value: unknown, where: string): "train" | "dev" => {
    if (value !== "train" && value !== "dev") throw new SuiteError(`${where}: expected "train" or "dev", got ${JSON.stringify(value)}`);
    return value;
  };
  if (typeof raw === "string") return { part: part(raw, at) };
  const entry = asRecord(raw, at);
  for (const key of Object.keys(entry)) if (!["part", "devFraction", "seed"].includes(key)) throw new SuiteError(`${at}.${key}: unknown key (a split has part, devFraction and seed)`);
  const devFraction = entry.devFraction;
  if (devFraction !== undefined && !(typeof devFraction === "number" && devFraction >= 0 && devFraction <= 1)) throw new SuiteError(`${at}.devFraction: expected a number in [0, 1], got ${JSON.stringify(devFraction)}`);
  const seed = entry.seed;
  if (seed !== undefined && !(typeof seed === "number" && Number.isInteger(seed) && seed >= 0)) throw new SuiteError(`${at}.seed: expected a whole number >= 0, got ${JSON.stringify(seed)}`);
  return { part: part(entry.part, `${at}.part`), ...(devFraction === undefined ? {} : { devFraction }), ...(seed === undefined ? {} : { seed }) };
}

function parseRankerSpec(raw: unknown, at: string): RankerSpec {
  if (typeof raw === "string") return { name: raw, params: {} };
  const entry = asRecord(raw, at);
  const params = entry.params === undefined ? {} : asRecord(entry.params, `${at}.params`);
  for (const [key, value] of Object.entries(params)) {
    if (Array.isArray(value) && value.length === 0) {
      throw new SuiteError(`${at}.params.${key}: an empty sweep expands to no configuration`);
    }
  }
  const name = requiredString(entry.name, `${at}.name`);
  for (const key of Object.keys(entry)) {
    if (!["name", "params", "train", "queryLangs"].includes(key)) throw new SuiteError(`${at}.${key}: unknown key (a ranker entry has name, params, train and queryLangs)`);
  }
  const only = entry.queryLangs === undefined ? {} : { queryLangs: stringList(entry.queryLangs, `${at}.queryLangs`) };
  if (entry.train === undefined) return { name, params, ...only };
  return { name, params, train: parseTrainSpec(entry.train, name, `${at}.train`), ...only };
}

/** Validates a ranker entry's `train` block (see train-spec.ts), rethrowing as a SuiteError that names the key. */
function parseTrainSpec(raw: unknown, ranker: string, at: string): Record<string, unknown> {
  const train = asRecord(raw, at);
  const problem = checkTrainSpec(train, ranker);
  if (problem !== undefined) throw new SuiteError(`${at}${problem.key === undefined ? "" : `.${problem.key}`}: ${problem.message}`);
  return train;
}

/**
 * Expands a parameter map into the cartesian product of its list-valued entries, in the order the
 * keys appear (so reports list sweeps predictably): `{k1: [0.9, 1.2], b: 0.75}` →
 * `[{k1: 0.9, b: 0.75}, {k1: 1.2, b: 0.75}]`.
 */
export function expandGrid(params: Record<string, unknown>): Record<string, unknown>[] {
  let grid: Record<string, unknown>[] = [{}];
  for (const [key, value] of Object.entries(params)) {
    const values = Array.isArray(value) ? value : [value];
    grid = grid.flatMap((partial) => values.map((v) => ({ ...partial, [key]: v })));
  }
  return grid;
}

function asRecord(value: unknown, at: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SuiteError(`${at}: expected a mapping, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function asArray(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new SuiteError(`${at}: expected a non-empty list, got ${describe(value)}`);
  }
  return value;
}

function stringList(value: unknown, at: string): string[] {
  const list = typeof value === "string" ? value.split(",").map((s) => s.trim()) : asArray(value, at);
  return list.map((item, i) => requiredString(item, `${at}[${i}]`));
}

function requiredString(value: unknown, at: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new SuiteError(`${at}: expected a non-empty string, got ${describe(value)}`);
  }
  return value.trim();
}

function optionalString(value: unknown, at: string): string | undefined {
  return value === undefined ? undefined : requiredString(value, at);
}

function positiveInteger(value: unknown, at: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new SuiteError(`${at}: expected a positive integer, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
  return typeof value === "object" ? "a mapping" : JSON.stringify(value);
}
