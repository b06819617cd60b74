/**
 * The `transformers` backend (the default): @huggingface/transformers' AutoModel on the local
 * model folder, which runs the same onnxruntime-node session underneath. It is the library path
 * (model-type aware input handling, dtype → file naming) and is measured against raw
 * onnxruntime-node (./onnx.ts) in `crossrank encode-bench`.
 */
import { batchInputs, HIDDEN_OUTPUTS, hiddenStates, type ModelRunner, SESSION_OPTIONS } from "./common.js";

/**
 * Loads `<folder>/onnx/model.onnx` (fp32) or `<folder>/onnx/model_quantized.onnx` (q8) with its
 * `config.json`. The folder must already hold those files: transformers.js is never allowed to
 * download (model files come through @crossrank/tokenize's resolveModel).
 */
export async function loadTransformersRunner(folder: string, dtype: "fp32" | "q8"): Promise<ModelRunner> {
  const { AutoModel, Tensor } = await import("@huggingface/transformers");
  const model = await AutoModel.from_pretrained(folder, {
    dtype,
    device: "cpu",
    local_files_only: true,
    session_options: SESSION_OPTIONS,
  });
  return {
    // transformers.js (4.x) has no X-MOD model type; loadEncoder routes X-MOD folders to the onnx backend.
    takesLanguage: false,
    async run(batch) {
      const dims = [batch.batchSize, batch.seqLength];
      const inputs: Record<string, InstanceType<typeof Tensor>> = {};
      for (const [name, data] of Object.entries(batchInputs(batch))) inputs[name] = new Tensor("int64", data, dims);
      // The model picks the inputs its graph declares (e.g. DistilBERT has no token_type_ids).
      const out = (await model(inputs)) as Record<string, InstanceType<typeof Tensor> | undefined>;
      const name = HIDDEN_OUTPUTS.find((n) => out[n] !== undefined);
      if (name === undefined) throw new Error(`${folder}: the model returned no ${HIDDEN_OUTPUTS.join(" or ")} (got ${Object.keys(out).join(", ")})`);
      const t = out[name]!;
      return hiddenStates(t.data, t.dims, t.type, batch, folder);
    },
    async dispose() {
      await model.dispose();
    },
  };
}
