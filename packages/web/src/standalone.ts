/**
 * The entry of the standalone build (dist/standalone, no server): fetches the static model's files
 * and the sample collection shipped beside the page (`model/…`, `collection.jsonl`; another
 * collection with `?collection=<url>`), builds the in-browser backend (./browser-backend.ts) and
 * mounts the page on it. A JSONL file chosen or dropped on the page replaces the collection (the
 * model is kept).
 */
import type { Document } from "@crossrank/datasets";
import { type BrowserModel, createBrowserBackend, type LoadProgress } from "./browser-backend.js";
import { parseCollection } from "./collection.js";
import { mountApp } from "./page/app.js";
import "./page/style.css";

const MODEL_FILES = { safetensors: "model/model.safetensors", tokenizer: "model/tokenizer.json", tokenizerConfig: "model/tokenizer_config.json", config: "model/config.json" } as const;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`index.html has no #${id} element`);
  return found as T;
}

const root = element<HTMLElement>("app");
const status = element<HTMLElement>("collection-status");
const bar = element<HTMLProgressElement>("loading-progress");
const picker = element<HTMLInputElement>("collection-file");

function show(message: string, fraction?: number): void {
  status.textContent = message;
  bar.hidden = fraction === undefined;
  if (fraction !== undefined) bar.value = fraction;
}

/** The body of `url`, reporting the bytes received against Content-Length when the server sends it. */
async function fetchBytes(url: string, what: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || response.body === null) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get("content-length") ?? 0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    show(`Loading ${what}: ${(received / 1e6).toFixed(1)} MB${total > 0 ? ` of ${(total / 1e6).toFixed(1)} MB` : ""}`, total > 0 ? received / total : undefined);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return bytes;
}

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return (await response.json()) as Record<string, unknown>;
}

async function loadModel(): Promise<BrowserModel> {
  const [tokenizer, tokenizerConfig, config] = await Promise.all([fetchJson(MODEL_FILES.tokenizer), fetchJson(MODEL_FILES.tokenizerConfig), fetchJson(MODEL_FILES.config)]);
  const safetensors = await fetchBytes(MODEL_FILES.safetensors, "the model");
  return { safetensors, tokenizer, tokenizerConfig, config };
}

const STAGES: Record<LoadProgress["stage"], string> = {
  model: "Reading the model",
  bm25: "Indexing for BM25",
  vectors: "Encoding the documents",
  frequencies: "Counting token frequencies",
  ready: "Ready",
};

let model: Promise<BrowserModel> | undefined;

/** Builds the backend over `documents` and mounts the page on it (replacing a page mounted before). */
async function start(documents: Document[], name: string): Promise<void> {
  model ??= loadModel();
  const backend = await createBrowserBackend({
    model: await model,
    documents,
    onProgress: (p) => show(`${STAGES[p.stage]}${p.total > 1 ? ` (${p.done} of ${p.total})` : ""}…`, p.total > 0 ? p.done / p.total : undefined),
  });
  // The backend the page runs on, for end-to-end tests and the developer console.
  (globalThis as { crossrankBackend?: unknown }).crossrankBackend = backend;
  root.replaceChildren();
  show(`${documents.length} documents from ${name}; the model, BM25 and Sinkhorn (${backend.otBackend === "webgpu" ? "gpu.js on WebGPU" : backend.otBackend === "webgl" ? "gpu.js on WebGL" : "JavaScript"}) run in this page.`);
  await mountApp(root, backend);
}

async function useFile(file: File): Promise<void> {
  try {
    show(`Reading ${file.name}…`);
    await start(parseCollection(await file.text(), file.name), file.name);
  } catch (error) {
    show(`${file.name}: ${(error as Error).message}`);
  }
}

picker.addEventListener("change", () => {
  const file = picker.files?.[0];
  if (file !== undefined) void useFile(file);
});
document.addEventListener("dragover", (event) => event.preventDefault());
document.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer?.files[0];
  if (file !== undefined) void useFile(file);
});

const collectionUrl = new URLSearchParams(location.search).get("collection") ?? "collection.jsonl";
try {
  show(`Loading ${collectionUrl}…`);
  const response = await fetch(collectionUrl);
  if (!response.ok) throw new Error(`${collectionUrl}: ${response.status} ${response.statusText}`);
  await start(parseCollection(await response.text(), collectionUrl), collectionUrl === "collection.jsonl" ? "the sample collection" : collectionUrl);
} catch (error) {
  show(`Could not start: ${(error as Error).message}`);
  throw error;
}
