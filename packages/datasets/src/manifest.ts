/**
 * Dataset manifests: one JSON file per dataset (`datasets/<name>.json` at the repository root,
 * copied into `dist/manifests/` at build time) saying what the dataset is, where it comes from,
 * its license, and each file's download URL (or null), sha256 and size. They let
 * `resolveDatasetPath` download and verify a missing dataset, and the CLI say where to get one.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isRecord, typeName } from "./io.js";

/** One file of a dataset, relative to the dataset's folder. */
export interface DatasetFile {
  /** Path inside the dataset folder, `/`-separated (e.g. `xquad.de.json`). */
  path: string;
  /** Where to download it; null when it has no stable public URL (the manifest's `description` says how to get it). */
  url: string | null;
  /** Lower-case hex sha256 of the file's bytes, checked after a download. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
}

/** What `datasets/<name>.json` holds. */
export interface DatasetManifest {
  name: string;
  description: string;
  /** Where the data comes from (a repository, an archive), in words or as a URL. */
  source: string;
  license: string;
  citation?: string;
  files: DatasetFile[];
}

/**
 * Where manifests are looked for when no folder is given: `manifests/` next to this module (the
 * published package's `dist/manifests/`), then the repository's top-level `datasets/` (when
 * running from a checkout, e.g. tests over `src/`).
 */
export function defaultManifestDirs(): string[] {
  return [
    fileURLToPath(new URL("./manifests/", import.meta.url)),
    fileURLToPath(new URL("../../../datasets/", import.meta.url)),
  ];
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Dataset names are plain file names: letters, digits, `.`, `_`, `-` (no path separators). */
export function checkDatasetName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new Error(`invalid dataset name ${JSON.stringify(name)}: expected letters, digits, ".", "_" or "-"`);
  }
}

/**
 * Reads and validates the manifest of dataset `name` from `manifestsDir` (or the default folders).
 * Throws when there is none, naming the folders looked in, or when it is malformed, naming the file
 * and the field.
 */
export async function loadManifest(name: string, manifestsDir?: string): Promise<DatasetManifest> {
  checkDatasetName(name);
  const dirs = manifestsDir === undefined ? defaultManifestDirs() : [manifestsDir];
  for (const dir of dirs) {
    const path = join(dir, `${name}.json`);
    if (await isFile(path)) return parseManifest(await readFile(path, "utf8"), path);
  }
  throw new Error(`no manifest for dataset "${name}": looked for ${name}.json in ${dirs.join(", ")}`);
}

/** Names of the datasets that have a manifest in `manifestsDir` (or the first default folder that exists). */
export async function listDatasets(manifestsDir?: string): Promise<string[]> {
  const dirs = manifestsDir === undefined ? defaultManifestDirs() : [manifestsDir];
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      continue;
    }
    return entries
      .filter((e) => e.endsWith(".json"))
      .map((e) => e.slice(0, -".json".length))
      .sort();
  }
  return [];
}

/** Parses and validates a manifest's JSON text; `source` names it in errors. */
export function parseManifest(text: string, source: string): DatasetManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: invalid JSON: ${(err as Error).message}`);
  }
  const fail = (where: string, what: string): never => {
    throw new Error(`${source}: ${where}${what}`);
  };
  if (!isRecord(value)) return fail("", `expected an object, got ${typeName(value)}`);
  for (const key of ["name", "description", "source", "license"] as const) {
    if (typeof value[key] !== "string") fail("", `expected "${key}" to be a string, got ${typeName(value[key])}`);
  }
  if (value.citation !== undefined && typeof value.citation !== "string") {
    fail("", `expected "citation" to be a string, got ${typeName(value.citation)}`);
  }
  if (!Array.isArray(value.files)) return fail("", `expected "files" to be an array, got ${typeName(value.files)}`);
  const files: DatasetFile[] = value.files.map((f: unknown, i: number): DatasetFile => {
    const at = `files[${i}]: `;
    if (!isRecord(f)) return fail(at, `expected an object, got ${typeName(f)}`);
    if (typeof f.path !== "string" || f.path === "" || f.path.split("/").includes("..")) {
      fail(at, `expected "path" to be a relative path, got ${JSON.stringify(f.path)}`);
    }
    if (f.url !== null && typeof f.url !== "string") fail(at, `expected "url" to be a string or null, got ${typeName(f.url)}`);
    if (typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256)) {
      fail(at, `expected "sha256" to be 64 lower-case hex digits, got ${JSON.stringify(f.sha256)}`);
    }
    if (typeof f.bytes !== "number" || !Number.isSafeInteger(f.bytes) || f.bytes < 0) {
      fail(at, `expected "bytes" to be a non-negative integer, got ${JSON.stringify(f.bytes)}`);
    }
    return { path: f.path as string, url: f.url as string | null, sha256: f.sha256 as string, bytes: f.bytes as number };
  });
  const manifest: DatasetManifest = {
    name: value.name as string,
    description: value.description as string,
    source: value.source as string,
    license: value.license as string,
    files,
  };
  if (typeof value.citation === "string") manifest.citation = value.citation;
  return manifest;
}
