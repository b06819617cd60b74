import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ColbertEncoder,
  colbertScore,
  colbertSettings,
  type FixtureModel,
  generateFixtureModel,
  isColbertModel,
  loadColbert,
  PYTHON_PUNCTUATION,
  readSafetensors,
  referenceForward,
  writeFixtureModel,
  writeSafetensors,
} from "../src/index.js";

// fixture:colbert's rows against a plain TypeScript reference: the BERT forward of
// reference-forward.ts over the ids ColBERT's tokenizers build, then linear.weight, the masks and
// the normalisation written out here (stanford-futuredata/ColBERT colbert/modeling/colbert.py).

const QUERIES = ["der Hund läuft, schnell!", "capital of Japan?", ""];
const DOCUMENTS = ["Der Hund läuft, schnell! Und die Katze?", "Tokyo is the capital of Japan.", "東京は日本の首都です。"];

let dir: string;
let folder: string;
let model: FixtureModel;
let colbert: ColbertEncoder;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-colbert-"));
  folder = (await writeFixtureModel(join(dir, "colbert"), { kind: "colbert" })).dir;
  model = await generateFixtureModel({ kind: "colbert" });
  colbert = await loadColbert(folder);
}, 120_000);
afterAll(async () => {
  await colbert?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The reference rows of one id sequence: BERT (one text, no padding) → linear → rows kept → unit rows. */
function referenceRows(ids: number[], attention: number[], keep: (id: number) => boolean): number[][] {
  const hidden = referenceForward(model.weights, { inputIds: ids, attentionMask: attention, batch: 1, seqLength: ids.length });
  const H = model.options.hidden;
  const linear = model.linear!;
  const D = linear.shape[0]!;
  const out: number[][] = [];
  ids.forEach((id, r) => {
    if (!keep(id)) return;
    const row = Array.from({ length: D }, (_, k) => {
      let s = 0;
      for (let j = 0; j < H; j++) s += linear.data[k * H + j]! * hidden[r * H + j]!;
      return s;
    });
    const norm = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
    out.push(row.map((v) => v / norm));
  });
  return out;
}

const vocabId = (token: string) => model.vocab.indexOf(token);

describe("ColBERT checkpoints (fixture:colbert)", () => {
  it("the fixture is saved in HF_ColBERT's layout: bert.* + linear.weight [dim, hidden], artifact.metadata, [unused0]/[unused1] in the vocabulary", async () => {
    expect(model.linear!.shape).toEqual([16, 32]);
    expect(model.vocab.slice(-2)).toEqual(["[unused0]", "[unused1]"]);
    const metadata = JSON.parse(new TextDecoder().decode(model.files.get("artifact.metadata")));
    expect(metadata).toMatchObject({ query_token_id: "[unused0]", doc_token_id: "[unused1]", dim: 16, query_maxlen: 32, doc_maxlen: 64, mask_punctuation: true, attend_to_mask_tokens: false, similarity: "cosine" });
    const header = new TextDecoder().decode(model.files.get("model.safetensors")!.subarray(8, 8 + 20000));
    expect(header).toContain('"linear.weight"');
    expect(header).toContain('"bert.embeddings.word_embeddings.weight"');
    expect(await isColbertModel(folder)).toBe(true);
    expect(await isColbertModel("fixture:bert")).toBe(false);
    // The other kinds' vocabulary is untouched by the markers.
    expect((await generateFixtureModel({ kind: "bert" })).vocab).toEqual(model.vocab.slice(0, -2));
  });

  it("queries: [CLS] [Q] tokens… [SEP] then [MASK] up to query_maxlen, every row kept, the [MASK]s outside the attention mask", () => {
    const t = colbert.tokenizeQuery("der Hund läuft, schnell!");
    const content = colbert.encoder.tokenizer.contentIds("der Hund läuft, schnell!");
    expect(t.ids).toHaveLength(32);
    expect(t.ids.slice(0, 2)).toEqual([vocabId("[CLS]"), vocabId("[unused0]")]);
    expect(t.ids.slice(2, 2 + content.length)).toEqual(content);
    expect(t.ids[2 + content.length]).toBe(vocabId("[SEP]"));
    expect(t.ids.slice(3 + content.length)).toEqual(new Array(32 - 3 - content.length).fill(vocabId("[MASK]")));
    expect(t.attention).toEqual(t.ids.map((_, i) => i < 3 + content.length));
    expect(t.text.slice(...t.offsets[2]!)).toBe("de");
    // Truncation keeps [SEP] last, as the tokenizer's truncation=True does.
    const long = colbert.tokenizeQuery("Hund ".repeat(60));
    expect(long.ids).toHaveLength(32);
    expect(long.ids.at(-1)).toBe(vocabId("[SEP]"));
    expect(long.ids.includes(vocabId("[MASK]"))).toBe(false);
  });

  it("documents: [CLS] [D] tokens… [SEP] truncated to doc_maxlen; the punctuation skip-list dropped", () => {
    const t = colbert.tokenizeDocument("Der Hund läuft, schnell!");
    expect(t.ids.slice(0, 2)).toEqual([vocabId("[CLS]"), vocabId("[unused1]")]);
    expect(t.ids.at(-1)).toBe(vocabId("[SEP]"));
    expect(colbert.tokenizeDocument("Hund ".repeat(200)).ids).toHaveLength(64);
    // The skip-list: the first id of each character of string.punctuation encoded alone.
    expect(colbert.skiplist.has(vocabId(","))).toBe(true);
    expect(colbert.skiplist.has(vocabId("!"))).toBe(true);
    expect(PYTHON_PUNCTUATION).toHaveLength(32);
  });

  it("query and document rows equal the TypeScript reference (BERT → linear.weight → masks → unit rows) to 1e-5, on both backends", async () => {
    const onnx = await loadColbert(folder, { backend: "onnx", batchSize: 2 });
    try {
      for (const c of [colbert, onnx]) {
        const queries = await c.encodeQueries(QUERIES);
        const documents = await c.encodeDocuments(DOCUMENTS);
        QUERIES.forEach((text, i) => {
          const t = c.tokenizeQuery(text);
          const ref = referenceRows(t.ids, t.attention!.map((a) => (a ? 1 : 0)), () => true);
          expect(queries[i]!.rows).toBe(32);
          ref.forEach((row, r) => row.forEach((v, k) => expect(Math.abs(queries[i]!.embeddings[r * 16 + k]! - v), `query ${i} row ${r}`).toBeLessThan(1e-5)));
        });
        DOCUMENTS.forEach((text, i) => {
          const t = c.tokenizeDocument(text);
          // string.punctuation is ASCII: "。" keeps its row; a character missing from the vocabulary would skip [UNK].
          const skip = new Set(Array.from(PYTHON_PUNCTUATION, (ch) => (vocabId(ch) >= 0 ? vocabId(ch) : vocabId("[UNK]"))));
          const ref = referenceRows(t.ids, t.ids.map(() => 1), (id) => !skip.has(id));
          expect(documents[i]!.rows).toBe(ref.length);
          expect(documents[i]!.tokens.some((tok) => [",", "!", "?", "."].includes(tok))).toBe(false);
          ref.forEach((row, r) => row.forEach((v, k) => expect(Math.abs(documents[i]!.embeddings[r * 16 + k]! - v), `document ${i} row ${r}`).toBeLessThan(1e-5)));
        });
        for (const rows of [...queries, ...documents]) {
          for (let r = 0; r < rows.rows; r++) {
            const norm = Math.hypot(...rows.embeddings.subarray(r * 16, (r + 1) * 16));
            expect(norm).toBeCloseTo(1, 6);
          }
        }
      }
    } finally {
      await onnx.dispose();
    }
  });

  it("attend_to_mask_tokens true puts the [MASK]s under the attention mask, which changes the rows", async () => {
    const attending = join(dir, "attending");
    await writeFixtureModel(attending, { kind: "colbert" });
    const metadata = JSON.parse(new TextDecoder().decode(model.files.get("artifact.metadata")));
    await writeFile(join(attending, "artifact.metadata"), JSON.stringify({ ...metadata, attend_to_mask_tokens: true }));
    const c = await loadColbert(attending);
    try {
      const t = c.tokenizeQuery("capital of Japan?");
      expect(t.attention!.every((a) => a)).toBe(true);
      const [rows] = await c.encodeQueries(["capital of Japan?"]);
      const ref = referenceRows(t.ids, t.ids.map(() => 1), () => true);
      ref.forEach((row, r) => row.forEach((v, k) => expect(Math.abs(rows!.embeddings[r * 16 + k]! - v)).toBeLessThan(1e-5)));
      const [plain] = await colbert.encodeQueries(["capital of Japan?"]);
      expect(Math.abs(plain!.embeddings[0]! - rows!.embeddings[0]!)).toBeGreaterThan(1e-6);
    } finally {
      await c.dispose();
    }
  });

  it("scores: Σ over query rows of the best dot product (cosine), Σ max −‖q − d‖² (l2)", async () => {
    const [q] = await colbert.encodeQueries(["capital of Japan?"]);
    const [d] = await colbert.encodeDocuments(["Tokyo is the capital of Japan."]);
    let cosine = 0;
    let l2 = 0;
    for (let i = 0; i < q!.rows; i++) {
      let best = -Infinity;
      let bestL2 = -Infinity;
      for (let j = 0; j < d!.rows; j++) {
        let dot = 0;
        let dist = 0;
        for (let k = 0; k < 16; k++) {
          dot += q!.embeddings[i * 16 + k]! * d!.embeddings[j * 16 + k]!;
          dist += (q!.embeddings[i * 16 + k]! - d!.embeddings[j * 16 + k]!) ** 2;
        }
        best = Math.max(best, dot);
        bestL2 = Math.max(bestL2, -dist);
      }
      cosine += best;
      l2 += bestL2;
    }
    expect(colbert.score(q!, d!)).toBeCloseTo(cosine, 9);
    expect(colbertScore(q!, d!, "l2")).toBeCloseTo(l2, 9);
    expect(colbertScore(q!, d!, "l2")).toBeCloseTo(2 * cosine - 2 * q!.rows, 5);
  });

  it("an X-MOD checkpoint (ColBERT-XM's shape) runs each text through its language's adapter", async () => {
    // fixture:xmod plus linear.weight and artifact.metadata: its vocabulary lacks [unused0] /
    // [unused1], which then take the unknown token's id, as transformers' convert_tokens_to_ids gives.
    const xm = join(dir, "colbert-xm");
    await writeFixtureModel(xm, { kind: "xmod" });
    const weights = Object.fromEntries(await readSafetensors(join(xm, "model.safetensors")));
    await writeSafetensors(join(xm, "model.safetensors"), { ...weights, "linear.weight": { dtype: "F32", shape: model.linear!.shape, data: model.linear!.data } }, { format: "pt" });
    await writeFile(join(xm, "artifact.metadata"), new TextDecoder().decode(model.files.get("artifact.metadata")));
    const c = await loadColbert(xm);
    try {
      expect(c.queryMarkerId).toBe(c.encoder.tokenizer.unkTokenId);
      const [de] = await c.encodeQueries(["der Hund läuft"], { language: "de" });
      const [en] = await c.encodeQueries(["der Hund läuft"], { language: "en" });
      expect(Math.abs(de!.embeddings[5]! - en!.embeddings[5]!)).toBeGreaterThan(1e-6);
      // The German rows are the German adapter's hidden states of the same tokens, projected and normalised.
      const [hidden] = await c.encoder.encodeTokenized!([c.tokenizeQuery("der Hund läuft")], { language: "de" });
      const H = hidden!.dim;
      for (const r of [0, 3, 31]) {
        const row = Array.from({ length: 16 }, (_, k) => {
          let s = 0;
          for (let j = 0; j < H; j++) s += model.linear!.data[k * H + j]! * hidden!.embeddings[r * H + j]!;
          return s;
        });
        const norm = Math.hypot(...row);
        row.forEach((v, k) => expect(Math.abs(de!.embeddings[r * 16 + k]! - v / norm)).toBeLessThan(1e-6));
      }
      await expect(c.encodeDocuments(["der Hund"])).rejects.toThrow(/no language/);
    } finally {
      await c.dispose();
    }
  });

  it("refuses bad settings and weights clearly", async () => {
    expect(() => colbertSettings({ similarity: "dot" }, "x/artifact.metadata")).toThrow(/similarity must be "cosine" or "l2"/);
    expect(() => colbertSettings({ interaction: "flipr" }, "x/artifact.metadata")).toThrow(/interaction "flipr" is not supported/);
    expect(() => colbertSettings({ query_maxlen: 2 }, "x/artifact.metadata")).toThrow(/query_maxlen must be a whole number >= 3/);
    expect(colbertSettings(undefined, "x").docMaxlen).toBe(220);
    await expect(loadColbert("fixture:bert")).rejects.toThrow(/no linear.weight tensor .* not a ColBERT checkpoint/);
    const binOnly = join(dir, "bin-only");
    await writeFixtureModel(binOnly, { kind: "colbert" });
    await rm(join(binOnly, "model.safetensors"));
    await writeFile(join(binOnly, "pytorch_model.bin"), "");
    await expect(loadColbert(binOnly)).rejects.toThrow(/pytorch_model.bin only.*Convert the checkpoint/s);
    await expect(loadColbert(folder, { queryMaxLength: 2 })).rejects.toThrow(/queryMaxLength must be a whole number >= 3/);
  });
});
