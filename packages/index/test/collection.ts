import type { Document } from "@crossrank/datasets";
import type { Run } from "@crossrank/metrics";
import type { SearchIndex } from "../src/index.js";

/** The small English collection the index tests build (titles, shared words, a library, a bakery). */
export const DOCS: Document[] = [
  { id: "d1", text: "The cat sleeps on the warm mat by the window." },
  { id: "d2", text: "Trains to Berlin leave every hour from the central station.", title: "Timetable" },
  { id: "d3", text: "A library lends books, music and films for free." },
  { id: "d4", text: "Fresh bread is baked every morning in the village bakery." },
  { id: "d5", text: "The museum shows old maps of the city and its river." },
  { id: "d6", text: "Cats and dogs need water, food and a quiet place to sleep." },
];

/** German queries over {@link DOCS}: the cat, the train to Berlin, the bread. */
export const QUERIES = [
  { id: "q1", text: "Katze schläft" },
  { id: "q2", text: "Zug nach Berlin" },
  { id: "q3", text: "frisches Brot" },
];

/** `count` documents m0, m1, … of six words of {@link DOCS} recombined: a collection large enough for an ANN index to train on. */
export function recombinedDocs(count: number): Document[] {
  const words = DOCS.flatMap((d) => d.text.replace(/[.,]/g, "").split(" "));
  return Array.from({ length: count }, (_, i) => ({ id: `m${i}`, text: Array.from({ length: 6 }, (_, j) => words[(i * 7 + j * 13 + ((i * j) % 5)) % words.length]).join(" ") }));
}

/**
 * The bi-encoder's top `k` through the index's ANN part and through the exact scan, for the first 20
 * documents as queries, and the recall of the former: the share of its hits the exact top `k` holds.
 */
export async function annRecall(index: SearchIndex, docs: readonly Document[], k = 10): Promise<{ approximate: Run; exact: Run; recall: number }> {
  const queries = docs.slice(0, 20).map((d, i) => ({ id: `q${i}`, text: d.text }));
  const approximate = await index.rank(queries, { ranker: "bi-encoder", k });
  const exact = await index.rank(queries, { ranker: "bi-encoder", params: { exact: true }, k });
  let found = 0;
  for (const q of queries) for (const id of approximate.get(q.id)!.keys()) if (exact.get(q.id)!.has(id)) found++;
  return { approximate, exact, recall: found / (k * queries.length) };
}

