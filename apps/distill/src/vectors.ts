/**
 * The frozen encoder's outputs, computed once, and the head applied on top of them.
 *
 * Every needed text is encoded once with the base encoder into its pooled sentence vector after
 * the sentence-transformers Dense modules and before any normalisation — exactly what a sentence
 * head receives at inference (see @crossrank/encode's encoder.ts) — and kept in memory (and in the
 * encoder's on-disk embedding cache, so a second run reads them back). A stage's model is then
 * `normalize(head(x))`, computed here with the same arithmetic as `loadEncoder(headFolder).encode`.
 */
import { type Encoder, l2normalizeRows, type Pooling } from "@crossrank/encode";
import type { HeadCache, TrainableHead } from "@crossrank/train";
import type { XquadCorpus } from "./data.js";

/** The base encoder's vectors of the corpus texts. */
export interface BaseVectors {
  dim: number;
  /** [paragraphs, dim]: the English paragraphs (rows of paragraphs not needed are zeros). */
  paragraphs: Float32Array;
  /** language → [questions, dim] (rows of questions not encoded are zeros). */
  questions: Map<string, Float32Array>;
  /** Texts encoded (distinct). */
  texts: number;
}

/**
 * Encodes the English paragraphs `paragraphs` and, per language, the questions listed in
 * `questions` (distinct texts once, in one call so the encoder can batch by length).
 */
export async function encodeBase(
  encoder: Encoder,
  corpus: XquadCorpus,
  need: { paragraphs: readonly number[]; questions: ReadonlyMap<string, readonly number[]> },
  options: { pooling?: Pooling; onProgress?: (done: number, total: number) => void } = {},
): Promise<BaseVectors> {
  const texts: string[] = [];
  const slot = new Map<string, number>();
  const at = (text: string): number => {
    let k = slot.get(text);
    if (k === undefined) {
      k = texts.length;
      slot.set(text, k);
      texts.push(text);
    }
    return k;
  };
  const paragraphSlots = need.paragraphs.map((p) => at(corpus.paragraphs[p]!.text));
  const questionSlots = new Map<string, number[]>();
  for (const [lang, list] of need.questions) {
    questionSlots.set(
      lang,
      list.map((q) => {
        const text = corpus.questions[q]!.text[lang];
        if (text === undefined) throw new Error(`encodeBase: question ${corpus.questions[q]!.id} has no ${lang} text`);
        return at(text);
      }),
    );
  }
  const encoded = await encoder.encode(texts, {
    normalize: false,
    ...(options.pooling !== undefined ? { pooling: options.pooling } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  });
  const dim = encoded.dim;
  const paragraphs = new Float32Array(corpus.paragraphs.length * dim);
  need.paragraphs.forEach((p, k) => paragraphs.set(encoded.data.subarray(paragraphSlots[k]! * dim, (paragraphSlots[k]! + 1) * dim), p * dim));
  const questions = new Map<string, Float32Array>();
  for (const [lang, list] of need.questions) {
    const rows = new Float32Array(corpus.questions.length * dim);
    const slots = questionSlots.get(lang)!;
    list.forEach((q, k) => rows.set(encoded.data.subarray(slots[k]! * dim, (slots[k]! + 1) * dim), q * dim));
    questions.set(lang, rows);
  }
  return { dim, paragraphs, questions, texts: texts.length };
}

/** Rows `rows` of the [*, dim] matrix `m`, as a new [rows.length, dim] matrix. */
export function gather(m: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out.set(m.subarray(r * dim, (r + 1) * dim), i * dim);
  }
  return out;
}

/** Stacks [n_k, dim] matrices. */
export function stack(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The model of a stage on base rows x ([n, input]): `head(x)` (x itself without a head), then L2
 * normalised when `normalize` — the vectors `loadEncoder(headFolder).encode(texts)` returns.
 */
export function project(head: TrainableHead | undefined, x: Float32Array, n: number, normalize: boolean): Float32Array {
  const y = head === undefined ? x.slice() : head.forward(x, n).y;
  if (!normalize || n === 0) return y;
  return l2normalizeRows(y, y.length / n);
}

/** What {@link forward} keeps for {@link backward}. */
export interface ForwardPass {
  n: number;
  out: number;
  /** The head's output before normalisation. */
  y: Float32Array;
  /** The model's output (normalised y, or y). */
  z: Float32Array;
  normalize: boolean;
  cache: HeadCache;
}

/** Training forward pass: z = normalize(head(x)). */
export function forward(head: TrainableHead, x: Float32Array, n: number, normalize: boolean): ForwardPass {
  const { y, cache } = head.forward(x, n);
  const out = head.output;
  const z = normalize ? l2normalizeRows(y, out) : y;
  return { n, out, y, z, normalize, cache };
}

/**
 * Backward pass of {@link forward}: given dz = ∂L/∂z, the head's parameter gradients (in the
 * order of `head.params()`). Through the normalisation z = y/|y|: ∂L/∂y = (dz − z (z·dz)) / |y|
 * (0 for a zero row, which the forward leaves at 0).
 */
export function backward(head: TrainableHead, pass: ForwardPass, dz: Float32Array): Float32Array[] {
  const { n, out, y, z } = pass;
  let dy: Float32Array = dz;
  if (pass.normalize) {
    dy = new Float32Array(n * out);
    for (let r = 0; r < n; r++) {
      const o = r * out;
      let norm = 0;
      let dot = 0;
      for (let k = 0; k < out; k++) {
        norm += y[o + k]! * y[o + k]!;
        dot += z[o + k]! * dz[o + k]!;
      }
      if (norm === 0) continue;
      const inv = 1 / Math.sqrt(norm);
      for (let k = 0; k < out; k++) dy[o + k] = (dz[o + k]! - z[o + k]! * dot) * inv;
    }
  }
  return head.gradList(head.backward(pass.cache, dy).grads);
}
