/**
 * Rankers that score by the cosine or the dot product of one pooled vector per text: the LM-EMD
 * study's baselines on a plain language model (BERT-CLS, BERT-MAX, BERT-MEAN) and
 * sentence-transformers bi-encoders.
 */
import type { Encoder, SentenceOptions } from "@crossrank/encode";
import type { Run } from "@crossrank/metrics";
import type { Document } from "@crossrank/datasets";
import { type CollectionPart, type CollectionPartBuilder, collectionParts, documentIds } from "../collection-parts.js";
import type { RankingInput, RankOptions } from "../ranker.js";
import { type CandidateMap, type CandidateRanker, checkInput, checkScore, positions, Progress, topKEntry, yieldToEventLoop } from "./common.js";
import { denseScoreBlock } from "./dense.js";
import { languagesFor } from "./languages.js";
import { type PooledMatrix, pooledMatrix, pooledRows, type PooledSimilarity, type SharedEncoder, sharedEncoder } from "./memo.js";
import { checkEncoderSettings, documentText, encoderNameParts, type NeuralRankerOptions } from "./settings.js";

/** Which pooled ranker. */
export type PooledKind = "bert-cls" | "bert-max" | "bert-mean" | "bi-encoder";

/**
 * Collections at least this large are scored on onnxruntime (./dense-onnx.ts) when every document
 * is a candidate; smaller ones, and candidate lists, in the JavaScript loop, where loading and
 * running a session would cost more than it saves. Where onnxruntime cannot load (a browser), the
 * JavaScript loop scores them too.
 */
export const DENSE_ONNX_MIN_DOCUMENTS = 4096;

/** ./dense-onnx.js with its session ready, or undefined when onnxruntime cannot load (checked once). */
let denseOnnx: Promise<typeof import("./dense-onnx.js") | undefined> | undefined;
function maybeDenseOnnx(): Promise<typeof import("./dense-onnx.js") | undefined> {
  denseOnnx ??= import("./dense-onnx.js").then(
    async (m) => ((await m.denseOnnxAvailable()) ? m : undefined),
    () => undefined,
  );
  return denseOnnx;
}

/** Options of {@link PooledRanker}. */
export interface PooledRankerOptions extends NeuralRankerOptions {
  /**
   * bert-max / bert-mean: whether the CLS and SEP rows take part in the pooling. Default true, as
   * both sentence-transformers and the LM-EMD study do. Ignored by bert-cls and bi-encoder.
   */
  includeSpecial?: boolean;
  /**
   * Score every document (true), or, where the collection has an approximate index attached for
   * these vectors (`attachCollectionParts`, e.g. a crossrank index's LanceDB table), take the
   * candidates from it and score them exactly (false, the default).
   */
  exact?: boolean;
  /**
   * Whether a document's title goes on a line before its text (default true, as the other rankers
   * and BM25 read documents); false encodes the text alone, as the LaBSE / DistilUSE notebook does.
   */
  title?: boolean;
  /**
   * How a query's vector is compared with a document's: "cosine" (both L2-normalised, then the dot
   * product) or "dot" (the dot product of the vectors as the encoder gives them). Default for
   * `bi-encoder`: the model folder's (`Encoder.similarity`: its similarity_fn_name, else dot for a
   * sentence-transformers folder without Normalize such as DistilUSE, else cosine); a folder that
   * names "euclidean" or "manhattan" needs one of the two given here. Default for `bert-cls`,
   * `bert-max`, `bert-mean`: "cosine", as the LM-EMD study scores its baselines (its `faithful`
   * preset too); "dot" then scores the pooled vectors unnormalised.
   */
  similarity?: PooledSimilarity;
}

/** Prompt names sentence-transformers folders use for queries, and for documents (first found wins). */
const ROLE_PROMPTS = { query: ["query"], document: ["passage", "document", "corpus"] } as const;

/**
 * The prompt a bi-encoder puts before a text of this role, from its folder's prompts as
 * sentence-transformers models are meant to be used (E5: "query: " before queries, "passage: "
 * before documents; the default prompt before both when there is no role prompt; "" without prompts).
 * Exported so that stores encoding queries themselves (a PostgreSQL index) prompt them alike.
 */
