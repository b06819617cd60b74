import { constants } from "node:fs";
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { collectionFormat, type Document, readCollection, streamCollection } from "@crossrank/datasets";
import { buildIndex, DEFAULT_DOC_LANG, DEFAULT_LEXICAL, type LexicalPart, openIndex, redactUrl, updateIndex, writePostgresIndex } from "@crossrank/index";
import { list, UsageError } from "../errors.js";
import { barProgress, type BarProgress } from "../progress.js";
import { postgresUrl, SCHEMA_HELP } from "../store.js";

interface IndexOptions {
  docs?: string[];
  out?: string;
  store?: string;
  schema?: string;
  docLang: string;
  encoder: string;
  lexical: string[];
  ann: string;
  update?: boolean;
  delete?: string[];
}

/** `crossrank index`: build (or update) a persistent index that `search --index` and `serve` open. */
export function indexCommand(): Command {
  return new Command("index")
    .description("build a persistent index of document files (BM25 postings and the bi-encoder's vectors on disk), or update one")
    .option("--docs <files...>", "documents: .jsonl ({id, text, title?}), .tsv (id<TAB>text), DDTP Translation-<lang> (.gz allowed)")
    .option("--out <dir>", "the index folder (created; an index there gets a new generation)")
    .option("--store <url>", "also write the index into this PostgreSQL database (postgres://…, with pgvector); without --out it is built in a temporary folder")
    .option("--schema <name>", SCHEMA_HELP)
    .option("--doc-lang <lang>", "the documents' language (BCP 47), for the analyzers", DEFAULT_DOC_LANG)
    .option("--encoder <spec>", 'encoder of the document vectors (crossrank-static, a model folder, a hub id; "none" for no vectors)', "crossrank-static")
    .option("--lexical <names>", `lexical indexes, comma-separated (${DEFAULT_LEXICAL.join(", ")}; "none")`, list, [...DEFAULT_LEXICAL])
    .option("--ann <store>", "approximate dense index: lancedb, none, or auto (lancedb from 100,000 documents)", "auto")
    .option("--update", "add the --docs documents to the index in --out (replacing those with the same id) instead of rebuilding it")
    .option("--delete <ids...>", "with --update: ids of documents to delete")
    .action(async (options: IndexOptions) => {
      if (options.delete && !options.update) throw new UsageError("--delete needs --update");
      if (!options.update && (options.docs === undefined || options.docs.length === 0)) throw new UsageError("--docs is required to build an index");
      if (options.out === undefined && options.store === undefined) throw new UsageError("give --out DIR (an index folder), --store postgres://… (PostgreSQL), or both");
      // A PostgreSQL index is written from a folder: it is updated there and written again whole.
      if (options.update && options.out === undefined) throw new UsageError("--update needs --out DIR: the index folder the PostgreSQL index is written from");
      const store = options.store === undefined ? undefined : postgresUrl("--store", options.store);
      if (options.schema !== undefined && store === undefined) throw new UsageError("--schema applies to --store only");
      // Checked before the build starts, which then streams the files one after another.
      for (const file of options.docs ?? []) {
        collectionFormat(file);
        await access(file, constants.R_OK);
      }
      const out = options.out ?? (await mkdtemp(join(tmpdir(), "crossrank-index-")));
      const progress = stagedProgress();
      try {
        await buildOrUpdate(out, options.docs ?? [], options, progress);
        progress.stop();
        if (store !== undefined) {
          const index = await openIndex(out);
          const { seconds } = await writePostgresIndex(index, store, options.schema === undefined ? {} : { schema: options.schema });
          await index.close();
          console.error(`${redactUrl(store)}: written to schema ${options.schema ?? "crossrank"} in ${seconds.toFixed(1)} s`);
        }
      } finally {
        progress.stop();
        if (options.out === undefined) await rm(out, { recursive: true, force: true });
      }
    });
}

async function buildOrUpdate(out: string, files: readonly string[], options: IndexOptions, progress: ReturnType<typeof stagedProgress>): Promise<void> {
  if (options.update) {
    const upsert: Document[] = [];
    for (const file of files) upsert.push(...(await readCollection(file)));
    const r = await updateIndex(out, {
      upsert,
      delete: options.delete ?? [],
      onProgress: progress.update,
    });
    progress.stop();
    console.error(
      `${out}: generation ${r.manifest.generation}: ${r.added} added, ${r.replaced} replaced, ${r.deleted} deleted, ${r.encoded} encoded; ${r.manifest.documents.count} documents`,
    );
    return;
  }
  const lexical = options.lexical.filter((n) => n !== "none");
  for (const n of lexical)
    if (!DEFAULT_LEXICAL.includes(n as LexicalPart)) throw new UsageError(`--lexical: unknown index ${JSON.stringify(n)} (one of ${DEFAULT_LEXICAL.join(", ")}, none)`);
  if (!["lancedb", "none", "auto"].includes(options.ann)) throw new UsageError(`--ann: expected lancedb, none or auto, got ${JSON.stringify(options.ann)}`);
  const t0 = Date.now();
  const manifest = await buildIndex(out, streamFiles(files), {
    ann: options.ann as "lancedb" | "none" | "auto",
    docLang: options.docLang,
    encoder: options.encoder === "none" ? null : options.encoder,
    lexical: lexical as LexicalPart[],
    onProgress: progress.update,
  });
  progress.stop();
  const bytes = Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0);
  console.error(
    `${out}: ${manifest.documents.count} documents indexed in ${((Date.now() - t0) / 1000).toFixed(1)} s (generation ${manifest.generation}, ${(bytes / 1e6).toFixed(
      1,
    )} MB: ${manifest.parts.map((p) => (p.kind === "ann" ? "lancedb" : p.ranker)).join(", ")})`,
  );
}

/** The documents of `files`, streamed one file after another. */
async function* streamFiles(files: readonly string[]): AsyncGenerator<Document> {
  for (const file of files) yield* streamCollection(file);
}

/** One progress bar per build stage, replaced when the stage changes (a count where the total is unknown). */
function stagedProgress(): {
  update: (stage: string, done: number, total: number | undefined) => void;
  stop: () => void;
} {
  let stage: string | undefined;
  let bar: BarProgress | undefined;
  return {
    update: (next, done, total) => {
      if (next !== stage) {
        bar?.stop();
        stage = next;
        bar = barProgress(next.padEnd(10), total);
      }
      bar!.update(done, total);
    },
    stop: () => bar?.stop(),
  };
}
