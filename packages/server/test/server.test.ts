import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFixtureModel } from "@crossrank/encode";
import { buildIndex, openIndex, type SearchIndex } from "@crossrank/index";
import { clearNeuralMemo } from "@crossrank/rankers";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../src/index.js";

const DOCS = [
  { id: "d1", text: "The cat sleeps on the warm mat." },
  { id: "d2", text: "Trains to Berlin leave every hour.", title: "Timetable" },
  { id: "d3", text: "Fresh bread is baked every morning." },
];

let dir: string;
let index: SearchIndex;
let app: FastifyInstance;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-server-"));
  const model = (await writeFixtureModel(join(dir, "static"), { kind: "static" })).dir;
  await buildIndex(join(dir, "idx"), DOCS, { encoder: model });
  index = await openIndex(join(dir, "idx"));
  app = createServer(index, { maxK: 5, maxQueryLength: 50 });
});
afterAll(async () => {
  await app?.close();
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: "POST", url, payload: payload as object, headers });

describe("crossrank's HTTP service", () => {
  it("answers health and stats", async () => {
    expect((await app.inject({ method: "GET", url: "/health" })).json()).toEqual({ status: "ok", generation: 1, documents: 3 });
    const stats = (await app.inject({ method: "GET", url: "/stats" })).json();
    expect(stats).toMatchObject({ documents: 3, lang: "en", generation: 1, parts: [{ ranker: "bm25" }, { ranker: "bm25-psq" }, { ranker: "bi-encoder" }] });
    expect(stats.bytes).toBeGreaterThan(0);
  });

  it("searches as the index does", async () => {
    const res = await post("/search", { query: "bread", ranker: "bm25", k: 2 });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.ranker).toBe("bm25");
    expect(body.hits).toEqual(await index.search("bread", { ranker: "bm25", k: 2 }));
    expect(body.hits[0]).toMatchObject({ rank: 1, id: "d3" });
    const hybrid = (await post("/search", { query: "Berlin train", params: { lexical: "bm25", depth: 3 } })).json();
    expect(hybrid.hits[0]).toMatchObject({ id: "d2", title: "Timetable" });
  });

  it("answers a bad request with 4xx and the reason, and keeps serving", async () => {
    const cases: [unknown, number, string][] = [
      [{}, 400, "body must have required property 'query'"],
      [{ query: "" }, 400, "body/query must NOT have fewer than 1 characters"],
      [{ query: "   " }, 400, "body/query is blank"],
      [{ query: "x".repeat(51) }, 400, "body/query must NOT have more than 50 characters"],
      [{ query: "bread", k: 6 }, 400, "body/k must be <= 5"],
      [{ query: "bread", k: 1.5 }, 400, "body/k must be integer"],
      [{ query: "bread", ranker: "bm26" }, 400, "body/ranker must be equal to one of the allowed values"],
      [{ query: "bread", ranker: "bm25", params: { k1: -1 } }, 400, "k1"],
      [{ query: "bread", extra: 1 }, 400, "body must NOT have additional properties"],
    ];
    for (const [payload, status, message] of cases) {
      const res = await post("/search", payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(res.json().error).toContain(message);
    }
    const notJson = await app.inject({ method: "POST", url: "/search", payload: "{", headers: { "content-type": "application/json" } });
    expect(notJson.statusCode).toBe(400);
    const tooBig = await post("/search", { query: "bread", params: { pad: "x".repeat(70_000) } });
    expect(tooBig.statusCode).toBe(413);
    expect((await app.inject({ method: "GET", url: "/nope" })).json().error).toContain("no route GET /nope");
    expect((await post("/search", { query: "bread", ranker: "bm25" })).statusCode).toBe(200);
  });

  it("explains a query–document pair as the transport plan", async () => {
    const res = await post("/explain", { query: "warm cat", id: "d1" });
    expect(res.statusCode).toBe(200);
    const e = res.json();
    expect(e.plan).toHaveLength(e.queryTokens.length);
    expect(e.plan[0]).toHaveLength(e.docTokens.length);
    const mass = e.plan.flat().reduce((s: number, v: number) => s + v, 0);
    expect(mass).toBeCloseTo(1, 3);
    expect(e.distance).toBeGreaterThan(0);
    // The cost matrix beside the plan, whose weighted sum is the distance; uniform marginals.
    expect(e.cost).toHaveLength(e.queryTokens.length);
    let weighted = 0;
    e.plan.forEach((row: number[], i: number) => row.forEach((p, j) => (weighted += p * e.cost[i][j])));
    expect(weighted).toBeCloseTo(e.distance, 5);
    for (const m of e.docMass) expect(m).toBeCloseTo(1 / e.docTokens.length, 9);
    expect((await post("/explain", { query: "x", id: "nope" })).json()).toEqual({ error: 'no document with id "nope"' });
  });

  it("explains with idf marginals counted over the index's documents", async () => {
    const uniform = (await post("/explain", { query: "warm cat", id: "d1" })).json();
    const idf = (await post("/explain", { query: "warm cat", id: "d1", marginals: "idf" })).json();
    expect(idf.docTokens).toEqual(uniform.docTokens);
    expect(idf.docMass.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
    // A token every document holds carries less mass than one only this document holds.
    expect(Math.min(...idf.docMass)).toBeLessThan(Math.max(...idf.docMass));
    expect(idf.distance).not.toBeCloseTo(uniform.distance, 6);
    expect((await post("/explain", { query: "warm cat", id: "d1", marginals: "tfidf" })).json().error).toContain("body/marginals must be equal to one of the allowed values");
  });

  it("serves the explanation page at /, without a token even when the API needs one", async () => {
    const secured = createServer(index, { token: "s3cret" });
    try {
      const page = await secured.inject({ method: "GET", url: "/" });
      expect(page.statusCode).toBe(200);
      expect(page.headers["content-type"]).toContain("text/html");
      const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.body)?.[1];
      expect(script, page.body).toBeDefined();
      const asset = await secured.inject({ method: "GET", url: `/${script}` });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers["content-type"]).toContain("javascript");
      expect((await secured.inject({ method: "GET", url: "/stats" })).statusCode).toBe(401);
    } finally {
      await secured.close();
    }
    const apiOnly = createServer(index, { page: false });
    try {
      expect((await apiOnly.inject({ method: "GET", url: "/" })).statusCode).toBe(404);
    } finally {
      await apiOnly.close();
    }
  });

  it("requires the bearer token when one is set (health excepted)", async () => {
    const secured = createServer(index, { token: "s3cret" });
    try {
      expect((await secured.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
      const denied = await secured.inject({ method: "GET", url: "/stats" });
      expect(denied.statusCode).toBe(401);
      expect(denied.headers["www-authenticate"]).toBe("Bearer");
      expect((await secured.inject({ method: "GET", url: "/stats", headers: { authorization: "Bearer wrong!" } })).statusCode).toBe(401);
      expect((await secured.inject({ method: "GET", url: "/stats", headers: { authorization: "Bearer s3cret" } })).statusCode).toBe(200);
    } finally {
      await secured.close();
    }
  });

  it("answers 503 when a search outlasts the timeout", async () => {
    const slow = createServer({ ...index, searchBatch: () => new Promise(() => {}), createRanker: index.createRanker.bind(index) } as unknown as SearchIndex, { timeoutMs: 50 });
    try {
      const res = await slow.inject({ method: "POST", url: "/search", payload: { query: "bread" } });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toBe("the search took longer than 50 ms");
    } finally {
      await slow.close();
    }
  });

  it("ranks concurrent searches with the same options together, with the hits each would get alone", async () => {
    const calls: number[] = [];
    const spy = Object.assign(Object.create(index) as SearchIndex, {
      searchBatch: (queries: readonly string[], options: object) => {
        calls.push(queries.length);
        return index.searchBatch(queries, options);
      },
    });
    const batched = createServer(spy);
    try {
      const queries = ["bread", "cat", "Berlin", "warm mat", "morning", "train"];
      const answers = await Promise.all(queries.map((query) => batched.inject({ method: "POST", url: "/search", payload: { query, ranker: "bi-encoder", k: 2 } })));
      for (const [i, res] of answers.entries()) expect(res.json().hits).toEqual(await index.search(queries[i]!, { ranker: "bi-encoder", k: 2 }));
      expect(calls.length).toBeLessThan(queries.length);
      expect(calls.reduce((a, b) => a + b, 0)).toBe(queries.length);
      // Other options go in another batch.
      calls.length = 0;
      await Promise.all([batched.inject({ method: "POST", url: "/search", payload: { query: "bread", ranker: "bm25" } }), batched.inject({ method: "POST", url: "/search", payload: { query: "bread", ranker: "bi-encoder" } })]);
      expect(calls).toEqual([1, 1]);
    } finally {
      await batched.close();
    }
  });
});
