/**
 * The explanation page as a person uses it, in a real headless Chromium (Debian's `chromium`, or
 * $CHROMIUM), driven by playwright-core: `crossrank serve`'s app over an index of English package
 * descriptions with the shipped static model, searched in German and in Chinese. Screenshots go to
 * test-artifacts/ (kept by CI). Skips with a message when no Chromium is installed.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIndex, openIndex, type SearchIndex } from "@crossrank/index";
import { clearNeuralMemo } from "@crossrank/rankers";
import type { FastifyInstance } from "fastify";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../src/index.js";

const CHROMIUM = process.env.CHROMIUM || ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (CHROMIUM === undefined) console.log("the explanation page in Chromium skipped: no Chromium found (apt-get install chromium, or set CHROMIUM to its path)");
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));

// Debian-style English package descriptions (written for this test).
const DOCS = [
  { id: "gzip", title: "gzip", text: "GNU compression utility. This package provides the standard GNU file compression utilities, which are also the default compression tools for Debian." },
  { id: "firefox", title: "firefox-esr", text: "Mozilla Firefox web browser. Firefox is a powerful, extensible web browser with support for modern web application technologies." },
  { id: "gimp", title: "gimp", text: "GNU Image Manipulation Program. GIMP is an advanced picture editor. You can use it to edit, enhance, and retouch photos and scans." },
  { id: "vlc", title: "vlc", text: "multimedia player and streamer. VLC is the VideoLAN project's media player. It plays MPEG, MPEG-2, MPEG-4, DivX, MOV, WMV, QuickTime, WebM, FLAC, MP3 and Ogg files." },
  { id: "thunderbird", title: "thunderbird", text: "mail/news client with RSS, chat and integrated spam filter support. Thunderbird is a full-featured email, RSS and newsgroup client." },
  { id: "evince", title: "evince", text: "Document (PostScript, PDF) viewer. Evince is a simple multi-page document viewer." },
  { id: "vim", title: "vim", text: "Vi IMproved - enhanced vi editor. Vim is an almost compatible version of the UNIX editor Vi." },
  { id: "libreoffice-calc", title: "libreoffice-calc", text: "office productivity suite -- spreadsheet. LibreOffice Calc is a spreadsheet program for tables, charts and calculations." },
];

let dir: string;
let index: SearchIndex;
let app: FastifyInstance;
let url: string;
let browser: Browser | undefined;

beforeAll(async () => {
  if (CHROMIUM === undefined) return;
  dir = await mkdtemp(join(tmpdir(), "crossrank-page-"));
  await buildIndex(join(dir, "idx"), DOCS);
  index = await openIndex(join(dir, "idx"));
  // The first search of a language pair loads its dictionaries (seconds on a busy machine): done
  // here, so the page's searches stay within the server's timeout.
  for (const queryLang of ["de", "zh"]) await index.search("x", { ranker: "hybrid", queryLang });
  app = createServer(index);
  url = await app.listen({ port: 0, host: "127.0.0.1" });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  await mkdir(ARTIFACTS, { recursive: true });
  // The dictionaries' translation tables take ~12 s alone, minutes while every package's tests share two cores.
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh page with its console errors and uncaught exceptions collected. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.getByRole("status").filter({ hasText: "8 documents" }).waitFor();
  return { page, errors };
}

/** The canvas' pixels of one cell (row i, column j), read in the page. */
async function cellColour(page: Page, figure: number, i: number, j: number): Promise<[number, number, number]> {
  return page.evaluate(
    ([f, r, c]) => {
      const canvas = document.querySelectorAll<HTMLCanvasElement>("#explanation canvas")[f]!;
      const d = canvas.getContext("2d")!.getImageData(c * 18 + 9, r * 18 + 9, 1, 1).data;
      return [d[0]!, d[1]!, d[2]!] as [number, number, number];
    },
    [figure, i, j] as const,
  );
}

