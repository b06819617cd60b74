/**
 * The cross-encoder ranker: a sequence-classification model scores each (query, document) pair as
 * one input (`@crossrank/encode`'s `CrossEncoder`), the Pretraining-CLIR study's ranker. One model
 * run per pair, so it re-ranks a first stage's candidates (`rerank` with `second: "cross-encoder"`);
 * ranking a whole collection with it is possible and as slow as it sounds.
 *
 * Long documents: the model reads at most maxLength tokens of a pair. `passages: "first"` (FirstP,
 * the default) scores the document's beginning, as truncation does; "max" (MaxP) and "sum" (SumP)
 * cut the document into overlapping windows of `passageLength` tokens (`stride` shared by
 * consecutive windows), score the query against each, and keep the best window's score or the sum
 * (Dai & Callan 2019). The Pretraining-CLIR study lengthened BERT's position embeddings instead
 * (BertLong); windows are our way, as a longer model cannot be trained on two CPU cores.
 */
import type { CrossEncoder, CrossEncoderOptions } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import type { RankingInput, RankOptions } from "../ranker.js";
import { type CandidateMap, type CandidateRanker, candidateUnion, checkInput, checkScore, loadOnce, positions, topKEntry, yieldToEventLoop } from "./common.js";
import { type PassageAggregation, passageTexts } from "./passages.js";
import { documentText } from "./settings.js";

/** Options of {@link CrossEncoderRanker}. */
export interface CrossEncoderRankerOptions {
  /**
   * The cross-encoder: a hub id (e.g. cross-encoder/mmarco-mMiniLMv2-L12-H384-v1), a folder,
   * fixture:cross-encoder, or a pair head folder (its classifier trained by @crossrank/train's
   * `trainCrossEncoderHead`; scored on raw onnxruntime, so backend "transformers" is refused).
   */
  model: string;
  /** Default "transformers"; "onnx" = raw onnxruntime-node. */
  backend?: "transformers" | "onnx";
  /** Default "fp32"; "q8" needs onnx/model_quantized.onnx. */
  dtype?: "fp32" | "q8";
  /** Pairs per model run. Default 16. */
  batchSize?: number;
  /** Tokens per pair, special tokens included. Default the model's maximum. */
  maxLength?: number;
  /** Default "first" (FirstP). */
  passages?: PassageAggregation;
  /** Document tokens per window with passages "max" / "sum". Default maxLength − 64 (room for the query and the special tokens), at least 16. */
  passageLength?: number;
  /** Tokens shared by consecutive windows. Default half of passageLength. */
  stride?: number;
}

/** Query tokens a window leaves room for by default. */
const QUERY_ROOM = 64;

const loaded = new Map<string, Promise<CrossEncoder>>();

/** The cross-encoder for these settings, loaded once per process (see {@link clearCrossEncoders}). */
function sharedCrossEncoder(model: string, options: CrossEncoderOptions): Promise<CrossEncoder> {
  return loadOnce(loaded, JSON.stringify([model, options]), () => import("@crossrank/encode").then(({ loadCrossEncoder }) => loadCrossEncoder(model, options)));
}

/** Disposes every loaded cross-encoder (`clearNeuralMemo` calls it). */
export async function clearCrossEncoders(): Promise<void> {
  const all = [...loaded.values()];
  loaded.clear();
  for (const p of all) await (await p.catch(() => undefined))?.dispose();
}

export class CrossEncoderRanker implements CandidateRanker {
  readonly name: string;
  readonly passages: PassageAggregation;
  private readonly options: CrossEncoderRankerOptions;