export function rolePrompt(encoder: Pick<Encoder, "prompts" | "defaultPromptName">, role: keyof typeof ROLE_PROMPTS): string {
  const { prompts, defaultPromptName } = encoder;
  for (const name of ROLE_PROMPTS[role]) if (prompts[name] !== undefined) return prompts[name]!;
  return defaultPromptName === undefined ? "" : (prompts[defaultPromptName] ?? "");
}


/**
 * Cosine or dot product of pooled vectors (`similarity`), brute force over the collection:
 * score(q, d) = q·d / (‖q‖‖d‖) for cosine, q·d for dot (the LaBSE / DistilUSE notebook's `q @ c.T`).
 *
 * - `bert-cls` / `bert-max` / `bert-mean`: the model's `last_hidden_state` pooled by the first
 *   token, an element-wise max or a mean (cosine by default); no sentence-transformers Dense layers
 *   (the study pools a plain LM). Preset "default" pools over the real tokens only (masked);
 *   preset "faithful" reproduces the study: max with padded rows zeroed in, mean divided by the
 *   padded batch length (so a vector depends on the batch it was encoded in).
 * - `bi-encoder`: the model's own sentence-transformers pipeline (its Pooling, Dense and Normalize
 *   modules, or mean pooling for a plain model), compared as the folder says (`Encoder.similarity`);
 *   the preset does not apply.
 *
 * The whole collection is encoded once (memoised per encoder, options and texts) even when only
 * candidates are scored: the dot products are cheap, and faithful padded pooling makes a vector
 * depend on the other texts of its batch, so restricting to candidates would change the vectors.
 */
export class PooledRanker implements CandidateRanker {
  readonly name: string;
  private readonly settings: PooledRankerOptions;

  constructor(
    readonly kind: PooledKind,
    options: PooledRankerOptions,
  ) {
    if (!["bert-cls", "bert-max", "bert-mean", "bi-encoder"].includes(kind)) throw new Error(`unknown pooled ranker ${JSON.stringify(kind)}`);
    checkEncoderSettings(options, kind);
    if (options.includeSpecial !== undefined && typeof options.includeSpecial !== "boolean") {
      throw new Error(`ranker ${kind}: includeSpecial must be a boolean, got ${JSON.stringify(options.includeSpecial)}`);
    }
    if (options.exact !== undefined && typeof options.exact !== "boolean") throw new Error(`ranker ${kind}: exact must be a boolean, got ${JSON.stringify(options.exact)}`);
    if (options.title !== undefined && typeof options.title !== "boolean") throw new Error(`ranker ${kind}: title must be a boolean, got ${JSON.stringify(options.title)}`);
    if (options.similarity !== undefined && options.similarity !== "cosine" && options.similarity !== "dot") {
      throw new Error(`ranker ${kind}: similarity must be "cosine" or "dot", got ${JSON.stringify(options.similarity)}`);
    }
    this.settings = { ...options };
    const parts = encoderNameParts(options);
    if (options.includeSpecial === false && (kind === "bert-max" || kind === "bert-mean")) parts.push("includeSpecial=false");
    if (options.exact === true) parts.push("exact");
    if (options.title === false) parts.push("title=false");
    if (options.similarity !== undefined) parts.push(`similarity=${options.similarity}`);
    this.name = `${kind}(${parts.join(",")})`;
  }

  /**
   * The similarity this ranker scores with over `shared`'s encoder: the one asked for, else (the
   * bi-encoder) the model folder's, else cosine. A folder's "euclidean" or "manhattan" is an Error
   * saying how to choose one of the two computed here.
   */
  similarity(shared: SharedEncoder): PooledSimilarity {
    if (this.settings.similarity !== undefined) return this.settings.similarity;
    if (this.kind !== "bi-encoder") return "cosine";
    const declared = shared.encoder.similarity;
    if (declared === "cosine" || declared === "dot") return declared;
    throw new Error(
      `ranker ${this.name}: ${shared.encoder.id} declares similarity_fn_name "${declared}" (config_sentence_transformers.json), which this ranker does not compute; ` +
        `give the parameter similarity "cosine" or "dot" to rank with it anyway`,
    );
  }

