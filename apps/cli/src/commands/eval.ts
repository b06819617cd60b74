import { Command } from "commander";
import { evaluate, parseMeasures, readQrels, readRun } from "@crossrank/metrics";

export const DEFAULT_EVAL_MEASURES = "P@1,AP,RR@10,R@5,nDCG@10";

/** `crossrank eval`: trec_eval-style evaluation of a TREC run against TREC qrels. */
export function evalCommand(): Command {
  return new Command("eval")
    .description("evaluate a TREC run against TREC qrels (trec_eval conventions; means over the qrels' queries)")
    .requiredOption("--qrels <file>", "TREC qrels: qid iter docid rel")
    .requiredOption("--run <file>", "TREC run: qid Q0 docid rank score tag")
    .option("--measures <list>", "comma-separated measures: P@k R@k AP|MAP RR@k|MRR@k nDCG@k Success@k", DEFAULT_EVAL_MEASURES)
    .option("--per-query", "also print each query's values (like trec_eval -q)")
    .option("--json", "print JSON: {measure: mean}, or {mean, perQuery} with --per-query")
    .action(async (options: { qrels: string; run: string; measures: string; perQuery?: boolean; json?: boolean }) => {
      const measures = parseMeasures(options.measures);
      const [qrels, run] = await Promise.all([readQrels(options.qrels), readRun(options.run)]);
      const result = evaluate(qrels, run, measures);
      if (options.json) {
        const output = options.perQuery
          ? { mean: result.mean, perQuery: Object.fromEntries(result.perQuery) }
          : result.mean;
        console.log(JSON.stringify(output));
        return;
      }
      const width = Math.max(...result.measures.map((m) => m.length));
      if (options.perQuery) {
        for (const [qid, values] of result.perQuery) {
          for (const m of result.measures) console.log(`${m.padEnd(width)}\t${qid}\t${(values[m] ?? 0).toFixed(4)}`);
        }
      }
      for (const m of result.measures) console.log(`${m.padEnd(width)}\tall\t${(result.mean[m] ?? 0).toFixed(4)}`);
      console.log(`${"queries".padEnd(width)}\tall\t${result.queries}`);
    });
}
