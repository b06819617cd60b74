/**
 * The node side of @crossrank/web: where the built pages are, for `crossrank serve` to hand out.
 * The pages themselves (src/page, src/served.ts, src/standalone.ts) are bundled for the browser
 * by vite into dist/page and dist/standalone; see README.md.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The served page's folder (index.html and its assets), built by `pnpm --filter @crossrank/web build`. */
export const SERVED_PAGE_DIR = fileURLToPath(new URL("./page/", import.meta.url));

/** The page's folder, or an Error saying how to build it when the build is missing. */
export function servedPageDir(): string {
  if (!existsSync(`${SERVED_PAGE_DIR}index.html`)) throw new Error(`the explanation page is not built (${SERVED_PAGE_DIR}index.html is missing): run pnpm --filter @crossrank/web build`);
  return SERVED_PAGE_DIR;
}
