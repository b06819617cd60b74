/**
 * TREC text formats, as read and written by trec_eval:
 *
 * - qrels: one judgment a line, `qid iter docid rel` (iter is ignored; rel an integer grade);
 * - run:   one retrieved document a line, `qid Q0 docid rank score tag` (Q0, rank and tag are
 *          ignored on input: trec_eval ranks by score, see `rankedDocuments`).
 *
 * Fields are separated by ASCII whitespace (spaces, tabs); blank lines are skipped; `\r\n` line
 * ends and a UTF-8 byte order mark are accepted. A malformed line throws a {@link TrecFormatError}
 * naming the file and line. `readRun`/`writeRun` (and the qrels pair) work in 1 MiB chunks, so
 * files larger than a JavaScript string can hold (~512 MiB) still work through them.
 */
import { open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { sortedEntries } from "./ranking.js";
import type { Qrels, Run } from "./types.js";

/** A malformed line in a qrels or run file. The message reads `file:line: expected …, got …: "<line>"`. */
export class TrecFormatError extends Error {
  override readonly name = "TrecFormatError";

  /**
   * @param file the source name given to the parser (the path, for `readQrels`/`readRun`).
   * @param line the 1-based line number.
   * @param problem what was expected and what was found; becomes the message after `file:line: `.
   */
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

const QRELS_FIELDS = '4 fields "qid iter docid rel"';
const RUN_FIELDS = '6 fields "qid Q0 docid rank score tag"';
const INTEGER = /^[+-]?\d+$/;
/** Decimal numbers as C's `strtod` reads them, minus hex, `inf` and `nan`: `2`, `-0.5`, `.5`, `1.5e-3`. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const ID = /^\S+$/;

/**
 * Parses qrels text (`qid iter docid rel` lines) into query id → document id → grade, keeping the
 * file's order of queries and documents.
 *
 * @param source the name used in error messages, e.g. the file path.
 * @throws TrecFormatError on a line without exactly 4 fields, a non-integer grade, or a repeated (qid, docid).
 */
export function parseQrels(text: string, source = "<qrels>"): Qrels {
  const reader = qrelsReader(source);
  forEachLine(text, reader.line);
  return reader.result;
}

/**
 * Parses run text (`qid Q0 docid rank score tag` lines) into query id → document id → score.
 * Only qid, docid and score are kept; rank, Q0 and tag are not checked, as in trec_eval.
 *
 * @param source the name used in error messages, e.g. the file path.
 * @throws TrecFormatError on a line without exactly 6 fields, a score that is not a finite decimal
 *   number (`NaN`, `inf`, `0x1f`, `1e999` are rejected), or a docid repeated within a query.
 */
export function parseRun(text: string, source = "<run>"): Run {
  const reader = runReader(source);
  forEachLine(text, reader.line);
  return reader.result;
}

/** Reads a qrels file (UTF-8); errors name `path`. See {@link parseQrels}. */
export async function readQrels(path: string): Promise<Qrels> {
  const reader = qrelsReader(path);
  await forEachFileLine(path, reader.line);
  return reader.result;
}

/** Reads a run file (UTF-8); errors name `path`. See {@link parseRun}. */
export async function readRun(path: string): Promise<Run> {
  const reader = runReader(path);
  await forEachFileLine(path, reader.line);
  return reader.result;
}

/**
 * Formats qrels as `qid 0 docid rel` lines, in the map's order, each line ending in `\n`.
 * A query with no judgments has no line to be written on, so it does not survive a round trip.
 *
 * @throws RangeError for an id that is empty or contains whitespace, or a grade that is not an integer.
 */
export function formatQrels(qrels: Qrels): string {
  return Array.from(qrelsChunks(qrels)).join("");
}

/**
 * Formats a run as `qid Q0 docid rank score tag` lines: queries in the map's order, each query's
 * documents in trec_eval rank order (score descending, docid descending on ties) with ranks from 1,
 * so the rank column agrees with what trec_eval will compute. Scores print in JavaScript's shortest
 * round-trip form, so parsing the output gives back the same numbers.
 *
 * @throws RangeError for an id or tag that is empty or contains whitespace, or a non-finite score.
 */
export function formatRun(run: Run, tag = "crossrank"): string {
  return Array.from(runChunks(run, tag)).join("");
}

/** Writes qrels to `path` (UTF-8, replacing the file) as {@link formatQrels} formats them. */
export async function writeQrels(path: string, qrels: Qrels): Promise<void> {
  await writeChunks(path, qrelsChunks(qrels));
}

/** Writes a run to `path` (UTF-8, replacing the file) as {@link formatRun} formats it. */
export async function writeRun(path: string, run: Run, tag = "crossrank"): Promise<void> {
  await writeChunks(path, runChunks(run, tag));
}

// ---------------------------------------------------------------------------------------------
// Line readers: one per format, fed line by line from a string or a file.

interface LineReader<T> {
  line: (text: string, lineNumber: number) => void;
  result: T;
}

function qrelsReader(source: string): LineReader<Qrels> {
  const qrels: Qrels = new Map();
  const line = (text: string, lineNumber: number): void => {
    const fields = splitFields(text);
    if (fields === undefined) return;
    if (fields.length !== 4) {
      throw lineError(source, lineNumber, text, `expected ${QRELS_FIELDS}, got ${fields.length}`);
    }
    const [qid, , docid, rel] = fields as [string, string, string, string];
    if (!INTEGER.test(rel) || !Number.isSafeInteger(Number(rel))) {
      const problem = `expected an integer relevance grade in field 4, got ${quote(rel)}`;
      throw lineError(source, lineNumber, text, problem);
    }
    let judgments = qrels.get(qid);
    if (judgments === undefined) qrels.set(qid, (judgments = new Map()));
    if (judgments.has(docid)) {
      const problem = `expected each (qid, docid) pair once, got docid ${quote(docid)} again for query ${quote(qid)}`;
      throw lineError(source, lineNumber, text, problem);
    }
    judgments.set(docid, Number(rel));
  };
  return { line, result: qrels };
}

function runReader(source: string): LineReader<Run> {
  const run: Run = new Map();
  const line = (text: string, lineNumber: number): void => {
    const fields = splitFields(text);
    if (fields === undefined) return;
    if (fields.length !== 6) {
      throw lineError(source, lineNumber, text, `expected ${RUN_FIELDS}, got ${fields.length}`);
    }
    const [qid, , docid, , field] = fields as [string, string, string, string, string, string];
    const score = DECIMAL.test(field) ? Number(field) : Number.NaN;
    if (!Number.isFinite(score)) {
      const problem = `expected a finite number as score in field 5, got ${quote(field)}`;
      throw lineError(source, lineNumber, text, problem);
    }
    let scores = run.get(qid);
    if (scores === undefined) run.set(qid, (scores = new Map()));
    if (scores.has(docid)) {
      const problem = `expected each docid once per query, got docid ${quote(docid)} again for query ${quote(qid)}`;
      throw lineError(source, lineNumber, text, problem);
    }
    scores.set(docid, score);
  };
  return { line, result: run };
}

/** The error for a bad line: `file:line: <problem>: "<line>"`. */
function lineError(source: string, lineNumber: number, text: string, problem: string): TrecFormatError {
  return new TrecFormatError(source, lineNumber, `${problem}: ${quote(text)}`);
}

/**
 * The fields of a line, separated by runs of ASCII whitespace (space, tab, \v, \f, \r, \n: C's
 * `isspace`, which trec_eval's parsing relies on), or undefined for a blank line. A hand-written
 * scan rather than `trim().split(/\s+/)`: it allocates only the fields, which matters at 10^7 lines.
 */
function splitFields(text: string): string[] | undefined {
  const fields: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i === n) break;
    const start = i;
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    fields.push(text.slice(start, i));
  }
  return fields.length === 0 ? undefined : fields;
}

