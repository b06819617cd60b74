import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { colbertScore, loadColbert, writeFixtureModel } from "../src/index.js";

// fixture:colbert's rows and scores against ColBERT written in NumPy from the reference
// implementation (test/python/colbert_reference.py on bert_reference.py's BERT), independent of
// crossrank's TypeScript and ONNX code. Needs python3 with NumPy (Debian: python3-numpy; .ci/run
// installs it).
const SCRIPT = fileURLToPath(new URL("./python/colbert_reference.py", import.meta.url));
const numpy = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8" });
const available = numpy.status === 0;
if (!available) console.log("python ColBERT reference tests skipped: python3 with NumPy is not installed (apt-get install python3-numpy)");

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
        const run = spawnSync("python3", [SCRIPT], {
          input: JSON.stringify({ folder, queries: QUERIES.map((t) => tokenizer.contentIds(t)), documents: DOCUMENTS.map((t) => tokenizer.contentIds(t)) }),
          encoding: "utf8",
          maxBuffer: 256 * 1024 * 1024,
        });
        if (run.status !== 0) throw new Error(`colbert_reference.py failed: ${run.stderr}`);
        const ref = JSON.parse(run.stdout) as Reference;
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
