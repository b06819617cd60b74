import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadJsonlTask } from "@crossrank/datasets";
import { evaluate } from "@crossrank/metrics";
import { createRanker } from "@crossrank/rankers";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { runSuite } from "../src/run.js";
import { parseSuite, type Suite, SuiteError } from "../src/suite.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

// suites/wikipedia-bi-encoders.yaml as committed, on the committed sample (test/fixtures/wikipedia-sample,
// found through CROSSRANK_DATA as a user's would be) with fixture models in place of the hub's:
// LaBSE's layout (Normalize: cosine) and DistilUSE's (no Normalize: dot product).
const here = dirname(fileURLToPath(import.meta.url));
const suitePath = join(here, "../suites/wikipedia-bi-encoders.yaml");
const sample = join(here, "fixtures/wikipedia-sample/wiki.jsonl");
const FIXTURES: Record<string, string> = {
  "sentence-transformers/LaBSE": "fixture:sentence-transformers",
  "sentence-transformers/distiluse-base-multilingual-cased-v2": "fixture:distiluse",
};

const tmp = useTemporaryCache("crossrank-bench-wikipedia-", { CROSSRANK_DATA: join(here, "fixtures") });

/** The committed suite with each hub model replaced by its fixture, and no embedding cache. */
async function fixtureSuite(): Promise<Suite> {
  const raw = parseYaml(await readFile(suitePath, "utf8")) as { rankers: { name: string; params: Record<string, unknown> }[] };
  for (const r of raw.rankers) {
    const fixture = FIXTURES[r.params.encoder as string];
    expect(fixture, `a fixture for ${String(r.params.encoder)}`).toBeDefined();
    r.params.encoder = fixture;
  }
  return parseSuite({ ...raw, embeddingCache: false }, { source: suitePath, baseDir: dirname(suitePath) });
}

describe("suites/wikipedia-bi-encoders.yaml (the LaBSE / DistilUSE notebook)", () => {
  it("runs end to end on the sample: separate limits, the text alone, each model compared as its folder says", async () => {
    const suite = await fixtureSuite();
    expect(suite.datasets).toEqual([{ dataset: "jsonl", data: { name: "wikipedia-sample", file: "wiki.jsonl" }, queryLangs: ["de", "zh"], docLang: "en", queryLimit: 1000, documentLimit: 1000 }]);
    const out = join(tmp.dir, "results");
    const result = await runSuite(suite, { outDir: out });
    expect(result.results).toHaveLength(4);
    expect(existsSync(join(out, "wikipedia-bi-encoders.md"))).toBe(true);

    for (const queryLang of ["de", "zh"]) {
      const task = await loadJsonlTask(sample, { queryLang, docLang: "en", queryLimit: 1000, documentLimit: 1000 });
      // de has one article without an English version (Salzburg): not a query.
      expect(task.queries).toHaveLength(8);
      expect(task.documents).toHaveLength(8);
      for (const [encoder, similarity] of [
        ["fixture:sentence-transformers", "cosine"],
        ["fixture:distiluse", "dot"],
      ] as const) {
        const cell = result.results.find((c) => c.queryLang === queryLang && c.params.encoder === encoder)!;
        expect(cell.label).toContain("title=false");
        expect([cell.queries, cell.documents]).toEqual([8, 8]);
        if (queryLang === "de") expect(cell.warnings).toEqual(["skipped 1 de records whose id has no en document (documentLimit 1000)"]);
        // The same figures as the ranker asked explicitly for the folder's similarity, on the text alone.
        const run = await createRanker("bi-encoder", { encoder, title: false, similarity }).rank(task, { k: 10 });
        expect(cell.measures, `${queryLang} ${encoder}`).toEqual(evaluate(task.qrels, run, suite.measures).mean);
      }
    }
  });

  it("a data file that is not there says where it looked", async () => {
    const suite = await fixtureSuite();
    const missing: Suite = { ...suite, datasets: [{ ...suite.datasets[0]!, data: { name: "wikipedia-sample", file: "missing.jsonl" } } as Suite["datasets"][number]] };
    await expect(runSuite(missing, { outDir: null })).rejects.toThrow(/file "missing\.jsonl" of dataset "wikipedia-sample" not found\. Looked in:/);
  });

  it("parses the jsonl limits and data, and says what is wrong", () => {
    const base = { name: "s", rankers: ["bm25"], measures: ["R@1"] };
    const parse = (dataset: Record<string, unknown>) => parseSuite({ ...base, datasets: [{ dataset: "jsonl", queryLangs: ["de"], ...dataset }] }, { source: "s.yaml", baseDir: "/x" });
    expect(parse({ path: "w.jsonl", limit: 5 }).datasets[0]).toEqual({ dataset: "jsonl", path: "w.jsonl", queryLangs: ["de"], docLang: "en", limit: 5 });
    expect(() => parse({ path: "w.jsonl", limit: 5, queryLimit: 3 })).toThrow(new SuiteError("s.yaml: datasets[0].limit: limit sets both sides; give it or queryLimit / documentLimit, not both"));
    expect(() => parse({ path: "w.jsonl", documentLimit: 0 })).toThrow("s.yaml: datasets[0].documentLimit");
    expect(() => parse({ path: "w.jsonl", data: "a/b.jsonl" })).toThrow("s.yaml: datasets[0]: give path (a file) or data (NAME/FILE of a dataset), not both");
    for (const bad of ["wiki.jsonl", "a/", "../a/b", "a/../b"]) expect(() => parse({ data: bad }), bad).toThrow(/datasets\[0\]\.data: expected NAME\/FILE/);
  });
});
