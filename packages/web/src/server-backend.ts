/**
 * The page's backend when `crossrank serve` hands it out: the server's JSON API on the same origin
 * (GET /stats, POST /search, POST /explain), with its error messages passed on as they are.
 */
import type { BackendInfo, ExplainRequest, Explanation, SearchBackend, SearchRequest, SearchResponse } from "./backend.js";

/** The rankers the page offers when the index can run them (bm25-psq needs a dictionary for the pair; the server says so per search). */
const SERVED_RANKERS = ["hybrid", "bm25", "bm25-psq", "bi-encoder"];

export function createServerBackend(base = "", headers: Record<string, string> = {}): SearchBackend {
  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const payload = (await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }))) as T & { error?: string };
    if (!response.ok) throw Object.assign(new Error(payload.error ?? `${method} ${path}: ${response.status}`), { status: response.status });
    return payload;
  }
  return {
    async info(): Promise<BackendInfo> {
      const stats = await call<{ documents: number; lang: string | null; encoder: unknown }>("GET", "/stats");
      // An index built without an encoder has no dense rankers.
      const rankers = stats.encoder === null ? ["bm25", "bm25-psq"] : SERVED_RANKERS;
      return { mode: "server", documents: stats.documents, lang: stats.lang, rankers };
    },
    search(request: SearchRequest): Promise<SearchResponse> {
      return call("POST", "/search", request);
    },
    explain(request: ExplainRequest): Promise<Explanation> {
      return call("POST", "/explain", request);
    },
  };
}
