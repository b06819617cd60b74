/**
 * Sentence-aligned parallel text: two files, one sentence per line, where line i of one is the
 * translation of line i of the other (Europarl, Tatoeba, FLORES, … exports). Used both as a
 * retrieval task (find each sentence's translation) and as training pairs.
 */
import { basename } from "node:path";
import type { Qrels } from "@crossrank/metrics";
import { readLines, type NumberedLine } from "./io.js";
import type { RetrievalTask } from "./types.js";

/** One aligned pair; `line` is its 1-based line number in both files. */
export interface ParallelPair {
  source: string;
  target: string;
  line: number;
}

/** Options of `loadParallelTask`. */
export interface ParallelTaskOptions {
  queryLang?: string;
  docLang?: string;
  /** Default `parallel/<query file name>-<document file name>`. */
  name?: string;
}

async function countRest(lines: AsyncIterator<NumberedLine>, seen: number): Promise<number> {
  let n = seen;
  while (!(await lines.next()).done) n++;
  return n;
}

/**
 * Reads two aligned files in lockstep (streamed; gzip allowed). A pair whose lines are both blank
 * (empty or white space) is skipped and counted; a blank line facing a non-blank one is an error
 * `file:line`, and so are different line counts (naming both files and counts).
 */
async function readAligned(sourcePath: string, targetPath: string): Promise<{ pairs: ParallelPair[]; skipped: number }> {
  const a = readLines(sourcePath)[Symbol.asyncIterator]();
  const b = readLines(targetPath)[Symbol.asyncIterator]();
  const pairs: ParallelPair[] = [];
  let skipped = 0;
  let line = 0;
  try {
    for (;;) {
      const [x, y] = await Promise.all([a.next(), b.next()]);
      if (x.done && y.done) break;
      if (x.done || y.done) {
        const sourceCount = x.done ? line : await countRest(a, line + 1);
        const targetCount = y.done ? line : await countRest(b, line + 1);
        throw new Error(
          `${sourcePath} has ${sourceCount} lines but ${targetPath} has ${targetCount}: aligned files must have one line per sentence pair`,
        );
      }
      line++;
      const sourceBlank = x.value.text.trim() === "";
      const targetBlank = y.value.text.trim() === "";
      if (sourceBlank && targetBlank) {
        skipped++;
      } else if (sourceBlank || targetBlank) {
        const [blank, other] = sourceBlank ? [sourcePath, targetPath] : [targetPath, sourcePath];
        throw new Error(`${blank}:${line}: empty line, but ${other}:${line} is not; the files are misaligned or a translation is missing`);
      } else {
        pairs.push({ source: x.value.text, target: y.value.text, line });
      }
    }
  } finally {
    await Promise.all([a.return?.(undefined), b.return?.(undefined)]);
  }
  return { pairs, skipped };
}

/**
 * The aligned sentence pairs of two files (line i ↔ line i), for trainers. Pairs of blank lines
 * are skipped; see `loadParallelTask` for the errors.
 */
export async function readParallelPairs(sourcePath: string, targetPath: string): Promise<ParallelPair[]> {
  return (await readAligned(sourcePath, targetPath)).pairs;
}

/**
 * A translation-retrieval task from two aligned files: each line of `queryPath` is a query whose one
 * relevant document is the same line of `docPath`. Query and document ids are the line number
 * (`"1"`, `"2"`, …). Pairs where both lines are blank are skipped and counted in `warnings`; a blank
 * line facing a non-blank one, or different line counts, is an error naming the file(s) and line.
 * Repeated sentences stay separate documents: only the query's own line is judged relevant.
 */
export async function loadParallelTask(queryPath: string, docPath: string, options: ParallelTaskOptions = {}): Promise<RetrievalTask> {
  const { pairs, skipped } = await readAligned(queryPath, docPath);
  const { queryLang, docLang } = options;
  const withLang = <T extends object>(o: T, lang: string | undefined) => (lang === undefined ? o : { ...o, lang });
  const queries = pairs.map((p) => withLang({ id: String(p.line), text: p.source }, queryLang));
  const documents = pairs.map((p) => withLang({ id: String(p.line), text: p.target }, docLang));
  const qrels: Qrels = new Map(pairs.map((p) => [String(p.line), new Map([[String(p.line), 1]])]));
  const warnings = skipped > 0 ? [`skipped ${skipped} line pairs where both lines are blank`] : [];
  const task: RetrievalTask = {
    name: options.name ?? `parallel/${basename(queryPath)}-${basename(docPath)}`,
    queries,
    documents,
    qrels,
    warnings,
  };
  if (queryLang !== undefined) task.queryLang = queryLang;
  if (docLang !== undefined) task.docLang = docLang;
  return task;
}
