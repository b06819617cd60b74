/**
 * The memo's key of a list of texts (Node): sha256 of the texts in order, each prefixed by its
 * length (so boundaries count). Browser bundles get ./texts-hash-browser.ts instead (the package's
 * `#texts-hash` import under the "browser" condition), which computes the same digest.
 */
import { createHash } from "node:crypto";

/** sha256 (hex) of `${t.length}:${t}` for every text in order. */
export function textsHash(texts: readonly string[]): string {
  const hash = createHash("sha256");
  for (const t of texts) hash.update(`${t.length}:`).update(t);
  return hash.digest("hex");
}
