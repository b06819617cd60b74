/**
 * Where model files come from: a local folder, or a Hugging Face hub id whose files are
 * downloaded on demand into a cache folder laid out like a local model folder.
 *
 * The cache holds plain files (`<cacheDir>/<owner>/<name>/<revision>/<path>`), so a cached hub
 * model is also a valid model folder, and an offline machine can be prepared by copying a model
 * folder there. Optional files the hub does not have are remembered with a marker under
 * `<folder>/.missing/`, so that offline runs can tell "absent on the hub" from "not downloaded".
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";

/** Options of {@link resolveModel}. */
export interface ResolveOptions {
  /** Never touch the network. Default: env CROSSRANK_OFFLINE === "1" || HF_HUB_OFFLINE === "1". */
  offline?: boolean;
  /** Download cache root; default `${defaultCacheDir()}/hub`. Files land in <cacheDir>/<owner>/<name>/<revision>/<path>. */
  cacheDir?: string;
  /** Hub revision, default "main". */
  revision?: string;
  /** Hub endpoint, default env HF_ENDPOINT or "https://huggingface.co"; URL = `${endpoint}/${id}/resolve/${revision}/${path}`. */
  endpoint?: string;
}

/** Options of {@link ModelSource.file} and {@link ModelSource.json}. */
export interface ModelFileOptions {
  /** A missing file (404 on the hub, absent from the folder) gives undefined instead of an error. */
  optional?: boolean;
  /** What the file is needed for, e.g. "the tokenizer"; only used to word the error when it is missing. */
  purpose?: string;
}

/** A model folder or hub id, resolved: where its files are and how to get them. */
export interface ModelSource {
  /** What the user passed (hub id or folder path). */
  readonly spec: string;
  /** "memory": files given in memory (`Tokenizer.fromJSON`), none to read. */
  readonly kind: "folder" | "hub" | "memory";
  /** Local folder holding the model files (for "hub": the cache folder of this id+revision; "" for "memory"). */
  readonly folder: string;
  /**
   * Absolute local path of `relPath` (e.g. "onnx/model.onnx", "1_Pooling/config.json"), downloading it
   * from the hub first when needed. Missing required file → MissingModelFileError (says which file,
   * which model, and for offline hub ids which cache folder was searched and how to fill it).
   * With {optional: true} a missing file (404 / absent in folder) gives undefined.
   */
  file(relPath: string, options?: ModelFileOptions): Promise<string | undefined>;
  /** JSON of a file (same rules as file()). */
  json<T = unknown>(relPath: string, options?: ModelFileOptions): Promise<T | undefined>;
}

/** A file a model needs is not there (not in the folder, not in the offline cache, or 404 on the hub). */
export class MissingModelFileError extends Error {
  override readonly name = "MissingModelFileError";
  /** The missing file, relative to the model folder. */
  readonly file: string;
  /** The model spec (hub id or folder) as the user gave it. */
  readonly model: string;

  constructor(message: string, file: string, model: string) {
    super(message);
    this.file = file;
    this.model = model;
  }
}

/** CROSSRANK_CACHE_DIR, else $XDG_CACHE_HOME/crossrank, else ~/.cache/crossrank. */
export function defaultCacheDir(): string {
  const own = process.env.CROSSRANK_CACHE_DIR;
  if (own !== undefined && own !== "") return resolve(own);
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== "" ? resolve(xdg) : join(homedir(), ".cache"), "crossrank");
}

const HUB_PART = /^[A-Za-z0-9._-]+$/;

async function statKind(path: string): Promise<"file" | "dir" | "other" | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? "file" : s.isDirectory() ? "dir" : "other";
  } catch {
    return undefined;
  }
}

function expandHome(spec: string): string {
  return spec === "~" ? homedir() : spec.startsWith("~/") ? join(homedir(), spec.slice(2)) : spec;
}

