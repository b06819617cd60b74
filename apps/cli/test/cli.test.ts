import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crossrank, fixture, startServe } from "./run-cli.js";

describe("crossrank eval", () => {
  it("prints the means over the qrels' queries as JSON", async () => {
    const { stdout, code } = await crossrank(
      "eval", "--qrels", fixture("qrels.txt"), "--run", fixture("run.txt"),
      "--measures", "P@1,AP,RR@10,R@5,nDCG@10", "--json",
    );
    expect(code).toBe(0);
    const means = JSON.parse(stdout) as Record<string, number>;
    expect(Object.keys(means)).toEqual(["P@1", "AP", "RR@10", "R@5", "nDCG@10"]);
    // q1 ranks d2(0) d1(1) d3(2); q2 ranks d4(1) d9; q3 has no run lines and counts 0.
    expect(means["P@1"]).toBeCloseTo((0 + 1 + 0) / 3, 10);
    // AP q1 = (1/2 + 2/3) / 2 relevant = 0.58333; q2 = 1; q3 = 0.
    expect(means["AP"]).toBeCloseTo((7 / 12 + 1) / 3, 10);
    expect(means["RR@10"]).toBeCloseTo((1 / 2 + 1) / 3, 10);
    expect(means["R@5"]).toBeCloseTo((1 + 1) / 3, 10);
    // nDCG@10 q1: DCG = 1/log2(3) + 2/log2(4); IDCG = 2/log2(2) + 1/log2(3).
    const q1 = (1 / Math.log2(3) + 2 / 2) / (2 + 1 / Math.log2(3));
    expect(means["nDCG@10"]).toBeCloseTo((q1 + 1) / 3, 10);
  });

  it("prints a trec_eval-like table without --json", async () => {
    const { stdout, code } = await crossrank("eval", "--qrels", fixture("qrels.txt"), "--run", fixture("run.txt"), "--measures", "P@1");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^P@1\s+all\s+0\.3333$/m);
    expect(stdout).toMatch(/^queries\s+all\s+3$/m);
  });

  it("fails with file:line on a malformed run", async () => {
    const { stderr, code } = await crossrank("eval", "--qrels", fixture("qrels.txt"), "--run", fixture("bad-run.txt"));
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("bad-run.txt:2:");
  });

  it("rejects an unknown measure in one line", async () => {
    const { stderr, code } = await crossrank("eval", "--qrels", fixture("qrels.txt"), "--run", fixture("run.txt"), "--measures", "F1");
    expect(code).toBe(1);
    expect(stderr).toMatch(/^crossrank: .*F1/);
  });
});

