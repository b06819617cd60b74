/**
 * The HTTP JSON service over an opened index, on fastify: its JSON-schema validation (a bad request
 * is a 400 with the reason, and the server keeps running), body limit, timeouts and `close()` for a
 * graceful shutdown (in-flight requests finish, new connections are refused).
 *
 *   GET  /health   → { status, generation, documents }              (no token needed)
 *   GET  /stats    → the index: store (embedded or postgres), documents, language, generation,
 *                    encoder, parts, bytes (of the embedded files it was built as)
 *   POST /search   { query, k?, ranker?, queryLang?, params? } → { ranker, took_ms, hits: [{rank, id, score, title?, text}] }
 *                  (concurrent searches with the same options are ranked together: ./batcher.ts)
 *   POST /explain  { query, id, gamma?, iterations?, includeSpecial?, marginals? } → the LM-EMD transport
 *                  plan between the query and that document: { queryTokens, docTokens, distance, cost,
 *                  plan, queryMass, docMass } ("idf" marginals: document tokens weighted by their idf
 *                  over the index's documents, counted once; embedded indexes only)
 *   GET  /         the explanation page (@crossrank/web), when built and `page` is not false
 */
import { timingSafeEqual } from "node:crypto";
import type { Encoder } from "@crossrank/encode";
import type { SearchIndex, SearchStore } from "@crossrank/index";
import { countDocumentFrequencies, explainPair, rankerNames } from "@crossrank/rankers";
import fastifyStatic from "@fastify/static";
import { servedPageDir } from "@crossrank/web";
import Fastify, { type FastifyInstance } from "fastify";
import { DEFAULT_MAX_BATCH, SearchBatcher } from "./batcher.js";

export interface ServerOptions {
  /** A bearer token every request but /health must carry (`Authorization: Bearer …`). Default none. */
  token?: string;
  /** Largest k a search may ask for. Default 100. */
  maxK?: number;
  /** Longest query, in characters. Default 2,000. */
  maxQueryLength?: number;
  /** Largest request body, in bytes. Default 64 KiB. */
  bodyLimit?: number;
  /** A search or explanation that takes longer answers 503 (the work itself is not interrupted). Default 10 s. */
  timeoutMs?: number;
  /** Log requests (fastify's pino logger) to stdout. Default false. */
  logger?: boolean;
  /** Most concurrent searches ranked in one call (see ./batcher.ts); 1 ranks each alone. Default 64. */
  maxBatch?: number;
  /** Serve the explanation page at / (true, the default: an error when it is not built; false: the JSON API alone). */
  page?: boolean;
}

export const DEFAULTS = { maxK: 100, maxQueryLength: 2000, bodyLimit: 64 * 1024, timeoutMs: 10_000 } as const;

