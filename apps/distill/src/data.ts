/**
 * The data of the recipe: XQuAD's parallel files read into one corpus (English paragraphs as the
 * documents, every question with its text in each language), the split by article, and the BM25
 * negatives of the warmup stage.
 *
 * Ids follow @crossrank/datasets' XQuAD tasks: article `"<a>"`, paragraph `"<a>-<p>"` (0-based
 * indexes in the files, the same in every language), questions by their SQuAD id (shared by the
 * translations).
 */
import { join } from "node:path";
import { readSquad, resolveDatasetPath, type SquadDataset } from "@crossrank/datasets";
import { bm25Negatives, permutation, Rng } from "@crossrank/train";
import type { SplitConfig } from "./config.js";

export interface CorpusParagraph {
  /** `"<article>-<paragraph>"`. */
  id: string;
  article: number;
  /** The English paragraph. */
  text: string;
}

export interface CorpusQuestion {
  /** The SQuAD id (the same in every language). */
  id: string;
  article: number;
  /** Index of the gold paragraph in `paragraphs`. */
  paragraph: number;
  /** language → question text (absent where a language file lacks the question). */
  text: Record<string, string>;
}

/** XQuAD as the trainer sees it: English documents, multilingual questions. */
export interface XquadCorpus {
  /** Loaded languages, English first. */
  languages: string[];
  articles: { title: string; paragraphs: number[] }[];
  paragraphs: CorpusParagraph[];
  questions: CorpusQuestion[];
  /** Notes on missing questions. */
  warnings: string[];
}

/**
 * Reads `xquad.<lang>.json` for English and each of `languages` (from `dir`, else found by
 * `resolveDatasetPath("xquad", …)`) and checks that they are parallel: same articles, same
 * paragraphs per article, every question id at the same paragraph as in English.
 */
export async function loadXquadCorpus(options: { languages: readonly string[]; dir?: string }): Promise<XquadCorpus> {
  const langs = ["en", ...options.languages.filter((l) => l !== "en")];
  const files = new Map<string, { path: string; data: SquadDataset }>();
  for (const lang of langs) {
    const name = `xquad.${lang}.json`;
    const path = options.dir !== undefined ? join(options.dir, name) : await resolveDatasetPath("xquad", name);
    let data: SquadDataset;
    try {
      data = await readSquad(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`${path}: no such file (the XQuAD file for "${lang}")`);
      throw e;
    }
    files.set(lang, { path, data });
  }
  return buildCorpus(langs, files);
}

/** Builds the corpus from parsed SQuAD files (English must be among them). */
export function buildCorpus(languages: readonly string[], files: ReadonlyMap<string, { path: string; data: SquadDataset }>): XquadCorpus {
  const en = files.get("en");
  if (en === undefined) throw new Error("buildCorpus: the English file is required (documents are English paragraphs)");
  const articles: XquadCorpus["articles"] = [];
  const paragraphs: CorpusParagraph[] = [];
  const questions: CorpusQuestion[] = [];
  const byId = new Map<string, CorpusQuestion>();
  en.data.data.forEach((article, ai) => {
    const list: number[] = [];
    article.paragraphs.forEach((p, pi) => {
      const index = paragraphs.length;
      list.push(index);
      paragraphs.push({ id: `${ai}-${pi}`, article: ai, text: p.context });
      for (const qa of p.qas) {
        const q: CorpusQuestion = { id: qa.id, article: ai, paragraph: index, text: { en: qa.question } };
        questions.push(q);
        byId.set(qa.id, q);
      }
    });
    articles.push({ title: article.title, paragraphs: list });
  });
  const warnings: string[] = [];
  for (const lang of languages) {
    if (lang === "en") continue;
    const file = files.get(lang);
    if (file === undefined) throw new Error(`buildCorpus: no file for "${lang}"`);
    const notParallel = (what: string): Error => new Error(`${file.path} is not parallel to ${en.path}: ${what}`);
    if (file.data.data.length !== en.data.data.length) throw notParallel(`${file.data.data.length} articles, English has ${en.data.data.length}`);
    let found = 0;
    file.data.data.forEach((article, ai) => {
      const enArticle = articles[ai]!;
      if (article.paragraphs.length !== enArticle.paragraphs.length) {
        throw notParallel(`data[${ai}] has ${article.paragraphs.length} paragraphs, English has ${enArticle.paragraphs.length}`);
      }
      article.paragraphs.forEach((p, pi) => {
        for (const qa of p.qas) {
          const q = byId.get(qa.id);
          if (q === undefined) continue;
          if (q.paragraph !== enArticle.paragraphs[pi]) throw notParallel(`question ${qa.id} is in data[${ai}].paragraphs[${pi}], in English in paragraph ${paragraphs[q.paragraph]!.id}`);
          q.text[lang] = qa.question;
          found++;
        }
      });
    });
    if (found < questions.length) warnings.push(`${lang}: ${questions.length - found} of the ${questions.length} English questions have no ${lang} version`);
  }
  return { languages: ["en", ...languages.filter((l) => l !== "en")], articles, paragraphs, questions, warnings };
}

