import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { findRepoRoot, resolveDatasetPath } from "../src/locate.js";
import { listDatasets, loadManifest, parseManifest } from "../src/manifest.js";
import { tempFiles } from "./helpers.js";

const NAME = "crossrank-test-tiny";

describe("resolveDatasetPath", () => {
  const tmp = tempFiles();
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.CROSSRANK_DATA;
    delete process.env.CROSSRANK_DATA;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.CROSSRANK_DATA;
    else process.env.CROSSRANK_DATA = saved;
  });

  it("finds the repository root by its pnpm-workspace.yaml", async () => {
    const root = await findRepoRoot();
    expect(root).toBeDefined();
    expect(existsSync(join(root!, "pnpm-workspace.yaml"))).toBe(true);
    expect(await findRepoRoot(tmp.dir)).toBeUndefined();
  });

  it("looks in $CROSSRANK_DATA first, for the folder or a file in it", async () => {
    tmp.write(`data/${NAME}/a.txt`, "a");
    process.env.CROSSRANK_DATA = join(tmp.dir, "data");
    const opts = { cacheDir: join(tmp.dir, "cache"), download: false };
    expect(await resolveDatasetPath(NAME, undefined, opts)).toBe(join(tmp.dir, "data", NAME));
    expect(await resolveDatasetPath(NAME, "a.txt", opts)).toBe(join(tmp.dir, "data", NAME, "a.txt"));
  });

  it("then in the download cache", async () => {
    tmp.write(`cache/${NAME}/b.txt`, "b");
    expect(await resolveDatasetPath(NAME, "b.txt", { cacheDir: join(tmp.dir, "cache"), download: false })).toBe(join(tmp.dir, "cache", NAME, "b.txt"));
  });

  it("lists every place looked in and how to fix it", async () => {
    process.env.CROSSRANK_DATA = join(tmp.dir, "data");
    const err = await resolveDatasetPath("xquad", "xquad.xx.json", { cacheDir: join(tmp.dir, "cache"), download: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(/^file "xquad\.xx\.json" of dataset "xquad" not found\. Looked in:\n/);
    expect(message).toContain(`${join(tmp.dir, "data", "xquad", "xquad.xx.json")} ($CROSSRANK_DATA: not found)`);
    expect(message).toMatch(/shared[/\\]datasets[/\\]xquad[/\\]xquad\.xx\.json \(shared data next to the repository: not found\)/);
    expect(message).toContain(`${join(tmp.dir, "cache", "xquad", "xquad.xx.json")} (download cache: not found)`);
    expect(message).toContain('download (not possible: the manifest of "xquad" lists no file "xquad.xx.json")');
    expect(message).toContain("To fix: set CROSSRANK_DATA to a folder that holds xquad/xquad.xx.json");
  });

  it("says when CROSSRANK_DATA is unset, and when there is no manifest", async () => {
    const message = await resolveDatasetPath(NAME, undefined, { cacheDir: join(tmp.dir, "cache0"), manifestsDir: join(tmp.dir, "none") }).catch(
      (e: Error) => e.message,
    );
    expect(message).toContain(`$CROSSRANK_DATA/${NAME} (CROSSRANK_DATA is not set)`);
    expect(message).toMatch(new RegExp(`download \\(not possible: no manifest for dataset "${NAME}": looked for ${NAME}\\.json in `));
  });

  it("rejects names and files that would leave the data folder", async () => {
    await expect(resolveDatasetPath("../etc")).rejects.toThrow('invalid dataset name "../etc"');
    await expect(resolveDatasetPath(NAME, "../x")).rejects.toThrow('invalid dataset file "../x"');
    await expect(resolveDatasetPath(NAME, "/etc/passwd")).rejects.toThrow("invalid dataset file");
  });

  describe("downloads into the cache, checking sha256 and size", () => {
    let server: Server;
    let base = "";
    let requests = 0;
    const body = "hello, dataset\n";
    beforeAll(async () => {
      server = createServer((req, res) => {
        requests++;
        if (req.url === "/good.txt" || req.url === "/tampered.txt") res.end(req.url === "/good.txt" ? body : "tampered\n");
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const manifest = (files: { path: string; url: string | null }[]) => {
      const sha256 = createHash("sha256").update(body).digest("hex");
      return JSON.stringify({ name: NAME, description: "test", source: "test", license: "CC0", files: files.map((f) => ({ ...f, sha256, bytes: body.length })) });
    };

    it("downloads a missing file once", async () => {
      const manifestsDir = join(tmp.dir, "m1");
      tmp.write(`m1/${NAME}.json`, manifest([{ path: "good.txt", url: `${base}/good.txt` }]));
      const opts = { manifestsDir, cacheDir: join(tmp.dir, "dl1") };
      const path = await resolveDatasetPath(NAME, "good.txt", opts);
      expect(path).toBe(join(tmp.dir, "dl1", NAME, "good.txt"));
      expect(readFileSync(path, "utf8")).toBe(body);
      const before = requests;
      expect(await resolveDatasetPath(NAME, undefined, opts)).toBe(join(tmp.dir, "dl1", NAME));
      expect(requests).toBe(before);
    });

    it("rejects a file whose sha256 differs, keeping nothing", async () => {
      tmp.write(`m2/${NAME}.json`, manifest([{ path: "tampered.txt", url: `${base}/tampered.txt` }]));
      const opts = { manifestsDir: join(tmp.dir, "m2"), cacheDir: join(tmp.dir, "dl2") };
      const message = await resolveDatasetPath(NAME, "tampered.txt", opts).catch((e: Error) => e.message);
      expect(message).toMatch(/download into .*dl2[/\\]crossrank-test-tiny \(failed: http:.*tampered\.txt: got 9 bytes with sha256 [0-9a-f]{64}, the manifest says 15 bytes with sha256/);
      expect(message).toContain(`or download ${base}/tampered.txt into`);
      expect(existsSync(join(tmp.dir, "dl2", NAME, "tampered.txt"))).toBe(false);
    });

    it("reports HTTP errors, and does not download when told not to", async () => {
      tmp.write(`m3/${NAME}.json`, manifest([{ path: "missing.txt", url: `${base}/missing.txt` }]));
      const opts = { manifestsDir: join(tmp.dir, "m3"), cacheDir: join(tmp.dir, "dl3") };
      await expect(resolveDatasetPath(NAME, "missing.txt", opts)).rejects.toThrow(/failed: http:.*missing\.txt: HTTP 404/);
      await expect(resolveDatasetPath(NAME, "missing.txt", { ...opts, download: false })).rejects.toThrow(/\(not tried: download is off\)/);
    });

    it("says so when the manifest has no URL", async () => {
      tmp.write(`m4/${NAME}.json`, manifest([{ path: "x.txt", url: null }]));
      const message = await resolveDatasetPath(NAME, undefined, { manifestsDir: join(tmp.dir, "m4"), cacheDir: join(tmp.dir, "dl4") }).catch(
        (e: Error) => e.message,
      );
      expect(message).toContain(`download (not possible: the manifest of "${NAME}" has no URL for every file)`);
      expect(message).toContain(`or put the files in ${join(tmp.dir, "dl4", NAME)}/ (source: test; test)`);
    });
  });
});

describe("manifests", () => {
  it("the repository's manifests are valid and found by default", async () => {
    expect(await listDatasets()).toEqual(expect.arrayContaining(["ddtp", "xquad"]));
    const xquad = await loadManifest("xquad");
    expect(xquad.license).toMatch(/^CC BY-SA 4\.0/);
    expect(xquad.files.map((f) => f.path)).toHaveLength(12);
    expect(xquad.files[0]!.url).toBe("https://raw.githubusercontent.com/google-deepmind/xquad/master/xquad.ar.json");
    const ddtp = await loadManifest("ddtp");
    expect(ddtp.files.every((f) => f.url === null)).toBe(true);
    expect(ddtp.files.map((f) => f.path)).toContain("Translation-en.gz");
    expect(JSON.stringify(ddtp)).not.toMatch(/debian\.org|ftp\.|deb\.|mirror\.[a-z]/i);
  });

  it("a missing manifest names the folders looked in", async () => {
    await expect(loadManifest("nope", "/nonexistent")).rejects.toThrow('no manifest for dataset "nope": looked for nope.json in /nonexistent');
  });

  const good = { name: "n", description: "d", source: "s", license: "l", files: [{ path: "a", url: null, sha256: "0".repeat(64), bytes: 1 }] };
  const cases: [string, unknown, string][] = [
    ["not an object", [], "m.json: expected an object, got array"],
    ["no license", { ...good, license: undefined }, 'm.json: expected "license" to be a string, got undefined'],
    ["bad citation", { ...good, citation: 1 }, 'm.json: expected "citation" to be a string, got number'],
    ["no files", { ...good, files: {} }, 'm.json: expected "files" to be an array, got object'],
    ["bad file", { ...good, files: [1] }, "m.json: files[0]: expected an object, got number"],
    ["bad path", { ...good, files: [{ ...good.files[0], path: "../a" }] }, 'm.json: files[0]: expected "path" to be a relative path, got "../a"'],
    ["bad url", { ...good, files: [{ ...good.files[0], url: 1 }] }, 'm.json: files[0]: expected "url" to be a string or null, got number'],
    ["bad sha256", { ...good, files: [{ ...good.files[0], sha256: "ABC" }] }, 'm.json: files[0]: expected "sha256" to be 64 lower-case hex digits, got "ABC"'],
    ["bad bytes", { ...good, files: [{ ...good.files[0], bytes: -1 }] }, 'm.json: files[0]: expected "bytes" to be a non-negative integer, got -1'],
  ];
  it.each(cases)("parseManifest: %s", (_what, value, message) => {
    expect(() => parseManifest(JSON.stringify(value), "m.json")).toThrow(message);
  });
  it("parseManifest: broken JSON", () => {
    expect(() => parseManifest("{", "m.json")).toThrow(/^m\.json: invalid JSON: /);
    expect(parseManifest(JSON.stringify({ ...good, citation: "c" }), "m.json").citation).toBe("c");
  });
});