describe("crossrank search", () => {
  it("ranks the document that shares the query's terms first", async () => {
    const { stdout, code } = await crossrank("search", "--docs", fixture("docs.jsonl"), "--query", "capital of Germany", "--top", "2", "--json");
    expect(code).toBe(0);
    const hits = JSON.parse(stdout) as { rank: number; id: string; score: number }[];
    expect(hits).toHaveLength(2);
    expect(hits[0]?.id).toBe("berlin");
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  // Building the German–English translation table from the installed dictionaries takes ~12 s alone, more while every package's tests share two cores.
  it("finds an English document for a German query with the default hybrid ranker", async () => {
    const { stdout, code } = await crossrank("search", "--docs", fixture("docs.jsonl"), "--query", "Hauptstadt von Japan", "--query-lang", "de", "--doc-lang", "en", "--top", "4", "--json");
    expect(code).toBe(0);
    const hits = JSON.parse(stdout) as { rank: number; id: string }[];
    expect(hits[0]?.id).toBe("tokyo");
  }, 300_000);

  it("says which file is missing", async () => {
    const { stderr, code } = await crossrank("search", "--docs", fixture("nope.jsonl"), "--query", "x");
    expect(code).toBe(1);
    expect(stderr).toContain("nope.jsonl");
  });
});

describe("crossrank index and search --index", () => {
  it("indexes a file once, then searches it with the same hits as --docs", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "crossrank-cli-index-")), "idx");
    const built = await crossrank("index", "--docs", fixture("docs.jsonl"), "--out", out);
    expect(built.code).toBe(0);
    expect(built.stderr).toMatch(/documents indexed in .* \(generation 1, .* MB: bm25, bm25-psq, bi-encoder\)/);
    for (const args of [["--query", "Hauptstadt von Japan", "--query-lang", "de"], ["--query", "capital of Germany", "--ranker", "bm25"]]) {
      const fromIndex = await crossrank("search", "--index", out, ...args, "--top", "3", "--json");
      const fromDocs = await crossrank("search", "--docs", fixture("docs.jsonl"), "--doc-lang", "en", ...args, "--top", "3", "--json");
      expect(fromIndex.code).toBe(0);
      expect(JSON.parse(fromIndex.stdout)).toEqual(JSON.parse(fromDocs.stdout));
    }
    const updated = await crossrank("index", "--update", "--out", out, "--delete", "tokyo");
    expect(updated.stderr).toContain("generation 2: 0 added, 0 replaced, 1 deleted, 0 encoded");
    const after = JSON.parse((await crossrank("search", "--index", out, "--query", "Hauptstadt von Japan", "--query-lang", "de", "--json")).stdout) as { id: string }[];
    expect(after.map((h) => h.id)).not.toContain("tokyo");
    // Seven CLI runs, four of them loading the model and the German dictionary: slow on a loaded CI machine.
  }, 300_000);

  it("serves the index over HTTP until SIGTERM", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "crossrank-cli-serve-")), "idx");
    expect((await crossrank("index", "--docs", fixture("docs.jsonl"), "--out", out, "--lexical", "bm25", "--encoder", "none")).code).toBe(0);
    const server = await startServe("--index", out);
    try {
      const health = await (await fetch(`${server.address}/health`)).json();
      expect(health).toMatchObject({ status: "ok", generation: 1 });
      const res = await fetch(`${server.address}/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "capital of Germany", ranker: "bm25", k: 1 }) });
      expect(((await res.json()) as { hits: { id: string }[] }).hits[0]!.id).toBe("berlin");
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.stderr()).toContain("SIGTERM: finishing requests in flight, then exiting");
  }, 120_000);

  it("loads the dictionaries of the --warm query languages before listening, and says which have none", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "crossrank-cli-warm-")), "idx");
    expect((await crossrank("index", "--docs", fixture("docs.jsonl"), "--out", out, "--encoder", "none")).code).toBe(0);
    const server = await startServe("--index", out, "--warm", "de,xx");
    try {
      expect(server.stderr()).toMatch(/de → en dictionaries loaded in [0-9.]+ s/);
      expect(server.stderr()).toContain("--warm xx: no dictionary for xx→en");
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 300_000);

  it("streams several --docs files into one index; an id in two of them is an error with both positions", async () => {
    const folder = await mkdtemp(join(tmpdir(), "crossrank-cli-stream-"));
    const second = join(folder, "more.tsv");
    await writeFile(second, "extra\tThe Danube flows through Vienna.\nparis\tParis again.\n");
    const lines = (await readFile(fixture("docs.jsonl"), "utf8")).trim().split("\n").length;
    const failed = await crossrank("index", "--docs", fixture("docs.jsonl"), second, "--out", join(folder, "idx"), "--lexical", "bm25", "--encoder", "none");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`documents 2 and ${lines + 2} have the same id "paris"`);
    await writeFile(second, "extra\tThe Danube flows through Vienna.\n");
    const built = await crossrank("index", "--docs", fixture("docs.jsonl"), second, "--out", join(folder, "idx"), "--lexical", "bm25", "--encoder", "none");
    expect(built.stderr).toContain(`${lines + 1} documents indexed`);
    expect((await crossrank("index", "--docs", join(folder, "nope.jsonl"), "--out", join(folder, "idx2"))).stderr).toContain("nope.jsonl");
  }, 120_000);

  it("says what is wrong with the flags", async () => {
    expect((await crossrank("search", "--query", "x")).stderr).toContain("give exactly one of --docs FILE, --index DIR and --store postgres://…");
    expect((await crossrank("index", "--docs", fixture("docs.jsonl"))).stderr).toContain("give --out DIR (an index folder), --store postgres://… (PostgreSQL), or both");
    expect((await crossrank("index", "--docs", fixture("docs.jsonl"), "--store", "mysql://x")).stderr).toContain("--store expects a postgres:// URL");
    expect((await crossrank("index", "--update", "--store", "postgres://x")).stderr).toContain("--update needs --out DIR");
    expect((await crossrank("serve", "--index", "a", "--store", "postgres://x")).stderr).toContain("give exactly one of --index DIR and --store postgres://…");
    expect((await crossrank("search", "--index", "a", "--schema", "s", "--query", "x")).stderr).toContain("--schema applies to --store only");
    expect((await crossrank("index", "--out", "x")).stderr).toContain("--docs is required to build an index");
    expect((await crossrank("index", "--out", "x", "--docs", fixture("docs.jsonl"), "--delete", "a")).stderr).toContain("--delete needs --update");
    expect((await crossrank("search", "--index", "/nonexistent/idx", "--query", "x")).stderr).toContain("not a crossrank index");
  });
});

// A PostgreSQL server with pgvector, e.g. `../shared/tools/pg-kit.sh start` (.ci/run starts one).
const pgUrl = process.env.CROSSRANK_TEST_PG_URL;
if (!pgUrl) console.log("crossrank index --store tests skipped: set CROSSRANK_TEST_PG_URL to a PostgreSQL server with pgvector (../shared/tools/pg-kit.sh start prints one)");

describe.skipIf(!pgUrl)("crossrank index --store / search --store / serve --store (PostgreSQL)", () => {
  it("writes the index into PostgreSQL and searches and serves it with the same hits as the documents in memory", async () => {
    const store = ["--store", pgUrl!, "--schema", "crossrank_cli_test"];
    const written = await crossrank("index", "--docs", fixture("docs.jsonl"), ...store);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toMatch(/written to schema crossrank_cli_test in/);
    for (const args of [["--query", "Hauptstadt von Japan", "--query-lang", "de"], ["--query", "capital of Germany", "--ranker", "bm25"], ["--query", "Hauptstadt", "--query-lang", "de", "--ranker", "bm25-psq"]]) {
      const fromStore = await crossrank("search", ...store, ...args, "--top", "3", "--json");
      const fromDocs = await crossrank("search", "--docs", fixture("docs.jsonl"), "--doc-lang", "en", ...args, "--top", "3", "--json");
      expect(fromStore.code, fromStore.stderr).toBe(0);
      const got = JSON.parse(fromStore.stdout) as { id: string; score: number }[];
      const expected = JSON.parse(fromDocs.stdout) as { id: string; score: number }[];
      expect(got.map((h) => h.id), args.join(" ")).toEqual(expected.map((h) => h.id));
      got.forEach((h, i) => expect(Math.abs(h.score - expected[i]!.score)).toBeLessThan(1e-5));
    }
    // The first hybrid search loads the model and the German dictionary: no 503 for that here.
    const server = await startServe(...store, "--timeout", "240000");
    try {
      expect(server.stderr()).toContain("(schema crossrank_cli_test)");
      expect(((await (await fetch(`${server.address}/stats`)).json()) as { store: string }).store).toBe("postgres");
      const res = await fetch(`${server.address}/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "Hauptstadt von Japan", queryLang: "de", k: 1 }) });
      const body = (await res.json()) as { hits: { id: string }[] };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.hits[0]!.id).toBe("tokyo");
      const explained = await fetch(`${server.address}/explain`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "Hauptstadt von Japan", id: "tokyo" }) });
      expect(explained.status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 300_000);
});

