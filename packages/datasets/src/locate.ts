/**
 * Finding a dataset on disk, so that loaders and the bench need no hard-coded paths.
 *
 * Lookup order for dataset `name` (and, when given, a `file` inside it):
 *  1. `$CROSSRANK_DATA/<name>`;
 *  2. `<repo>/../shared/datasets/<name>`, where `<repo>` is the nearest folder above the working
 *     directory holding `pnpm-workspace.yaml`, then `../shared/datasets/<name>` from the working
 *     directory itself;
 *  3. the download cache, `<repo>/datasets/.cache/<name>` (git-ignored; outside a checkout
 *     `$XDG_CACHE_HOME/crossrank/<name>` or `~/.cache/crossrank/<name>`);
 *  4. a download into that cache, when the dataset's manifest gives a URL for every file needed and
 *     the network answers; each file's sha256 and size are checked against the manifest.
 * A folder counts as found when it exists; a file, when it exists in that folder.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { checkDatasetName, loadManifest, type DatasetFile, type DatasetManifest } from "./manifest.js";

/** Options of `resolveDatasetPath`. */
export interface ResolveDatasetOptions {
  /** Folder holding `<name>.json` manifests; defaults to the package's own (see `loadManifest`). */
  manifestsDir?: string;
  /** Whether a missing dataset may be downloaded (when its manifest has URLs); default true. */
  download?: boolean;
  /** Download cache folder (datasets go in `<cacheDir>/<name>`); default as in the lookup order. */
  cacheDir?: string;
}

async function kind(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? "file" : s.isDirectory() ? "dir" : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The monorepo root: the nearest folder at or above `from` (default: the working directory) that
 * holds `pnpm-workspace.yaml`; undefined outside a checkout.
 */
export async function findRepoRoot(from: string = process.cwd()): Promise<string | undefined> {
  let dir = resolve(from);
  for (;;) {
    if ((await kind(join(dir, "pnpm-workspace.yaml"))) === "file") return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The download cache folder used when `cacheDir` is not given. */
export async function defaultCacheDir(): Promise<string> {
  const repo = await findRepoRoot();
  if (repo !== undefined) return join(repo, "datasets", ".cache");
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".cache"), "crossrank");
}

function checkRelativeFile(file: string): void {
  const parts = file.split(/[\\/]/);
  if (file === "" || file.startsWith("/") || parts.includes("..")) {
    throw new Error(`invalid dataset file ${JSON.stringify(file)}: expected a relative path inside the dataset folder`);
  }
}

/** A place to look, with what to say about it if nothing is there. */
interface Candidate {
  dir: string;
  label: string;
}

async function candidates(name: string, cacheDir: string): Promise<{ list: Candidate[]; notes: string[] }> {
  const list: Candidate[] = [];
  const notes: string[] = [];
  const env = process.env.CROSSRANK_DATA;
  if (env !== undefined && env !== "") list.push({ dir: join(resolve(env), name), label: "$CROSSRANK_DATA" });
  else notes.push(`$CROSSRANK_DATA/${name} (CROSSRANK_DATA is not set)`);
  const repo = await findRepoRoot();
  if (repo !== undefined) list.push({ dir: join(dirname(repo), "shared", "datasets", name), label: "shared data next to the repository" });
  else notes.push(`<repo>/../shared/datasets/${name} (no pnpm-workspace.yaml above ${process.cwd()})`);
  list.push({ dir: resolve("..", "shared", "datasets", name), label: "shared data next to the working directory" });
  list.push({ dir: join(cacheDir, name), label: "download cache" });
  // The same folder can come up twice (e.g. when the working directory is the repository root).
  const seen = new Set<string>();
  return { list: list.filter((c) => !seen.has(c.dir) && seen.add(c.dir)), notes };
}

/**
 * The folder of dataset `name`, or the path of `file` inside it, found in the lookup order above
 * (downloading it when it is found nowhere and its manifest has URLs). Throws an Error listing every
 * place looked in and how to fix it (set CROSSRANK_DATA, or download from the manifest's URLs).
 */
export async function resolveDatasetPath(name: string, file?: string, options: ResolveDatasetOptions = {}): Promise<string> {
  checkDatasetName(name);
  if (file !== undefined) checkRelativeFile(file);
  const cacheDir = options.cacheDir ?? (await defaultCacheDir());
  const { list, notes } = await candidates(name, cacheDir);
  const looked: string[] = [...notes];
  for (const c of list) {
    const path = file === undefined ? c.dir : join(c.dir, file);
    const found = await kind(path);
    if (found === (file === undefined ? "dir" : "file")) return path;
    looked.push(`${path} (${c.label}: not found)`);
  }

  let manifest: DatasetManifest | undefined;
  let manifestProblem: string | undefined;
  try {
    manifest = await loadManifest(name, options.manifestsDir);
  } catch (err) {
    manifestProblem = (err as Error).message;
  }
  const wanted = manifest === undefined ? [] : file === undefined ? manifest.files : manifest.files.filter((f) => f.path === file);
  const target = join(cacheDir, name);
  if (manifest !== undefined && wanted.length === 0) {
    manifestProblem = `the manifest of "${name}" lists no file ${JSON.stringify(file)}`;
  }
  const downloadable = wanted.length > 0 && wanted.every((f) => f.url !== null);
  if (downloadable && options.download !== false) {
    try {
      for (const f of wanted) await downloadFile(f, join(target, f.path));
      return file === undefined ? target : join(target, file);
    } catch (err) {
      looked.push(`download into ${target} (failed: ${(err as Error).message})`);
    }
  } else if (downloadable) {
    looked.push(`download into ${target} (not tried: download is off)`);
  } else if (manifestProblem !== undefined) {
    looked.push(`download (not possible: ${manifestProblem})`);
  } else {
    looked.push(`download (not possible: the manifest of "${name}" has no URL for ${file ?? "every file"})`);
  }

  const what = file === undefined ? `dataset "${name}"` : `file "${file}" of dataset "${name}"`;
  const fixes = [`set CROSSRANK_DATA to a folder that holds ${name}/${file ?? "<its files>"}`];
  if (downloadable) {
    fixes.push(`or download ${wanted.map((f) => f.url).join(", ")} into ${target}/`);
  } else if (manifest !== undefined) {
    fixes.push(`or put the files in ${target}/ (source: ${manifest.source}; ${manifest.description})`);
  }
  throw new Error(`${what} not found. Looked in:\n${looked.map((l) => `  - ${l}`).join("\n")}\nTo fix: ${fixes.join("\n  ")}`);
}

/** Downloads `file.url` to `dest` (through a temporary file), checking its size and sha256. */
async function downloadFile(file: DatasetFile, dest: string): Promise<void> {
  if ((await kind(dest)) === "file") return;
  if (file.url === null) throw new Error(`no URL for ${file.path}`);
  await mkdir(dirname(dest), { recursive: true });
  const res = await fetch(file.url, { signal: AbortSignal.timeout(120_000) });
  if (!res.ok || res.body === null) throw new Error(`${file.url}: HTTP ${res.status} ${res.statusText}`);
  const part = `${dest}.part-${process.pid}`;
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(part),
    );
    const sha256 = hash.digest("hex");
    if (bytes !== file.bytes || sha256 !== file.sha256) {
      throw new Error(
        `${file.url}: got ${bytes} bytes with sha256 ${sha256}, the manifest says ${file.bytes} bytes with sha256 ${file.sha256}`,
      );
    }
    await rename(part, dest);
  } finally {
    await rm(part, { force: true });
  }
}
