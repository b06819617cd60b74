/**
 * Measure specs: the strings users write (`P@10`, `MAP`, `ndcg@10`) and their parsed form.
 * The arithmetic behind each kind lives in `scoring.ts`.
 */

/** The families of measures this package computes. */
export type MeasureKind = "P" | "R" | "AP" | "RR" | "nDCG" | "Success";

/** A parsed measure spec. */
export interface Measure {
  /** The spec as the user wrote it, trimmed: the key of this measure in every result record. */
  name: string;
  kind: MeasureKind;
  /** Rank depth k: only the top k documents count. Absent = the whole ranking. */
  cutoff?: number;
}

/** One line, listing every accepted form; ends every parse error. */
export const ACCEPTED_MEASURES =
  "accepted: P@k, R@k, AP (alias MAP), RR or RR@k (alias MRR, MRR@k), nDCG or nDCG@k, Success@k " +
  "(names case-insensitive, k a positive integer)";

/** How each accepted name (lower-cased) maps to a kind, and whether `@k` is required, optional or forbidden. */
const NAMES: Readonly<Record<string, { kind: MeasureKind; cutoff: "required" | "optional" | "forbidden" }>> = {
  p: { kind: "P", cutoff: "required" },
  r: { kind: "R", cutoff: "required" },
  ap: { kind: "AP", cutoff: "forbidden" },
  map: { kind: "AP", cutoff: "forbidden" },
  rr: { kind: "RR", cutoff: "optional" },
  mrr: { kind: "RR", cutoff: "optional" },
  ndcg: { kind: "nDCG", cutoff: "optional" },
  success: { kind: "Success", cutoff: "required" },
};

const SPEC = /^([A-Za-z]+)(?:@(\S*))?$/;

/**
 * Parses one measure spec.
 *
 * Accepted (names case-insensitive): `P@k`, `R@k`, `AP` / `MAP`, `RR` / `RR@k` / `MRR` / `MRR@k`,
 * `nDCG` / `nDCG@k`, `Success@k`, with k a positive integer written in decimal digits. The
 * returned `name` is the trimmed spec as written, so `ndcg@10` and `nDCG@10` are different keys
 * for the same computation, and `MAP` stays `MAP` in the output.
 *
 * @throws Error with a one-line message naming the spec and listing the accepted forms.
 */
export function parseMeasure(spec: string): Measure {
  const name = spec.trim();
  const match = SPEC.exec(name);
  const written = match?.[1];
  const entry = written === undefined ? undefined : NAMES[written.toLowerCase()];
  if (written === undefined || entry === undefined) throw invalidMeasure(name, "unknown measure");
  const k = match?.[2];
  if (k === undefined) {
    if (entry.cutoff === "required") throw invalidMeasure(name, `${written} needs a cutoff, as in ${written}@10`);
    return { name, kind: entry.kind };
  }
  if (entry.cutoff === "forbidden") throw invalidMeasure(name, `${written} takes no cutoff`);
  const cutoff = /^\d+$/.test(k) ? Number(k) : Number.NaN;
  if (!Number.isSafeInteger(cutoff) || cutoff < 1) {
    throw invalidMeasure(name, `cutoff "${k}" is not a positive integer`);
  }
  return { name, kind: entry.kind, cutoff };
}

function invalidMeasure(name: string, why: string): Error {
  return new Error(`invalid measure ${JSON.stringify(name)}: ${why}; ${ACCEPTED_MEASURES}`);
}

/**
 * Parses a list of measure specs: either a comma-separated string (`"P@1, MAP,nDCG@10"`) or an
 * array whose items may themselves be comma-separated (so repeated `--measure` flags and
 * `--measure P@1,MAP` mix). Items are trimmed, empty items are skipped, and a repeated name keeps
 * only its first occurrence (duplicates are by name: `MAP` and `AP` are both kept, as two keys).
 *
 * @throws Error from {@link parseMeasure} for the first invalid item.
 */
export function parseMeasures(list: string | readonly string[]): Measure[] {
  const items = (typeof list === "string" ? [list] : list).flatMap((item) => item.split(","));
  const measures: Measure[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (item.trim() === "") continue;
    const measure = parseMeasure(item);
    if (seen.has(measure.name)) continue;
    seen.add(measure.name);
    measures.push(measure);
  }
  return measures;
}

/**
 * Turns a spec string or a caller-built {@link Measure} into a checked `Measure`, so that
 * `evaluate` never computes something undefined (P without k, a cutoff of 0, an unknown kind).
 * A `Measure` object may carry a cutoff on any kind (AP with a cutoff is trec_eval's `map_cut`).
 *
 * @throws Error describing what is wrong with the measure.
 */
export function toMeasure(measure: string | Measure): Measure {
  if (typeof measure === "string") return parseMeasure(measure);
  const { name, kind, cutoff } = measure;
  const what = `measure ${JSON.stringify(name)}`;
  if (typeof name !== "string" || name.trim() === "") throw new Error(`a measure needs a non-empty name`);
  if (!Object.values(NAMES).some((entry) => entry.kind === kind)) {
    throw new Error(`${what}: unknown kind ${JSON.stringify(kind)}; kinds are P, R, AP, RR, nDCG, Success`);
  }
  if (cutoff === undefined) {
    if (kind === "P" || kind === "R" || kind === "Success") throw new Error(`${what}: ${kind} needs a cutoff`);
    return { name, kind };
  }
  if (!Number.isSafeInteger(cutoff) || cutoff < 1) {
    throw new Error(`${what}: cutoff ${cutoff} is not a positive integer`);
  }
  return { name, kind, cutoff };
}
