import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defaultCacheDir, MissingModelFileError, resolveModel, Tokenizer } from "../src/index.js";
import { tempDir, writeBertTokenizer } from "./fixtures.js";

let root: string;
let fixture: string;

beforeAll(async () => {
  root = await tempDir();
  fixture = await writeBertTokenizer(join(root, "fixture"));
  await mkdir(join(fixture, "onnx"));
  await writeFile(join(fixture, "onnx", "model.onnx"), "not really a model");
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A stand-in for the hub: serves the fixture folder at /acme/tiny-bert/resolve/main/<file>. */
class FakeHub {
  readonly requests: string[] = [];
  /** Paths answered with this status instead of the file. */
  readonly fail = new Map<string, number>();
  private server: Server | undefined;
  endpoint = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = decodeURIComponent(req.url ?? "");
      this.requests.push(url);
      const status = this.fail.get(url);
      if (status !== undefined) {
        res.writeHead(status).end("nope");
        return;
      }
      const prefix = "/acme/tiny-bert/resolve/main/";
      if (!url.startsWith(prefix)) {
        res.writeHead(404).end("Entry not found");
        return;
      }
      readFile(join(fixture, url.slice(prefix.length))).then(
        (body) => res.writeHead(200, { "content-type": "application/octet-stream" }).end(body),
        () => res.writeHead(404).end("Entry not found"),
      );
    });
    await new Promise<void>((done) => this.server!.listen(0, "127.0.0.1", done));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (this.server === undefined) return;
    const server = this.server;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
}

let hub: FakeHub;

afterEach(async () => {
  await hub?.stop();
});

async function startHub(): Promise<FakeHub> {
  hub = new FakeHub();
  await hub.start();
  return hub;
}

