/**
 * An index in PostgreSQL with pgvector, for more than one machine: the documents, the lexical
 * postings and the vectors in tables of one schema, pgvector's HNSW index (inner product) for the
 * dense stage: unit vectors for a cosine encoder, the raw ones for a dot-product encoder (the
 * embedded index's vectors either way, so `<#>` gives the same scores). Written from an opened embedded index (`writePostgresIndex`), so both hold the same
 * postings and vectors, and searched with the same rankers (`openPostgresIndex`):
 *
 * - the first stages run in SQL: `bm25` (Σ w · idf · impact over the stored float32 impacts),
 *   `bm25-psq` (Darwish & Oard's expected tf and df over the stored tfs and lengths, the query's
 *   translations computed in Node by `Bm25PsqRanker.queryTerms`) and `bi-encoder` (HNSW, or a full
 *   scan with `exact`); each gives the embedded index's documents, order and scores;
 * - the composite rankers (`hybrid`, `rerank`) take those runs as their first stages
 *   (`createRanker`'s `firstStages`) and fuse and re-rank in Node over the candidates' texts, as the
 *   embedded index does.
 *
 *   <schema>.meta      (key text, value jsonb)   the embedded manifest, the parts' settings
 *   <schema>.documents (pos int4, id text, title, text)
 *   <schema>.postings  (part text, term text, df int4, docs int4[], impacts float4[], tfs int4[], lengths float4[])
 *                      part "bm25": docs and impacts; part "bm25-psq": docs, tfs and the documents' lengths
 *   <schema>.vectors   (pos int4, embedding vector(d))  + HNSW (m 16, ef_construction 64)
 *
 * A write builds `<schema>__new` and swaps it in with one transaction: readers see the old tables
 * or the new ones, never a mix.
 */
import type { Document, Query } from "@crossrank/datasets";
import type { Encoder } from "@crossrank/encode";
import { rankedDocuments, type Run } from "@crossrank/metrics";
import {
  bm25Idf,
  Bm25PsqRanker,
  Bm25Ranker,
  collectionParts,
  createRanker,
  type FirstStageName,
  HybridRanker,
  queryTermWeight,
  type Ranker,
  type RankingInput,
  type RankOptions,
  RerankRanker,
  rolePrompt,
} from "@crossrank/rankers";
import pg from "pg";
import type { IndexManifest } from "./format.js";
import { DEFAULT_SEARCH_RANKER, rankerParamsFor, runHits, type SearchHit, type SearchIndex, type SearchOptions, type SearchStore } from "./open.js";

export const DEFAULT_SCHEMA = "crossrank";
/** The layout of the tables (see above); an index written by another layout says so on open. */
export const POSTGRES_LAYOUT_VERSION = 2;
const BATCH = 2000;
/**
 * Lexical scores equal to 1e-9 rank as ties (by id, descending, as trec_eval): the embedded index
 * sums a document's terms in one order and SQL's sum() in another, so two documents the embedded
 * index scores exactly alike can differ here in the last bits, and would otherwise swap places.
 */
const TIE_SCALE = 1e9;
/**
 * Candidates HNSW keeps while searching (pgvector's hnsw.ef_search, default 40): over 200k DDTP
 * descriptions, 100 raised recall@10 against the full scan from 0.880 (at 40) to 0.946.
 */
const HNSW_EF_SEARCH = 100;
/** work_mem of a lexical query (see `lexicalQuery`). */
const LEXICAL_WORK_MEM = "128MB";
const DEFAULT_TOP = 10;

export interface PostgresOptions {
  /** The schema holding the index's tables (a plain identifier). Default "crossrank". */
  schema?: string;
}

function schemaOf(options: PostgresOptions): string {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) throw new Error(`schema must be a lower-case identifier (letters, digits, _), got ${JSON.stringify(schema)}`);
  return schema;
}

