import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@crossrank/tokenize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSafetensors, generateXmodFixtureModel, loadEncoder, readFixtureCorpus, resolveFixtureOptions, writeFixtureModel } from "../src/index.js";
import { jsonText } from "../src/fixture/hf-files.js";
import { buildXmodOnnx } from "../src/fixture/xmod-graph.js";
import { xmodConfig } from "../src/fixture/xmod-fixture.js";
import { generateXmodWeights, XMOD_BASE_FLAGS, xmodStateDict } from "../src/fixture/xmod-weights.js";
import { int64Rows, numpyAvailable, runPythonReference } from "./helpers/python-reference.js";

// The X-MOD fixture's forward pass against X-MOD written in NumPy from the published architecture
// (test/python/xmod_reference.py), independent of crossrank's TypeScript and ONNX code, with two
// languages in one batch. Needs python3 with NumPy (Debian: python3-numpy; .ci/run installs it).
const available = numpyAvailable("python X-MOD reference tests");

const TEXTS = ["Der Fluss fließt langsam durch die alte Stadt.", "The river flows slowly through the old town.", "Hund", "东京是日本的首都"];
const LANGUAGES = ["de", "en", "de", "zh"];

function reference(folder: string, batch: { input_ids: number[][]; attention_mask: number[][]; lang_ids: number[] }): number[][][] {
  return runPythonReference<{ outputs: number[][][][] }>("xmod_reference.py", { folder, batches: [batch] }).outputs[0]!;
}

/** Every real token's row of `folder`'s encoder (languages per text) against the NumPy reference; returns the count compared. */
async function compare(folder: string, languageNames: readonly string[]): Promise<number> {
  const tokenizer = await Tokenizer.load(folder);
  const batch = tokenizer.encodeBatch(TEXTS);
  const hidden = reference(folder, {
    input_ids: int64Rows(batch.inputIds, batch.batchSize, batch.seqLength),
    attention_mask: int64Rows(batch.attentionMask, batch.batchSize, batch.seqLength),
    lang_ids: LANGUAGES.map((l) => languageNames.findIndex((n) => n.startsWith(`${l}_`))),
  });
  const encoder = await loadEncoder(folder);
  try {
    const embedded = await encoder.encodeTokens(TEXTS, { languages: LANGUAGES });
    let compared = 0;
    embedded.forEach((e, t) => {
      for (let r = 0; r < e.tokens.length; r++) {
        for (let h = 0; h < e.dim; h++) {
          expect(Math.abs(e.embeddings[r * e.dim + h]! - hidden[t]![r]![h]!), `${TEXTS[t]} token ${r} dim ${h}`).toBeLessThan(1e-5);
          compared++;
        }
      }
    });
    return compared;
  } finally {
    await encoder.dispose();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-python-xmod-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!available)("fixture X-MOD against a NumPy XmodModel written from the published architecture", () => {
  it("xmod: every token's last hidden state, three languages in one padded batch, to 1e-5", async () => {
    const folder = (await writeFixtureModel(join(dir, "xmod"), { kind: "xmod" })).dir;
    const model = generateXmodFixtureModel(resolveFixtureOptions({ kind: "xmod" }), await readFixtureCorpus(), 1);
    expect(await compare(folder, model.weights.languages)).toBeGreaterThan(1000);
  });

  it("the config flags as the reference reads them: pre_norm, adapter_layer_norm, residual before the LayerNorm", async () => {
    const folder = (await writeFixtureModel(join(dir, "variant"), { kind: "xmod" })).dir;
    const base = generateXmodFixtureModel(resolveFixtureOptions({ kind: "xmod" }), await readFixtureCorpus(), 1).weights;
    const weights = generateXmodWeights(base.bert.shape, 5, base.languages, { ...XMOD_BASE_FLAGS, preNorm: true, adapterLayerNorm: true, lnBeforeAdapter: false }, base.padIdx);
    await writeFile(join(folder, "config.json"), jsonText(xmodConfig(weights)));
    const named = Object.fromEntries(Object.entries(xmodStateDict(weights)).map(([name, w]) => [name, { dtype: "F32" as const, shape: w.shape, data: w.data }]));
    await writeFile(join(folder, "model.safetensors"), encodeSafetensors(named, { format: "pt" }));
    await writeFile(join(folder, "onnx/model.onnx"), buildXmodOnnx(weights));
    expect(await compare(folder, weights.languages)).toBeGreaterThan(1000);
  });
});