/** The articles (indexes, ascending) of each part of the split. */
export interface ArticleSplit {
  train: number[];
  dev: number[];
  test: number[];
  /** How it was made, in words. */
  description: string;
}

/**
 * Splits `n` articles (never paragraphs or questions: every question of an article and every
 * paragraph of it land in the same part, so no test document was seen in training):
 *
 * - ratio: the articles in a seeded random order (mulberry32 Fisher–Yates), cut at
 *   round(train·n) and round((train + dev)·n): for XQuAD's 48 articles and 60/20/20, 29 train,
 *   9 dev, 10 test;
 * - folds: the articles in the same seeded order, cut into `folds` contiguous folds of
 *   ⌊n/folds⌋ or ⌈n/folds⌉ articles; fold k is the test part, fold k+1 (mod folds) the dev part,
 *   the others train — so over k = 0 … folds−1 every article is tested exactly once.
 */
export function splitArticles(n: number, split: SplitConfig): ArticleSplit {
  if (!Number.isInteger(n) || n < 3) throw new Error(`split: needs at least 3 articles, got ${n}`);
  const order = permutation(n, new Rng(split.seed));
  const sorted = (a: number[]): number[] => a.slice().sort((x, y) => x - y);
  if (split.kind === "ratio") {
    const total = split.train + split.dev + split.test;
    const a = Math.round((split.train / total) * n);
    const b = Math.round(((split.train + split.dev) / total) * n);
    const parts = { train: order.slice(0, a), dev: order.slice(a, b), test: order.slice(b) };
    for (const [name, part] of Object.entries(parts)) {
      if (part.length === 0) throw new Error(`split: the ${name} part of ${n} articles at ${split.train}/${split.dev}/${split.test} is empty`);
    }
    return {
      train: sorted(parts.train),
      dev: sorted(parts.dev),
      test: sorted(parts.test),
      description: `by article: ${n} articles shuffled with seed ${split.seed}, ${parts.train.length} train / ${parts.dev.length} dev / ${parts.test.length} test (${split.train}/${split.dev}/${split.test})`,
    };
  }
  const { folds, fold } = split;
  if (folds > n) throw new Error(`split: ${folds} folds of ${n} articles`);
  const folded = Array.from({ length: folds }, (_, k) => order.slice(Math.floor((k * n) / folds), Math.floor(((k + 1) * n) / folds)));
  const devFold = (fold + 1) % folds;
  const train = folded.filter((_, k) => k !== fold && k !== devFold).flat();
  return {
    train: sorted(train),
    dev: sorted(folded[devFold]!),
    test: sorted(folded[fold]!),
    description: `by article, ${folds}-fold: ${n} articles shuffled with seed ${split.seed} into ${folds} folds; test = fold ${fold}, dev = fold ${devFold}, train = the other ${folds - 2} (${train.length} / ${folded[devFold]!.length} / ${folded[fold]!.length} articles)`,
  };
}

/** Paragraph indexes of the given articles, in corpus order. */
export function paragraphsOf(corpus: XquadCorpus, articles: readonly number[]): number[] {
  const set = new Set(articles);
  return corpus.paragraphs.flatMap((p, i) => (set.has(p.article) ? [i] : []));
}

/** Question indexes of the given articles, in corpus order (optionally only those with a text in `lang`). */
export function questionsOf(corpus: XquadCorpus, articles: readonly number[], lang?: string): number[] {
  const set = new Set(articles);
  return corpus.questions.flatMap((q, i) => (set.has(q.article) && (lang === undefined || q.text[lang] !== undefined) ? [i] : []));
}

/**
 * CL-ReLKT's warmup negatives: Okapi BM25 (k1 1.2, b 0.75, the English analyzer) over the English
 * paragraphs of `articles`, each English question of those articles as the query; the top hit is
 * skipped whatever it is (`skipTop`, default 1), then the next `count` paragraphs that are not from
 * the question's gold article are its negatives. Returns question index → paragraph indexes (in
 * BM25 rank order; fewer than `count` when BM25 finds fewer).
 */
export function warmupNegatives(corpus: XquadCorpus, articles: readonly number[], options: { count: number; skipTop?: number }): Map<number, number[]> {
  const docs = paragraphsOf(corpus, articles);
  const qs = questionsOf(corpus, articles, "en");
  const docIndex = new Map(docs.map((p) => [corpus.paragraphs[p]!.id, p]));
  const articleOf = new Map(docs.map((p) => [corpus.paragraphs[p]!.id, corpus.paragraphs[p]!.article]));
  const questionArticle = new Map(qs.map((q) => [String(q), corpus.questions[q]!.article]));
  const negatives = bm25Negatives(
    qs.map((q) => ({ id: String(q), text: corpus.questions[q]!.text.en! })),
    docs.map((p) => ({ id: corpus.paragraphs[p]!.id, text: corpus.paragraphs[p]!.text })),
    {
      count: options.count,
      skipTop: options.skipTop ?? 1,
      lang: "en",
      exclude: (qid, docId) => articleOf.get(docId) === questionArticle.get(qid),
    },
  );
  const out = new Map<number, number[]>();
  for (const q of qs) out.set(q, (negatives.get(String(q)) ?? []).map((id) => docIndex.get(id)!));
  return out;
}