/** `url` without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

const vectorText = (data: Float32Array, from: number, dim: number): string => `[${Array.from(data.subarray(from, from + dim)).join(",")}]`;

/** One stored lexical part: its ranker's key and the settings the SQL needs. */
interface StoredLexicalPart {
  key: string;
  k1: number;
  b: number;
  averageDocumentLength: number;
}

interface StoredMeta {
  layout: number;
  manifest: IndexManifest;
  documents: number;
  lang: string;
  lexical: Partial<Record<"bm25" | "bm25-psq", StoredLexicalPart>>;
  vectors: { key: string; dim: number } | null;
}

/**
 * Copies `index` (its documents, its BM25 and BM25-PSQ postings, its bi-encoder vectors) into
 * PostgreSQL, in `options.schema`. Returns the seconds it took.
 */
export async function writePostgresIndex(index: SearchIndex, url: string, options: PostgresOptions = {}): Promise<{ seconds: number }> {
  const started = performance.now();
  const schema = schemaOf(options);
  const building = `${schema}__new`;
  const parts = collectionParts(index.documents)!;
  const lexicalParts = index.manifest.parts.filter((p) => p.kind === "bm25" && (p.ranker === "bm25" || p.ranker === "bm25-psq"));
  const vectorPart = index.manifest.parts.find((p) => p.kind === "vectors");
  const vectors = vectorPart === undefined ? undefined : parts.vectors.get(vectorPart.key)!;
  const meta: StoredMeta = {
    layout: POSTGRES_LAYOUT_VERSION,
    manifest: index.manifest,
    documents: index.size,
    lang: index.manifest.documents.lang,
    lexical: {},
    vectors: vectorPart === undefined ? null : { key: vectorPart.key, dim: vectors!.dim },
  };
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("CREATE EXTENSION IF NOT EXISTS vector");
    await client.query(`DROP SCHEMA IF EXISTS ${building} CASCADE`);
    await client.query(`CREATE SCHEMA ${building}`);
    await client.query(`CREATE TABLE ${building}.meta (key text PRIMARY KEY, value jsonb NOT NULL)`);
    await client.query(`CREATE TABLE ${building}.documents (pos int4 PRIMARY KEY, id text NOT NULL UNIQUE, title text, text text NOT NULL)`);
    await client.query(
      `CREATE TABLE ${building}.postings (part text NOT NULL, term text NOT NULL, df int4 NOT NULL, docs int4[] NOT NULL, impacts float4[], tfs int4[], lengths float4[], PRIMARY KEY (part, term))`,
    );
    const docs = index.documents;
    for (let i = 0; i < docs.length; i += BATCH) {
      const slice = docs.slice(i, i + BATCH);
      await client.query(`INSERT INTO ${building}.documents SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[])`, [
        slice.map((_, j) => i + j),
        slice.map((d) => d.id),
        slice.map((d) => d.title ?? null),
        slice.map((d) => d.text),
      ]);
    }
    for (const part of lexicalParts) {
      const name = part.ranker as "bm25" | "bm25-psq";
      const bm25 = parts.bm25.get(part.key)!;
      const a = bm25.toArrays();
      meta.lexical[name] = { key: part.key, k1: a.k1, b: a.b, averageDocumentLength: bm25.averageDocumentLength };
      // One row per term: its postings as arrays, in document order as in the embedded index. BM25
      // needs the impacts; PSQ combines tfs across translations before saturating, so it needs
      // the tfs and each posting's document length instead.
      for (let t = 0; t < a.terms.length; t += 500) {
        const values: string[] = [];
        const params: unknown[] = [];
        for (let u = t; u < Math.min(t + 500, a.terms.length); u++) {
          const from = a.offsets[u]!;
          const to = a.offsets[u + 1]!;
          const postingDocs = a.docs.subarray(from, to);
          const n = params.length;
          if (name === "bm25") {
            values.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}::int4[], $${n + 5}::float4[], NULL, NULL)`);
            params.push(name, a.terms[u], to - from, Array.from(postingDocs), Array.from(a.impacts.subarray(from, to)));
          } else {
            values.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}::int4[], NULL, $${n + 5}::int4[], $${n + 6}::float4[])`);
            params.push(name, a.terms[u], to - from, Array.from(postingDocs), Array.from(a.tfs.subarray(from, to)), Array.from(postingDocs, (d) => a.lengths[d]!));
          }
        }
        await client.query(`INSERT INTO ${building}.postings VALUES ${values.join(", ")}`, params);
      }
    }
    if (vectors !== undefined) {
      const { rows, dim, data } = vectors;
      await client.query(`CREATE TABLE ${building}.vectors (pos int4 PRIMARY KEY, embedding vector(${dim}) NOT NULL)`);
      for (let i = 0; i < rows; i += BATCH) {
        const n = Math.min(BATCH, rows - i);
        await client.query(`INSERT INTO ${building}.vectors SELECT p, e::vector FROM unnest($1::int4[], $2::text[]) AS t(p, e)`, [
          Array.from({ length: n }, (_, j) => i + j),
          Array.from({ length: n }, (_, j) => vectorText(data, (i + j) * dim, dim)),
        ]);
      }
      // pgvector builds HNSW fast while the graph fits in maintenance_work_mem (64 MB by default,
      // a few ten thousand 256-wide vectors) and much slower after: give this session room for it.
      await client.query(`SET maintenance_work_mem = '${hnswBuildMemoryMb(rows, dim)}MB'`);
      await client.query(`CREATE INDEX ON ${building}.vectors USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)`);
    }
    await client.query(`INSERT INTO ${building}.meta VALUES ('index', $1)`, [JSON.stringify(meta)]);
    await client.query(`ANALYZE ${building}.documents`);
    await client.query(`ANALYZE ${building}.postings`);
    await client.query("BEGIN");
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`ALTER SCHEMA ${building} RENAME TO ${schema}`);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
  return { seconds: (performance.now() - started) / 1000 };
}

