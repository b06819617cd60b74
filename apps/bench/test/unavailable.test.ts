import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatMarkdown } from "../src/report.js";
import { runSuite } from "../src/run.js";
import { loadSuite } from "../src/suite.js";
import { firstQueries } from "../src/tasks.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-bench-unavailable-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a ranker this machine cannot run", () => {
  it("leaves an n/a cell saying what to install, and the suite goes on", async () => {
    // Korean → English: Debian has no dictionary at all, so bm25-psq cannot run on any machine.
    await writeFile(join(dir, "q.ko"), "고양이가 잔다.\n서울은 수도이다.\n");
    await writeFile(join(dir, "d.en"), "The cat sleeps.\nSeoul is the capital.\n");
    const suitePath = join(dir, "s.json");
    await writeFile(
      suitePath,
      JSON.stringify({
        name: "s",
        datasets: [{ dataset: "parallel", queries: "q.ko", documents: "d.en", queryLang: "ko", docLang: "en" }],
        rankers: ["bm25-psq", "bm25"],
        measures: ["R@1"],
      }),
    );
    const suite = await loadSuite(suitePath);
    const result = await runSuite(suite, { outDir: null });
    expect(result.results.map((r) => [r.ranker, r.unavailable === undefined])).toEqual([
      ["bm25-psq", false],
      ["bm25", true],
    ]);
    expect(result.results[0]!.unavailable).toMatch(/no dictionary for ko→en/);
    const markdown = formatMarkdown(result, suite);
    expect(markdown).toMatch(/\| bm25-psq\([^|]*\) \| n\/a \(1\) \|/);
    expect(markdown).toMatch(/^\(1\) no dictionary for ko→en/m);
    // The timing table counts only what ran.
    expect(markdown.split("## Timing")[1]).not.toMatch(/bm25-psq/);
  });
});

describe("firstQueries", () => {
  it("keeps the queries of smallest id and their qrels, and says so", () => {
    const task = {
      name: "t",
      queries: ["c", "a", "d", "b"].map((id) => ({ id, text: id })),
      documents: [{ id: "x", text: "x" }],
      qrels: new Map(["a", "b", "c", "d"].map((id) => [id, new Map([["x", 1]])])),
    };
    const cut = firstQueries(task, 2);
    expect(cut.queries.map((q) => q.id)).toEqual(["a", "b"]);
    expect([...cut.qrels.keys()]).toEqual(["a", "b"]);
    expect(cut.documents).toBe(task.documents);
    expect(cut.warnings).toEqual(["2 of 4 queries (smallest ids)"]);
    expect(firstQueries(task, 4)).toBe(task);
  });
});

describe("ddtp limit", () => {
  it("is a positive whole number", async () => {
    const { parseSuite } = await import("../src/suite.js");
    const suite = (limit: unknown) =>
      parseSuite({ name: "t", datasets: [{ dataset: "ddtp", tasks: ["short"], queryLangs: ["de"], limit }], rankers: ["bm25"], measures: ["R@1"] }, { source: "t.yaml", baseDir: "/" });
    expect(suite(50).datasets[0]).toMatchObject({ dataset: "ddtp", limit: 50 });
    expect(() => suite(0)).toThrow(/t\.yaml: datasets\[0\]\.limit/);
  });
});

describe("spacedQueries", () => {
  it("keeps queries evenly spaced through the file, with their qrels", async () => {
    const { spacedQueries } = await import("../src/tasks.js");
    const ids = Array.from({ length: 10 }, (_, i) => `q${i}`);
    const task = { name: "t", queries: ids.map((id) => ({ id, text: id })), documents: [], qrels: new Map(ids.map((id) => [id, new Map([["d", 1]])])) };
    const cut = spacedQueries(task, 4);
    expect(cut.queries.map((q) => q.id)).toEqual(["q0", "q2", "q5", "q7"]);
    expect([...cut.qrels.keys()]).toEqual(["q0", "q2", "q5", "q7"]);
    expect(cut.warnings).toEqual(["4 of 10 queries, evenly spaced"]);
  });
});
