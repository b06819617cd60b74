/**
 * An index in PostgreSQL with pgvector, for more than one machine: the documents, the BM25
 * postings and the vectors in tables of one schema, pgvector's HNSW index (inner product) for the
 * dense stage. Written from an opened embedded index (`writePostgresIndex`), so both hold the same
 * postings and vectors; searched in SQL (`openPostgresIndex`): BM25 gives the embedded index's top
 * documents and scores (the same formula over the same float32 impacts, summed in float8), the
 * bi-encoder goes through HNSW (or a full scan with `exact`).
 *
 *   <schema>.meta       (key text, value jsonb)          the embedded manifest's record, BM25 settings
 *   <schema>.documents  (pos int4, id text, title, text)
 *   <schema>.bm25_terms (term text, df int4, docs int4[], impacts float4[])
 *   <schema>.vectors    (pos int4, embedding vector(d))  + HNSW (m 16, ef_construction 64)
 *
 * A write builds `<schema>__new` and swaps it in with one transaction: readers see the old tables
 * or the new ones, never a mix.
 */
import { createAnalyzer, collectionParts } from "@crossrank/rankers";
import pg from "pg";
import type { SearchHit, SearchIndex } from "./open.js";

export const DEFAULT_SCHEMA = "crossrank";
const BATCH = 2000;

export interface PostgresOptions {
  /** The schema holding the index's tables (a plain identifier). Default "crossrank". */
  schema?: string;
}

function schemaOf(options: PostgresOptions): string {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) throw new Error(`schema must be a lower-case identifier (letters, digits, _), got ${JSON.stringify(schema)}`);
  return schema;
}

const vectorText = (data: Float32Array, from: number, dim: number): string => `[${Array.from(data.subarray(from, from + dim)).join(",")}]`;