function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/** A value quoted for a one-line message: JSON escapes (tabs show as `\t`), long values shortened. */
function quote(value: string): string {
  const max = 200;
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

// ---------------------------------------------------------------------------------------------
// Line splitting over strings and files. Lines end at "\n"; a "\r" before it is dropped; a UTF-8
// byte order mark at the start is skipped. Line numbers start at 1 and count blank lines.

function forEachLine(text: string, visit: (line: string, lineNumber: number) => void): void {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let lineNumber = 0;
  while (start < text.length) {
    const end = text.indexOf("\n", start);
    const stop = end === -1 ? text.length : end;
    visit(withoutCr(text.slice(start, stop)), ++lineNumber);
    start = stop + 1;
  }
}

async function forEachFileLine(path: string, visit: (line: string, lineNumber: number) => void): Promise<void> {
  const file = await open(path, "r");
  try {
    // StringDecoder (not TextDecoder) keeps ASCII text in V8's compact one-byte strings, which
    // halves the memory of the ids kept in the result; it also joins UTF-8 sequences split
    // across reads.
    const decoder = new StringDecoder("utf8");
    const buffer = Buffer.allocUnsafe(1 << 20);
    let pending = ""; // the start of a line that continues in the next read
    let lineNumber = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      let text = decoder.write(buffer.subarray(0, bytesRead));
      if (lineNumber === 0 && pending === "" && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      let end = text.indexOf("\n");
      if (end === -1) {
        pending += text;
        continue;
      }
      visit(withoutCr(pending + text.slice(0, end)), ++lineNumber);
      let start = end + 1;
      // Slicing the freshly decoded flat string, never a concatenation, keeps this loop cheap.
      for (end = text.indexOf("\n", start); end !== -1; end = text.indexOf("\n", start)) {
        visit(withoutCr(text.slice(start, end)), ++lineNumber);
        start = end + 1;
      }
      pending = text.slice(start);
    }
    pending += decoder.end();
    if (pending !== "") visit(withoutCr(pending), ++lineNumber);
  } finally {
    await file.close();
  }
}

function withoutCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

// ---------------------------------------------------------------------------------------------
// Output, as chunks of lines (one query per chunk) so large runs can be streamed to a file.

function* qrelsChunks(qrels: Qrels): Generator<string> {
  for (const [qid, judgments] of qrels) {
    checkId(qid, "query id");
    const lines: string[] = [];
    for (const [docid, grade] of judgments) {
      checkId(docid, "document id");
      if (!Number.isSafeInteger(grade)) {
        throw new RangeError(`grade of document ${quote(docid)} for query ${quote(qid)} is ${grade}, not an integer`);
      }
      lines.push(`${qid} 0 ${docid} ${grade}\n`);
    }
    yield lines.join("");
  }
}

function* runChunks(run: Run, tag: string): Generator<string> {
  checkId(tag, "run tag");
  for (const [qid, scores] of run) {
    checkId(qid, "query id");
    const lines: string[] = [];
    let rank = 0;
    for (const [docid, score] of sortedEntries(scores, qid)) {
      checkId(docid, "document id");
      if (!Number.isFinite(score)) {
        throw new RangeError(`score of document ${quote(docid)} for query ${quote(qid)} is ${score}, not finite`);
      }
      lines.push(`${qid} Q0 ${docid} ${++rank} ${score} ${tag}\n`);
    }
    yield lines.join(""); // join() gives a flat string; `+=` would build a rope of every line
  }
}

/** Ids are written as single fields, so they must be non-empty and free of whitespace. */
function checkId(id: string, what: string): void {
  if (!ID.test(id)) throw new RangeError(`${what} ${quote(id)} cannot be written: empty or contains whitespace`);
}

async function writeChunks(path: string, chunks: Iterable<string>): Promise<void> {
  const file = await open(path, "w");
  try {
    let buffered: string[] = [];
    let length = 0;
    for (const chunk of chunks) {
      buffered.push(chunk);
      length += chunk.length;
      if (length >= 1 << 20) {
        await file.writeFile(buffered.join("")); // writes all of it, at the current position
        buffered = [];
        length = 0;
      }
    }
    if (length > 0) await file.writeFile(buffered.join(""));
  } finally {
    await file.close();
  }
}
