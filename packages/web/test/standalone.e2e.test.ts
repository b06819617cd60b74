/**
 * The standalone page (no server: crossrank's packages run in the page) as a person uses it, in a
 * real headless Chromium (Debian's `chromium`, or $CHROMIUM) driven by playwright-core: built with
 * vite into a temporary folder, served by vite's static preview server, searched in German and
 * Chinese, a hit opened and its heat maps checked, a JSONL collection dropped in. Screenshots go to
 * test-artifacts/. Skips with a message when no Chromium is installed.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { build, preview, type PreviewServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHROMIUM = process.env.CHROMIUM || ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (CHROMIUM === undefined) console.log("the standalone explanation page in Chromium skipped: no Chromium found (apt-get install chromium, or set CHROMIUM to its path)");
const CONFIG = fileURLToPath(new URL("../vite.standalone.config.ts", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));

/** What the page's backend answers, asked in the page (the same object the page uses). */
interface PageExplanation {
  queryTokens: string[];
  docTokens: string[];
  distance: number;
  plan: number[][];
}

let outDir: string;
let server: PreviewServer | undefined;
let url: string;
let browser: Browser | undefined;

beforeAll(async () => {
  if (CHROMIUM === undefined) return;
  outDir = await mkdtemp(join(tmpdir(), "crossrank-standalone-"));
  await build({ configFile: CONFIG, logLevel: "warn", build: { outDir, emptyOutDir: true } });
  server = await preview({ configFile: CONFIG, logLevel: "warn", build: { outDir }, preview: { host: "127.0.0.1", port: 0, open: false } });
  url = server.resolvedUrls!.local[0]!;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  await mkdir(ARTIFACTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** A fresh page on the built standalone page, ready (the in-page backend built over the sample), with its console errors collected. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.locator("#collection-status").filter({ hasText: "run in this page" }).waitFor({ timeout: 240_000 });
  await page.locator("#status").filter({ hasText: "searched in this page" }).waitFor();
  return { page, errors };
}

describe.skipIf(CHROMIUM === undefined)("the standalone explanation page in Chromium (no server)", () => {
  it("searches the sample in German and Chinese with the model, BM25 and Sinkhorn running in the page, and explains a hit", { timeout: 300_000 }, async () => {
    const { page, errors } = await openPage();
    const info = await page.evaluate(() => (globalThis as unknown as { crossrankBackend: { info(): Promise<{ mode: string; documents: number; rankers: string[] }> } }).crossrankBackend.info());
    expect(info.mode).toBe("browser");
    expect(info.documents).toBeGreaterThan(100);
    expect(await page.getByLabel("Ranker").locator("option").allTextContents()).toEqual(["hybrid (lexical + bi-encoder)", "BM25", "bi-encoder"]);

    const query = "Texteditor für Programmierer";
    await page.getByLabel("Query", { exact: true }).fill(query);
    await page.getByLabel("re-rank with LM-EMD").first().check();
    await page.getByLabel("Query", { exact: true }).press("Enter");
    await page.locator(".hit").first().waitFor({ timeout: 120_000 });
    await expect(page.locator("#status").textContent()).resolves.toContain("query language de (detected)");
    // The page lists what its backend ranks for that request.
    const ids = await page.locator(".hit").evaluateAll((items) => items.map((i) => i.getAttribute("data-id")));
    const expected = await page.evaluate(
      (q) =>
        (globalThis as unknown as { crossrankBackend: { search(r: object): Promise<{ hits: { id: string }[] }> } }).crossrankBackend.search({
          query: q,
          k: 10,
          ranker: "hybrid",
          params: { second: "lm-emd" },
          queryLang: "de",
        }),
      query,
    );
    expect(ids).toEqual(expected.hits.map((h) => h.id));

    await page.locator(".hit").first().getByRole("button", { name: /^Explain why/ }).click();
    await page.locator("#explanation canvas").nth(1).waitFor({ timeout: 120_000 });
    await page.mouse.move(1, 1);
    const explained = await page.evaluate(
      ([q, id]) =>
        (globalThis as unknown as { crossrankBackend: { explain(r: object): Promise<PageExplanation> } }).crossrankBackend.explain({ query: q, id, gamma: 0.1, marginals: "uniform" }),
      [query, ids[0]!] as const,
    );
    expect(await page.locator("#explanation figure").nth(1).locator(".row-labels .token").allTextContents()).toEqual(explained.queryTokens);
    expect(await page.locator("#explanation figure").nth(1).locator(".col-labels .token").allTextContents()).toEqual(explained.docTokens);
    // The plan's largest cell in the ramp's top colour.
    const flat = explained.plan.flat();
    const cols = explained.docTokens.length;
    const hi = flat.indexOf(Math.max(...flat));
    const pixel = await page.evaluate(
      ([r, c]) => Array.from(document.querySelectorAll<HTMLCanvasElement>("#explanation canvas")[1]!.getContext("2d")!.getImageData(c * 18 + 9, r * 18 + 9, 1, 1).data.slice(0, 3)),
      [Math.floor(hi / cols), hi % cols] as const,
    );
    expect(pixel).toEqual([253, 231, 37]);
    // Pointing at a query token lists its pairs.
    await page.locator("#explanation figure").nth(0).locator(".row-labels .token").nth(Math.floor(hi / cols)).hover();
    await expect(page.locator("#pairs tbody tr").first().locator("td").first().textContent()).resolves.toBe(explained.docTokens[hi % cols]);
    await page.mouse.move(1, 1);
    await page.locator("#explanation figure").nth(0).locator(".row-labels .token").nth(Math.floor(hi / cols)).focus();
    await page.locator("#explanation").screenshot({ path: join(ARTIFACTS, "standalone-de.png") });
    await page.getByLabel("Marginals").selectOption("idf");
    await page.locator("#status").filter({ hasText: "idf marginals" }).waitFor({ timeout: 60_000 });

    // Chinese, two rankers side by side.
    await page.getByLabel("Query", { exact: true }).fill("文本编辑器");
    await page.getByLabel("re-rank with LM-EMD").first().uncheck();
    await page.getByLabel("Ranker").selectOption("bi-encoder");
    await page.getByLabel("Compare with").selectOption("bm25");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.locator(".result-list").nth(1).waitFor({ timeout: 120_000 });
    await expect(page.locator("#status").textContent()).resolves.toContain("query language zh (detected)");
    expect(await page.locator(".result-list").nth(0).locator(".hit").count()).toBe(10);

    // Sinkhorn on the page's own backend (gpu.js on WebGPU or WebGL where Chromium has them) gives plain JavaScript's distances.
    const compared = await page.evaluate(async () => {
      const backend = (globalThis as unknown as { crossrankBackend: { otBackend: string; search(r: object): Promise<{ hits: { id: string; score: number }[] }> } }).crossrankBackend;
      const ask = (otBackend: string) =>
        backend.search({ query: "文本编辑器", k: 10, ranker: "rerank", params: { first: "bi-encoder", second: "lm-emd", depth: 20, firstWeight: 0, lengthGate: 0, otBackend }, queryLang: "zh" });
      return { backend: backend.otBackend, own: (await ask(backend.otBackend)).hits, js: (await ask("js")).hits };
    });
    expect(["webgpu", "webgl", "js"]).toContain(compared.backend);
    expect(compared.own.map((h) => h.id)).toEqual(compared.js.map((h) => h.id));
    compared.own.forEach((h, i) => expect(Math.abs(h.score - compared.js[i]!.score), `${compared.backend} ${h.id}`).toBeLessThan(1e-4));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("searches a JSONL collection chosen by the user instead of the sample", { timeout: 300_000 }, async () => {
    const { page, errors } = await openPage();
    const jsonl = [
      { id: "a", title: "Fahrrad", text: "Ein Fahrrad hat zwei Räder und eine Kette." },
      { id: "b", title: "Bicycle", text: "A bicycle has two wheels and a chain." },
      { id: "c", title: "Bread", text: "Fresh bread is baked every morning." },
    ]
      .map((d) => JSON.stringify(d))
      .join("\n");
    await page.getByLabel(/Search your own collection/).setInputFiles({ name: "mine.jsonl", mimeType: "application/jsonl", buffer: Buffer.from(jsonl) });
    await page.locator("#collection-status").filter({ hasText: "3 documents from mine.jsonl" }).waitFor({ timeout: 120_000 });
    await page.locator("#status").filter({ hasText: "3 documents" }).waitFor();
    await page.getByLabel("Ranker").selectOption("bm25");
    await page.getByLabel("Query", { exact: true }).fill("bread");
    await page.getByLabel("Query", { exact: true }).press("Enter");
    await page.locator(".hit").first().waitFor();
    await expect(page.locator(".hit").first().getAttribute("data-id")).resolves.toBe("c");
    // A malformed file is refused with its line.
    await page.getByLabel(/Search your own collection/).setInputFiles({ name: "bad.jsonl", mimeType: "application/jsonl", buffer: Buffer.from('{"id": "x", "text": "ok"}\n{"id": "y"\n') });
    await expect(page.locator("#collection-status").filter({ hasText: "bad.jsonl" }).textContent()).resolves.toMatch(/bad\.jsonl:2: not JSON/);
    expect(errors).toEqual([]);
    await page.close();
  });
});