/** Copies `index` (its documents, its plain BM25 postings, its bi-encoder vectors) into PostgreSQL. Returns the seconds it took. */
export async function writePostgresIndex(index: SearchIndex, url: string, options: PostgresOptions = {}): Promise<{ seconds: number }> {
  const started = performance.now();
  const schema = schemaOf(options);
  const building = `${schema}__new`;
  const parts = collectionParts(index.documents)!;
  const bm25Part = index.manifest.parts.find((p) => p.kind === "bm25" && p.ranker === "bm25");
  if (bm25Part === undefined) throw new Error(`${index.dir}: has no plain BM25 postings (built with --lexical without bm25): nothing to copy for the lexical stage`);
  const bm25 = parts.bm25.get(bm25Part.key)!;
  const vectorPart = index.manifest.parts.find((p) => p.kind === "vectors");
  const vectors = vectorPart === undefined ? undefined : parts.vectors.get(vectorPart.key)!;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("CREATE EXTENSION IF NOT EXISTS vector");
    await client.query(`DROP SCHEMA IF EXISTS ${building} CASCADE`);
    await client.query(`CREATE SCHEMA ${building}`);
    await client.query(`CREATE TABLE ${building}.meta (key text PRIMARY KEY, value jsonb NOT NULL)`);
    await client.query(`CREATE TABLE ${building}.documents (pos int4 PRIMARY KEY, id text NOT NULL UNIQUE, title text, text text NOT NULL)`);
    await client.query(`CREATE TABLE ${building}.bm25_terms (term text PRIMARY KEY, df int4 NOT NULL, docs int4[] NOT NULL, impacts float4[] NOT NULL)`);
    const a = bm25.toArrays();
    const meta = { manifest: index.manifest, bm25: { key: bm25Part.key, k1: a.k1, b: a.b, lang: index.manifest.documents.lang, documents: index.size } };
    for (const [key, value] of Object.entries(meta)) await client.query(`INSERT INTO ${building}.meta VALUES ($1, $2)`, [key, JSON.stringify(value)]);
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
    // One row per term: its postings as arrays, in document order as in the embedded index.
    for (let t = 0; t < a.terms.length; t += 500) {
      const values: string[] = [];
      const params: unknown[] = [];
      for (let u = t; u < Math.min(t + 500, a.terms.length); u++) {
        const from = a.offsets[u]!;
        const to = a.offsets[u + 1]!;
        values.push(`($${params.length + 1}, $${params.length + 2}, $${params.length + 3}::int4[], $${params.length + 4}::float4[])`);
        params.push(a.terms[u], to - from, Array.from(a.docs.subarray(from, to)), Array.from(a.impacts.subarray(from, to)));
      }
      await client.query(`INSERT INTO ${building}.bm25_terms VALUES ${values.join(", ")}`, params);
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
      await client.query(`CREATE INDEX ON ${building}.vectors USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)`);
    }
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

/** A PostgreSQL index opened for search (a connection pool). */
export class PostgresIndex {
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly meta: { bm25: { k1: number; b: number; lang: string; documents: number }; manifest: SearchIndex["manifest"] },
  ) {}

  get size(): number {
    return this.meta.bm25.documents;
  }

  /**
   * The best `k` documents: "bm25" in SQL (the embedded BM25's scores: Σ qtf · idf · impact, idf
   * Lucene's, trec_eval's order for ties), or "bi-encoder" through HNSW (`exact`: a full scan).
   */
  async search(query: string, options: { ranker?: "bm25" | "bi-encoder"; k?: number; queryLang?: string; exact?: boolean } = {}): Promise<SearchHit[]> {
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${String(k)}`);
    if (typeof query !== "string" || query.trim() === "") throw new Error("the query is empty");
    const ranker = options.ranker ?? "bm25";
    if (ranker === "bm25") return this.bm25(query, k, options.queryLang);
    if (ranker === "bi-encoder") return this.dense(query, k, options.exact ?? false);
    throw new Error(`ranker ${JSON.stringify(ranker)}: a PostgreSQL index searches with bm25 or bi-encoder`);
  }

  private async bm25(query: string, k: number, queryLang: string | undefined): Promise<SearchHit[]> {
    // The query analysed as Bm25Ranker does (default analyzer, the query's language), terms counted per occurrence.
    const counts = new Map<string, number>();
    for (const term of createAnalyzer(queryLang === undefined ? {} : { lang: queryLang }).analyze(query)) counts.set(term, (counts.get(term) ?? 0) + 1);
    if (counts.size === 0) return [];
    const s = this.schema;
    const { rows } = await this.pool.query(
      `WITH q(term, w) AS (SELECT * FROM unnest($1::text[], $2::float8[])),
            scored AS (
              SELECT p.doc, sum((q.w * ln(1 + ($3::float8 - t.df + 0.5) / (t.df + 0.5))) * p.impact::float8) AS score
              FROM q JOIN ${s}.bm25_terms t USING (term), unnest(t.docs, t.impacts) AS p(doc, impact)
              GROUP BY p.doc)
       SELECT d.id, d.title, d.text, scored.score FROM scored JOIN ${s}.documents d ON d.pos = scored.doc
       ORDER BY scored.score DESC, d.id COLLATE "C" DESC LIMIT $4`,
      [[...counts.keys()], [...counts.values()], this.size, k],
    );
    return hits(rows);
  }

  private encoder: Promise<{ encode(texts: readonly string[]): Promise<{ dim: number; data: Float32Array }> }> | undefined;

  private async dense(query: string, k: number, exact: boolean): Promise<SearchHit[]> {
    const spec = this.meta.manifest.encoder?.spec;
    if (spec === undefined) throw new Error("this index holds no vectors (built with --encoder none)");
    this.encoder ??= import("@crossrank/encode").then(({ loadEncoder }) => loadEncoder(spec));
    const { dim, data } = await (await this.encoder).encode([query]);
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += data[i]! * data[i]!;
    const unit = Float32Array.from(data.subarray(0, dim), (x) => (norm > 0 ? x / Math.sqrt(norm) : 0));
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      // A full scan when asked for exact results; else the HNSW index (ef_search at least k).
      if (exact) await client.query("SET LOCAL enable_indexscan = off");
      else await client.query(`SET LOCAL hnsw.ef_search = ${Math.max(40, k)}`);
      const s = this.schema;
      const { rows } = await client.query(
        `SELECT d.id, d.title, d.text, -(v.embedding <#> $1::vector) AS score
         FROM ${s}.vectors v JOIN ${s}.documents d ON d.pos = v.pos
         ORDER BY v.embedding <#> $1::vector LIMIT $2`,
        [vectorText(unit, 0, dim), k],
      );
      await client.query("COMMIT");
      return hits(rows);
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function hits(rows: { id: string; title: string | null; text: string; score: number | string }[]): SearchHit[] {
  return rows.map((r, i) => ({ rank: i + 1, id: r.id, score: Number(r.score), ...(r.title ? { title: r.title } : {}), text: r.text }));
}

/** Opens the index in `url`'s schema (see `writePostgresIndex`). */
export async function openPostgresIndex(url: string, options: PostgresOptions = {}): Promise<PostgresIndex> {
  const schema = schemaOf(options);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    const { rows } = await pool.query(`SELECT key, value FROM ${schema}.meta`);
    const meta = Object.fromEntries(rows.map((r: { key: string; value: unknown }) => [r.key, r.value]));
    if (meta.bm25 === undefined || meta.manifest === undefined) throw new Error(`${schema}.meta lacks the bm25 or manifest record`);
    return new PostgresIndex(pool, schema, meta as ConstructorParameters<typeof PostgresIndex>[2]);
  } catch (err) {
    await pool.end();
    throw new Error(`${url} (schema ${schema}): not a crossrank index (${(err as Error).message}); write one with writePostgresIndex`);
  }
}

