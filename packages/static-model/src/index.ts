/**
 * crossrank's default static multilingual embedding model, shipped as files in this package's
 * `model/` folder (model2vec layout: config.json, tokenizer.json, model.safetensors with int8
 * `embeddings` and per-row float32 `weights`). `@crossrank/encode` resolves the name
 * {@link STATIC_MODEL_NAME} to {@link staticModelDir}, and every command or ranker that needs an
 * encoder and is given none uses it.
 *
 * This package holds data and the checks of that data only (no dependencies), so that the lowest
 * layers can depend on it. The model is rebuilt deliberately with `crossrank static-model build`,
 * which trains, quantizes, rewrites `model/` and `model/manifest.json` and reports the difference;
 * nothing in install, build or bench retrains it.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { STATIC_MODEL_NAME } from "./name.js";

export { STATIC_MODEL_NAME } from "./name.js";

/** The manifest's file name inside the model folder. */
export const MANIFEST_FILE = "manifest.json";

/** One shipped file: its size and content hash. */
export interface ManifestFile {
  bytes: number;
  sha256: string;
}

/** `model/manifest.json`: what was shipped and how it was made. */
export interface StaticModelManifest {
  name: string;
  /** Every file of the model folder except the manifest, by name. */
  files: Record<string, ManifestFile>;
  /** How the model was built (recipe, command, sources, quantization), as the build command recorded it. */
  build: Record<string, unknown>;
}

/** The folder holding the shipped model (an encoder spec: a model2vec folder). */
export function staticModelDir(): string {
  return fileURLToPath(new URL("../model/", import.meta.url)).replace(/\/$/, "");
}

/** SHA-256 (hex) of a file's bytes. */
export async function fileSha256(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

/** Reads `manifest.json` of a model folder (default: the shipped one). */
export async function readStaticModelManifest(dir: string = staticModelDir()): Promise<StaticModelManifest> {
  const path = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new Error(`${path}: cannot read the model manifest: ${(error as Error).message}`);
  }
  const m = raw as Partial<StaticModelManifest>;
  if (typeof m.name !== "string" || m.files === null || typeof m.files !== "object" || m.build === null || typeof m.build !== "object") {
    throw new Error(`${path}: expected {"name": string, "files": {…}, "build": {…}}`);
  }
  return m as StaticModelManifest;
}

/**
 * Checks a model folder against its manifest: every listed file present with the recorded size
 * and SHA-256, and no unlisted file. Returns one line per problem (empty: the folder is intact).
 */
export async function verifyStaticModel(dir: string = staticModelDir()): Promise<string[]> {
  const manifest = await readStaticModelManifest(dir);
  const problems: string[] = [];
  for (const [name, expected] of Object.entries(manifest.files)) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) {
      problems.push(`${path}: missing (the manifest lists it)`);
      continue;
    }
    if (info.size !== expected.bytes) problems.push(`${path}: ${info.size} bytes, the manifest records ${expected.bytes}`);
    const sha = await fileSha256(path);
    if (sha !== expected.sha256) problems.push(`${path}: sha256 ${sha}, the manifest records ${expected.sha256}`);
  }
  for (const name of await readdir(dir)) {
    if (name !== MANIFEST_FILE && !Object.hasOwn(manifest.files, name)) problems.push(`${join(dir, name)}: not in the manifest`);
  }
  return problems;
}

/**
 * Writes `manifest.json` for the files now in `dir` (every file but the manifest), with `build`
 * as the record of how they were made. Returns the manifest written.
 */
export async function writeStaticModelManifest(dir: string, build: Record<string, unknown>, name: string = STATIC_MODEL_NAME): Promise<StaticModelManifest> {
  const files: Record<string, ManifestFile> = {};
  for (const file of (await readdir(dir)).sort()) {
    if (file === MANIFEST_FILE) continue;
    const path = join(dir, file);
    const info = await stat(path);
    if (!info.isFile()) throw new Error(`${path}: a model folder holds files only`);
    files[file] = { bytes: info.size, sha256: await fileSha256(path) };
  }
  const manifest: StaticModelManifest = { name, files, build };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
