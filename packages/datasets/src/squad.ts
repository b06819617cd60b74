/**
 * SQuAD v1.1 JSON (the format of XQuAD, MLQA and their kin), read and validated so that the task
 * builders can trust its shape and a broken file is reported with its JSON path.
 */
import { isRecord, readText, typeName } from "./io.js";

/** An answer span: `answer_start` is a character offset into the paragraph's `context`. */
export interface SquadAnswer {
  answer_start: number;
  text: string;
}

/** A question about a paragraph. `id` is unique in the file (and, in XQuAD, shared by its translations). */
export interface SquadQuestion {
  id: string;
  question: string;
  /** Empty for SQuAD 2.0's unanswerable questions. */
  answers: SquadAnswer[];
}

export interface SquadParagraph {
  context: string;
  qas: SquadQuestion[];
}

export interface SquadArticle {
  title: string;
  paragraphs: SquadParagraph[];
}

/** A SQuAD file, keeping only the fields above (extra fields such as `is_impossible` are dropped). */
export interface SquadDataset {
  version?: string;
  data: SquadArticle[];
}

/** A short rendering of a bad value for an error message. */
function show(v: unknown): string {
  const s = typeof v === "object" && v !== null ? typeName(v) : JSON.stringify(v) ?? typeName(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `path:line:column` for a JSON.parse error that gives a position, else `path`. */
function jsonErrorWhere(path: string, text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  if (m === null) return path;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - before.lastIndexOf("\n");
  return `${path}:${line}:${column}`;
}

/**
 * Reads and validates a SQuAD v1.1 JSON file (plain or gzipped). Errors name the file and the JSON
 * path, e.g. `xquad.de.json: data[3].paragraphs[2].qas[0]: missing "question"`; a question id used
 * twice in the file is an error naming both places.
 */
export async function readSquad(path: string): Promise<SquadDataset> {
  const text = await readText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    throw new Error(`${jsonErrorWhere(path, text, message)}: invalid JSON: ${message}`);
  }
  return parseSquad(value, path);
}

/** Validates an already parsed SQuAD value; `source` names it in errors. */
export function parseSquad(value: unknown, source: string): SquadDataset {
  const fail = (at: string, what: string): never => {
    throw new Error(`${source}: ${at === "" ? "" : `${at}: `}${what}`);
  };
  const object = (v: unknown, at: string): Record<string, unknown> =>
    isRecord(v) ? v : fail(at, `expected an object, got ${typeName(v)}`);
  const field = <T>(o: Record<string, unknown>, key: string, at: string, check: (v: unknown) => v is T, expected: string): T => {
    const v = o[key];
    if (v === undefined) return fail(at, `missing "${key}"`);
    return check(v) ? v : fail(at, `expected "${key}" to be ${expected}, got ${show(v)}`);
  };
  const isString = (v: unknown): v is string => typeof v === "string";
  const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
  const isOffset = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

  const root = object(value, "");
  const data = field(root, "data", "", isArray, "an array");
  const seenIds = new Map<string, string>();
  const articles = data.map((a, ai): SquadArticle => {
    const at = `data[${ai}]`;
    const article = object(a, at);
    const title = field(article, "title", at, isString, "a string");
    const paragraphs = field(article, "paragraphs", at, isArray, "an array").map((p, pi): SquadParagraph => {
      const pat = `${at}.paragraphs[${pi}]`;
      const paragraph = object(p, pat);
      const context = field(paragraph, "context", pat, isString, "a string");
      const qas = field(paragraph, "qas", pat, isArray, "an array").map((q, qi): SquadQuestion => {
        const qat = `${pat}.qas[${qi}]`;
        const qa = object(q, qat);
        const id = field(qa, "id", qat, isString, "a string");
        const question = field(qa, "question", qat, isString, "a string");
        const answers = field(qa, "answers", qat, isArray, "an array").map((x, xi): SquadAnswer => {
          const xat = `${qat}.answers[${xi}]`;
          const answer = object(x, xat);
          return {
            answer_start: field(answer, "answer_start", xat, isOffset, "a non-negative integer"),
            text: field(answer, "text", xat, isString, "a string"),
          };
        });
        const first = seenIds.get(id);
        if (first !== undefined) fail(qat, `duplicate question id ${JSON.stringify(id)} (first at ${first})`);
        seenIds.set(id, qat);
        return { id, question, answers };
      });
      return { context, qas };
    });
    return { title, paragraphs };
  });
  const dataset: SquadDataset = { data: articles };
  if (typeof root.version === "string") dataset.version = root.version;
  return dataset;
}
