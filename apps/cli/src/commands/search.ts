import { Command } from "commander";
import { readCollection } from "@crossrank/datasets";
import { rankedDocuments } from "@crossrank/metrics";
import { createRanker } from "@crossrank/rankers";
import { collectParam, positiveInt, UsageError } from "../errors.js";
import { openStore, SCHEMA_HELP, STORE_HELP } from "../store.js";

interface SearchOptions {
  docs?: string;
  index?: string;
  store?: string;
  schema?: string;
  query: string;
  ranker: string;
  param?: Record<string, unknown>;
  top: number;
  queryLang?: string;
  docLang?: string;
  json?: boolean;
}

/** `crossrank search`: rank a document file, or a persistent index, for one query and print the top hits. */
export function searchCommand(): Command {
  return new Command("search")
    .description("rank the documents of a file, or of an index built by crossrank index, for one query")
    .option("--docs <file>", "documents: .jsonl ({id, text, title?}), .tsv (id<TAB>text), DDTP Translation-<lang> (.gz allowed); analysed and encoded for this query only")
    .option("--index <dir>", "an index built by crossrank index: nothing is re-analysed or re-encoded")
    .option("--store <url>", STORE_HELP)
    .option("--schema <name>", SCHEMA_HELP)
    .requiredOption("--query <text>", "the query")
    .option("--ranker <name>", "ranker name (default hybrid: BM25, or BM25-PSQ when --query-lang/--doc-lang have an installed dictionary, fused with the shipped static model's bi-encoder)", "hybrid")
    .option("--param <key=value>", "a ranker parameter (repeatable)", collectParam)
    .option("--top <n>", "how many hits to print", positiveInt("--top"), 10)
    .option("--query-lang <lang>", "the query's language (BCP 47), used by the analyzer and to pick a dictionary")
    .option("--doc-lang <lang>", "the documents' language (BCP 47)")
    .option("--json", "print [{rank, id, score, title?, text}] as JSON")
    .action(async (options: SearchOptions) => {
      const sources = [options.docs, options.index, options.store].filter((s) => s !== undefined).length;
      if (sources !== 1) throw new UsageError("give exactly one of --docs FILE, --index DIR and --store postgres://…");
      let hits: { rank: number; id: string; score: number; title?: string; text: string }[];
      let label: string;
      let size: number;
      if (options.docs === undefined) {
        if (options.docLang !== undefined) throw new UsageError("--doc-lang does not apply to an index (it records its documents' language)");
        const index = await openStore(options);
        try {
          hits = await index.search(options.query, { k: options.top, ranker: options.ranker, params: options.param ?? {}, ...(options.queryLang ? { queryLang: options.queryLang } : {}) });
        } finally {
          await index.close();
        }
        size = index.size;
        label = options.ranker;
      } else {
        if (options.schema !== undefined) throw new UsageError("--schema applies to --store only");
        const documents = await readCollection(options.docs!);
        const ranker = createRanker(options.ranker, options.param ?? {});
        const run = await ranker.rank(
          {
            queries: [{ id: "query", text: options.query }],
            documents,
            ...(options.queryLang ? { queryLang: options.queryLang } : {}),
            ...(options.docLang ? { docLang: options.docLang } : {}),
          },
          { k: options.top },
        );
        const scores = run.get("query") ?? new Map<string, number>();
        const byId = new Map(documents.map((d) => [d.id, d]));
        hits = rankedDocuments(scores).map((id, i) => {
          const doc = byId.get(id);
          return { rank: i + 1, id, score: scores.get(id) ?? 0, ...(doc?.title ? { title: doc.title } : {}), text: doc?.text ?? "" };
        });
        label = ranker.name;
        size = documents.length;
      }
      if (options.json) {
        console.log(JSON.stringify(hits));
        return;
      }
      if (hits.length === 0) {
        console.error(`no document matches (${label}, ${size} documents)`);
        return;
      }
      for (const hit of hits) {
        const snippet = (hit.title ? `${hit.title}: ` : "") + hit.text.replace(/\s+/g, " ");
        console.log(`${String(hit.rank).padStart(3)}  ${hit.score.toFixed(4)}  ${hit.id}  ${snippet.slice(0, 100)}`);
      }
    });
}