  constructor(options: CrossEncoderRankerOptions) {
    if (typeof options.model !== "string" || options.model === "") throw new Error("ranker cross-encoder needs parameter model (a hub id, a model folder, or fixture:cross-encoder)");
    this.passages = options.passages ?? "first";
    if (!["first", "max", "sum"].includes(this.passages)) throw new Error(`ranker cross-encoder: passages must be "first", "max" or "sum", got ${JSON.stringify(this.passages)}`);
    for (const key of ["batchSize", "maxLength", "passageLength"] as const) {
      const v = options[key];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new Error(`ranker cross-encoder: ${key} must be a whole number >= 1, got ${String(v)}`);
    }
    if (options.stride !== undefined && !(Number.isInteger(options.stride) && options.stride >= 0)) throw new Error(`ranker cross-encoder: stride must be a whole number >= 0, got ${String(options.stride)}`);
    if (this.passages === "first" && (options.passageLength !== undefined || options.stride !== undefined)) {
      throw new Error(`ranker cross-encoder: passageLength and stride apply to passages "max" and "sum" only`);
    }
    this.options = options;
    const parts = [`model=${options.model}`];
    for (const key of ["backend", "dtype", "batchSize", "maxLength", "passages", "passageLength", "stride"] as const) if (options[key] !== undefined) parts.push(`${key}=${options[key]}`);
    this.name = `cross-encoder(${parts.join(",")})`;
  }

  rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    return this.rankCandidates(input, undefined, options);
  }

  async rankCandidates(input: RankingInput, candidates: CandidateMap | undefined, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    const encoder = await this.encoder();
    const windows = await this.documentWindows(encoder, input, candidates);
    const all = candidates === undefined ? positions(input.documents.length) : undefined;
    const ids = input.documents.map((d) => d.id);
    const scores = new Float64Array(input.documents.length);
    const run: Run = new Map();
    for (const [i, query] of input.queries.entries()) {
      const docs = all ?? candidates!.get(query.id);
      if (docs === undefined || docs.length === 0) {
        run.set(query.id, new Map());
        continue;
      }
      // Every window of every candidate against the query, in one call (the encoder batches them).
      const pairs: [string, string][] = [];
      const owner: number[] = [];
      for (const d of docs) {
        for (const w of windows.get(d)!) {
          pairs.push([query.text, w]);
          owner.push(d);
        }
      }
      const windowScores = await encoder.score(pairs);
      for (const d of docs) scores[d] = this.passages === "max" ? -Infinity : 0;
      owner.forEach((d, j) => {
        const s = windowScores[j]!;
        if (this.passages === "max") scores[d] = Math.max(scores[d]!, s);
        else scores[d] = scores[d]! + s;
      });
      for (const d of docs) checkScore(scores[d]!, this.name, query.id, ids[d]!);
      run.set(query.id, topKEntry(scores, ids, k, docs));
      options.onProgress?.(i + 1, input.queries.length);
      await yieldToEventLoop();
    }
    return run;
  }

  private encoder(): Promise<CrossEncoder> {
    const { model, backend, dtype, batchSize, maxLength } = this.options;
    return sharedCrossEncoder(model, {
      ...(backend === undefined ? {} : { backend }),
      ...(dtype === undefined ? {} : { dtype }),
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(maxLength === undefined ? {} : { maxLength }),
    });
  }

  /**
   * Per candidate document, the texts its pairs carry: the whole text with passages "first" (the
   * pair encoding keeps its beginning), else its windows, each the text between its first and
   * last token (so the tokenizer reads it again as those tokens).
   */
  private async documentWindows(encoder: CrossEncoder, input: RankingInput, candidates: CandidateMap | undefined): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    const union = candidateUnion(input.documents.length, candidates);
    const passageLength = this.options.passageLength ?? Math.max(16, encoder.maxLength - QUERY_ROOM);
    const stride = this.options.stride ?? Math.floor(passageLength / 2);
    if (this.passages !== "first" && stride >= passageLength) throw new Error(`ranker cross-encoder: stride ${stride} must be smaller than passageLength ${passageLength}`);
    for (const d of union) {
      const text = documentText(input.documents[d]!);
      out.set(d, this.passages === "first" ? [text] : passageTexts(encoder.tokenizer, text, passageLength, stride));
    }
    return out;
  }
}
