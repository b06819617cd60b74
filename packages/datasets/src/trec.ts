/**
 * TREC-style test collections: topics + qrels + a document collection, each in its own file
 * (see `readTopics`, `readCollection`; qrels are read by `@crossrank/metrics`).
 */
import { basename } from "node:path";
import { parseQrels, readQrels, type Qrels } from "@crossrank/metrics";
import { readCollection } from "./collection.js";
import { isGzipFile, readText } from "./io.js";
import { readTopics } from "./topics.js";
import type { Query, RetrievalTask } from "./types.js";

/** Options of `loadTrecTask`. */
export interface TrecTaskOptions {
  /** Topic file: SGML `<top>` blocks, `id<TAB>text` TSV, or JSONL (gzip allowed). */
  topics: string;
  /** Qrels file, `qid iter docid rel` lines (gzip allowed). */
  qrels: string;
  /** Collection: `.jsonl`/`.json` or `.tsv`/`.txt`, optionally `.gz`. */
  collection: string;
  /** Default `trec/<collection file stem>/<topics file stem>`. */
  name?: string;
  queryLang?: string;
  docLang?: string;
  /** Which part of an SGML topic is the query: `title` (default) or `description`. */
  topicField?: "title" | "description";
}

/** `readQrels`, or, for a gzipped file (which it does not read), `parseQrels` over the gunzipped text. */
async function readQrelsFile(path: string): Promise<Qrels> {
  return (await isGzipFile(path)) ? parseQrels(await readText(path), path) : readQrels(path);
}

const stem = (path: string) => basename(path).replace(/(\.[A-Za-z0-9]+)?(\.gz)?$/i, "");

/**
 * Loads a TREC-style task. Queries are all topics (text from `topicField`; a topic without that
 * field is an error `topics:line`). Qrels keep only what the task can use, which is the documented
 * behaviour because TREC qrels routinely judge documents outside a distributed subset: judgments
 * of a query with no topic, and of documents not in the collection, are skipped and counted in
 * `warnings` (as are queries left with no judgment). Topics without judgments stay as queries.
 */
export async function loadTrecTask(options: TrecTaskOptions): Promise<RetrievalTask> {
  const { queryLang, docLang } = options;
  const field = options.topicField ?? "title";
  const [topics, rawQrels, documents] = await Promise.all([
    readTopics(options.topics),
    readQrelsFile(options.qrels),
    readCollection(options.collection, docLang),
  ]);
  const queries: Query[] = topics.map((t) => {
    const text = field === "title" ? t.title : t.description;
    if (text === undefined || text === "") {
      const tag = field === "title" ? "<title>" : "<desc>";
      throw new Error(
        `${options.topics}:${t.line}: topic ${t.id} has no ${field} (${tag})${field === "description" ? '; TSV and JSONL topics have only one text: use topicField "title"' : ""}`,
      );
    }
    const q: Query = { id: t.id, text };
    if (queryLang !== undefined) q.lang = queryLang;
    return q;
  });

  const topicIds = new Set(queries.map((q) => q.id));
  const docIds = new Set(documents.map((d) => d.id));
  const qrels: Qrels = new Map();
  let noTopicQueries = 0;
  let noTopicJudgments = 0;
  let unknownDocs = 0;
  let emptied = 0;
  for (const [qid, judged] of rawQrels) {
    if (!topicIds.has(qid)) {
      noTopicQueries++;
      noTopicJudgments += judged.size;
      continue;
    }
    const kept = new Map<string, number>();
    for (const [docid, grade] of judged) {
      if (docIds.has(docid)) kept.set(docid, grade);
      else unknownDocs++;
    }
    if (kept.size > 0) qrels.set(qid, kept);
    else emptied++;
  }
  const warnings: string[] = [];
  if (noTopicQueries > 0) {
    warnings.push(`skipped ${noTopicJudgments} judgments of ${noTopicQueries} qrels queries with no topic in ${options.topics}`);
  }
  if (unknownDocs > 0) {
    const left = emptied > 0 ? ` (${emptied} queries left with no judgment)` : "";
    warnings.push(`skipped ${unknownDocs} judgments of documents not in ${options.collection}${left}`);
  }
  const task: RetrievalTask = {
    name: options.name ?? `trec/${stem(options.collection)}/${stem(options.topics)}`,
    queries,
    documents,
    qrels,
    warnings,
  };
  if (queryLang !== undefined) task.queryLang = queryLang;
  if (docLang !== undefined) task.docLang = docLang;
  return task;
}
