/**
 * The page's backend with no server: crossrank's own packages running in the page on a collection
 * held in memory — the static model built from fetched bytes (`staticEncoderFromBytes` of
 * @crossrank/encode), rankers from the registry (`createRanker` of @crossrank/rankers: BM25, the
 * bi-encoder, hybrid, LM-EMD re-ranking), explanations by `explainPair` with Sinkhorn on gpu.js's
 * WebGPU backend where the browser has an adapter, in plain JavaScript otherwise (@crossrank/ot).
 *
 * Built once: the encoder, the BM25 index and the bi-encoder's document vectors (attached to the
 * documents array as an index's prebuilt parts are, so a search encodes its query only), and the
 * documents' token frequencies for idf marginals. The same code runs in Node (its tests).
 */
import type { Document } from "@crossrank/datasets";
import { type StaticEncoder, staticEncoderFromBytes } from "@crossrank/encode";
import { backendAvailability, type OtBackend } from "@crossrank/ot";
import {
  attachCollectionParts,
  type Bm25Ranker,
  countDocumentFrequencies,
  createRanker,
  explainPair,
  type PooledRanker,
  provideEncoder,
  type Ranker,
} from "@crossrank/rankers";
import { rankedDocuments } from "@crossrank/metrics";
import type { BackendInfo, ExplainRequest, Explanation, Hit, SearchBackend, SearchRequest, SearchResponse } from "./backend.js";

/** The encoder name the rankers are given (the registry's default encoder, provided in memory). */
export const BROWSER_ENCODER = "crossrank-static";

/** Rankers offered (`rerank` over any of them is accepted too: the page's "re-rank with LM-EMD"). */
export const BROWSER_RANKERS = ["hybrid", "bm25", "bi-encoder"] as const;

/** Registry rankers a search may name: the offered ones and rerank. */
const SEARCHABLE = new Set<string>([...BROWSER_RANKERS, "rerank"]);

/** Default hits per search. */
const DEFAULT_K = 10;

/** A model2vec folder's files as the page fetched them. */
export interface BrowserModel {
  /** model.safetensors. */
  safetensors: ArrayBuffer | Uint8Array;
  /** tokenizer.json, parsed. */
  tokenizer: Record<string, unknown>;
  /** config.json, parsed. */
  config: Record<string, unknown>;
  /** tokenizer_config.json, parsed (crossrank-static ships one; model2vec folders may not). */
  tokenizerConfig?: Record<string, unknown>;
}

/** One step of building the backend, for a progress bar: `done` of `total` in `stage`. */
export interface LoadProgress {
  stage: "model" | "bm25" | "vectors" | "frequencies" | "ready";
  done: number;
  total: number;
}

export interface BrowserBackendOptions {
  model: BrowserModel;
  documents: readonly Document[];
  /**
   * Where LM-EMD's Sinkhorn runs: "webgpu" (gpu.js compute shaders), "webgl" (gpu.js fragment
   * shaders), "js" (plain JavaScript), or "cpu" / "webasm" (gpu.js). Default: the first of webgpu,
   * webgl and js that solves @crossrank/ot's probe problem here.
   */
  otBackend?: Exclude<OtBackend, "auto" | "onnx">;
  onProgress?: (progress: LoadProgress) => void;
}

/** The ids must be unique non-empty strings and every text a string (what a JSONL line must hold; see ./collection.ts). */
function checkDocuments(documents: readonly Document[]): void {
  const seen = new Set<string>();
  documents.forEach((d, i) => {
    if (typeof d.id !== "string" || d.id === "") throw new Error(`document ${i + 1}: id must be a non-empty string`);
    if (typeof d.text !== "string") throw new Error(`document ${d.id}: text must be a string`);
    if (seen.has(d.id)) throw new Error(`document ${d.id}: the id appears twice`);
    seen.add(d.id);
  });
}