/** Written like a path rather than a hub id (the caller meant a folder even if it does not exist). */
function looksLikePath(spec: string): boolean {
  return (
    isAbsolute(spec) ||
    spec === "." ||
    spec === ".." ||
    spec === "~" ||
    /^(\.|\.\.|~)[\\/]/.test(spec)
  );
}

function isHubId(spec: string): boolean {
  const parts = spec.split("/");
  if (parts.length > 2) return false;
  // "." and ".." are valid characters but not valid names; the hub also rejects "--" and "..".
  return parts.every((p) => HUB_PART.test(p) && p !== "." && p !== "..") && !spec.includes("..") && !spec.includes("--");
}

/** Rejects paths that would leave the model folder. */
function checkRelPath(relPath: string): void {
  const parts = relPath.split(/[\\/]/);
  if (relPath === "" || isAbsolute(relPath) || parts.includes("..") || parts.includes("")) {
    throw new Error(`invalid model file ${JSON.stringify(relPath)}: expected a relative path inside the model folder`);
  }
}

function neededFor(purpose: string | undefined): string {
  return purpose === undefined ? "" : ` (needed for ${purpose})`;
}

function envFlag(name: string): boolean {
  return process.env[name] === "1";
}

/**
 * Resolves a model spec: a folder when it is absolute, starts with ./ ../ ~/, or names an existing
 * directory; otherwise a hub id `owner/name` or `name` ([A-Za-z0-9._-]). Anything else is an
 * Error, as is a folder spec whose folder does not exist. Nothing is downloaded here: hub files
 * are fetched by {@link ModelSource.file} when first asked for.
 */
export async function resolveModel(spec: string, options: ResolveOptions = {}): Promise<ModelSource> {
  const path = expandHome(spec);
  const kind = await statKind(path);
  if (looksLikePath(spec) || kind === "dir") {
    const folder = resolve(path);
    if (kind === undefined) throw new Error(`model folder ${folder} does not exist (from ${JSON.stringify(spec)})`);
    if (kind !== "dir") throw new Error(`model spec ${JSON.stringify(spec)} names ${folder}, which is not a folder`);
    return new FolderSource(spec, folder);
  }
  if (!isHubId(spec)) {
    throw new Error(
      `model spec ${JSON.stringify(spec)} is neither an existing folder nor a Hugging Face hub id ` +
        `("owner/name" or "name" of letters, digits, ".", "_", "-"); write folders as ./dir or an absolute path`,
    );
  }
  const revision = options.revision ?? "main";
  if (revision === "" || revision.split("/").includes("..")) {
    throw new Error(`invalid hub revision ${JSON.stringify(revision)}`);
  }
  const cacheDir = resolve(options.cacheDir ?? join(defaultCacheDir(), "hub"));
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const offline = options.offline ?? (envFlag("CROSSRANK_OFFLINE") || envFlag("HF_HUB_OFFLINE"));
  // The revision is one folder level even when it contains slashes ("refs/pr/1").
  const folder = join(cacheDir, ...spec.split("/"), encodeURIComponent(revision));
  return new HubSource(spec, folder, revision, endpoint, offline);
}

abstract class BaseSource implements ModelSource {
  abstract readonly kind: "folder" | "hub";

  constructor(
    readonly spec: string,
    readonly folder: string,
  ) {}

  abstract file(relPath: string, options?: ModelFileOptions): Promise<string | undefined>;

  async json<T = unknown>(relPath: string, options: ModelFileOptions = {}): Promise<T | undefined> {
    const path = await this.file(relPath, options);
    if (path === undefined) return undefined;
    const text = await readFile(path, "utf8");
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
}

class FolderSource extends BaseSource {
  readonly kind = "folder" as const;

