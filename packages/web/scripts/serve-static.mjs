/**
 * A static file server for a built page (dist/standalone or dist/page), with no dependency: what a
 * browser test or a size measurement loads the page from. Logs every request as a JSON line
 * {"path", "status", "bytes"} to stderr when `log` is set.
 *
 * CLI: node scripts/serve-static.mjs <folder> [port] — prints the URL, serves until stopped.
 */
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".jsonl": "application/x-ndjson; charset=utf-8",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".safetensors": "application/octet-stream",
};

/** Serves `folder` on `port` (0: any free one); resolves to {server, url}. `onRequest(path, status, bytes)` sees every request. */
export function serveStatic(folder, port = 0, onRequest = undefined) {
  const root = resolve(folder);
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    let size;
    try {
      if (!file.startsWith(root)) throw new Error("outside");
      const info = statSync(file);
      if (!info.isFile()) throw new Error("not a file");
      size = info.size;
    } catch {
      response.writeHead(404, { "content-type": "text/plain" }).end(`${path}: not found`);
      onRequest?.(path, 404, 0);
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": size });
    createReadStream(file).pipe(response);
    onRequest?.(path, 200, size);
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done({ server, url: `http://127.0.0.1:${server.address().port}/` })));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [folder = "dist/standalone", port = "8080"] = process.argv.slice(2);
  const { url } = await serveStatic(folder, Number(port), (path, status, bytes) => console.error(JSON.stringify({ path, status, bytes })));
  console.log(`serving ${folder} at ${url}`);
}
