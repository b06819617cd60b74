/**
 * Encoder throughput: the same texts through both backends (transformers.js and raw
 * onnxruntime-node) with the same tokenizer, batches and session options, so the difference is
 * what @huggingface/transformers adds around the session.
 */
import { loadEncoder, type Encoder, type EncoderBackend, type EncoderOptions } from "./encoder.js";
import { readFixtureCorpus } from "./fixture/index.js";

/**
 * A default workload: every sentence of the committed multilingual fixture corpus (13 languages,
 * several scripts), plus each run of four consecutive sentences joined (paragraph-length texts),
 * so batches mix short and long inputs as retrieval collections do.
 */
export async function benchTexts(): Promise<string[]> {
  const texts: string[] = [];
  for (const { text } of await readFixtureCorpus()) {
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    texts.push(...lines);
    for (let i = 0; i + 4 <= lines.length; i += 4) texts.push(lines.slice(i, i + 4).join(" "));
  }
  return texts;
}

export interface EncodeBenchOptions extends Omit<EncoderOptions, "backend" | "cache"> {
  /** Model spec: hub id, folder, or fixture:bert. */
  model: string;
  /** The texts encoded per round, per backend. */
  texts: readonly string[];
  /** Timed rounds per backend, alternating backends so drift in machine load hits both; the best round counts. Default 3. */
  rounds?: number;
}

export interface EncodeBenchRow {
  backend: EncoderBackend;
  /** Best round, seconds (tokenization + model + unpadding: everything `encodeTokens` does). */
  seconds: number;
  /** Real (non-padding) tokens per second. */
  tokensPerSecond: number;
  textsPerSecond: number;
}

export interface EncodeBenchResult {
  model: string;
  dtype: "fp32" | "q8";
  batchSize: number;
  texts: number;
  /** Real tokens in one round (special tokens included, padding excluded). */
  tokens: number;
  rounds: number;
  results: EncodeBenchRow[];
  /** Raw onnxruntime-node tokens/s over transformers.js tokens/s, minus 1: how much slower the library path is. */
  transformersOverhead: number;
}

const BACKENDS: readonly EncoderBackend[] = ["transformers", "onnx"];

/** Measures `encodeTokens` throughput of both backends on `options.texts`; see {@link EncodeBenchResult}. */
export async function encodeBench(options: EncodeBenchOptions): Promise<EncodeBenchResult> {
  const { model, texts, rounds = 3, ...loadOptions } = options;
  if (texts.length === 0) throw new Error("encodeBench: no texts");
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`encodeBench: rounds must be a positive integer, got ${rounds}`);
  const encoders: Encoder[] = [];
  try {
    for (const backend of BACKENDS) {
      const encoder = await loadEncoder(model, { ...loadOptions, backend, cache: false });
      encoders.push(encoder);
      if (encoder.backend === "static") throw new Error(`encodeBench: ${model} is a static embedding model; the backend comparison only applies to transformer models (time static models with bench/static-ddtp.ts, pnpm bench:static)`);
    }
    const first = encoders[0]!;
    const tokens = texts.reduce((sum, text) => sum + first.tokenizer.tokenize(text, { maxLength: first.maxLength }).ids.length, 0);
    // Warm-up: the first runs of a session allocate its arenas and pick kernels.
    for (const encoder of encoders) await encoder.encodeTokens(texts.slice(0, 64));
    const best = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const encoder of encoders) {
        const start = performance.now();
        await encoder.encodeTokens(texts);
        const seconds = (performance.now() - start) / 1000;
        best.set(encoder.backend, Math.min(best.get(encoder.backend) ?? Infinity, seconds));
      }
    }
    const results = encoders.map((encoder): EncodeBenchRow => {
      const seconds = best.get(encoder.backend)!;
      return { backend: encoder.backend as EncoderBackend, seconds, tokensPerSecond: tokens / seconds, textsPerSecond: texts.length / seconds };
    });
    const library = results.find((r) => r.backend === "transformers")!;
    const raw = results.find((r) => r.backend === "onnx")!;
    return {
      model,
      dtype: first.dtype,
      batchSize: loadOptions.batchSize ?? 16,
      texts: texts.length,
      tokens,
      rounds,
      results,
      transformersOverhead: raw.tokensPerSecond / library.tokensPerSecond - 1,
    };
  } finally {
    await Promise.all(encoders.map((encoder) => encoder.dispose()));
  }
}