/**
 * Memory for building the HNSW graph: the vectors (4 bytes a value) and their neighbour lists
 * (m = 16: up to 32 neighbours on the ground layer, about 8 bytes each), with half again for
 * the upper layers and overhead; at least 64 MB, at most 8 GB.
 */
function hnswBuildMemoryMb(rows: number, dim: number): number {
  const bytes = rows * (dim * 4 + 32 * 8) * 1.5;
  return Math.min(8192, Math.max(64, Math.ceil(bytes / 2 ** 20)));
}

/** A first stage whose run was computed ahead (in SQL): it returns each query's stored hits, top k. */
class StoredRunRanker implements Ranker {
  constructor(
    readonly name: string,
    private readonly run: Run,
  ) {}

  rank(input: RankingInput, options: RankOptions = {}): Promise<Run> {
    const k = options.k ?? 100;
    const out: Run = new Map();
    for (const q of input.queries) {
      const scores = this.run.get(q.id) ?? new Map<string, number>();
      out.set(q.id, new Map(rankedDocuments(scores).slice(0, k).map((id) => [id, scores.get(id)!])));
    }
    return Promise.resolve(out);
  }
}

interface Row {
  id: string;
  title: string | null;
  text: string;
  score: number | string;
}

/**
 * A PostgreSQL index opened for search (a connection pool): the same `search` / `searchBatch` /
 * `createRanker` as an embedded `SearchIndex`, for bm25, bm25-psq, bi-encoder, hybrid and rerank.
 */
