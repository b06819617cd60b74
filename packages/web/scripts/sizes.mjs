/**
 * The byte sizes (raw and gzip -9) of a built page: what loads at start (index.html, the entry chunk
 * and its static imports, CSS: from vite's manifest), the data the standalone page fetches (the
 * model's files, the sample collection), and the chunks loaded on demand (each named by the module
 * it holds). With --measure, the page is also opened in headless Chromium (playwright-core; $CHROMIUM),
 * searched with every ranker and explained, and the files it actually requested are summed.
 *
 * Usage: node scripts/sizes.mjs dist/standalone [--measure] [--json out.json]
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

const args = process.argv.slice(2);
const folder = args.find((a) => !a.startsWith("--")) ?? "dist/standalone";
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : undefined;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? (name === ".vite" ? [] : files(path)) : [path];
  });
}

const sizes = new Map();
for (const path of files(folder)) {
  if (path.endsWith(".map")) continue;
  const bytes = readFileSync(path);
  sizes.set(relative(folder, path), { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
}

// What loads at start: from vite's manifest (build.manifest: true: the entry's static imports too),
// else the files index.html names.
let manifest = {};
const start = new Set(["index.html"]);
try {
  manifest = JSON.parse(readFileSync(join(folder, ".vite", "manifest.json"), "utf8"));
} catch {
  console.log(`(no ${folder}/.vite/manifest.json: "start" is what index.html names; build with build.manifest: true to follow the entry's imports)`);
  for (const [, ref] of readFileSync(join(folder, "index.html"), "utf8").matchAll(/(?:src|href)="\.?\/?([^"]+)"/g)) if (sizes.has(ref)) start.add(ref);
}
const visit = (key) => {
  const entry = manifest[key];
  if (entry === undefined || start.has(entry.file)) return;
  start.add(entry.file);
  for (const css of entry.css ?? []) start.add(css);
  for (const i of entry.imports ?? []) visit(i);
};
for (const [key, entry] of Object.entries(manifest)) if (entry.isEntry) visit(key);
const moduleOf = new Map(Object.entries(manifest).map(([key, e]) => [e.file, key.replace(/^.*node_modules\//, "").replace(/^(\.\.\/)+/, "")]));

const groups = { start: [], data: [], "on demand": [] };
for (const name of [...sizes.keys()].sort()) {
  if (start.has(name)) groups.start.push(name);
  else if (!name.startsWith("assets/")) groups.data.push(name);
  else groups["on demand"].push(name);
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(12);
const report = {};
for (const [group, names] of Object.entries(groups)) {
  if (names.length === 0) continue;
  const total = names.reduce((t, n) => ({ raw: t.raw + sizes.get(n).raw, gzip: t.gzip + sizes.get(n).gzip }), { raw: 0, gzip: 0 });
  report[group] = { total, files: Object.fromEntries(names.map((n) => [n, sizes.get(n)])) };
  console.log(`\n${group}: ${names.length} files, ${kb(total.raw)} raw, ${kb(total.gzip)} gzip`);
  for (const n of names.sort((a, b) => sizes.get(b).raw - sizes.get(a).raw)) console.log(`  ${kb(sizes.get(n).raw)} ${kb(sizes.get(n).gzip)}  ${n}${moduleOf.has(n) && group === "on demand" ? `  (${moduleOf.get(n)})` : ""}`);
}

if (args.includes("--measure")) {
  // vite's static preview server over the folder, and Chromium driven by playwright-core; every
  // response of a file of the folder is counted.
  const { preview } = await import("vite");
  const { chromium } = await import("playwright-core");
  const server = await preview({ configFile: false, root: folder, logLevel: "warn", build: { outDir: "." }, preview: { host: "127.0.0.1", port: 0, open: false } });
  const url = server.resolvedUrls.local[0];
  const requested = new Set();
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    page.on("response", (r) => r.status() === 200 && r.url().startsWith(url) && requested.add(decodeURIComponent(new URL(r.url()).pathname.slice(1)) || "index.html"));
    await page.goto(url);
    if (groups.data.some((n) => n.startsWith("model/"))) {
      await page.waitForFunction(() => globalThis.crossrankBackend !== undefined, undefined, { timeout: 180_000 });
      await page.evaluate(async (query) => {
        const backend = globalThis.crossrankBackend;
        for (const ranker of ["bm25", "bi-encoder", "hybrid"]) await backend.search({ query, ranker });
        const r = await backend.search({ query, ranker: "rerank", params: { first: "bi-encoder", second: "lm-emd" } });
        await backend.explain({ query, id: r.hits[0].id, marginals: "idf" });
      }, "Echtzeit-Strategiespiel über antike Kriegsführung");
    } else {
      await page.waitForLoadState("networkidle");
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const names = [...requested].filter((n) => sizes.has(n)).sort();
  const total = names.reduce((t, n) => ({ raw: t.raw + sizes.get(n).raw, gzip: t.gzip + sizes.get(n).gzip }), { raw: 0, gzip: 0 });
  report.measured = { total, files: names };
  console.log(`\nmeasured in Chromium (load, search with bm25, bi-encoder, hybrid, rerank lm-emd, explain): ${names.length} files, ${kb(total.raw)} raw, ${kb(total.gzip)} gzip`);
  for (const n of names) console.log(`  ${kb(sizes.get(n).raw)} ${kb(sizes.get(n).gzip)}  ${n}`);
}
if (jsonOut !== undefined) writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);
