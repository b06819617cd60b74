// The standalone page (no server): src/standalone/index.html (entry src/standalone.ts) bundled into
// dist/standalone with the static model's files (model/) and a sample collection
// (collection.jsonl, see scripts/sample-collection.mjs). Relative URLs: any static file server,
// under any path, serves it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
// @ts-expect-error a plain .mjs script (no types), shared with the CLI that writes the sample alone
import { sampleCollection, toJsonl } from "./scripts/sample-collection.mjs";

const modelDir = fileURLToPath(new URL("../static-model/model/", import.meta.url));
const MODEL_FILES = ["model.safetensors", "tokenizer.json", "tokenizer_config.json", "config.json"];

/**
 * Modules only Node-side code paths import, behind dynamic imports (model folders, caches,
 * onnxruntime-node, sharp): left as imports, never fetched by the page. The check below makes sure
 * none of them is reachable from the entry without a dynamic import.
 */
const NODE_ONLY = [/^node:/, /^(fs|path|os|url|crypto|module|worker_threads|child_process|stream|util|zlib|events|buffer)$/, /^onnxruntime-node$/, /^sharp$/];
const isNodeOnly = (id: string) => NODE_ONLY.some((re) => re.test(id));

/** Emits the model's files and the sample collection beside the page. */
function standaloneData(): Plugin {
  return {
    name: "crossrank-standalone-data",
    apply: "build",
    generateBundle() {
      for (const file of MODEL_FILES) this.emitFile({ type: "asset", fileName: `model/${file}`, source: readFileSync(join(modelDir, file)) });
      const { source, documents } = sampleCollection() as { source: string; documents: unknown[] };
      this.emitFile({ type: "asset", fileName: "collection.jsonl", source: toJsonl(documents) });
      this.info(`collection.jsonl: ${documents.length} documents from ${source}`);
    },
  };
}

/** Fails the build when a chunk the page loads at start (the entry and its static imports) imports a Node-only module. */
function noNodeAtStart(): Plugin {
  return {
    name: "crossrank-no-node-at-start",
    apply: "build",
    generateBundle(_options, bundle) {
      const chunks = new Map(Object.values(bundle).flatMap((c) => (c.type === "chunk" ? [[c.fileName, c] as const] : [])));
      const start = [...chunks.values()].filter((c) => c.isEntry).map((c) => c.fileName);
      const seen = new Set<string>();
      while (start.length > 0) {
        const name = start.pop()!;
        if (seen.has(name)) continue;
        seen.add(name);
        const chunk = chunks.get(name);
        if (chunk === undefined) continue;
        const bad = chunk.imports.filter(isNodeOnly);
        if (bad.length > 0) this.error(`${name} (loaded at start) imports Node-only ${bad.join(", ")}: put it behind a dynamic import or a "browser" export condition`);
        start.push(...chunk.imports);
      }
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL("./src/standalone/", import.meta.url)),
  base: "./",
  // The "browser" export conditions of crossrank's packages pick their browser entries.
  resolve: {
    conditions: ["browser", "import", "module", "default"],
    // transformers.js runs the tokenizer only: its onnxruntime-web (27 MB of wasm) is left out.
    alias: { "onnxruntime-web/webgpu": fileURLToPath(new URL("./src/standalone/no-onnxruntime.ts", import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL("./dist/standalone/", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    manifest: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: { external: isNodeOnly },
  },
  plugins: [standaloneData(), noNodeAtStart()],
});