export class PostgresIndex implements SearchStore {
  readonly kind = "postgres";

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly meta: StoredMeta,
    /** Where it is (the URL without its password, and the schema), for messages. */
    readonly location: string,
  ) {}

  get size(): number {
    return this.meta.documents;
  }

  get manifest(): IndexManifest {
    return this.meta.manifest;
  }

  get generation(): number {
    return this.meta.manifest.generation;
  }

  createRanker(name: string = DEFAULT_SEARCH_RANKER, params: Readonly<Record<string, unknown>> = {}): Ranker {
    const ranker = createRanker(name, rankerParamsFor(this.manifest, name, params));
    this.checkSupported(name, params);
    return ranker;
  }

  async search(query: string, options: SearchOptions & { exact?: boolean } = {}): Promise<SearchHit[]> {
    const { exact, ...rest } = options;
    const params = exact === undefined ? rest.params : { ...rest.params, exact };
    return (await this.searchBatch([query], { ...rest, ...(params === undefined ? {} : { params }) }))[0]!;
  }

  /**
   * The best `k` documents for each query. bm25, bm25-psq and bi-encoder run in SQL; hybrid and
   * rerank take those as their first stages and fuse or re-rank the candidates in Node.
   */
  async searchBatch(queries: readonly string[], options: SearchOptions = {}): Promise<SearchHit[][]> {
    queries.forEach((q, i) => {
      if (typeof q !== "string" || q.trim() === "") throw new Error(queries.length === 1 ? "the query is empty" : `query ${i + 1} is empty`);
    });
    const k = options.k ?? DEFAULT_TOP;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${String(k)}`);
    const name = options.ranker ?? DEFAULT_SEARCH_RANKER;
    const params = rankerParamsFor(this.manifest, name, options.params ?? {});
    const ranker = this.createRanker(name, options.params ?? {});
    const { queryLang } = options;
    const docLang = this.meta.lang;
    if (name === "bm25" || name === "bm25-psq" || name === "bi-encoder") return this.stage(name, params, queries, k, queryLang);

    // The first stages this ranker would run, at its depth, in SQL.
    const stages: Partial<Record<FirstStageName, SearchHit[][]>> = {};
    if (ranker instanceof RerankRanker) {
      const first = (params.first as FirstStageName | undefined) ?? "bm25";
      stages[first] = await this.stage(first, first === "bi-encoder" ? encoderParams(params) : {}, queries, ranker.depth, queryLang);
    } else if (ranker instanceof HybridRanker) {
      const lexical = await ranker.lexicalFor(queryLang, docLang);
      stages[lexical] = await this.stage(lexical, {}, queries, ranker.depth, queryLang);
      stages["bi-encoder"] = await this.stage("bi-encoder", encoderParams(params), queries, ranker.depth, queryLang);
    }
    // The candidates' documents, then the composite ranker over them with the SQL runs as its first stages.
    const candidates = new Map<string, Document>();
    const firstStages: Partial<Record<FirstStageName, Ranker>> = {};
    for (const [stage, hits] of Object.entries(stages) as [FirstStageName, SearchHit[][]][]) {
      const run: Run = new Map(hits.map((list, i) => [String(i), new Map(list.map((h) => [h.id, h.score]))]));
      firstStages[stage] = new StoredRunRanker(createRanker(stage, stage === "bi-encoder" ? encoderParams(params) : {}).name, run);
      for (const list of hits) for (const h of list) candidates.set(h.id, { id: h.id, text: h.text, ...(h.title === undefined ? {} : { title: h.title }) });
    }
    const composite = createRanker(name, params, { firstStages });
    const input: RankingInput = {
      queries: queries.map((text, i): Query => ({ id: String(i), text })),
      documents: [...candidates.values()],
      docLang,
      ...(queryLang === undefined ? {} : { queryLang }),
    };
    return runHits(await composite.rank(input, { k }), queries.length, (id) => candidates.get(id)!);
  }

  /** The document with this id, if any. */
  async getDocument(id: string): Promise<Document | undefined> {
    const { rows } = await this.pool.query(`SELECT id, title, text FROM ${this.schema}.documents WHERE id = $1`, [id]);
    const r = rows[0] as { id: string; title: string | null; text: string } | undefined;
    return r === undefined ? undefined : { id: r.id, text: r.text, ...(r.title ? { title: r.title } : {}) };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** What a PostgreSQL index cannot do, said before searching. */
  private checkSupported(name: string, params: Readonly<Record<string, unknown>>): void {
    const supported = ["bm25", "bm25-psq", "bi-encoder", "hybrid", "rerank"];
    if (!supported.includes(name)) throw new Error(`ranker ${name}: a PostgreSQL index searches with ${supported.join(", ")}`);
    if (name === "rerank") {
      const first = (params.first as string | undefined) ?? "bm25";
      if (!["bm25", "bm25-psq", "bi-encoder"].includes(first)) throw new Error(`ranker rerank: on a PostgreSQL index the first stage is bm25, bm25-psq or bi-encoder, got ${first}`);
    }
    // The stored vectors are compared as the manifest records: the other similarity needs other vectors.
    const stored = this.manifest.encoder?.similarity ?? "cosine";
    if (params.similarity !== undefined && params.similarity !== stored) {
      throw new Error(`ranker ${name}: similarity ${String(params.similarity)} needs other vectors than this PostgreSQL index holds (compared by ${stored}); search an embedded index for it`);
    }
    // The stored vectors were encoded with titles: other vectors would need the whole collection encoded again.
    if (params.title === false) throw new Error(`ranker ${name}: title false needs vectors without titles, which this PostgreSQL index does not hold; search an embedded index for it`);
    // idf marginals count document frequencies over the whole collection, which a search here does not load.
    if (params.marginals === "idf") throw new Error(`ranker ${name}: marginals "idf" needs the whole collection in memory; search an embedded index (crossrank search --index DIR) for it`);
  }

  /** One first stage in SQL for every query: the best `k` hits each. */
  private async stage(name: FirstStageName, params: Readonly<Record<string, unknown>>, queries: readonly string[], k: number, queryLang: string | undefined): Promise<SearchHit[][]> {
    if (name === "bi-encoder") return this.dense(queries, k, params.exact === true, queryLang);
    const lexical = this.meta.lexical[name];
    if (lexical === undefined) throw new Error(`${this.location}: holds no ${name} postings (the embedded index it was written from was built without them)`);
    if (name === "bm25") {
      const ranker = new Bm25Ranker(params);
      this.checkPart(name, ranker.partKey(this.meta.lang), lexical);
      return Promise.all(ranker.queryWeights(queries, queryLang).map((weights) => this.bm25(weights, k)));
    }
    if (queryLang === undefined) throw new Error("bm25-psq needs the query language (queryLang) to choose a dictionary");
    const ranker = new Bm25PsqRanker(params);
    this.checkPart(name, ranker.partKey(this.meta.lang), lexical);
    const translated = await ranker.queryTerms(queries, queryLang, this.meta.lang);
    return Promise.all(translated.map((terms) => this.psq(terms.map((t) => ({ ...t, weight: queryTermWeight(t.count ?? 1, ranker.k3) })), lexical, k)));
  }

  private checkPart(name: string, key: string, stored: StoredLexicalPart): void {
    if (key !== stored.key) throw new Error(`${this.location}: holds ${name} postings built with other settings (${stored.key}) than asked (${key})`);
  }

  /**
   * One lexical query in a transaction with room to aggregate: a frequent term's postings are
   * hundreds of thousands of rows, which the default work_mem (4 MB) spills to disk.
   */
  private async lexicalQuery(sql: string, params: unknown[]): Promise<Row[]> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SET LOCAL work_mem = '${LEXICAL_WORK_MEM}'`);
      const { rows } = await client.query(sql, params);
      await client.query("COMMIT");
      return rows as Row[];
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * BM25: Σ w · idf · impact over the query's terms; ties in trec_eval's order (id descending):
   * the best k scores (with ties) first, then their documents.
   */
  private async bm25(weights: ReadonlyMap<string, number>, k: number): Promise<SearchHit[]> {
    if (weights.size === 0) return [];
    const s = this.schema;
    const rows = await this.lexicalQuery(
      `WITH q(term, w) AS (SELECT * FROM unnest($1::text[], $2::float8[])),
            scored AS (
              SELECT p.doc, sum((q.w * ln(1 + ($3::float8 - t.df + 0.5) / (t.df + 0.5))) * p.impact::float8) AS score
              FROM q JOIN ${s}.postings t ON t.part = 'bm25' AND t.term = q.term, unnest(t.docs, t.impacts) AS p(doc, impact)
              GROUP BY p.doc),
            best AS (SELECT doc, score, round(score * ${TIE_SCALE}) AS tie FROM scored ORDER BY tie DESC FETCH FIRST $4 ROWS WITH TIES)
       SELECT d.id, d.title, d.text, best.score FROM best JOIN ${s}.documents d ON d.pos = best.doc
       ORDER BY best.tie DESC, d.id COLLATE "C" DESC LIMIT $4`,
      [[...weights.keys()], [...weights.values()], this.size, k],
    );
    return hits(rows);
  }

  /**
   * BM25-PSQ (see `Bm25Index.searchPsq`): per query term q, tf(q,d) = Σ p(e)·tf(e,d) and
   * df(q) = Σ p(e)·df(e) over its translations e found in the index, then
   * Σ_q w(q)·idf(df(q))·tf·(k1+1)/(tf + k1·(1 − b + b·dl/avgdl)).
   */
  private async psq(terms: readonly { translations: readonly { term: string; weight: number }[]; weight: number }[], part: StoredLexicalPart, k: number): Promise<SearchHit[]> {
    const q: number[] = [];
    const term: string[] = [];
    const p: number[] = [];
    const w: number[] = [];
    terms.forEach((t, i) => {
      for (const tr of t.translations) {
        if (tr.weight === 0) continue;
        q.push(i);
        term.push(tr.term);
        p.push(tr.weight);
        w.push(t.weight);
      }
    });
    if (q.length === 0) return [];
    const s = this.schema;
    const rows = await this.lexicalQuery(
      `WITH tr(q, term, p, w) AS (SELECT * FROM unnest($1::int4[], $2::text[], $3::float8[], $4::float8[])),
            found AS (SELECT tr.q, tr.p, tr.w, t.df, t.docs, t.tfs, t.lengths FROM tr JOIN ${s}.postings t ON t.part = 'bm25-psq' AND t.term = tr.term),
            qw AS (SELECT q, max(w) * ln(1 + ($5::float8 - sum(p * df) + 0.5) / (sum(p * df) + 0.5)) AS w FROM found GROUP BY q),
            qtf AS (SELECT f.q, x.doc, sum(f.p * x.tf) AS tf, max(x.len)::float8 AS len FROM found f, unnest(f.docs, f.tfs, f.lengths) AS x(doc, tf, len) GROUP BY f.q, x.doc),
            scored AS (
              SELECT qtf.doc, sum((qw.w * qtf.tf * ($6::float8 + 1)) / (qtf.tf + $6::float8 * (1 - $7::float8 + $7::float8 * (qtf.len / $8::float8)))) AS score
              FROM qtf JOIN qw USING (q) GROUP BY qtf.doc),
            best AS (SELECT doc, score, round(score * ${TIE_SCALE}) AS tie FROM scored ORDER BY tie DESC FETCH FIRST $9 ROWS WITH TIES)
       SELECT d.id, d.title, d.text, best.score FROM best JOIN ${s}.documents d ON d.pos = best.doc
       ORDER BY best.tie DESC, d.id COLLATE "C" DESC LIMIT $9`,
      [q, term, p, w, this.size, part.k1, part.b, part.averageDocumentLength, k],
    );
    return hits(rows);
  }

  private encoder: Promise<Encoder> | undefined;

  /** The bi-encoder: the stored vectors' encoder on the queries, then HNSW (or a full scan with `exact`). */
  private async dense(queries: readonly string[], k: number, exact: boolean, queryLang: string | undefined): Promise<SearchHit[][]> {
    const spec = this.manifest.encoder?.spec;
    if (spec === undefined || this.meta.vectors === null) throw new Error(`${this.location}: holds no vectors (built with --encoder none)`);
    const similarity = this.manifest.encoder?.similarity ?? "cosine";
    this.encoder ??= import("@crossrank/encode").then(({ loadEncoder }) => loadEncoder(spec));
    const encoder = await this.encoder;
    // Prompted as the bi-encoder prompts queries (E5's "query: "), as the stored vectors were prompted as documents;
    // the queries' language picks an X-MOD encoder's adapter (other encoders ignore it).
    const prompt = rolePrompt(encoder, "query");
    const { dim, data } = await encoder.encode(
      queries.map((q) => prompt + q),
      queryLang === undefined ? {} : { language: queryLang },
    );
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      // A full scan when asked for exact results; else the HNSW index (ef_search HNSW_EF_SEARCH, at least k).
      if (exact) await client.query("SET LOCAL enable_indexscan = off");
      else await client.query(`SET LOCAL hnsw.ef_search = ${Math.max(HNSW_EF_SEARCH, k)}`);
      const s = this.schema;
      const out: SearchHit[][] = [];
      for (let i = 0; i < queries.length; i++) {
        const row = data.subarray(i * dim, (i + 1) * dim);
        let norm = 0;
        for (let j = 0; j < dim; j++) norm += row[j]! * row[j]!;
        // Cosine: unit vectors on both sides; dot: the query's raw vector against the stored raw ones.
        const scale = similarity === "dot" ? 1 : norm > 0 ? 1 / Math.sqrt(norm) : 0;
        const query = Float32Array.from(row, (x) => x * scale);
        const { rows } = await client.query(
          `SELECT d.id, d.title, d.text, -(v.embedding <#> $1::vector) AS score
           FROM ${s}.vectors v JOIN ${s}.documents d ON d.pos = v.pos
           ORDER BY v.embedding <#> $1::vector LIMIT $2`,
          [vectorText(query, 0, dim), k],
        );
        out.push(hits(rows as Row[]));
      }
      await client.query("COMMIT");
      return out;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}

