/**
 * What the standalone build gives transformers.js in place of onnxruntime-web (vite alias, see
 * vite.standalone.config.ts): the page uses transformers.js for its tokenizers only (the static
 * model is a table, LM-EMD's Sinkhorn is @crossrank/ot's), so onnxruntime-web's JavaScript and its
 * 27 MB WebAssembly binary would only be shipped, never run. transformers.js reads `env` and
 * `InferenceSession` when it loads (src/backends/onnx.js) and `Tensor` to recognise its tensors;
 * creating a session is an Error saying why.
 */
export const env: Record<string, unknown> = {};

export class Tensor {}

export class InferenceSession {
  static create(): Promise<never> {
    return Promise.reject(new Error("this build of the page runs no ONNX model (onnxruntime-web is left out: transformers.js serves the tokenizer only)"));
  }
}