  async file(relPath: string, options: ModelFileOptions = {}): Promise<string | undefined> {
    checkRelPath(relPath);
    const path = join(this.folder, relPath);
    const kind = await statKind(path);
    if (kind === "file") return path;
    if (kind === undefined && options.optional === true) return undefined;
    if (kind !== undefined) throw new Error(`${path} is not a regular file`);
    throw new MissingModelFileError(
      `model folder ${this.folder} has no ${relPath}${neededFor(options.purpose)}`,
      relPath,
      this.spec,
    );
  }
}

class HubSource extends BaseSource {
  readonly kind = "hub" as const;
  /** Downloads in flight, so concurrent callers asking for one file share one request. */
  private readonly pending = new Map<string, Promise<string | undefined>>();

  constructor(
    spec: string,
    folder: string,
    private readonly revision: string,
    private readonly endpoint: string,
    private readonly offline: boolean,
  ) {
    super(spec, folder);
  }

  private label(): string {
    return `${this.spec} (revision ${this.revision})`;
  }

  private url(relPath: string): string {
    const path = relPath.split(/[\\/]/).map(encodeURIComponent).join("/");
    return `${this.endpoint}/${this.spec}/resolve/${encodeURIComponent(this.revision)}/${path}`;
  }

  private markerPath(relPath: string): string {
    return join(this.folder, ".missing", relPath);
  }

  async file(relPath: string, options: ModelFileOptions = {}): Promise<string | undefined> {
    checkRelPath(relPath);
    const path = join(this.folder, relPath);
    if ((await statKind(path)) === "file") return path;
    const optional = options.optional === true;
    const known404 = (await statKind(this.markerPath(relPath))) === "file";
    if (optional && known404) return undefined;
    if (this.offline) {
      // Unknown optional files count as absent: a cache filled by copying a folder has no markers.
      if (optional) return undefined;
      const why = known404 ? "the hub had no such file when it was last asked" : "it is not in the offline cache";
      throw new MissingModelFileError(
        `model ${this.label()} needs ${relPath}${neededFor(options.purpose)}, but ${why}; ` +
          `searched ${path}. Run once with network access (without CROSSRANK_OFFLINE=1 / HF_HUB_OFFLINE=1) ` +
          `to download it, or copy the model's files into ${this.folder}`,
        relPath,
        this.spec,
      );
    }
    let download = this.pending.get(relPath);
    if (download === undefined) {
      download = this.download(relPath, path).finally(() => this.pending.delete(relPath));
      this.pending.set(relPath, download);
    }
    const got = await download;
    if (got !== undefined || optional) return got;
    throw new MissingModelFileError(
      `model ${this.label()} has no ${relPath}${neededFor(options.purpose)}: ${this.url(relPath)} answered 404`,
      relPath,
      this.spec,
    );
  }

  /** Fetches one file into the cache; undefined on 404 (after leaving a marker). */
  private async download(relPath: string, path: string): Promise<string | undefined> {
    const url = this.url(relPath);
    const headers: Record<string, string> = {};
    const token = process.env.HF_TOKEN;
    if (token !== undefined && token !== "") headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(url, { headers });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      throw new Error(
        `downloading ${url} failed: ${(err as Error).message}${cause?.message ? ` (${cause.message})` : ""}; ` +
          `set CROSSRANK_OFFLINE=1 to use only the cache ${this.folder}`,
        { cause: err },
      );
    }
    if (response.status === 404) {
      await response.body?.cancel();
      const marker = this.markerPath(relPath);
      await mkdir(dirname(marker), { recursive: true });
      await writeFile(marker, `${url} answered 404 on ${new Date().toISOString()}\n`);
      return undefined;
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      const hint = response.status === 401 || response.status === 403 ? " (gated or private model: set HF_TOKEN)" : "";
      throw new Error(`downloading ${url} failed: HTTP ${response.status} ${response.statusText}${hint}`);
    }
    await mkdir(dirname(path), { recursive: true });
    // Write next to the target and rename, so a crash or a concurrent process never leaves a
    // partial file under the real name.
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(tmp));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new Error(`downloading ${url} to ${path} failed: ${(err as Error).message}`, { cause: err });
    }
    await rm(this.markerPath(relPath), { force: true });
    return path;
  }
}
