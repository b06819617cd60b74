import type { CellResult, SuiteResult } from "./run.js";
import type { Suite, TableSpec } from "./suite.js";

/**
 * Lays out a suite's results as the seed papers do: one table per (dataset, task), one row per
 * ranker configuration, one column per language pair, each cell the table's measures joined by
 * " / " (e.g. `R@1 / R@5 / R@10`).
 */
export function formatMarkdown(result: SuiteResult, suite: Suite): string {
  const lines: string[] = [`# ${result.suite}`, ""];
  if (result.description) lines.push(result.description.trim(), "");
  const env = result.environment;
  lines.push(
    `Run ${result.startedAt} → ${result.finishedAt} on ${env.cpu} (${env.cores} cores), Node ${env.node}, ${env.platform}.`,
    `Measures follow trec_eval conventions (\`@crossrank/metrics\`); every figure is in \`${result.suite}.json\`.`,
    "",
  );
  for (const table of tablesOf(result, suite)) {
    const cells = result.results.filter(
      (r) => (!table.dataset || r.dataset === table.dataset) && (!table.task || r.task === table.task),
    );
    if (cells.length === 0) continue;
    lines.push(...formatTable(table, cells), "");
  }
  lines.push(...formatTiming(result.results), "");
  const warnings = [...new Set(result.results.flatMap((r) => r.warnings.map((w) => `${r.taskName}: ${w}`)))];
  if (warnings.length > 0) lines.push("Loader warnings:", "", ...warnings.map((w) => `- ${w}`), "");
  return lines.join("\n");
}

/** The suite's own tables, or one per (dataset, task) with every measure. */
function tablesOf(result: SuiteResult, suite: Suite): TableSpec[] {
  if (suite.tables) return suite.tables;
  const seen = new Map<string, TableSpec>();
  for (const r of result.results) {
    const key = `${r.dataset}/${r.task}`;
    if (!seen.has(key)) seen.set(key, { title: key, dataset: r.dataset, task: r.task, cells: suite.measures });
  }
  return [...seen.values()];
}

export function pairLabel(cell: Pick<CellResult, "queryLang" | "docLang">): string {
  return `${cell.queryLang ?? "?"}→${cell.docLang ?? "?"}`;
}

function formatTable(table: TableSpec, cells: CellResult[]): string[] {
  const pairs = unique(cells.map(pairLabel));
  const rows = unique(cells.map((c) => c.label));
  const header = [`ranker (${table.cells.join(" / ")})`, ...pairs];
  // Cells that could not run are marked "n/a" with a numbered note saying what to install.
  const notes: string[] = [];
  const body = rows.map((row) => [
    row,
    ...pairs.map((pair) => {
      const cell = cells.find((c) => c.label === row && pairLabel(c) === pair);
      if (cell?.unavailable !== undefined) {
        if (!notes.includes(cell.unavailable)) notes.push(cell.unavailable);
        return `n/a (${notes.indexOf(cell.unavailable) + 1})`;
      }
      return cell ? table.cells.map((m) => (cell.measures[m] ?? 0).toFixed(3)).join(" / ") : "–";
    }),
  ]);
  const noteLines = notes.length === 0 ? [] : ["", ...notes.map((n, i) => `(${i + 1}) ${n}`)];
  return [`## ${table.title}`, "", ...markdownTable(header, body), ...noteLines];
}

function formatTiming(cells: CellResult[]): string[] {
  const ran = cells.filter((c) => c.unavailable === undefined);
  const rows = unique(ran.map((c) => c.label)).map((label) => {
    const mine = ran.filter((c) => c.label === label);
    const queries = mine.reduce((sum, c) => sum + c.queries, 0);
    const seconds = mine.reduce((sum, c) => sum + c.rankSeconds, 0);
    return [label, String(mine.length), String(queries), seconds.toFixed(2), (queries / Math.max(seconds, 1e-9)).toFixed(0)];
  });
  return ["## Timing", "", ...markdownTable(["ranker", "tasks", "queries", "rank seconds", "queries/s"], rows)];
}

function markdownTable(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
