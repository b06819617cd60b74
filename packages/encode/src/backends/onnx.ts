/**
 * The `onnx` backend: the exported graph on a raw onnxruntime-node InferenceSession, fed the
 * same int64 tensors the tokenizer made. It exists to measure what @huggingface/transformers
 * adds on top of the same session (see the README) and as a fallback for graphs whose
 * `config.json` model_type transformers.js does not know.
 */
import type * as Ort from "onnxruntime-node";
import { batchInputs, HIDDEN_OUTPUTS, INPUT_NAMES, hiddenStates, LANG_IDS, type ModelRunner, SESSION_OPTIONS } from "./common.js";

type OrtModule = typeof Ort;
let ortPromise: Promise<OrtModule> | undefined;

/** onnxruntime-node, loaded on first use so importing the package does not load the native binary. */
export function loadOrt(): Promise<OrtModule> {
  ortPromise ??= import("onnxruntime-node").then((m) => ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule);
  return ortPromise;
}

/**
 * Opens `modelPath` (an .onnx file) and returns a runner feeding only the inputs the graph declares:
 * the padded batch's tensors, and `lang_ids` [batch] for a graph that takes the language of each
 * text (an X-MOD export, see the package README).
 */
export async function loadOnnxRunner(modelPath: string): Promise<ModelRunner> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(modelPath, SESSION_OPTIONS);
  const known: readonly string[] = [...INPUT_NAMES, LANG_IDS];
  const unknown = session.inputNames.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    await session.release();
    throw new Error(`${modelPath}: the graph needs inputs ${unknown.join(", ")}; only ${known.join(", ")} can be fed`);
  }
  const output = HIDDEN_OUTPUTS.find((n) => session.outputNames.includes(n));
  if (output === undefined) {
    await session.release();
    throw new Error(`${modelPath}: no ${HIDDEN_OUTPUTS.join(" or ")} output (outputs: ${session.outputNames.join(", ")})`);
  }
  const takesLanguage = session.inputNames.includes(LANG_IDS);
  return {
    takesLanguage,
    async run(batch, langIds) {
      const dims = [batch.batchSize, batch.seqLength];
      const all = batchInputs(batch);
      const feeds: Record<string, Ort.Tensor> = {};
      for (const name of session.inputNames) if (name !== LANG_IDS) feeds[name] = new ort.Tensor("int64", all[name as (typeof INPUT_NAMES)[number]], dims);
      if (takesLanguage) {
        if (langIds === undefined || langIds.length !== batch.batchSize) throw new Error(`${modelPath}: the graph takes ${LANG_IDS}, one language id per text (${batch.batchSize}); got ${langIds?.length ?? "none"}`);
        feeds[LANG_IDS] = new ort.Tensor("int64", langIds, [batch.batchSize]);
      }
      // Fetch only the hidden state: a pooler output, when the graph has one, is never copied out.
      const out = await session.run(feeds, [output]);
      const t = out[output]!;
      return hiddenStates(t.data, t.dims, t.type, batch, modelPath);
    },
    dispose: () => session.release(),
  };
}