/** The one language of every document, or undefined when they differ or some say none. */
function collectionLanguage(documents: readonly Document[]): string | undefined {
  const lang = documents[0]?.lang;
  return lang !== undefined && documents.every((d) => d.lang === lang) ? lang : undefined;
}

/** The first of gpu.js' WebGPU and WebGL backends that solves @crossrank/ot's probe problem here (a browser with a GPU), else plain JavaScript. */
async function defaultOtBackend(): Promise<"webgpu" | "webgl" | "js"> {
  const navigator = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (navigator?.gpu !== undefined && (await backendAvailability("webgpu")).available) return "webgpu";
  if (typeof document !== "undefined" && (await backendAvailability("webgl")).available) return "webgl";
  return "js";
}

/**
 * The request's parameters as the registry gets them: the hybrid's lexical stage is BM25 unless
 * asked otherwise (bm25-psq's dictionaries are Debian files a browser has none of; "auto" would pick
 * BM25 there anyway, and Node tests must rank as the browser does), and an LM-EMD stage solves on
 * this backend's OT backend unless the request names one.
 */
function registryParams(ranker: string, params: Readonly<Record<string, unknown>>, otBackend: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...params };
  for (const [key, value] of Object.entries(out)) if (value === "bm25-psq") throw new Error(`parameter ${key}: bm25-psq needs Debian's dictionary files, which the in-browser build does not have (it offers ${BROWSER_RANKERS.join(", ")} and rerank)`);
  if (out.encoder !== undefined && out.encoder !== BROWSER_ENCODER) throw new Error(`parameter encoder: the in-browser build has the ${BROWSER_ENCODER} model only, got ${JSON.stringify(out.encoder)}`);
  if (out.second === "cross-encoder") throw new Error("second stage cross-encoder needs onnxruntime-node: the in-browser build re-ranks with lm-emd (or maxsim, bi-encoder)");
  if (ranker === "hybrid" && out.lexical === undefined) out.lexical = "bm25";
  const lmEmd = ranker === "rerank" ? (out.second ?? "lm-emd") === "lm-emd" : ranker === "hybrid" && out.dense !== "bi-encoder" && out.second === "lm-emd";
  if (lmEmd && out.otBackend === undefined) out.otBackend = otBackend;
  return out;
}

/** Nested rows of a row-major matrix. */
function rows(data: ArrayLike<number>, n: number, m: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, j) => data[i * m + j]!));
}

/**
 * Builds the in-browser backend: the encoder from the model's bytes (handed to the rankers with
 * `provideEncoder`, so every registry ranker naming crossrank-static uses it), the BM25 index and
 * the bi-encoder's vectors of `documents`, and their token frequencies for idf marginals.
 */
