import { Command } from "commander";
import {
  defaultResultsDir,
  formatMarkdown,
  loadSuite,
  parseSuite,
  resolveModelSpec,
  runSuite,
  terminalProgress,
  writeSuiteResult,
  type Suite,
} from "@crossrank/bench";
import { rankerParameterNames } from "@crossrank/rankers";
import { collectParam, list, positiveInt, UsageError } from "../errors.js";

interface BenchOptions {
  suite?: string;
  dataset?: string;
  queryLang?: string;
  docLang: string;
  rankers: string;
  param?: Record<string, unknown>;
  encoder?: string;
  measures: string;
  k: number;
  limit?: number;
  out?: string;
  json?: boolean;
}

/**
 * `crossrank bench`: a suite file, or the quick form that builds a one-dataset suite from flags.
 * The quick form prints its table (or JSON) and writes result files only when `--out` is given;
 * a suite file always writes them (default `results/`).
 */
export function benchCommand(): Command {
  return new Command("bench")
    .description("run a benchmark suite file, or a quick one-dataset benchmark from flags")
    .option("--suite <file>", "suite file (YAML/JSON): datasets × language pairs × rankers × parameters")
    .option(
      "--dataset <spec>",
      "quick form: xquad[:task] | jsonl:PATH | ddtp[:short|description] | parallel:QUERIES,DOCS | trec:TOPICS,QRELS,COLLECTION " +
        "(xquad tasks: paragraph, question-paragraph, question-article, question-sentence; default paragraph)",
    )
    .option("--query-lang <langs>", "quick form: query language(s), comma-separated")
    .option("--doc-lang <lang>", "quick form: document language", "en")
    .option("--rankers <names>", "quick form: comma-separated ranker names", "bm25")
    .option("--param <key=value>", "quick form: a ranker parameter (repeatable; applies to every listed ranker that takes it)", collectParam)
    .option(
      "--encoder <model>",
      "the encoder of the neural rankers (bert-cls, bert-max, bert-mean, bi-encoder, maxsim, lm-emd, rerank, hybrid): hub id, model folder, crossrank-static (the default) or fixture:bert; with --suite it replaces the suite's",
    )
    .option("--measures <list>", "quick form: comma-separated measures", "R@1,R@5,R@10,MRR@10")
    .option("--k <n>", "documents kept per query", positiveInt("--k"), 100)
    .option("--limit <n>", "quick form, jsonl: first N records per language", positiveInt("--limit"))
    .option("--out <dir>", "where <suite>.json and <suite>.md go (suite files default to results/)")
    .option("--json", "print every result as JSON on stdout")
    .action(async (options: BenchOptions) => {
      if (options.suite && options.dataset) throw new UsageError("give either --suite or --dataset, not both");
      const loaded = options.suite ? await loadSuite(options.suite) : quickSuite(options);
      const suite = options.encoder ? { ...loaded, encoder: resolveModelSpec(options.encoder, process.cwd()) } : loaded;
      const result = await runSuite(suite, { outDir: null, progress: terminalProgress() });
      const outDir = options.out ?? (options.suite ? await defaultResultsDir() : undefined);
      if (outDir) {
        const written = await writeSuiteResult(result, suite, outDir);
        console.error(`wrote ${written.markdown} and ${written.json}`);
      }
      if (options.json) {
        console.log(JSON.stringify(result.results.map(({ dataset, task, queryLang, docLang, label, ranker, params, queries, documents, measures }) => ({
          dataset, task, queryLang, docLang, ranker, params, label, queries, documents, measures,
        }))));
      } else {
        console.log(formatMarkdown(result, suite));
      }
    });
}

function quickSuite(options: BenchOptions): Suite {
  if (!options.dataset) throw new UsageError("give --suite FILE, or --dataset SPEC with --query-lang");
  const [kind, ...rest] = options.dataset.split(":");
  const arg = rest.join(":");
  const queryLangs = options.queryLang ? list(options.queryLang) : [];
  const needLangs = () => {
    if (queryLangs.length === 0) throw new UsageError(`--dataset ${kind} needs --query-lang`);
    return queryLangs;
  };
  const paths = (count: number, names: string) => {
    const parts = list(arg);
    if (parts.length !== count) throw new UsageError(`--dataset ${kind}:${names} expects ${count} comma-separated paths`);
    return parts;
  };
  let dataset: Record<string, unknown>;
  switch (kind) {
    case "xquad":
    case "ddtp":
      dataset = {
        dataset: kind,
        tasks: arg ? list(arg) : [kind === "xquad" ? "paragraph" : "short"],
        queryLangs: needLangs(),
        docLang: options.docLang,
      };
      break;
    case "jsonl":
      if (!arg) throw new UsageError("--dataset jsonl:PATH needs the path");
      dataset = { dataset: "jsonl", path: arg, queryLangs: needLangs(), docLang: options.docLang, limit: options.limit };
      break;
    case "parallel": {
      const [queries, documents] = paths(2, "QUERIES,DOCS");
      dataset = { dataset: "parallel", queries, documents, queryLang: queryLangs[0], docLang: options.docLang };
      break;
    }
    case "trec": {
      const [topics, qrels, collection] = paths(3, "TOPICS,QRELS,COLLECTION");
      dataset = { dataset: "trec", topics, qrels, collection, queryLang: queryLangs[0], docLang: options.docLang };
      break;
    }
    default:
      throw new UsageError(`--dataset: unknown kind "${kind}" (expected xquad, jsonl, ddtp, parallel or trec)`);
  }
  const raw = {
    name: `bench-${kind}`,
    datasets: [dataset],
    rankers: rankersWithParams(list(options.rankers), options.param ?? {}),
    measures: list(options.measures),
    k: options.k,
  };
  return parseSuite(raw, { source: "command line", baseDir: process.cwd() });
}

/**
 * The quick form's rankers, each with the `--param` values it takes: `--rankers bm25,lm-emd
 * --param gamma=0.05` sets lm-emd's γ instead of failing on bm25. A parameter that no listed
 * ranker takes is an error, so a misspelt key is not silently dropped.
 */
function rankersWithParams(names: string[], params: Record<string, unknown>): { name: string; params: Record<string, unknown> }[] {
  const accepted = new Map(names.map((name) => [name, rankerParameterNames(name)]));
  for (const key of Object.keys(params)) {
    if (![...accepted.values()].some((keys) => keys.includes(key))) {
      throw new UsageError(`--param ${key}: no ranker of --rankers ${names.join(",")} takes it`);
    }
  }
  return names.map((name) => ({
    name,
    params: Object.fromEntries(Object.entries(params).filter(([key]) => accepted.get(name)!.includes(key))),
  }));
}
