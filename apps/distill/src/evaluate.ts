/**
 * Evaluation as CL-ReLKT does it: every question of a split (per language) against the pool of all
 * English paragraphs of that split, ranked by the dot product of the model's vectors (cosine for
 * normalised heads). Its "P@5" and "P@10" are hit rates (is the gold paragraph in the top k), which
 * @crossrank/metrics calls Success@5 and Success@10; P@1 is the same either way.
 */
import { compareRanked, evaluate, type Qrels, type Run } from "@crossrank/metrics";
import type { TrainableHead } from "@crossrank/train";
import { paragraphsOf, questionsOf, type XquadCorpus } from "./data.js";
import { type BaseVectors, gather, project } from "./vectors.js";

/** The measures reported, in order (P@1, hit rates at 5 and 10, MRR@10). */
export const MEASURES = ["P@1", "Success@5", "Success@10", "MRR@10"] as const;
export type MeasureName = (typeof MEASURES)[number];

/** One language's means over its questions. */
export type LangScores = Record<MeasureName, number> & { queries: number };

/** An evaluation of one model on one split. */
export interface SplitEvaluation {
  split: string;
  /** Paragraphs in the pool. */
  documents: number;
  /** language → scores. */
  languages: Record<string, LangScores>;
}

/** Only the top of each ranking matters for measures at depth ≤ 10. */
const DEPTH = 10;

/** Precomputes a split's base vectors and qrels, then evaluates any head on it. */
export class SplitEvaluator {
  readonly split: string;
  readonly languages: string[];
  private readonly docIds: string[];
  private readonly docRows: Float32Array;
  private readonly perLang: { lang: string; ids: string[]; rows: Float32Array; qrels: Qrels }[];

  constructor(corpus: XquadCorpus, base: BaseVectors, split: string, articles: readonly number[], languages: readonly string[], private readonly normalize: boolean) {
    this.split = split;
    this.languages = [...languages];
    const docs = paragraphsOf(corpus, articles);
    this.docIds = docs.map((p) => corpus.paragraphs[p]!.id);
    this.docRows = gather(base.paragraphs, base.dim, docs);
    this.perLang = languages.map((lang) => {
      const matrix = base.questions.get(lang);
      if (matrix === undefined) throw new Error(`SplitEvaluator: no ${lang} question vectors`);
      const qs = questionsOf(corpus, articles, lang);
      const qrels: Qrels = new Map(qs.map((q) => [corpus.questions[q]!.id, new Map([[corpus.paragraphs[corpus.questions[q]!.paragraph]!.id, 1]])]));
      return { lang, ids: qs.map((q) => corpus.questions[q]!.id), rows: gather(matrix, base.dim, qs), qrels };
    });
  }

  /** Paragraphs in the pool. */
  get documents(): number {
    return this.docIds.length;
  }

  /** Scores the model `normalize(head(x))` (the base encoder without a head). */
  evaluate(head: TrainableHead | undefined): SplitEvaluation {
    const m = this.docIds.length;
    const docs = project(head, this.docRows, m, this.normalize);
    const d = m === 0 ? 0 : docs.length / m;
    const languages: Record<string, LangScores> = {};
    const scores = new Float64Array(m);
    const order = Array.from({ length: m }, (_, j) => j);
    for (const { lang, ids, rows, qrels } of this.perLang) {
      const n = ids.length;
      const qv = project(head, rows, n, this.normalize);
      const run: Run = new Map();
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < m; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += qv[i * d + k]! * docs[j * d + k]!;
          scores[j] = s;
        }
        order.sort((a, b) => compareRanked([this.docIds[a]!, scores[a]!], [this.docIds[b]!, scores[b]!]));
        const top = new Map<string, number>();
        for (let r = 0; r < Math.min(DEPTH, m); r++) top.set(this.docIds[order[r]!]!, scores[order[r]!]!);
        run.set(ids[i]!, top);
      }
      const result = evaluate(qrels, run, MEASURES);
      const row = { queries: result.queries } as LangScores;
      for (const name of MEASURES) row[name] = result.mean[name]!;
      languages[lang] = row;
    }
    return { split: this.split, documents: m, languages };
  }
}

/** The mean of a measure over some languages of an evaluation. */
export function meanOver(e: SplitEvaluation, languages: readonly string[], measure: MeasureName): number {
  const values = languages.map((l) => e.languages[l]?.[measure]).filter((v): v is number => v !== undefined);
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