describe.skipIf(CHROMIUM === undefined)("the explanation page in Chromium (served by crossrank serve)", () => {
  it("searches in German, opens a result, draws both heat maps with the tokens as labels, and highlights a token's pairs", async () => {
    const { page, errors } = await openPage();
    await page.getByLabel("Query", { exact: true }).fill("Werkzeug zum Komprimieren von Dateien");
    await page.getByLabel("Query", { exact: true }).press("Enter");
    await page.locator(".hit").first().waitFor();
    await expect(page.getByRole("status").textContent()).resolves.toContain("query language de (detected)");
    const ids = await page.locator(".hit").evaluateAll((items) => items.map((i) => i.getAttribute("data-id")));
    expect(ids.length).toBeGreaterThan(0);
    // The page shows what the API answers for the same search.
    const api = (await app.inject({ method: "POST", url: "/search", payload: { query: "Werkzeug zum Komprimieren von Dateien", k: 10, ranker: "hybrid", queryLang: "de" } })).json();
    expect(ids).toEqual(api.hits.map((h: { id: string }) => h.id));

    await page.locator(".hit").first().getByRole("button", { name: /^Explain why/ }).click();
    await page.locator("#explanation canvas").nth(1).waitFor();
    const explained = (await app.inject({ method: "POST", url: "/explain", payload: { query: "Werkzeug zum Komprimieren von Dateien", id: ids[0], gamma: 0.1, marginals: "uniform" } })).json();
    const rowLabels = await page.locator("#explanation figure").nth(1).locator(".row-labels .token").allTextContents();
    const colLabels = await page.locator("#explanation figure").nth(1).locator(".col-labels .token").allTextContents();
    expect(rowLabels).toEqual(explained.queryTokens);
    expect(colLabels).toEqual(explained.docTokens);
    const size = await page.locator("#explanation canvas").nth(1).evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(size).toEqual([explained.docTokens.length * 18, explained.queryTokens.length * 18]);
    await expect(page.locator(".distance").textContent()).resolves.toContain(String(Number(explained.distance.toPrecision(3))));

    // (The pointer, left where the button was, may rest on the maps after they scroll into view.)
    await page.mouse.move(1, 1);
    await expect(page.locator("#explanation .token.selected").count()).resolves.toBe(0);
    // Pixel checks: the plan's largest cell is drawn in the ramp's top colour (yellow), its smallest in the bottom one (purple).
    const flat: number[] = explained.plan.flat();
    const cols = explained.docTokens.length;
    const hi = flat.indexOf(Math.max(...flat));
    const lo = flat.indexOf(Math.min(...flat));
    expect(await cellColour(page, 1, Math.floor(hi / cols), hi % cols)).toEqual([253, 231, 37]);
    expect(await cellColour(page, 1, Math.floor(lo / cols), lo % cols)).toEqual([68, 1, 84]);
    await page.locator("#explanation").screenshot({ path: join(ARTIFACTS, "explanation-de.png") });

    // Pointing at a query token selects its row in both maps (others fade towards white) and lists its pairs.
    const row = Math.floor(hi / cols);
    await page.locator("#explanation figure").nth(1).locator(".row-labels .token").nth(row).hover();
    await expect(page.locator("#explanation figure").nth(0).locator(".row-labels .token.selected").textContent()).resolves.toBe(explained.queryTokens[row]);
    expect(await cellColour(page, 1, row, hi % cols)).toEqual([253, 231, 37]);
    const other = (row + 1) % explained.queryTokens.length;
    const [r, g, b] = await cellColour(page, 1, other, 0);
    expect(Math.min(r, g, b)).toBeGreaterThan(190);
    await expect(page.locator("#pairs").textContent()).resolves.toContain(`Query token “${explained.queryTokens[row]}”`);
    // The document tokens it sends most mass to are marked on the other axis.
    const partners = await page.locator("#explanation figure").nth(1).locator(".col-labels .token").evaluateAll((labels) => labels.flatMap((l, j) => (l.classList.contains("partner") ? [j] : [])));
    const top3 = (explained.plan[row] as number[]).map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, j]) => j).sort((a, b) => a - b);
    expect(partners).toEqual(top3);
    const pairRows = await page.locator("#pairs tbody tr").count();
    expect(pairRows).toBe(Math.min(8, cols));
    await expect(page.locator("#pairs tbody tr").first().locator("td").first().textContent()).resolves.toBe(explained.docTokens[hi % cols]);
    // A focused label keeps its selection (a screenshot scrolls, which ends a hover).
    await page.mouse.move(1, 1);
    await page.locator("#explanation figure").nth(1).locator(".row-labels .token").nth(row).focus();
    await page.locator("#explanation").screenshot({ path: join(ARTIFACTS, "explanation-de-selected.png") });

    // γ recomputes the plan: a larger γ spreads the mass, so the distance changes.
    await page.getByLabel("γ (entropic regularisation)").fill("1");
    await page.getByLabel("γ (entropic regularisation)").press("Enter");
    await page.getByRole("status").filter({ hasText: "γ 1," }).waitFor();
    const wider = (await app.inject({ method: "POST", url: "/explain", payload: { query: "Werkzeug zum Komprimieren von Dateien", id: ids[0], gamma: 1, marginals: "uniform" } })).json();
    await expect(page.locator(".distance").textContent()).resolves.toContain(String(Number(wider.distance.toPrecision(3))));
    await page.getByLabel("Marginals").selectOption("idf");
    await page.getByRole("status").filter({ hasText: "idf marginals" }).waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("searches in Chinese and compares two rankers side by side, marking where they disagree", async () => {
    const { page, errors } = await openPage();
    await page.getByLabel("Query", { exact: true }).fill("网页浏览器");
    await page.getByLabel("Ranker").selectOption("bi-encoder");
    await page.getByLabel("Compare with").selectOption("bm25");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.locator(".result-list").nth(1).waitFor();
    await expect(page.getByRole("status").textContent()).resolves.toContain("query language zh (detected)");
    const titles = await page.locator(".result-list h2").allTextContents();
    expect(titles).toEqual(["bi-encoder", "BM25"]);
    const dense = (await app.inject({ method: "POST", url: "/search", payload: { query: "网页浏览器", k: 10, ranker: "bi-encoder", queryLang: "zh" } })).json();
    const lexical = (await app.inject({ method: "POST", url: "/search", payload: { query: "网页浏览器", k: 10, ranker: "bm25", queryLang: "zh" } })).json();
    const lexicalIds = new Set(lexical.hits.map((h: { id: string }) => h.id));
    const onlyDense = dense.hits.filter((h: { id: string }) => !lexicalIds.has(h.id)).length;
    await expect(page.locator(".result-list").nth(0).locator(".hit.disagree").count()).resolves.toBe(onlyDense);
    await page.locator(".result-list").nth(0).locator(".hit").first().getByRole("button", { name: /^Explain why/ }).click();
    await page.locator("#explanation canvas").nth(1).waitFor();
    const rowLabels = await page.locator("#explanation figure").nth(1).locator(".row-labels .token").allTextContents();
    expect(rowLabels.join("")).toContain("浏览");
    await page.locator("#explanation").screenshot({ path: join(ARTIFACTS, "explanation-zh.png") });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("asks again while the server answers 503 for a first search that outlasts its timeout (dictionaries still loading)", async () => {
    // The first search takes 1.5 s, as a first search in a language does while its dictionaries load; the server waits 0.5 s.
    let calls = 0;
    const slowFirst = Object.assign(Object.create(index) as SearchIndex, {
      searchBatch: async (queries: readonly string[], options: object) => {
        if (calls++ === 0) await new Promise((resolve) => setTimeout(resolve, 1500));
        return index.searchBatch(queries, options);
      },
    });
    const impatient = createServer(slowFirst, { timeoutMs: 500 });
    const impatientUrl = await impatient.listen({ port: 0, host: "127.0.0.1" });
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    try {
      await page.goto(impatientUrl);
      await page.getByRole("status").filter({ hasText: "8 documents" }).waitFor();
      await page.getByLabel("Query", { exact: true }).fill("compression utility");
      await page.getByLabel("Ranker").selectOption("bm25");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByRole("status").filter({ hasText: "Still preparing the search" }).waitFor();
      await page.locator(".hit").first().waitFor();
      await expect(page.locator(".hit").first().getAttribute("data-id")).resolves.toBe("gzip");
      await expect(page.getByRole("status").textContent()).resolves.toContain("BM25: ");
      expect(calls).toBeGreaterThan(1);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await impatient.close();
    }
  });

  it("works from the keyboard, with labelled controls", async () => {
    const { page, errors } = await openPage();
    // Every form control has an accessible name.
    for (const name of ["Query", "Query language", "Ranker", "Compare with"]) await expect(page.getByLabel(name, { exact: true }).count()).resolves.toBe(1);
    await page.keyboard.press("Tab");
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe("query");
    await page.keyboard.type("Bildbearbeitung Fotos");
    await page.keyboard.press("Enter");
    await page.locator(".hit").first().waitFor();
    await page.locator(".explain").first().focus();
    await page.keyboard.press("Enter");
    await page.locator("#explanation canvas").nth(1).waitFor();
    // Focusing a token label (Tab order) selects it, as pointing does.
    await page.locator("#explanation figure").nth(0).locator(".row-labels .token").first().focus();
    await expect(page.locator("#explanation figure").nth(1).locator(".row-labels .token.selected").count()).resolves.toBe(1);
    await expect(page.locator("#pairs table").count()).resolves.toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
