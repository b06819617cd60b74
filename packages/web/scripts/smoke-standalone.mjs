/**
 * Smoke test of the built standalone page in a real headless Chromium (no server but a static one):
 * loads dist/standalone, waits for the in-browser backend, searches with every offered ranker (a
 * German and a Chinese query against the English sample) and explains the first hit with uniform
 * and idf marginals; prints what it got and the page's console, and fails on a console error.
 *
 * Usage: node scripts/smoke-standalone.mjs [dist/standalone] [collection.jsonl URL, relative to the page]
 */
import { launchChromium } from "./chromium.mjs";
import { serveStatic } from "./serve-static.mjs";

const folder = process.argv[2] ?? "dist/standalone";
const collection = process.argv[3];
const requests = [];
const { server, url } = await serveStatic(folder, 0, (path, status, bytes) => requests.push({ path, status, bytes }));
const browser = await launchChromium();
let failed = false;
try {
  await browser.goto(`${url}index.html${collection === undefined ? "" : `?collection=${encodeURIComponent(collection)}`}`);
  const started = Date.now();
  await browser.waitFor("globalThis.crossrankBackend !== undefined", 180_000);
  console.log(`backend ready in ${((Date.now() - started) / 1000).toFixed(1)} s:`, JSON.stringify(await browser.evaluate("crossrankBackend.info()")));
  console.log("OT backend:", await browser.evaluate("crossrankBackend.otBackend"));
  const searches = [
    { query: "Echtzeit-Strategiespiel", ranker: "bm25", queryLang: "de" },
    { query: "Echtzeit-Strategiespiel über antike Kriegsführung", ranker: "bi-encoder", queryLang: "de" },
    { query: "Echtzeit-Strategiespiel über antike Kriegsführung", ranker: "hybrid", queryLang: "de" },
    { query: "文本编辑器", ranker: "rerank", params: { first: "bi-encoder", second: "lm-emd", depth: 20 }, queryLang: "zh" },
    { query: "Echtzeit-Strategiespiel über antike Kriegsführung", ranker: "hybrid", params: { second: "lm-emd" }, queryLang: "de" },
    // ot's own choice: probes its backends (onnx is unavailable in a browser), picks one.
    { query: "文本编辑器", ranker: "rerank", params: { first: "bi-encoder", second: "lm-emd", otBackend: "auto" }, queryLang: "zh" },
  ];
  let first;
  for (const s of searches) {
    const r = await browser.evaluate(`crossrankBackend.search(${JSON.stringify({ ...s, k: 3 })})`);
    if (first === undefined && r.hits.length > 0) first = { query: s.query, id: r.hits[0].id };
    console.log(`${s.ranker} ${JSON.stringify(s.params ?? {})} "${s.query}": ${r.took_ms} ms ->`, r.hits.map((h) => `${h.id} (${h.score.toFixed(3)})`).join(", "));
  }
  // The page's OT backend (webgl / webgpu where the browser has them) re-ranks as plain JavaScript does.
  const otBackend = await browser.evaluate("crossrankBackend.otBackend");
  if (otBackend !== "js") {
    const ask = (b) => browser.evaluate(`crossrankBackend.search(${JSON.stringify({ query: "文本编辑器", ranker: "rerank", params: { first: "bi-encoder", second: "lm-emd", depth: 20, firstWeight: 0, lengthGate: 0, otBackend: b }, k: 10, queryLang: "zh" })})`);
    const [own, js] = [await ask(otBackend), await ask("js")];
    const worst = Math.max(...own.hits.map((h, i) => (h.id === js.hits[i]?.id ? Math.abs(h.score - js.hits[i].score) : Infinity)));
    console.log(`rerank lm-emd on ${otBackend} against js: largest score difference ${worst.toExponential(2)}`, own.hits.slice(0, 3).map((h) => h.score), js.hits.slice(0, 3).map((h) => h.score));
    if (!(worst < 1e-4)) throw new Error(`${otBackend} re-ranks differently from js (${worst})`);
  }
  for (const marginals of ["uniform", "idf"]) {
    const e = await browser.evaluate(`crossrankBackend.explain(${JSON.stringify({ query: first.query, id: first.id, marginals })})`);
    const mass = e.plan.flat().reduce((a, b) => a + b, 0);
    console.log(`explain ${marginals}: ${e.queryTokens.length}×${e.docTokens.length}, distance ${e.distance.toFixed(4)}, plan mass ${mass.toFixed(4)}, query tokens ${e.queryTokens.join(" ")}`);
  }
} catch (error) {
  failed = true;
  console.error("FAILED:", error.message);
} finally {
  const errors = browser.console.filter((m) => m.type === "error" || m.type === "exception");
  for (const m of browser.console) console.log(`console ${m.type}: ${m.text}`);
  if (errors.length > 0) failed = true;
  console.log("requests:", requests.map((r) => `${r.path} ${r.status} ${r.bytes}`).join("; "));
  await browser.close();
  server.close();
}
process.exit(failed ? 1 : 0);
