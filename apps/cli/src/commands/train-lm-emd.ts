import { Command } from "commander";
import { loadParallelTask } from "@crossrank/datasets";
import { POOLING_OF_RANKER, trainLmEmdHead, trainPooledHead } from "@crossrank/train";
import { positiveInt, UsageError } from "../errors.js";
import { barProgress } from "../progress.js";

interface TrainLmEmdFlags {
  ranker: string;
  encoder: string;
  queries: string;
  docs: string;
  out: string;
  queryLang?: string;
  docLang?: string;
  loss: string;
  margin: number;
  epochs: number;
  lr: number;
  weightDecay: number;
  batchSize: number;
  group: number;
  negatives: string;
  gamma: number;
  iterations: number;
  domain: string;
  solver: string;
  gradient: string;
  head: string;
  seed: number;
  maxLength?: number;
  resume: boolean;
}

const number = (flag: string, min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} expects a number >= ${min}, got "${value}"`);
  return n;
};

const choice = (flag: string, value: string, allowed: readonly string[]): void => {
  if (!allowed.includes(value)) throw new UsageError(`${flag}: expected ${allowed.join(", ")}, got "${value}"`);
};

/**
 * `crossrank train-lm-emd`: one LM-EMD training run outside a suite: a token head over a frozen
 * encoder, trained so that each query's transport cost to its document falls below the costs to
 * negatives (`@crossrank/train`'s `trainLmEmdHead`). Parallel text files give the pairs (line i of
 * --queries ↔ line i of --docs); the documents are also the negatives' pool. stdout gets the head
 * folder (an encoder spec for every ranker) and a JSON summary; progress goes to stderr.
 * `--ranker bert-cls | bert-max | bert-mean` trains the study's baselines the same way (same losses,
 * groups, negatives and loop; the score is the cosine of the pooled rows: `trainPooledHead`).
 */
export function trainLmEmdCommand(): Command {
  return new Command("train-lm-emd")
    .description("train an LM-EMD (or, with --ranker, a CLS / MAX / MEAN baseline) token head over a frozen encoder on parallel text files (query line i ↔ document line i); prints the head folder")
    .option("--ranker <name>", "what the head is trained for: lm-emd (Sinkhorn distance) or the study's baselines bert-cls, bert-max, bert-mean (cosine of pooled rows)", "lm-emd")
    .requiredOption("--encoder <spec>", "the base encoder: hub id, model folder, fixture:bert (or a head folder to stack on)")
    .requiredOption("--queries <file>", "queries, one per line")
    .requiredOption("--docs <file>", "documents, one per line, line i relevant to query i; also the pool negatives are drawn from")
    .requiredOption("--out <dir>", "the run and head folder (crossrank-head.json, head.safetensors, log.jsonl, checkpoint/, plot.svg)")
    .option("--query-lang <lang>", "the queries' language (BM25 negatives' analyzer)")
    .option("--doc-lang <lang>", "the documents' language")
    .option("--loss <name>", "pairwise (margin ranking over 1 − distance) or cross-entropy", "pairwise")
    .option("--margin <m>", "pairwise margin", number("--margin", 0), 0)
    .option("--epochs <n>", "passes over the pairs (0 writes the identity head)", number("--epochs", 0), 1)
    .option("--lr <rate>", "AdamW learning rate (the study's 1e-6 is for the whole of mBERT; a head wants about 1e-3)", number("--lr", 0), 0.001)
    .option("--weight-decay <w>", "AdamW weight decay", number("--weight-decay", 0), 0.01)
    .option("--batch-size <n>", "groups per update", positiveInt("--batch-size"), 1)
    .option("--group <n>", "documents per group: the relevant one and group − 1 negatives", number("--group", 2), 5)
    .option("--negatives <from>", "bm25 (hard, from BM25's top hits) or random", "bm25")
    .option("--gamma <reg>", "entropic regularisation γ", number("--gamma", Number.MIN_VALUE), 0.1)
    .option("--iterations <n>", "Sinkhorn iterations", positiveInt("--iterations"), 100)
    .option("--domain <name>", "Sinkhorn domain: auto, kernel or log", "auto")
    .option("--solver <name>", "batched (the ranker's float32 solver) or reference (float64, per pair)", "batched")
    .option("--gradient <name>", "envelope (plan held fixed) or unrolled (through every iteration, the study's; needs --solver reference)", "envelope")
    .option("--head <type>", "linear or mlp", "linear")
    .option("--seed <n>", "seeds the order, the negatives and the head's initialisation", number("--seed", 0), 1)
    .option("--max-length <n>", "tokens per text (longer texts are truncated)", positiveInt("--max-length"))
    .option("--resume", "continue from the checkpoint in --out")
    .action(async (flags: TrainLmEmdFlags, command: Command) => {
      choice("--ranker", flags.ranker, ["lm-emd", ...Object.keys(POOLING_OF_RANKER)]);
      const pooling = POOLING_OF_RANKER[flags.ranker as keyof typeof POOLING_OF_RANKER];
      if (pooling !== undefined) {
        const sinkhorn = ["gamma", "iterations", "domain", "solver", "gradient"].filter((name) => command.getOptionValueSource(name) === "cli");
        if (sinkhorn.length > 0) throw new UsageError(`${sinkhorn.map((n) => `--${n}`).join(", ")}: LM-EMD's Sinkhorn settings do not apply to --ranker ${flags.ranker} (scored by the cosine of pooled rows)`);
      }
      choice("--loss", flags.loss, ["pairwise", "cross-entropy"]);
      choice("--negatives", flags.negatives, ["bm25", "random"]);
      choice("--domain", flags.domain, ["auto", "kernel", "log"]);
      choice("--solver", flags.solver, ["batched", "reference"]);
      choice("--gradient", flags.gradient, ["envelope", "unrolled"]);
      choice("--head", flags.head, ["linear", "mlp"]);
      if (!Number.isInteger(flags.epochs) || !Number.isInteger(flags.group) || !Number.isInteger(flags.seed)) throw new UsageError("--epochs, --group and --seed take whole numbers");
      if (flags.gradient === "unrolled" && flags.solver !== "reference") throw new UsageError("--gradient unrolled needs --solver reference (the batched solver gives the envelope gradient only)");
      const task = await loadParallelTask(flags.queries, flags.docs, {
        ...(flags.queryLang === undefined ? {} : { queryLang: flags.queryLang }),
        ...(flags.docLang === undefined ? {} : { docLang: flags.docLang }),
      });
      const documents = new Map(task.documents.map((d) => [d.id, d]));
      const pairs = task.queries.flatMap((q) =>
        [...(task.qrels.get(q.id) ?? new Map<string, number>())].filter(([, rel]) => rel > 0).map(([id]) => ({ query: q.text, queryId: q.id, relevant: documents.get(id)!.text, relevantId: id })),
      );
      const bar = barProgress("train-lm-emd", undefined);
      try {
        const common = {
          encoder: flags.encoder,
          ...(flags.maxLength === undefined ? {} : { encoderOptions: { maxLength: flags.maxLength } }),
          pairs,
          pool: task.documents.map((d) => ({ id: d.id, text: d.text })),
          loss: flags.loss as "pairwise" | "cross-entropy",
          margin: flags.margin,
          group: flags.group,
          negatives: flags.negatives as "bm25" | "random",
          ...(task.docLang === undefined ? {} : { lang: task.docLang }),
          ...(task.queryLang === undefined ? {} : { queryLang: task.queryLang }),
          head: { type: flags.head as "linear" | "mlp" },
          optimizer: { lr: flags.lr, weightDecay: flags.weightDecay },
          epochs: flags.epochs,
          batchSize: flags.batchSize,
          seed: flags.seed,
          out: flags.out,
          resume: flags.resume === true,
          onProgress: (p: { step: number; totalSteps: number }) => bar.update(p.step, p.totalSteps),
          trainedBy: { cli: { queries: flags.queries, docs: flags.docs } },
        };
        const result =
          pooling !== undefined
            ? await trainPooledHead({ ...common, pooling })
            : await trainLmEmdHead({
                ...common,
                gamma: flags.gamma,
                iterations: flags.iterations,
                method: flags.domain as "auto" | "kernel" | "log",
                solver: flags.solver as "batched" | "reference",
                gradient: flags.gradient as "envelope" | "unrolled",
              });
        bar.stop();
        console.log(result.folder);
        console.log(
          JSON.stringify({
            pairs: pairs.length,
            steps: result.steps,
            firstEpochLoss: result.firstEpochLoss,
            lastEpochLoss: result.lastEpochLoss,
            negatives: result.negatives,
            seconds: Number(result.seconds.toFixed(1)),
          }),
        );
      } finally {
        bar.stop();
      }
    });
}
