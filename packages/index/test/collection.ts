import type { Document } from "@crossrank/datasets";

/** The small English collection the index tests build (titles, shared words, a library, a bakery). */
export const DOCS: Document[] = [
  { id: "d1", text: "The cat sleeps on the warm mat by the window." },
  { id: "d2", text: "Trains to Berlin leave every hour from the central station.", title: "Timetable" },
  { id: "d3", text: "A library lends books, music and films for free." },
  { id: "d4", text: "Fresh bread is baked every morning in the village bakery." },
  { id: "d5", text: "The museum shows old maps of the city and its river." },
  { id: "d6", text: "Cats and dogs need water, food and a quiet place to sleep." },
];