export async function createBrowserBackend(options: BrowserBackendOptions): Promise<SearchBackend & { readonly encoder: StaticEncoder; readonly otBackend: string }> {
  const { model, onProgress } = options;
  checkDocuments(options.documents);
  // One array for the life of the backend: prebuilt parts are attached to it by identity.
  const documents: readonly Document[] = [...options.documents];
  const lang = collectionLanguage(documents);
  const otBackend = options.otBackend ?? (await defaultOtBackend());
  const n = documents.length;

  onProgress?.({ stage: "model", done: 0, total: 1 });
  const encoder = await staticEncoderFromBytes(BROWSER_ENCODER, {
    safetensors: model.safetensors,
    tokenizer: model.tokenizer,
    config: model.config,
    ...(model.tokenizerConfig === undefined ? {} : { tokenizerConfig: model.tokenizerConfig }),
  });
  provideEncoder(BROWSER_ENCODER, encoder);
  onProgress?.({ stage: "model", done: 1, total: 1 });

  const bm25 = createRanker("bm25") as Bm25Ranker;
  const lexical = await bm25.prebuild(documents, lang, (done, total) => onProgress?.({ stage: "bm25", done, total }));
  onProgress?.({ stage: "bm25", done: n, total: n });
  const biEncoder = createRanker("bi-encoder") as PooledRanker;
  const vectors = await biEncoder.prebuild(documents, (done, total) => onProgress?.({ stage: "vectors", done, total }));
  onProgress?.({ stage: "vectors", done: n, total: n });
  attachCollectionParts(documents, [lexical, vectors]);

  onProgress?.({ stage: "frequencies", done: 0, total: n });
  const texts = documents.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text));
  const documentFrequencies = await countDocumentFrequencies(encoder, texts);
  onProgress?.({ stage: "frequencies", done: n, total: n });
  const byId = new Map(documents.map((d, i) => [d.id, i]));
  onProgress?.({ stage: "ready", done: 1, total: 1 });

  const rankers = new Map<string, Ranker>();
  const rankerFor = (name: string, params: Readonly<Record<string, unknown>>): Ranker => {
    if (!SEARCHABLE.has(name)) throw new Error(`ranker ${JSON.stringify(name)} is not offered by the in-browser build (it offers ${BROWSER_RANKERS.join(", ")} and rerank over them${name === "bm25-psq" ? "; bm25-psq needs Debian's dictionary files" : ""})`);
    const resolved = registryParams(name, params, otBackend);
    const key = JSON.stringify([name, resolved]);
    let ranker = rankers.get(key);
    if (ranker === undefined) {
      ranker = createRanker(name, resolved);
      rankers.set(key, ranker);
    }
    return ranker;
  };

  return {
    encoder,
    otBackend,
    async info(): Promise<BackendInfo> {
      return { mode: "browser", documents: n, lang: lang ?? null, rankers: [...BROWSER_RANKERS] };
    },

    async search(r: SearchRequest): Promise<SearchResponse> {
      if (typeof r.query !== "string" || r.query.trim() === "") throw new Error("search: the query is blank");
      const k = r.k ?? DEFAULT_K;
      if (!Number.isInteger(k) || k < 1) throw new Error(`search: k must be a whole number >= 1, got ${String(r.k)}`);
      const ranker = rankerFor(r.ranker, r.params ?? {});
      const started = performance.now();
      const run = await ranker.rank({ queries: [{ id: "q", text: r.query }], documents, ...(r.queryLang ? { queryLang: r.queryLang } : {}), ...(lang ? { docLang: lang } : {}) }, { k });
      const scores = run.get("q") ?? new Map<string, number>();
      const hits: Hit[] = rankedDocuments(scores).map((id, i) => {
        const doc = documents[byId.get(id)!]!;
        return { rank: i + 1, id, score: scores.get(id)!, ...(doc.title ? { title: doc.title } : {}), text: doc.text };
      });
      return { ranker: r.ranker, took_ms: Math.round((performance.now() - started) * 100) / 100, hits };
    },

    async explain(r: ExplainRequest): Promise<Explanation> {
      const at = byId.get(r.id);
      if (at === undefined) throw new Error(`explain: no document with id ${JSON.stringify(r.id)}`);
      if (typeof r.query !== "string" || r.query.trim() === "") throw new Error("explain: the query is blank");
      const e = await explainPair(encoder, r.query, texts[at]!, {
        otBackend,
        ...(r.gamma === undefined ? {} : { gamma: r.gamma }),
        ...(r.iterations === undefined ? {} : { iterations: r.iterations }),
        ...(r.marginals === undefined ? {} : { marginals: r.marginals }),
        ...(r.marginals === "idf" ? { documentFrequencies } : {}),
      });
      const qn = e.queryTokens.length;
      const dn = e.docTokens.length;
      return {
        id: r.id,
        queryTokens: e.queryTokens,
        docTokens: e.docTokens,
        distance: e.distance,
        cost: rows(e.cost, qn, dn),
        plan: rows(e.plan, qn, dn),
        queryMass: Array.from(e.queryMass),
        docMass: Array.from(e.docMass),
      };
    },
  };
}
