import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@crossrank/tokenize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCrossEncoder, loadEncoder, writeFixtureModel } from "../src/index.js";
import { int64Rows, numpyAvailable, runPythonReference } from "./helpers/python-reference.js";

// The fixtures' forward passes against BERT written in NumPy from the published architecture
// (test/python/bert_reference.py), independent of crossrank's TypeScript and ONNX code. Needs
// python3 with NumPy (Debian: python3-numpy; .ci/run installs it).
const available = numpyAvailable("python reference tests");

interface Batch {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
}

/** Runs the NumPy reference on `batches` of the model in `folder`. */
function reference(folder: string, task: "hidden" | "logits", batches: Batch[]): number[][][] | number[][][][] {
  return runPythonReference<{ outputs: number[][][] | number[][][][] }>("bert_reference.py", { folder, task, batches }).outputs;
}

const TEXTS = ["the dog runs in the park", "der Hund läuft", "Le chat dort sur le tapis chaud près de la fenêtre.", "東京は日本の首都です"];
const PAIRS: [string, string][] = [
  ["Hauptstadt von Japan", "Tokyo is the capital of Japan."],
  ["capital of Japan", "Berlin is the capital of Germany and its largest city."],
  ["Katze", "The cat sleeps."],
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-python-reference-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!available)("fixture models against a NumPy BERT written from the published architecture", () => {
  for (const kind of ["bert", "sentence-transformers"] as const) {
    it(`${kind}: every token's last hidden state, padded batch, to 1e-5`, async () => {
      const folder = (await writeFixtureModel(join(dir, kind), { kind })).dir;
      const tokenizer = await Tokenizer.load(folder);
      const batch = tokenizer.encodeBatch(TEXTS);
      const [hidden] = reference(folder, "hidden", [
        { input_ids: int64Rows(batch.inputIds, batch.batchSize, batch.seqLength), attention_mask: int64Rows(batch.attentionMask, batch.batchSize, batch.seqLength), token_type_ids: int64Rows(batch.tokenTypeIds, batch.batchSize, batch.seqLength) },
      ]) as number[][][][];
      const encoder = await loadEncoder(folder, { backend: "onnx" });
      try {
        const embedded = await encoder.encodeTokens(TEXTS);
        let compared = 0;
        embedded.forEach((e, t) => {
          expect(e.tokens.length, TEXTS[t]).toBe(batch.items[t]!.ids.length);
          for (let r = 0; r < e.tokens.length; r++) {
            for (let h = 0; h < e.dim; h++) {
              expect(Math.abs(e.embeddings[r * e.dim + h]! - hidden![t]![r]![h]!), `${TEXTS[t]} token ${r} dim ${h}`).toBeLessThan(1e-5);
              compared++;
            }
          }
        });
        expect(compared).toBeGreaterThan(1000);
      } finally {
        await encoder.dispose();
      }
    });
  }

  it("cross-encoder: BertForSequenceClassification's logits of each pair, on both backends, to 1e-5", async () => {
    const folder = (await writeFixtureModel(join(dir, "cross-encoder"), { kind: "cross-encoder" })).dir;
    const tokenizer = await Tokenizer.load(folder);
    const batch = tokenizer.encodePairs(PAIRS);
    const [logits] = reference(folder, "logits", [
      { input_ids: int64Rows(batch.inputIds, batch.batchSize, batch.seqLength), attention_mask: int64Rows(batch.attentionMask, batch.batchSize, batch.seqLength), token_type_ids: int64Rows(batch.tokenTypeIds, batch.batchSize, batch.seqLength) },
    ]) as number[][][];
    // The segment ids matter: the second text's are 1.
    expect(int64Rows(batch.tokenTypeIds, batch.batchSize, batch.seqLength)[0]).toContain(1);
    for (const backend of ["onnx", "transformers"] as const) {
      const encoder = await loadCrossEncoder(folder, { backend });
      try {
        const scores = await encoder.score(PAIRS);
        PAIRS.forEach((pair, i) => expect(Math.abs(scores[i]! - logits![i]![0]!), `${backend}: ${pair.join(" / ")}`).toBeLessThan(1e-5));
      } finally {
        await encoder.dispose();
      }
    }
  });
});
