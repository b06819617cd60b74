/**
 * Retrieval tasks over DDTP: a package description in one language → the same description (same
 * `Description-md5`) among all descriptions of another, usually English (61,486 of them).
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ddtpText, readDdtp, sameIdQrels } from "./ddtp.js";
import { bcp47 } from "./io.js";
import { resolveDatasetPath } from "./locate.js";
import { keySplitFilter, type KeySplit } from "./split.js";
import type { Document, Query, RetrievalTask } from "./types.js";

/** Options of `loadDdtpTask`. */
export interface DdtpTaskOptions {
  /** Folder holding `Translation-<lang>[.gz]`; default `resolveDatasetPath("ddtp")`. */
  dir?: string;
  /** Language of the queries, as in the file name (`de`, `pt_BR`) or BCP 47 (`pt-BR`). */
  queryLang: string;
  /** Language of the documents; default `en`. */
  docLang?: string;
  /** Query text: the short description, or short + "\n" + long. */
  queryField: "short" | "description";
  /** Document text: short, long, or short + "\n" + long. */
  docField: "short" | "description" | "long";
  /** Default `ddtp/<queryField>-<docField>/<queryLang>-<docLang>` (BCP 47 tags). */
  name?: string;
  /** Keep only the queries whose md5 passes (e.g. a test split); documents are always all of docLang's. */
  md5Filter?: (md5: string) => boolean;
  /**
   * Keep only the queries on one side of the md5 split that `@crossrank/train`'s static trainer
   * uses (same hash, fraction and seed), e.g. `{ part: "dev" }` to evaluate a model on descriptions
   * it was not trained on. Combined with `md5Filter` when both are given.
   */
  split?: KeySplit;
}

const FILE = /^Translation-([A-Za-z0-9_@.-]+?)(\.gz)?$/;

/** The path of `Translation-<lang>.gz` or, failing that, `Translation-<lang>` in `dir`. */
async function translationFile(dir: string, lang: string): Promise<string> {
  const base = `Translation-${lang.replaceAll("-", "_")}`;
  for (const name of [`${base}.gz`, base]) {
    try {
      if ((await stat(join(dir, name))).isFile()) return join(dir, name);
    } catch {
      // try the next name
    }
  }
  const have = await ddtpLanguages(dir).catch(() => []);
  throw new Error(`no ${base}.gz or ${base} in ${dir} (languages there: ${have.join(", ") || "none"})`);
}

/** The languages (as in the file names: `de`, `pt_BR`) with a `Translation-<lang>[.gz]` file in `dir` (default: the ddtp dataset). */
export async function ddtpLanguages(dir?: string): Promise<string[]> {
  const folder = dir ?? (await resolveDatasetPath("ddtp"));
  const langs = new Set<string>();
  for (const name of await readdir(folder)) {
    const m = FILE.exec(name);
    if (m !== null) langs.add(m[1]!);
  }
  return [...langs].sort();
}

/**
 * Loads a same-description retrieval task: documents are ALL `docLang` descriptions (id = md5,
 * text per `docField`); queries are the `queryLang` descriptions (id = md5, text per `queryField`)
 * whose md5 is among them and passes `md5Filter`; each query's one relevant document is its own md5.
 * Query descriptions with no `docLang` counterpart are skipped and counted in `warnings`, as are
 * stanzas merged by md5 whose texts differed (see `parseDdtp`).
 */
export async function loadDdtpTask(options: DdtpTaskOptions): Promise<RetrievalTask> {
  const { queryLang, queryField, docField } = options;
  const inSplit = options.split === undefined ? undefined : keySplitFilter(options.split);
  const md5Filter = inSplit === undefined ? options.md5Filter : (md5: string) => inSplit(md5) && (options.md5Filter?.(md5) ?? true);
  const docLang = options.docLang ?? "en";
  const dir = options.dir ?? (await resolveDatasetPath("ddtp"));
  const warnings: string[] = [];
  const onWarning = (message: string) => warnings.push(message);
  const docPath = await translationFile(dir, docLang);
  const docs = await readDdtp(docPath, { onWarning });
  const sameFile = queryLang.replaceAll("-", "_") === docLang.replaceAll("-", "_");
  const queryDescriptions = sameFile ? docs : await readDdtp(await translationFile(dir, queryLang), { onWarning });

  const docTag = bcp47(docLang);
  const queryTag = bcp47(queryLang);
  const documents: Document[] = docs.map((d) => ({ id: d.md5, text: ddtpText(d, docField), lang: docTag }));
  const docIds = new Set(docs.map((d) => d.md5));
  const queries: Query[] = [];
  let unmatched = 0;
  for (const d of queryDescriptions) {
    if (!docIds.has(d.md5)) {
      unmatched++;
      continue;
    }
    if (md5Filter !== undefined && !md5Filter(d.md5)) continue;
    queries.push({ id: d.md5, text: ddtpText(d, queryField), lang: queryTag });
  }
  if (unmatched > 0) warnings.push(`skipped ${unmatched} ${queryTag} descriptions whose md5 has no ${docTag} description`);
  return {
    name: options.name ?? `ddtp/${queryField}-${docField}/${queryTag}-${docTag}${options.split === undefined ? "" : `/${options.split.part}`}`,
    queryLang: queryTag,
    docLang: docTag,
    queries,
    documents,
    qrels: sameIdQrels(queries.map((q) => q.id)),
    warnings,
  };
}