  /** The sentence options this ranker encodes with (the same for queries and documents). */
  sentenceOptions(): Omit<SentenceOptions, "onProgress"> {
    if (this.kind === "bi-encoder") return {};
    const pooling = this.kind === "bert-cls" ? "cls" : this.kind === "bert-max" ? "max" : "mean";
    // Cosine normalises the rows anyway (pooledRows); normalize: true keeps the cache keys the vectors always had.
    const options: Omit<SentenceOptions, "onProgress"> = { pooling, normalize: this.settings.similarity !== "dot", dense: false };
    if (pooling !== "cls") {
      options.includeSpecial = this.settings.includeSpecial ?? true;
      options.paddedPooling = this.settings.preset === "faithful";
    }
    return options;
  }

  rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    return this.rankCandidates(input, undefined, options);
  }

  /**
   * The texts encoded for documents and for queries. A bi-encoder follows its folder's prompts as
   * sentence-transformers models are meant to be used (E5: "query: " before queries, "passage: "
   * before documents; a default prompt before both when there is no role prompt); the LM-EMD
   * study's baselines (bert-cls, -max, -mean) encode the texts as they are.
   */
  private documentTexts(shared: SharedEncoder, documents: readonly Document[]): string[] {
    const prompt = this.rolePrompt(shared, "document");
    return documents.map((d) => prompt + (this.settings.title === false ? d.text : documentText(d)));
  }

  private queryTexts(shared: SharedEncoder, queries: readonly { text: string }[]): string[] {
    const prompt = this.rolePrompt(shared, "query");
    return queries.map((q) => prompt + q.text);
  }

  private rolePrompt(shared: SharedEncoder, role: "query" | "document"): string {
    return this.kind === "bi-encoder" ? rolePrompt(shared.encoder, role) : "";
  }

  /** The key of this ranker's document vectors among a collection's prebuilt parts: the encoder's vector settings, the pooling and the similarity. */
  private partKey(shared: SharedEncoder): string {
    // Without titles, or unnormalised for dot products, the vectors differ; the key of the default
    // (titles, cosine) stays as it was, so existing indexes keep theirs.
    const extra = { ...(this.settings.title === false ? { title: false } : {}), ...(this.similarity(shared) === "dot" ? { similarity: "dot" } : {}) };
    return JSON.stringify(["vectors", shared.vectorKey, shared.encoder.id, this.sentenceOptions(), ...(Object.keys(extra).length > 0 ? [extra] : [])]);
  }

  /**
   * The documents' vectors, as `rank` would encode them, as a part to keep with the collection
   * (`attachCollectionParts`): a later `rank` over that documents array encodes the queries only.
   * `docLang`: the language of documents without their own `lang`, for an encoder with language
   * adapters (X-MOD); give documents a `lang` (or rank with that `docLang`) so that ranking matches.
   */
  async prebuild(documents: readonly Document[], onProgress?: (done: number, total: number) => void, docLang?: string): Promise<CollectionPart> {
    const shared = await sharedEncoder(this.settings);
    const matrix = await pooledRows(shared.encoder, this.documentTexts(shared, documents), { ...this.sentenceOptions(), ...languagesFor(shared.encoder, documents, docLang) }, this.similarity(shared), onProgress);
    return { kind: "vectors", key: this.partKey(shared), matrix };
  }

  /**
   * `prebuild` for documents given in chunks (see `CollectionPartBuilder`): each chunk is encoded
   * when added, so only the vectors are kept. A pooled vector depends on its text alone (exactly for
   * a static encoder; a transformer's batches differ from `prebuild`'s, which may change the last
   * bits of its float arithmetic), except under the faithful preset's padded pooling (bert-max,
   * bert-mean), which depends on the batch by design and is refused here. `docLang` as for `prebuild`.
   */
  async partBuilder(docLang?: string): Promise<CollectionPartBuilder> {
    const sentence = this.sentenceOptions();
    if (sentence.paddedPooling === true) throw new Error(`ranker ${this.name}: padded pooling makes a vector depend on the texts encoded with it, so the vectors cannot be built in chunks`);
    const shared = await sharedEncoder(this.settings);
    const key = this.partKey(shared);
    const similarity = this.similarity(shared);
    let chunks: PooledMatrix[] | undefined = [];
    return {
      add: async (documents) => {
        if (chunks === undefined) throw new Error(`ranker ${this.name}: vectors added after finish`);
        chunks.push(await pooledRows(shared.encoder, this.documentTexts(shared, documents), { ...sentence, ...languagesFor(shared.encoder, documents, docLang) }, similarity));
      },
      finish: async () => {
        if (chunks === undefined) throw new Error(`ranker ${this.name}: vectors finished twice`);
        // No documents: the encoder's empty matrix, as `prebuild` gives (its width is the encoder's).
        if (chunks.length === 0) chunks.push(await pooledRows(shared.encoder, [], sentence, similarity));
        const rows = chunks.reduce((sum, m) => sum + m.rows, 0);
        const dim = chunks[0]!.dim;
        const data = new Float32Array(rows * dim);
        let offset = 0;
        for (const m of chunks) {
          data.set(m.data, offset);
          offset += m.data.length;
        }
        chunks = undefined;
        return { kind: "vectors", key, matrix: { rows, dim, data } };
      },
    };
  }

  async rankCandidates(input: RankingInput, candidates: CandidateMap | undefined, options: RankOptions = {}): Promise<Run> {
    const k = checkInput(input, options);
    const { queries, documents } = input;
    const progress = new Progress(options.onProgress, documents.length, queries.length);
    const run: Run = new Map();
    if (queries.length === 0) return run;
    const shared = await sharedEncoder(this.settings);
    const sentence = this.sentenceOptions();
    const parts = collectionParts(documents);
    const key = this.partKey(shared);
    // With language adapters (X-MOD) each text goes through its own language's; prebuilt vectors
    // used each document's own lang, so they do not serve documents that would fall back to docLang.
    const prebuiltLanguages = shared.encoder.languages === undefined || input.docLang === undefined || documents.every((d) => d.lang !== undefined);
    const prebuilt = prebuiltLanguages ? parts?.vectors.get(key) : undefined;
    const ann = candidates === undefined && this.settings.exact !== true && prebuiltLanguages ? parts?.ann.get(key) : undefined;
    const similarity = this.similarity(shared);
    const docs = prebuilt ?? (await pooledMatrix(shared, this.documentTexts(shared, documents), { ...sentence, ...languagesFor(shared.encoder, documents, input.docLang) }, similarity, progress.encodeDocs));
    const qs = await pooledMatrix(shared, this.queryTexts(shared, queries), { ...sentence, ...languagesFor(shared.encoder, queries, input.queryLang) }, similarity, progress.encodeQueries);
    const ids = documentIds(documents);
    if (ann !== undefined) {
      // The approximate index's candidates, scored exactly below like a re-ranker's.
      const found = await ann.search(qs, k);
      candidates = new Map(queries.map((q, i) => [q.id, found[i]!]));
    }
    const all = candidates === undefined ? positions(documents.length) : undefined;
    const onnx = all !== undefined && documents.length >= DENSE_ONNX_MIN_DOCUMENTS ? await maybeDenseOnnx() : undefined;
    if (onnx !== undefined && all !== undefined) {
      // A whole large collection: one GEMM per block of queries on onnxruntime.
      const { denseScoreAll } = onnx;
      const row = new Float64Array(documents.length);
      await denseScoreAll(qs, docs, async (first, count, block) => {
        for (let b = 0; b < count; b++) {
          const query = queries[first + b]!;
          const offset = b * documents.length;
          for (let d = 0; d < documents.length; d++) {
            const score = block[offset + d]!;
            // (checkScore throws: called only for a score that is not finite, so the loop stays tight.)
            if (!Number.isFinite(score)) checkScore(score, this.name, query.id, ids[d]!);
            row[d] = score;
          }
          run.set(query.id, topKEntry(row, ids, k, all));
        }
        progress.score(first + count);
        await yieldToEventLoop();
      });
      return run;
    }
    const block = candidates === undefined ? 4 : 1;
    const scores = Array.from({ length: block }, () => new Float64Array(documents.length));
    for (let first = 0; first < queries.length; first += block) {
      const count = Math.min(block, queries.length - first);
      const cands = all ?? candidates!.get(queries[first]!.id) ?? new Int32Array(0);
      denseScoreBlock(qs, first, count, docs, cands, scores);
      for (let b = 0; b < count; b++) {
        const query = queries[first + b]!;
        for (const doc of cands) checkScore(scores[b]![doc]!, this.name, query.id, ids[doc]!);
        run.set(query.id, topKEntry(scores[b]!, ids, k, cands));
      }
      progress.score(first + count);
      if ((first / block) % 64 === 63) await yieldToEventLoop();
    }
    return run;
  }
}