/** A request the client got wrong: answered with `status` and the message. */
class ClientError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The fastify app serving `index` (not listening yet: call `listen`, or `inject` in tests). */
export function createServer(index: SearchStore, options: ServerOptions = {}): FastifyInstance {
  const maxK = options.maxK ?? DEFAULTS.maxK;
  const maxQueryLength = options.maxQueryLength ?? DEFAULTS.maxQueryLength;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULTS.bodyLimit,
    requestTimeout: timeoutMs + 5000,
    connectionTimeout: timeoutMs + 5000,
    // Validation errors read as one sentence ("body/k must be <= 100"); an unknown field is an
    // error, not silently dropped (fastify's default removes it), and "5" is not the number 5.
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });

  const token = options.token === undefined || options.token === "" ? undefined : Buffer.from(options.token);
  app.addHook("onRequest", async (request, reply) => {
    if (token === undefined || request.url === "/health" || (options.page !== false && request.method === "GET" && isPageFile(request.url))) return;
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    const ok = given !== undefined && Buffer.byteLength(given) === token.length && timingSafeEqual(Buffer.from(given), token);
    if (!ok) await reply.code(401).header("www-authenticate", "Bearer").send({ error: "missing or wrong bearer token" });
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    const status = error instanceof ClientError ? error.statusCode : error.validation !== undefined || (error.statusCode ?? 500) < 500 ? (error.statusCode ?? 400) : 500;
    if (status >= 500) request.log.error(error);
    void reply.code(status).send({ error: error.message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route ${request.method} ${request.url}; routes: GET /health, GET /stats, POST /search, POST /explain${options.page === false ? "" : ", GET / (the page)"}` });
  });
  if (options.page !== false) {
    // The page is public like /health: it holds no data, and asks for the token itself.
    void app.register(fastifyStatic, { root: servedPageDir(), prefix: "/", index: "index.html", wildcard: false });
  }

  app.get("/health", async () => ({ status: "ok", generation: index.generation, documents: index.size }));

  app.get("/stats", async () => {
    const m = index.manifest;
    return {
      store: index.kind,
      documents: m.documents.count,
      lang: m.documents.lang,
      generation: m.generation,
      created: m.created,
      encoder: m.encoder,
      parts: m.parts.map((p) => ({ kind: p.kind, ranker: p.ranker })),
      bytes: Object.values(m.files).reduce((s, f) => s + f.bytes, 0),
    };
  });

  const rankers = rankerNames();
  const batcher = new SearchBatcher(index, options.maxBatch ?? DEFAULT_MAX_BATCH);
  app.post<{ Body: { query: string; k?: number; ranker?: string; queryLang?: string; params?: Record<string, unknown> } }>(
    "/search",
    {
      schema: {
        body: {
          type: "object",
          required: ["query"],
          additionalProperties: false,
          properties: {
            query: { type: "string", minLength: 1, maxLength: maxQueryLength },
            k: { type: "integer", minimum: 1, maximum: maxK },
            ranker: { type: "string", enum: rankers },
            queryLang: { type: "string", pattern: "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$" },
            params: { type: "object" },
          },
        },
      },
    },
    async (request) => {
      const { query, k, ranker, queryLang, params } = request.body;
      if (query.trim() === "") throw new ClientError(400, "body/query is blank");
      try {
        // Constructing the ranker checks its parameters: a mistake there is the client's.
        index.createRanker(ranker, params);
      } catch (err) {
        throw new ClientError(400, (err as Error).message);
      }
      const started = performance.now();
      const hits = await withTimeout(batcher.search(query, { ...(k ? { k } : {}), ...(ranker ? { ranker } : {}), ...(queryLang ? { queryLang } : {}), ...(params ? { params } : {}) }), timeoutMs, "search");
      return { ranker: ranker ?? "hybrid", took_ms: Math.round((performance.now() - started) * 100) / 100, hits };
    },
  );

  let encoder: Promise<Encoder> | undefined;
  let documentFrequencies: ReturnType<typeof countDocumentFrequencies> | undefined;
  app.post<{ Body: { query: string; id: string; gamma?: number; iterations?: number; includeSpecial?: boolean; marginals?: "uniform" | "idf" } }>(
    "/explain",
    {
      schema: {
        body: {
          type: "object",
          required: ["query", "id"],
          additionalProperties: false,
          properties: {
            query: { type: "string", minLength: 1, maxLength: maxQueryLength },
            id: { type: "string", minLength: 1 },
            gamma: { type: "number", exclusiveMinimum: 0 },
            iterations: { type: "integer", minimum: 1, maximum: 10_000 },
            includeSpecial: { type: "boolean" },
            marginals: { type: "string", enum: ["uniform", "idf"] },
          },
        },
      },
    },
    async (request) => {
      const { query, id, marginals, ...ot } = request.body;
      const doc = await index.getDocument(id);
      if (doc === undefined) throw new ClientError(404, `no document with id ${JSON.stringify(id)}`);
      const spec = index.manifest.encoder?.spec;
      if (spec === undefined) throw new ClientError(409, "this index holds no encoder (built with --encoder none): nothing to explain with");
      encoder ??= import("@crossrank/encode").then(({ loadEncoder }) => loadEncoder(spec));
      const loaded = await encoder;
      let idf = {};
      if (marginals === "idf") {
        if (index.kind !== "embedded") throw new ClientError(400, `marginals "idf" need every document's tokens counted, which a ${index.kind} index does not hold in this process; use "uniform"`);
        // Counted once over the index's documents, as the ranker counts them (title, newline, text).
        documentFrequencies ??= countDocumentFrequencies(
          loaded,
          (index as SearchIndex).documents.map((d) => (d.title ? `${d.title}\n${d.text}` : d.text)),
        );
        idf = { marginals, documentFrequencies: await documentFrequencies };
      }
      const e = await explainPair(loaded, query, doc.title ? `${doc.title}\n${doc.text}` : doc.text, { ...ot, ...idf });
      const rows = e.queryTokens.length;
      const cols = e.docTokens.length;
      const matrix = (m: Float32Array) => Array.from({ length: rows }, (_, r) => Array.from(m.subarray(r * cols, (r + 1) * cols)));
      return { id, queryTokens: e.queryTokens, docTokens: e.docTokens, distance: e.distance, cost: matrix(e.cost), plan: matrix(e.plan), queryMass: Array.from(e.queryMass), docMass: Array.from(e.docMass) };
    },
  );

  app.addHook("onClose", async () => {
    if (encoder !== undefined) await (await encoder).dispose();
  });
  return app;
}

/** Whether a GET is for the page's files (/, /index.html, /assets/…): everything but the API's routes. */
function isPageFile(url: string): boolean {
  const path = url.split("?")[0]!;
  return path === "/" || path === "/index.html" || path.startsWith("/assets/");
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClientError(503, `the ${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
