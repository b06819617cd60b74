/**
 * The LM-EMD study's data: Sasaki et al. 2018's large-scale CLIR dataset from Wikipedia ("Cross-
 * Lingual Learning-to-Rank with Shared Representations", NAACL 2018), as the study's code reads it
 * from `sasaki18.tgz` (https://www.cs.jhu.edu/~kevinduh/a/wikiclir2018/sasaki18.tgz, extracted by
 * eriknovak/LM-EMD data/download.sh):
 *
 *     sasaki18/data_en_<x>/train.txt, test1.txt, …      (x = de, fr, ja, sw, tl, … : the document language)
 *
 * one line per (English query, candidate document in x): `rel<TAB>query<TAB>document`, split on runs
 * of tabs into exactly three fields, `rel > 0` relevant — the format of eriknovak/LM-EMD
 * src/library/data_loader.py (`format_row`), which skips lines without three fields. A query's
 * candidates are consecutive lines: the study's evaluation (src/evaluate.py) takes every 40 lines
 * of test1.txt as one query's candidate set and scores P@1 and average precision within it; its
 * training (src/train.py) takes every 5 lines of train.txt as a group. This loader groups
 * consecutive lines by their query text instead, which gives the same sets when the file is written
 * in such blocks and does not depend on the block size.
 *
 * (The same collection in its full form — `wiki_en.queries`, `wiki_<x>.documents`, `en2<x>.rel` —
 * is ir_datasets' `wikiclir`; the study does not use those files, nor does this loader.)
 */
import type { Qrels } from "@crossrank/metrics";
import { readLines } from "./io.js";
import { resolveDatasetPath } from "./locate.js";
import type { Document, Query, RetrievalTask } from "./types.js";

/** Options of {@link readSasaki18File}. */
export interface Sasaki18FileOptions {
  /** Default "en" (every sasaki18 query is English). */
  queryLang?: string;
  docLang?: string;
  /** Default `sasaki18/<folder>/<file name>`. */
  name?: string;
}

/** Options of {@link loadSasaki18Task}. */
export interface Sasaki18TaskOptions {
  /** The document language: the folder `data_en_<docLang>`. */
  docLang: string;
  /** Which file of the folder, without `.txt`: "test1" (default, the study's evaluation), "train", … */
  split?: string;
  /** The extracted `sasaki18` folder; default: found as every dataset is (`$CROSSRANK_DATA/sasaki18`, shared data, cache). */
  dir?: string;
}

/**
 * A sasaki18 file as a retrieval task with candidate sets: queries `q1`, `q2`, … in file order (one
 * per run of consecutive lines with the same query text), documents `d1`, `d2`, … (one per distinct
 * document text, so an article that is a candidate of several queries is one document), each
 * query's candidates its lines' documents, and qrels the lines' `rel` values (0 judged
 * non-relevant). Lines without exactly three tab-separated fields are skipped, as the study's
 * loader skips them, and counted in `warnings`; a `rel` that is not a whole number is an error
 * `file:line`.
 */
export async function readSasaki18File(path: string, options: Sasaki18FileOptions = {}): Promise<RetrievalTask> {
  const queries: Query[] = [];
  const documents: Document[] = [];
  const docIds = new Map<string, string>();
  const qrels: Qrels = new Map();
  const candidates = new Map<string, string[]>();
  const queryLang = options.queryLang ?? "en";
  let skipped = 0;
  let current: Query | undefined;
  for await (const { line, text } of readLines(path)) {
    if (text.trim() === "") continue;
    const fields = text.split(/\t+/);
    if (fields.length !== 3) {
      skipped++;
      continue;
    }
    const [relField, queryText, documentText] = fields.map((f) => f.trim()) as [string, string, string];
    if (!/^-?\d+$/.test(relField)) throw new Error(`${path}:${line}: the relevance label must be a whole number, got ${JSON.stringify(relField)} (a line is rel<TAB>query<TAB>document)`);
    if (current === undefined || current.text !== queryText) {
      current = { id: `q${queries.length + 1}`, text: queryText, lang: queryLang };
      queries.push(current);
      candidates.set(current.id, []);
      qrels.set(current.id, new Map());
    }
    let docId = docIds.get(documentText);
    if (docId === undefined) {
      docId = `d${documents.length + 1}`;
      docIds.set(documentText, docId);
      documents.push({ id: docId, text: documentText, ...(options.docLang !== undefined ? { lang: options.docLang } : {}) });
    }
    const list = candidates.get(current.id)!;
    if (!list.includes(docId)) list.push(docId);
    const judged = qrels.get(current.id)!;
    judged.set(docId, Math.max(judged.get(docId) ?? Number(relField), Number(relField)));
  }
  if (queries.length === 0) throw new Error(`${path}: no line of the form rel<TAB>query<TAB>document`);
  const warnings = skipped > 0 ? [`${skipped} lines without three tab-separated fields skipped (as the LM-EMD study's loader skips them)`] : [];
  return {
    name: options.name ?? `sasaki18/${path.split(/[\\/]/).slice(-2).join("/")}`,
    queryLang,
    ...(options.docLang !== undefined ? { docLang: options.docLang } : {}),
    queries,
    documents,
    qrels,
    candidates,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** The file `data_en_<docLang>/<split>.txt` of the sasaki18 folder as a task (see {@link readSasaki18File}). */
export async function loadSasaki18Task(options: Sasaki18TaskOptions): Promise<RetrievalTask> {
  const docLang = options?.docLang;
  if (typeof docLang !== "string" || !/^[a-z]{2,3}$/.test(docLang)) throw new Error(`loadSasaki18Task: docLang must be a language code such as "de" (the folder data_en_<docLang>), got ${JSON.stringify(docLang)}`);
  const split = options.split ?? "test1";
  if (!/^[A-Za-z0-9_-]+$/.test(split)) throw new Error(`loadSasaki18Task: split must be a file name without .txt such as "test1" or "train", got ${JSON.stringify(split)}`);
  const file = `data_en_${docLang}/${split}.txt`;
  const path = options.dir !== undefined ? `${options.dir.replace(/[\\/]$/, "")}/${file}` : await resolveDatasetPath("sasaki18", file, { download: false });
  return readSasaki18File(path, { queryLang: "en", docLang, name: `sasaki18/en-${docLang}/${split}` });
}
