/**
 * Cross-lingual retrieval tasks built from XQuAD, whose 12 language versions are parallel: the same
 * articles and paragraphs in the same order, and the same question ids.
 *
 * Ids: article `"<a>"`, paragraph `"<a>-<p>"`, sentence `"<a>-<p>-<s>"` (0-based indexes of the
 * article in `data`, the paragraph in the article, the non-empty sentence in the paragraph); they
 * are the same in every language. Question queries keep their SQuAD id.
 */
import { join } from "node:path";
import type { Qrels } from "@crossrank/metrics";
import { resolveDatasetPath } from "./locate.js";
import { splitSentences } from "./sentences.js";
import { readSquad, type SquadDataset, type SquadQuestion } from "./squad.js";
import type { Document, Query, RetrievalTask } from "./types.js";

/** The 12 languages of XQuAD. */
export const XQUAD_LANGUAGES = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"] as const;
export type XquadLanguage = (typeof XQUAD_LANGUAGES)[number];

/**
 * The XQuAD task families:
 * - `paragraph`: a paragraph → the same paragraph in the document language;
 * - `question-paragraph`: a question → the paragraph that contains its answer;
 * - `question-article`: a question → its whole article (paragraphs joined with a blank line), the
 *   document granularity of CL-ReLKT;
 * - `question-sentence`: a question → the sentence(s) of the document-language paragraph that hold
 *   its answer (LAReQA-style answer-sentence retrieval).
 */
export const XQUAD_TASKS = ["paragraph", "question-paragraph", "question-article", "question-sentence"] as const;
export type XquadTask = (typeof XQUAD_TASKS)[number];

/** Options of `loadXquadTask`. */
export interface XquadTaskOptions {
  task: XquadTask;
  queryLang: string;
  /** Default `en`. */
  docLang?: string;
  /** Folder holding `xquad.<lang>.json`; default: found by `resolveDatasetPath("xquad", file)`. */
  dir?: string;
  /** Default `xquad/<task>/<queryLang>-<docLang>`. */
  name?: string;
}

async function readXquad(lang: string, dir: string | undefined): Promise<{ path: string; data: SquadDataset }> {
  const file = `xquad.${lang}.json`;
  const path = dir === undefined ? await resolveDatasetPath("xquad", file) : join(dir, file);
  try {
    return { path, data: await readSquad(path) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`${path}: no such file (XQuAD languages: ${XQUAD_LANGUAGES.join(", ")})`);
    }
    throw err;
  }
}

/** Throws unless the two files have the same number of articles and of paragraphs per article. */
function checkParallel(q: { path: string; data: SquadDataset }, d: { path: string; data: SquadDataset }): void {
  const notParallel = (what: string) => new Error(`${q.path} and ${d.path} are not parallel: ${what}`);
  if (q.data.data.length !== d.data.data.length) {
    throw notParallel(`${q.data.data.length} articles in the first, ${d.data.data.length} in the second`);
  }
  q.data.data.forEach((article, ai) => {
    const other = d.data.data[ai]!;
    if (article.paragraphs.length !== other.paragraphs.length) {
      throw notParallel(`data[${ai}] has ${article.paragraphs.length} paragraphs in the first, ${other.paragraphs.length} in the second`);
    }
  });
}

/** A question with the position of its paragraph. */
interface PlacedQuestion {
  ai: number;
  pi: number;
  qa: SquadQuestion;
}

function questions(data: SquadDataset): PlacedQuestion[] {
  return data.data.flatMap((article, ai) => article.paragraphs.flatMap((p, pi) => p.qas.map((qa) => ({ ai, pi, qa }))));
}

/**
 * Where an answer lies in `context` as [start, end) UTF-16 offsets: at `answer_start` (read as a
 * UTF-16 offset, then as a code-point offset as Python writes it), else at the first occurrence of
 * the answer text; undefined when the text is empty or not in the context.
 */
export function locateAnswer(context: string, answerStart: number, text: string): [number, number] | undefined {
  if (text === "") return undefined;
  if (context.startsWith(text, answerStart)) return [answerStart, answerStart + text.length];
  if (/[\uD800-\uDFFF]/.test(context)) {
    const start = Array.from(context).slice(0, answerStart).join("").length;
    if (context.startsWith(text, start)) return [start, start + text.length];
  }
  const found = context.indexOf(text);
  return found < 0 ? undefined : [found, found + text.length];
}

