import type { Qrels } from "@crossrank/metrics";
import type { LmEmdPair } from "../../src/lm-emd-trainer.js";

/** German–English sentence pairs for the trainers' end-to-end tests. */
const SENTENCES: readonly (readonly [german: string, english: string])[] = [
  ["Der Hund läuft schnell über die Wiese.", "The dog runs quickly across the meadow."],
  ["Die Katze schläft auf dem Sofa.", "The cat sleeps on the sofa."],
  ["Paris ist die Hauptstadt von Frankreich.", "Paris is the capital of France."],
  ["Im Jahr 1969 landeten Menschen auf dem Mond.", "In 1969 humans landed on the Moon."],
  ["Der Rhein fließt durch Köln und Düsseldorf.", "The Rhine flows through Cologne and Düsseldorf."],
  ["Wasser kocht bei 100 Grad Celsius.", "Water boils at 100 degrees Celsius."],
  ["Beethoven komponierte neun Sinfonien.", "Beethoven composed nine symphonies."],
  ["Der Zug nach Berlin hat zwei Stunden Verspätung.", "The train to Berlin is two hours late."],
  ["Die Bibliothek öffnet um acht Uhr morgens.", "The library opens at eight in the morning."],
  ["Mozart wurde 1756 in Salzburg geboren.", "Mozart was born in Salzburg in 1756."],
];

/** A tiny parallel task: German queries q0…, English documents d0…, query i ↔ document i. */
export interface ParallelTask {
  german: string[];
  english: string[];
  queries: { id: string; text: string }[];
  documents: { id: string; text: string }[];
  /** Training pairs (query i, document i), with ids. */
  pairs: LmEmdPair[];
  qrels: Qrels;
}

/** The task over the sentence pairs at `lines` (default: all ten), numbered from 0 in that order. */
export function parallelTask(lines: readonly number[] = SENTENCES.map((_, i) => i)): ParallelTask {
  const picked = lines.map((i) => SENTENCES[i] ?? (() => { throw new RangeError(`parallelTask: no sentence pair ${i} (0 to ${SENTENCES.length - 1})`); })());
  const german = picked.map(([de]) => de);
  const english = picked.map(([, en]) => en);
  const queries = german.map((text, i) => ({ id: `q${i}`, text }));
  const documents = english.map((text, i) => ({ id: `d${i}`, text }));
  const pairs = german.map((query, i) => ({ query, queryId: `q${i}`, relevant: english[i]!, relevantId: `d${i}` }));
  const qrels: Qrels = new Map(queries.map((q, i) => [q.id, new Map([[`d${i}`, 1]])]));
  return { german, english, queries, documents, pairs, qrels };
}
