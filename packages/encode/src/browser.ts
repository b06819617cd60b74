/**
 * What of this package runs in a browser, the entry bundlers pick under the "browser" export
 * condition: static embedding models built from bytes the page fetched ({@link staticEncoderFromBytes}),
 * and the safetensors reader. Loading models by name or folder, onnxruntime, transformers.js
 * forward passes, embedding caches and fixtures need Node and are left out; their loaders are
 * here only to say so when something (a ranker given a model name) asks for them.
 */
export { chunkMode, STATIC_MAX_LENGTH, StaticEncoder, type StaticModelBytes, type StaticModelParts, staticEncoderFromBytes } from "./static.js";
export { encodeSafetensors, readSafetensors, readSafetensorsMetadata, type NamedTensor, type SafetensorsDtype } from "./safetensors.js";
export type { EncodeProgress, Encoder, EncoderBackend, EncoderOptions, SentenceOptions, TokenEmbeddings } from "./encoder.js";

function nodeOnly(what: string, spec: string): Error {
  return new Error(
    `${what}(${JSON.stringify(spec)}): loading a model by name or folder needs Node; in a browser build a static model with staticEncoderFromBytes and hand it to the rankers (provideEncoder of @crossrank/rankers)`,
  );
}

/** In a browser: an Error (models are built from bytes there, see {@link staticEncoderFromBytes}). */
export function loadEncoder(spec: string): Promise<never> {
  return Promise.reject(nodeOnly("loadEncoder", spec));
}

/** In a browser: an Error (cross-encoders run on onnxruntime-node or transformers.js' Node build). */
export function loadCrossEncoder(spec: string): Promise<never> {
  return Promise.reject(nodeOnly("loadCrossEncoder", spec));
}

/**
 * In a browser: false. No model is opened by name there (an encoder is built from bytes and
 * provided), so there is no ColBERT checkpoint to score with; maxsim scores the provided encoder's
 * token rows, as it does any model that is not one.
 */
export async function isColbertModel(_spec: string): Promise<boolean> {
  return false;
}

/** In a browser: an Error (ColBERT checkpoints are BERT models run by onnxruntime or transformers.js in Node). */
export function loadColbert(spec: string): Promise<never> {
  return Promise.reject(nodeOnly("loadColbert", spec));
}
