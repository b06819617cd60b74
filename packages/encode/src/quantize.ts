/**
 * Int8 quantization of a static (model2vec) embedding table, in the model2vec layout itself: the
 * `embeddings` tensor stored as I8 and each row's scale in the per-token `weights` tensor, so that
 * row_t = weights[t] · embeddings[t] is what every model2vec-style loader computes anyway (see
 * static.ts). A quarter of the float32 size; each coordinate is rounded to a step of at most
 * 1/127 of its row's largest magnitude.
 */
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "./safetensors.js";

/** What {@link quantizeStaticModel} wrote. */
export interface QuantizeStaticResult {
  rows: number;
  dim: number;
  /** Bytes of model.safetensors before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Largest |dequantized − original| over all coordinates, relative to the row's largest magnitude. */
  maxRelativeError: number;
}

/** Candidate scales tried per row, from max/127 down to {@link MIN_SCALE_FRACTION} of it. */
const SCALE_STEPS = 32;
const MIN_SCALE_FRACTION = 0.7;

/**
 * Symmetric per-row int8, q_rj = clamp(round(E_rj / s_r), −127, 127), with the scale s_r that
 * minimises the row's squared error Σ_j (s_r q_rj − E_rj)² among {@link SCALE_STEPS} candidates
 * from max_j |E_rj| / 127 (no value clipped) down to 0.7 of it (the largest values clipped a
 * little, the many small ones rounded more finely). Rows of zeros keep scale 0. An existing
 * `weights` tensor is folded into the scales. Returns the I8 table and the scales.
 */
export function quantizeRowsInt8(embeddings: Float32Array, rows: number, dim: number, weights?: Float32Array): { q: Int8Array; scales: Float32Array; maxRelativeError: number } {
  if (embeddings.length !== rows * dim) throw new Error(`quantizeRowsInt8: ${embeddings.length} values for [${rows}, ${dim}]`);
  const q = new Int8Array(rows * dim);
  const scales = new Float32Array(rows);
  let maxRelativeError = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(embeddings[o + j]!));
    if (max === 0) continue;
    let scale = Math.fround(max / 127);
    let best = Infinity;
    for (let step = 0; step < SCALE_STEPS; step++) {
      const s = Math.fround((max / 127) * (1 - ((1 - MIN_SCALE_FRACTION) * step) / (SCALE_STEPS - 1)));
      let err = 0;
      for (let j = 0; j < dim; j++) {
        const x = embeddings[o + j]!;
        err += (Math.max(-127, Math.min(127, Math.round(x / s))) * s - x) ** 2;
      }
      if (err < best) {
        best = err;
        scale = s;
      }
    }
    for (let j = 0; j < dim; j++) {
      const v = Math.max(-127, Math.min(127, Math.round(embeddings[o + j]! / scale)));
      q[o + j] = v;
      maxRelativeError = Math.max(maxRelativeError, Math.abs(v * scale - embeddings[o + j]!) / max);
    }
    scales[r] = scale * (weights?.[r] ?? 1);
  }
  return { q, scales, maxRelativeError };
}

/**
 * Writes an int8 copy of the static model folder `source` (model2vec layout, float `embeddings`
 * with one row per token, no `mapping`) to `out`: model.safetensors with I8 `embeddings` and F32
 * `weights` (the row scales), config.json with a `crossrank.quantization` record, every other file
 * copied as is. Written to a temporary sibling folder and renamed into place.
 */
export async function quantizeStaticModel(source: string, out: string): Promise<QuantizeStaticResult> {
  const weightsPath = join(source, "model.safetensors");
  const bytesIn = await readFile(weightsPath);
  const tensors = await readSafetensors(new Uint8Array(bytesIn.buffer, bytesIn.byteOffset, bytesIn.byteLength));
  const emb = tensors.get("embeddings");
  if (emb === undefined || emb.shape.length !== 2 || !(emb.data instanceof Float32Array)) {
    throw new Error(`${weightsPath}: expected a float "embeddings" tensor [vocab, dim] (model2vec layout)`);
  }
  if (tensors.has("mapping")) throw new Error(`${weightsPath}: a vocabulary-quantized model (with "mapping") is not supported`);
  const w = tensors.get("weights");
  if (w !== undefined && !(w.data instanceof Float32Array)) throw new Error(`${weightsPath}: "weights" must be a float tensor`);
  const [rows, dim] = emb.shape as [number, number];
  const { q, scales, maxRelativeError } = quantizeRowsInt8(emb.data, rows, dim, w?.data as Float32Array | undefined);

  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const name of await readdir(source)) {
    if (name === "model.safetensors" || name === "config.json") continue;
    await copyFile(join(source, name), join(tmp, name));
  }
  const config = JSON.parse(await readFile(join(source, "config.json"), "utf8")) as Record<string, unknown>;
  const crossrank = (config.crossrank ?? {}) as Record<string, unknown>;
  config.crossrank = { ...crossrank, quantization: { embeddings: "int8, symmetric per row", scales: "weights (float32, one per token)", maxRelativeError: Number(maxRelativeError.toPrecision(3)) } };
  await writeFile(join(tmp, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  await writeSafetensors(join(tmp, "model.safetensors"), {
    embeddings: { dtype: "I8", shape: [rows, dim], data: q },
    weights: { dtype: "F32", shape: [rows], data: scales },
  });
  const bytesAfter = (await readFile(join(tmp, "model.safetensors"))).byteLength;
  await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
  return { rows, dim, bytesBefore: bytesIn.byteLength, bytesAfter, maxRelativeError };
}