/**
 * Builds an XQuAD retrieval task (see `XQUAD_TASKS`) with queries in `queryLang` and documents in
 * `docLang`. The two files must be parallel (same article and paragraph counts), else it throws
 * naming both. For `question-sentence`, the answer is looked up in the document-language version of
 * the question (same id): a question without one, or whose answer cannot be located in its
 * paragraph, is skipped and counted in `warnings`; a question whose answer spans sentences has each
 * of them as relevant.
 */
export async function loadXquadTask(options: XquadTaskOptions): Promise<RetrievalTask> {
  const { task, queryLang } = options;
  const docLang = options.docLang ?? "en";
  if (!(XQUAD_TASKS as readonly string[]).includes(task)) {
    throw new Error(`unknown XQuAD task ${JSON.stringify(task)}: expected one of ${XQUAD_TASKS.join(", ")}`);
  }
  const q = await readXquad(queryLang, options.dir);
  const d = queryLang === docLang ? q : await readXquad(docLang, options.dir);
  checkParallel(q, d);

  const documents: Document[] = [];
  const queries: Query[] = [];
  const qrels: Qrels = new Map();
  const warnings: string[] = [];
  const relevant = (qid: string, docIds: Iterable<string>) => qrels.set(qid, new Map([...docIds].map((id) => [id, 1])));

  if (task === "paragraph") {
    d.data.data.forEach((a, ai) => a.paragraphs.forEach((p, pi) => documents.push({ id: `${ai}-${pi}`, text: p.context, lang: docLang })));
    q.data.data.forEach((a, ai) =>
      a.paragraphs.forEach((p, pi) => {
        const id = `${ai}-${pi}`;
        queries.push({ id, text: p.context, lang: queryLang });
        relevant(id, [id]);
      }),
    );
  } else if (task === "question-paragraph" || task === "question-article") {
    if (task === "question-paragraph") {
      d.data.data.forEach((a, ai) => a.paragraphs.forEach((p, pi) => documents.push({ id: `${ai}-${pi}`, text: p.context, lang: docLang })));
    } else {
      d.data.data.forEach((a, ai) =>
        documents.push({ id: `${ai}`, text: a.paragraphs.map((p) => p.context).join("\n\n"), title: a.title, lang: docLang }),
      );
    }
    const docPlace = new Map(questions(d.data).map((x) => [x.qa.id, x]));
    for (const { ai, pi, qa } of questions(q.data)) {
      const other = docPlace.get(qa.id);
      if (other !== undefined && (other.ai !== ai || other.pi !== pi)) {
        throw new Error(
          `${q.path} and ${d.path} are not parallel: question ${qa.id} is in data[${ai}].paragraphs[${pi}] of the first, data[${other.ai}].paragraphs[${other.pi}] of the second`,
        );
      }
      queries.push({ id: qa.id, text: qa.question, lang: queryLang });
      relevant(qa.id, [task === "question-paragraph" ? `${ai}-${pi}` : `${ai}`]);
    }
  } else {
    const sentences = d.data.data.map((a, ai) =>
      a.paragraphs.map((p, pi) =>
        splitSentences(p.context, docLang).map((s, si) => {
          const id = `${ai}-${pi}-${si}`;
          documents.push({ id, text: s.text, lang: docLang });
          return { ...s, id };
        }),
      ),
    );
    const docPlace = new Map(questions(d.data).map((x) => [x.qa.id, x]));
    let missing = 0;
    let unlocated = 0;
    for (const { qa } of questions(q.data)) {
      const other = docPlace.get(qa.id);
      if (other === undefined) {
        missing++;
        continue;
      }
      const context = d.data.data[other.ai]!.paragraphs[other.pi]!.context;
      const spans = other.qa.answers.map((x) => locateAnswer(context, x.answer_start, x.text)).filter((s) => s !== undefined);
      const hits = new Set<string>();
      for (const s of sentences[other.ai]![other.pi]!) {
        if (spans.some(([start, end]) => s.start < end && start < s.end)) hits.add(s.id);
      }
      if (hits.size === 0) {
        unlocated++;
        continue;
      }
      queries.push({ id: qa.id, text: qa.question, lang: queryLang });
      relevant(qa.id, hits);
    }
    if (missing > 0) warnings.push(`skipped ${missing} ${queryLang} questions with no ${docLang} version (same id)`);
    if (unlocated > 0) warnings.push(`skipped ${unlocated} questions whose answer could not be located in the ${docLang} paragraph`);
  }
  return { name: options.name ?? `xquad/${task}/${queryLang}-${docLang}`, queryLang, docLang, queries, documents, qrels, warnings };
}
