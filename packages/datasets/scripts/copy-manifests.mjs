// Copies the repository's dataset manifests (../../datasets/*.json) into dist/manifests/, so that
// the published package can find them next to its own modules (see src/manifest.ts).
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const from = fileURLToPath(new URL("../../../datasets/", import.meta.url));
const to = fileURLToPath(new URL("../dist/manifests/", import.meta.url));
const names = (await readdir(from)).filter((n) => n.endsWith(".json")).sort();
if (names.length === 0) throw new Error(`copy-manifests: no *.json in ${from}`);
await rm(to, { recursive: true, force: true });
await mkdir(to, { recursive: true });
for (const name of names) await copyFile(from + name, to + name);
console.log(`copy-manifests: ${names.join(", ")} -> dist/manifests/`);
