// The served page: src/page/index.html (entry src/served.ts) bundled into dist/page, which
// `crossrank serve` hands out at /. Relative asset URLs, so a server behind a path prefix works too.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL("./src/page/", import.meta.url)),
  base: "./",
  build: { outDir: fileURLToPath(new URL("./dist/page/", import.meta.url)), emptyOutDir: true, sourcemap: true },
});