describe("crossrank bench", () => {
  it("runs the quick form on a JSONL task and prints JSON results", async () => {
    const { stdout, code, stderr } = await crossrank(
      "bench", "--dataset", `jsonl:${fixture("wiki.jsonl")}`, "--query-lang", "de", "--doc-lang", "en",
      "--rankers", "bm25", "--measures", "R@1,R@5", "--json",
    );
    expect(stderr).not.toMatch(/^crossrank:/m);
    expect(code).toBe(0);
    const results = JSON.parse(stdout) as { queryLang: string; docLang: string; queries: number; measures: Record<string, number> }[];
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ queryLang: "de", docLang: "en", queries: 3 });
    // Berlin and Paris share their name with the English page; "Tokio ist die Hauptstadt Japans"
    // shares no token with any English document, so it retrieves nothing: 2 of 3 at every cutoff.
    expect(results[0]?.measures["R@1"]).toBeCloseTo(2 / 3, 10);
    expect(results[0]?.measures["R@5"]).toBeCloseTo(2 / 3, 10);
  });

  it("runs a suite file and writes the JSON and Markdown reports", async () => {
    const out = await mkdtemp(join(tmpdir(), "crossrank-bench-"));
    const { code } = await crossrank("bench", "--suite", fixture("suite.yaml"), "--out", out);
    expect(code).toBe(0);
    const json = JSON.parse(await readFile(join(out, "tiny.json"), "utf8")) as { results: unknown[] };
    expect(json.results).toHaveLength(2);
    const markdown = await readFile(join(out, "tiny.md"), "utf8");
    expect(markdown).toContain("| ranker (R@1 / R@5) | de→en |");
    expect(markdown).toMatch(/\| bm25\(k1=0\.9,b=0\.75\) \| 0\.667 \/ 0\.667 \|/);
  });

  it("names the bad key of a broken suite", async () => {
    const { stderr, code } = await crossrank("bench", "--suite", fixture("bad-suite.yaml"));
    expect(code).toBe(1);
    expect(stderr).toContain("bad-suite.yaml: rankers");
  });
});
