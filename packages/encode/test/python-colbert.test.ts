import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { colbertScore, loadColbert, writeFixtureModel } from "../src/index.js";
import { numpyAvailable, runPythonReference } from "./helpers/python-reference.js";

// fixture:colbert's rows and scores against ColBERT written in NumPy from the reference
// implementation (test/python/colbert_reference.py on bert_reference.py's BERT), independent of
// crossrank's TypeScript and ONNX code. Needs python3 with NumPy (Debian: python3-numpy; .ci/run
// installs it).
const available = numpyAvailable("python ColBERT reference tests");

interface Reference {
  queries: number[][][];
  documents: { ids: number[]; rows: number[][] }[];
  scores: number[][];
}

const QUERIES = ["capital of Japan?", "der Hund läuft, schnell!", ""];
// The second document is longer than doc_maxlen (64): truncated, and the batch pads the others.
const DOCUMENTS = ["Tokyo is the capital of Japan.", `Der Hund läuft, schnell! ${"Die Katze schläft. ".repeat(12)}`, "東京は日本の首都です。", "Wale sind die größten Tiere im Meer!"];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-python-colbert-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!available)("fixture:colbert against a NumPy ColBERT written from stanford-futuredata/ColBERT", () => {
  for (const backend of ["transformers", "onnx"] as const) {
    it(`query rows, kept document rows and scores to 1e-5 (${backend} backend)`, async () => {
      const folder = (await writeFixtureModel(join(dir, `colbert-${backend}`), { kind: "colbert" })).dir;
      const colbert = await loadColbert(folder, { backend, batchSize: 2 });
      try {
        const tokenizer = colbert.encoder.tokenizer;
        const ref = runPythonReference<Reference>("colbert_reference.py", { folder, queries: QUERIES.map((t) => tokenizer.contentIds(t)), documents: DOCUMENTS.map((t) => tokenizer.contentIds(t)) });
        const queries = await colbert.encodeQueries(QUERIES);
        const documents = await colbert.encodeDocuments(DOCUMENTS);
        let compared = 0;
        queries.forEach((q, i) => {
          expect(q.rows).toBe(ref.queries[i]!.length);
          ref.queries[i]!.forEach((row, r) => row.forEach((v, k) => {
            expect(Math.abs(q.embeddings[r * q.dim + k]! - v), `query ${i} row ${r}`).toBeLessThan(1e-5);
            compared++;
          }));
        });
        documents.forEach((d, i) => {
          expect(d.ids, `document ${i} kept ids`).toEqual(ref.documents[i]!.ids);
          ref.documents[i]!.rows.forEach((row, r) => row.forEach((v, k) => {
            expect(Math.abs(d.embeddings[r * d.dim + k]! - v), `document ${i} row ${r}`).toBeLessThan(1e-5);
            compared++;
          }));
        });
        expect(documents[1]!.rows).toBeLessThan(64);
        queries.forEach((q, i) => documents.forEach((d, j) => expect(Math.abs(colbertScore(q, d) - ref.scores[i]![j]!), `score q${i} d${j}`).toBeLessThan(1e-5)));
        expect(compared).toBeGreaterThan(3000);
      } finally {
        await colbert.dispose();
      }
    });
  }
});
