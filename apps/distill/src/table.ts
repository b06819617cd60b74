/**
 * The "base / warmup / teacher / distill" table: one row per model, one column per language
 * (question language → English paragraphs of the test split), cells P@1 / MRR@10, plus the means
 * over the train and the held-out languages; Markdown for people, JSON with every measure.
 */
import { type LangScores, MEASURES, type MeasureName } from "./evaluate.js";

/** CL-ReLKT's XQuAD P@1 with mUSE (its notebooks), the reference the table sits beside. */
export const CLRELKT_REFERENCE_P1: Readonly<Record<string, number>> = Object.freeze({
  ar: 0.794,
  de: 0.832,
  es: 0.84,
  ru: 0.832,
  th: 0.857,
  zh: 0.824,
  tr: 0.803,
  ro: 0.525,
  el: 0.101,
  hi: 0.063,
  vi: 0.298,
});

export interface TableRow {
  /** "base", "warmup", "teacher", "distill". */
  model: string;
  /** The head folder (none for the base encoder). */
  head?: string;
  /** language → scores; undefined when the model was not trained/evaluated (yet). */
  languages?: Record<string, LangScores>;
}

export interface TableInput {
  encoder: string;
  split: string;
  documents: number;
  trainLangs: string[];
  heldOutLangs: string[];
  rows: TableRow[];
}

export interface TableJson {
  title: string;
  encoder: string;
  split: string;
  documents: number;
  measures: readonly MeasureName[];
  note: string;
  columns: string[];
  trainLangs: string[];
  heldOutLangs: string[];
  rows: { model: string; head?: string; languages?: Record<string, LangScores>; averages?: { train: Record<MeasureName, number>; heldOut: Record<MeasureName, number> } }[];
  reference: { name: string; measure: "P@1"; languages: Record<string, number> };
}

const NOTE =
  "Question (in the column's language) → English paragraph, pool = every English paragraph of the test split. CL-ReLKT's P@5 / P@10 are hit rates: Success@5 / Success@10 here. Averages are unweighted means over the languages.";

function average(languages: Record<string, LangScores>, langs: readonly string[]): Record<MeasureName, number> {
  const out = {} as Record<MeasureName, number>;
  for (const m of MEASURES) {
    const values = langs.map((l) => languages[l]?.[m]).filter((v): v is number => v !== undefined);
    out[m] = values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
  }
  return out;
}

/** The table as JSON and Markdown. */
export function buildTable(input: TableInput): { json: TableJson; markdown: string } {
  const hasEn = input.rows.some((r) => r.languages?.en !== undefined);
  const columns = [...(hasEn ? ["en"] : []), ...input.trainLangs, ...input.heldOutLangs];
  const json: TableJson = {
    title: "base / warmup / teacher / distill",
    encoder: input.encoder,
    split: input.split,
    documents: input.documents,
    measures: MEASURES,
    note: NOTE,
    columns,
    trainLangs: input.trainLangs,
    heldOutLangs: input.heldOutLangs,
    rows: input.rows.map((r) => ({
      model: r.model,
      ...(r.head !== undefined ? { head: r.head } : {}),
      ...(r.languages !== undefined
        ? { languages: r.languages, averages: { train: average(r.languages, input.trainLangs), heldOut: average(r.languages, input.heldOutLangs) } }
        : {}),
    })),
    reference: { name: "CL-ReLKT, mUSE (its notebooks)", measure: "P@1", languages: { ...CLRELKT_REFERENCE_P1 } },
  };

  const cell = (s: LangScores | undefined): string => (s === undefined ? "—" : `${s["P@1"].toFixed(3)} / ${s["MRR@10"].toFixed(3)}`);
  const avgCell = (a: Record<MeasureName, number> | undefined): string => (a === undefined || Number.isNaN(a["P@1"]) ? "—" : `${a["P@1"].toFixed(3)} / ${a["MRR@10"].toFixed(3)}`);
  const header = ["model", ...(hasEn ? ["en"] : []), ...input.trainLangs, "train avg", ...input.heldOutLangs, ...(input.heldOutLangs.length > 0 ? ["held-out avg"] : [])];
  const lines = [
    `# ${json.title}`,
    "",
    `Encoder \`${input.encoder}\`; split: ${input.split}; ${input.documents} English paragraphs in the test pool.`,
    "Cells: P@1 / MRR@10. " + NOTE,
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ];
  for (const r of json.rows) {
    const l = r.languages;
    lines.push(
      `| ${[
        r.model,
        ...(hasEn ? [cell(l?.en)] : []),
        ...input.trainLangs.map((x) => cell(l?.[x])),
        avgCell(r.averages?.train),
        ...input.heldOutLangs.map((x) => cell(l?.[x])),
        ...(input.heldOutLangs.length > 0 ? [avgCell(r.averages?.heldOut)] : []),
      ].join(" | ")} |`,
    );
  }
  const ref = (x: string): string => (CLRELKT_REFERENCE_P1[x] === undefined ? "—" : CLRELKT_REFERENCE_P1[x].toFixed(3));
  const refAvg = (langs: readonly string[]): string => {
    const v = langs.map((x) => CLRELKT_REFERENCE_P1[x]).filter((y): y is number => y !== undefined);
    return v.length === 0 ? "—" : (v.reduce((a, b) => a + b, 0) / v.length).toFixed(3);
  };
  lines.push(
    `| _CL-ReLKT mUSE, P@1 only (reference)_ | ${[
      ...(hasEn ? ["—"] : []),
      ...input.trainLangs.map(ref),
      refAvg(input.trainLangs),
      ...input.heldOutLangs.map(ref),
      ...(input.heldOutLangs.length > 0 ? [refAvg(input.heldOutLangs)] : []),
    ].join(" | ")} |`,
  );
  lines.push("");
  return { json, markdown: lines.join("\n") };
}
