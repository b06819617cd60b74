import type { RankingInput } from "../src/index.js";

/** A text far longer than a small window: twelve sentences, the tenth about old maps, the rest about trains. */
export const LONG = Array.from({ length: 12 }, (_, i) => (i === 9 ? "The museum shows old maps of the city and its river." : "Trains to Berlin leave every hour from the central station.")).join(" ");

/** English queries over short documents and one long one (d3), a titled one (d2), for the passage (FirstP / MaxP / SumP) tests. */
export const LONG_DOCUMENT_INPUT: RankingInput = {
  queryLang: "en",
  docLang: "en",
  queries: [
    { id: "q1", text: "old maps of the city" },
    { id: "q2", text: "trains to Berlin" },
  ],
  documents: [
    { id: "d1", text: "The cat sleeps on the warm mat by the window." },
    { id: "d2", text: "A library lends books, music and films for free.", title: "Library" },
    { id: "d3", text: LONG },
    { id: "d4", text: "Fresh bread is baked every morning in the village bakery." },
    { id: "d5", text: "Fresh bread." },
  ],
};