/** Runs `fn` with environment variables set (undefined = unset), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T> | T): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe("resolveModel: folders and hub ids", () => {
  it("treats absolute, ./relative and existing folders as folders", async () => {
    const abs = await resolveModel(fixture);
    expect(abs.kind).toBe("folder");
    expect(abs.folder).toBe(fixture);
    expect(abs.spec).toBe(fixture);
    const rel = relative(process.cwd(), fixture);
    const dotted = await resolveModel(rel.startsWith("..") ? rel : `./${rel}`);
    expect(dotted.folder).toBe(fixture);
    expect(await dotted.file("onnx/model.onnx")).toBe(join(fixture, "onnx", "model.onnx"));
    expect(await dotted.file("1_Pooling/config.json", { optional: true })).toBeUndefined();
    expect(await dotted.json<{ max_position_embeddings: number }>("config.json")).toMatchObject({ max_position_embeddings: 64 });
  });

  it("says which file is missing from a folder and what it is for", async () => {
    const source = await resolveModel(fixture);
    const err = await source.file("onnx/model_quantized.onnx", { purpose: "dtype q8" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingModelFileError);
    expect((err as MissingModelFileError).model).toBe(fixture);
    expect((err as Error).message).toBe(`model folder ${fixture} has no onnx/model_quantized.onnx (needed for dtype q8)`);
    await expect(source.file("../outside.json")).rejects.toThrow(/invalid model file/);
    await expect(source.file("onnx")).rejects.toThrow(/not a regular file/);
  });

  it("rejects missing folders, files given as folders and malformed ids", async () => {
    await expect(resolveModel("./definitely/not/here")).rejects.toThrow(/model folder .*definitely\/not\/here does not exist/);
    await expect(resolveModel(join(fixture, "config.json"))).rejects.toThrow(/which is not a folder/);
    await expect(resolveModel("~/crossrank-no-such-model-folder")).rejects.toThrow(
      `model folder ${join(homedir(), "crossrank-no-such-model-folder")} does not exist`,
    );
    for (const bad of ["a/b/c", "bad id", "owner/na me", "owner//name", "", "owner/..", "a--b"]) {
      await expect(resolveModel(bad)).rejects.toThrow(/neither an existing folder nor a Hugging Face hub id/);
    }
    await expect(resolveModel("acme/x", { revision: "../main" })).rejects.toThrow(/invalid hub revision/);
  });

  it("places hub ids under <cacheDir>/<owner>/<name>/<revision>", async () => {
    const cacheDir = join(root, "layout-cache");
    const a = await resolveModel("sentence-transformers/LaBSE", { cacheDir });
    expect(a.kind).toBe("hub");
    expect(a.folder).toBe(join(cacheDir, "sentence-transformers", "LaBSE", "main"));
    const b = await resolveModel("bert-base-multilingual-cased", { cacheDir, revision: "v1.0" });
    expect(b.folder).toBe(join(cacheDir, "bert-base-multilingual-cased", "v1.0"));
    const c = await withEnv({ CROSSRANK_CACHE_DIR: join(root, "env-cache") }, () => resolveModel("acme/x"));
    expect(c.folder).toBe(join(root, "env-cache", "hub", "acme", "x", "main"));
  });

  it("finds the default cache folder from the environment", async () => {
    await withEnv({ CROSSRANK_CACHE_DIR: "/srv/cache", XDG_CACHE_HOME: "/xdg" }, () => {
      expect(defaultCacheDir()).toBe("/srv/cache");
    });
    await withEnv({ CROSSRANK_CACHE_DIR: undefined, XDG_CACHE_HOME: "/xdg" }, () => {
      expect(defaultCacheDir()).toBe("/xdg/crossrank");
    });
    await withEnv({ CROSSRANK_CACHE_DIR: "", XDG_CACHE_HOME: "" }, () => {
      expect(defaultCacheDir()).toBe(join(homedir(), ".cache", "crossrank"));
    });
  });
});

describe("hub downloads", () => {
  it("downloads a tokenizer into the cache, then loads it offline without the server", async () => {
    const server = await startHub();
    const cacheDir = join(root, "hub-cache");
    const online = await Tokenizer.load("acme/tiny-bert", { endpoint: server.endpoint, cacheDir, offline: false });
    const folder = join(cacheDir, "acme", "tiny-bert", "main");
    expect(online.source.kind).toBe("hub");
    expect(online.source.folder).toBe(folder);
    expect(online.modelMaxLength).toBe(64); // config.json came down too
    expect(online.tokenize("the lazy dog").ids).toEqual([2, 5, 12, 13, 3]);
    expect(server.requests.sort()).toEqual([
      "/acme/tiny-bert/resolve/main/config.json",
      "/acme/tiny-bert/resolve/main/special_tokens_map.json",
      "/acme/tiny-bert/resolve/main/tokenizer.json",
      "/acme/tiny-bert/resolve/main/tokenizer_config.json",
    ]);
    expect(await readFile(join(folder, "tokenizer.json"), "utf8")).toBe(await readFile(join(fixture, "tokenizer.json"), "utf8"));
    // No temporary files left behind; the optional 404 is remembered.
    expect((await readdir(folder)).sort()).toEqual([".missing", "config.json", "tokenizer.json", "tokenizer_config.json"]);
    expect((await stat(join(folder, ".missing", "special_tokens_map.json"))).isFile()).toBe(true);

    // Already cached files are not fetched again.
    const again = await resolveModel("acme/tiny-bert", { endpoint: server.endpoint, cacheDir, offline: false });
    await again.file("tokenizer.json");
    expect(await again.file("special_tokens_map.json", { optional: true })).toBeUndefined();
    expect(server.requests.length).toBe(4);

    await server.stop();
    const offline = await Tokenizer.load("acme/tiny-bert", { endpoint: server.endpoint, cacheDir, offline: true });
    expect(offline.tokenize("the lazy dog").ids).toEqual([2, 5, 12, 13, 3]);
    const viaEnv = await withEnv({ CROSSRANK_OFFLINE: "1" }, () => Tokenizer.load("acme/tiny-bert", { endpoint: server.endpoint, cacheDir }));
    expect(viaEnv.vocabSize).toBe(60);
  });

  it("offline with an empty cache names the file, the cache folder and how to fill it", async () => {
    const cacheDir = join(root, "empty-cache");
    // An endpoint nothing listens on: a request would fail, so passing shows none is made.
    const options = { cacheDir, offline: true, endpoint: "http://127.0.0.1:9" };
    const err = await Tokenizer.load("acme/tiny-bert", options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingModelFileError);
    const message = (err as Error).message;
    expect((err as MissingModelFileError).file).toBe("tokenizer.json");
    expect(message).toContain("model acme/tiny-bert (revision main) needs tokenizer.json");
    expect(message).toContain(`searched ${join(cacheDir, "acme", "tiny-bert", "main", "tokenizer.json")}`);
    expect(message).toMatch(/Run once with network access .* or copy the model's files into/);
    await withEnv({ HF_HUB_OFFLINE: "1", CROSSRANK_OFFLINE: undefined }, async () => {
      const source = await resolveModel("acme/tiny-bert", { cacheDir, endpoint: options.endpoint });
      await expect(source.file("config.json")).rejects.toBeInstanceOf(MissingModelFileError);
      // Offline, an optional file that is not cached counts as absent.
      expect(await source.file("config.json", { optional: true })).toBeUndefined();
    });
  });

  it("gives undefined for an optional 404 and an error naming the file for a required one", async () => {
    const server = await startHub();
    const source = await resolveModel("acme/tiny-bert", { endpoint: server.endpoint, cacheDir: join(root, "c404"), offline: false });
    expect(await source.file("modules.json", { optional: true })).toBeUndefined();
    expect(await source.json("modules.json", { optional: true })).toBeUndefined();
    const err = await source.file("onnx/model_quantized.onnx", { purpose: "dtype q8" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingModelFileError);
    expect((err as Error).message).toBe(
      `model acme/tiny-bert (revision main) has no onnx/model_quantized.onnx (needed for dtype q8): ` +
        `${server.endpoint}/acme/tiny-bert/resolve/main/onnx/model_quantized.onnx answered 404`,
    );
    // A nested file lands in its subfolder.
    expect(await source.file("onnx/model.onnx")).toBe(join(source.folder, "onnx", "model.onnx"));
    // The recorded 404 answers later optional requests, online or offline, without asking again.
    const before = server.requests.length;
    expect(await source.file("modules.json", { optional: true })).toBeUndefined();
    expect(server.requests.length).toBe(before);
    const offline = await resolveModel("acme/tiny-bert", { cacheDir: join(root, "c404"), offline: true });
    await expect(offline.file("modules.json")).rejects.toThrow(/the hub had no such file when it was last asked/);
  });

  it("reports HTTP errors and unreachable endpoints with the URL", async () => {
    const server = await startHub();
    server.fail.set("/acme/tiny-bert/resolve/main/tokenizer.json", 500);
    server.fail.set("/acme/tiny-bert/resolve/main/config.json", 403);
    const source = await resolveModel("acme/tiny-bert", { endpoint: server.endpoint, cacheDir: join(root, "c500"), offline: false });
    await expect(source.file("tokenizer.json")).rejects.toThrow(
      `downloading ${server.endpoint}/acme/tiny-bert/resolve/main/tokenizer.json failed: HTTP 500`,
    );
    // A server error is not a 404: optional files fail too rather than pass for absent.
    await expect(source.file("config.json", { optional: true })).rejects.toThrow(/HTTP 403 .*set HF_TOKEN/);
    const unreachable = await resolveModel("acme/tiny-bert", { endpoint: "http://127.0.0.1:9", cacheDir: join(root, "c-down"), offline: false });
    await expect(unreachable.file("tokenizer.json")).rejects.toThrow(
      /downloading http:\/\/127\.0\.0\.1:9\/acme\/tiny-bert\/resolve\/main\/tokenizer\.json failed: .*CROSSRANK_OFFLINE=1/,
    );
  });

  it("shares one download between concurrent requests for a file", async () => {
    const server = await startHub();
    const source = await resolveModel("acme/tiny-bert", { endpoint: server.endpoint, cacheDir: join(root, "c-concurrent"), offline: false });
    const paths = await Promise.all([source.file("tokenizer.json"), source.file("tokenizer.json"), source.file("tokenizer.json")]);
    expect(new Set(paths).size).toBe(1);
    expect(server.requests).toEqual(["/acme/tiny-bert/resolve/main/tokenizer.json"]);
  });
});
