import { Command } from "commander";
import { createServer, DEFAULTS } from "@crossrank/server";
import { positiveInt, UsageError } from "../errors.js";
import { openStore, SCHEMA_HELP, STORE_HELP } from "../store.js";

interface ServeOptions {
  index?: string;
  store?: string;
  schema?: string;
  port: number;
  host: string;
  token?: string;
  maxK: number;
  timeout: number;
  log?: boolean;
  page: boolean;
  warm?: string[];
}

/** `crossrank serve`: the HTTP JSON service over an index, until SIGINT/SIGTERM (then a graceful close). */
export function serveCommand(): Command {
  return new Command("serve")
    .description("serve an index over HTTP: the explanation page at /, and POST /search, POST /explain, GET /health, GET /stats (JSON)")
    .option("--index <dir>", "an index built by crossrank index")
    .option("--store <url>", STORE_HELP)
    .option("--schema <name>", SCHEMA_HELP)
    .option("--port <n>", "TCP port (0: any free port)", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port expects 0–65535, got "${v}"`);
      return n;
    }, 8080)
    .option("--host <addr>", "address to listen on (0.0.0.0 for every interface)", "127.0.0.1")
    .option("--token <secret>", "require Authorization: Bearer <secret> (or set CROSSRANK_TOKEN)")
    .option("--max-k <n>", "largest k a search may ask for", positiveInt("--max-k"), DEFAULTS.maxK)
    .option("--timeout <ms>", "answer 503 when a search takes longer", positiveInt("--timeout"), DEFAULTS.timeoutMs)
    .option("--log", "log every request (JSON lines on stdout)")
    .option("--no-page", "serve the JSON API alone, without the explanation page at /")
    .option("--warm <langs>", "before listening, load the dictionaries of these query languages (comma-separated, e.g. de,zh): a first search in a language otherwise waits for them", (v) => v.split(",").map((l) => l.trim()).filter(Boolean))
    .action(async (options: ServeOptions) => {
      const index = await openStore(options);
      const token = options.token ?? process.env.CROSSRANK_TOKEN;
      const app = createServer(index, { maxK: options.maxK, timeoutMs: options.timeout, logger: options.log ?? false, page: options.page, ...(token ? { token } : {}) });
      const stop = (signal: string) => {
        console.error(`crossrank serve: ${signal}: finishing requests in flight, then exiting`);
        app.close().then(() => index.close()).then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`crossrank serve: ${(err as Error).message}`);
            process.exit(1);
          },
        );
      };
      // Registered before the address is printed: whoever reads it may signal at once, and a signal
      // with no listener yet would end the process without the graceful close.
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
      for (const queryLang of options.warm ?? []) {
        // BM25-PSQ's translation table for the pair, built once per process and shared by hybrid's lexical stage.
        const started = performance.now();
        try {
          await index.search("a", { ranker: "bm25-psq", queryLang, k: 1 });
          console.error(`crossrank serve: ${queryLang} → ${index.manifest.documents.lang} dictionaries loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        } catch (err) {
          console.error(`crossrank serve: --warm ${queryLang}: ${(err as Error).message}`);
        }
      }
      const address = await app.listen({ port: options.port, host: options.host });
      console.error(`crossrank serve: ${index.location}: ${index.size} documents (generation ${index.generation}) at ${address}${token ? " (bearer token required)" : ""}${options.page ? `; the explanation page: ${address}/` : ""}`);
    });
}
