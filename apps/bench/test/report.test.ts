import { describe, expect, it } from "vitest";
import { formatMarkdown } from "../src/report.js";
import type { CellResult, SuiteResult } from "../src/run.js";
import { parseSuite } from "../src/suite.js";

function cell(queryLang: string, label: string, measures: Record<string, number>): CellResult {
  return {
    dataset: "xquad", task: "paragraph", queryLang, docLang: "en", taskName: `xquad/paragraph/${queryLang}-en`,
    ranker: "bm25", params: {}, label, queries: 240, documents: 240, measures,
    loadSeconds: 0.1, rankSeconds: 0.5, queriesPerSecond: 480, warnings: [],
  };
}

describe("formatMarkdown", () => {
  it("lays out one row per ranker and one column per language pair", () => {
    const suite = parseSuite(
      {
        name: "t",
        datasets: [{ dataset: "xquad", tasks: ["paragraph"], queryLangs: ["de", "zh"] }],
        rankers: ["bm25"],
        measures: ["R@1", "R@5"],
        tables: [{ title: "Paragraphs", task: "paragraph", cells: ["R@1", "R@5"] }],
      },
      { source: "t.yaml", baseDir: "/" },
    );
    const result: SuiteResult = {
      suite: "t", startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:01Z",
      environment: { node: "v20", platform: "linux", cpu: "cpu", cores: 2, packages: {} },
      config: { ...suite },
      results: [
        cell("de", "bm25(k1=1.2,b=0.75)", { "R@1": 0.5, "R@5": 0.75 }),
        cell("zh", "bm25(k1=1.2,b=0.75)", { "R@1": 0.125, "R@5": 0.25 }),
        cell("de", "bm25(k1=0.9,b=0.4)", { "R@1": 0.4, "R@5": 0.7 }),
      ],
    };
    const lines = formatMarkdown(result, suite).split("\n");
    const header = lines.indexOf("| ranker (R@1 / R@5) | de→en | zh→en |");
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 2]).toBe("| bm25(k1=1.2,b=0.75) | 0.500 / 0.750 | 0.125 / 0.250 |");
    // A configuration that was not run on a pair shows a dash, not a zero.
    expect(lines[header + 3]).toBe("| bm25(k1=0.9,b=0.4) | 0.400 / 0.700 | – |");
  });
});