/** The encoder parameters of a composite ranker's bi-encoder first stage (its `exact`, if given). */
function encoderParams(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return params.encoder === undefined ? {} : { encoder: params.encoder };
}

function hits(rows: Row[]): SearchHit[] {
  return rows.map((r, i) => ({ rank: i + 1, id: r.id, score: Number(r.score), ...(r.title ? { title: r.title } : {}), text: r.text }));
}

/** Opens the index in `url`'s schema (see `writePostgresIndex`). */
export async function openPostgresIndex(url: string, options: PostgresOptions = {}): Promise<PostgresIndex> {
  const schema = schemaOf(options);
  const location = `${redactUrl(url)} (schema ${schema})`;
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  let meta: StoredMeta;
  try {
    const { rows } = await pool.query(`SELECT value FROM ${schema}.meta WHERE key = 'index'`);
    if (rows.length === 0) throw new Error(`${schema}.meta has no index record`);
    meta = (rows[0] as { value: StoredMeta }).value;
  } catch (err) {
    await pool.end();
    throw new Error(`${location}: not a crossrank index (${(err as Error).message}); write one with crossrank index --store`);
  }
  if (meta.layout !== POSTGRES_LAYOUT_VERSION) {
    await pool.end();
    throw new Error(`${location}: tables of layout ${String(meta.layout)}; this crossrank reads layout ${POSTGRES_LAYOUT_VERSION}: write the index again with crossrank index --store`);
  }
  return new PostgresIndex(pool, schema, meta, location);
}
