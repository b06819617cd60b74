#!/usr/bin/env node
/**
 * A screenshot of the explanation page for a real query (the README's picture): serves an index,
 * searches in Chromium as a person would, opens the first result (or --id), selects the query token
 * with the plan's largest cell, and saves the explanation.
 *
 *   node bench/page-screenshot.mjs --index /tmp/cli-index --query "Werkzeug zum Komprimieren von Dateien" --out ../../docs/explanation.png
 *
 * Needs the built packages (pnpm turbo build) and Chromium ($CHROMIUM or /usr/bin/chromium).
 */
import { parseArgs } from "node:util";
import { openIndex } from "@crossrank/index";
import { chromium } from "playwright-core";
import { createServer } from "../dist/index.js";

const { values } = parseArgs({
  options: {
    index: { type: "string" },
    query: { type: "string" },
    ranker: { type: "string", default: "hybrid" },
    id: { type: "string" },
    out: { type: "string", default: "explanation.png" },
  },
});
if (!values.index || !values.query) {
  console.error("usage: page-screenshot.mjs --index DIR --query TEXT [--ranker NAME] [--id DOC] [--out FILE.png]");
  process.exit(2);
}

const index = await openIndex(values.index);
const app = createServer(index, { timeoutMs: 120_000 });
const url = await app.listen({ port: 0, host: "127.0.0.1" });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(url);
  await page.getByRole("status").filter({ hasText: "documents" }).waitFor();
  await page.getByLabel("Query", { exact: true }).fill(values.query);
  await page.getByLabel("Ranker").selectOption(values.ranker);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.locator(".hit").first().waitFor({ timeout: 120_000 });
  const hit = values.id ? page.locator(`.hit[data-id="${values.id}"]`) : page.locator(".hit").first();
  await hit.getByRole("button", { name: /^Explain why/ }).click();
  await page.locator("#explanation canvas").nth(1).waitFor({ timeout: 120_000 });
  // The query token whose row holds the plan's largest cell: where the explanation is clearest.
  const id = await hit.getAttribute("data-id");
  const explained = (await app.inject({ method: "POST", url: "/explain", payload: { query: values.query, id, gamma: 0.1, marginals: "uniform" } })).json();
  const rowMax = explained.plan.map((r) => Math.max(...r));
  const row = rowMax.indexOf(Math.max(...rowMax));
  await page.locator("#explanation figure").nth(1).locator(".row-labels .token").nth(row).focus();
  await page.locator("#explanation").screenshot({ path: values.out });
  console.error(`page-screenshot: ${values.out} (${await page.getByRole("status").textContent()})`);
} finally {
  await browser.close();
  await app.close();
  await index.close();
}
