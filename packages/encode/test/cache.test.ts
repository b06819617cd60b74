import { appendFile, mkdtemp, readdir, readFile, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EmbeddingCache } from "../src/index.js";
import { fileContentHash } from "../src/cache.js";

const ns = { fingerprint: "abc", kind: "tokens", maxLength: 128 };

function vec(seed: number, n = 5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => seed + i / 8);
}

async function freshDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "crossrank-cache-"));
}

describe("EmbeddingCache", () => {
  it("stores values with metadata and finds them again after reopening", async () => {
    const dir = await freshDir();
    const c = await EmbeddingCache.open(dir, ns);
    await c.putMany([
      { key: "hello", value: { meta: { tokens: ["[CLS]", "hello", "[SEP]"] }, data: vec(1) } },
      { key: "world", value: { data: vec(2, 3) } },
    ]);
    expect(c.size).toBe(2);
    expect(c.has("hello")).toBe(true);
    await c.close();

    const again = await EmbeddingCache.open(dir, { maxLength: 128, kind: "tokens", fingerprint: "abc" }); // key order does not matter
    expect(again.file).toBe(c.file);
    const [a, b, miss] = await again.getMany(["hello", "world", "nope"]);
    expect(a!.meta).toEqual({ tokens: ["[CLS]", "hello", "[SEP]"] });
    expect(Array.from(a!.data)).toEqual(Array.from(vec(1)));
    expect(b!.meta).toBeUndefined();
    expect(Array.from(b!.data)).toEqual(Array.from(vec(2, 3)));
    expect(miss).toBeUndefined();
    await again.close();
    // one data file and one description per namespace, never a file per text
    expect((await readdir(dir)).sort()).toEqual([c.file.split("/").pop()!, c.file.split("/").pop()!.replace(".emb", ".json")].sort());
    expect(JSON.parse(await readFile(c.file.replace(".emb", ".json"), "utf8"))).toEqual(ns);
  });

  it("keeps namespaces apart", async () => {
    const dir = await freshDir();
    const a = await EmbeddingCache.open(dir, ns);
    const b = await EmbeddingCache.open(dir, { ...ns, kind: "sentence" });
    await a.putMany([{ key: "x", value: { data: vec(1) } }]);
    expect(a.file).not.toBe(b.file);
    expect(await b.getMany(["x"])).toEqual([undefined]);
    await a.close();
    await b.close();
  });

  it("a key stored again replaces the old value", async () => {
    const dir = await freshDir();
    const c = await EmbeddingCache.open(dir, ns);
    await c.putMany([{ key: "x", value: { data: vec(1) } }]);
    await c.putMany([{ key: "x", value: { data: vec(9) } }]);
    await c.close();
    const d = await EmbeddingCache.open(dir, ns);
    expect(Array.from((await d.getMany(["x"]))[0]!.data)).toEqual(Array.from(vec(9)));
    await d.close();
  });

  it("ignores a torn last record and appends after the good ones", async () => {
    const dir = await freshDir();
    const c = await EmbeddingCache.open(dir, ns);
    await c.putMany([{ key: "one", value: { data: vec(1) } }, { key: "two", value: { data: vec(2) } }]);
    await c.putMany([{ key: "three", value: { meta: "m", data: vec(3) } }]);
    await c.close();
    const full = (await stat(c.file)).size;
    await truncate(c.file, full - 7); // a crash in the middle of the last append

    const d = await EmbeddingCache.open(dir, ns);
    expect(d.size).toBe(2);
    const [one, two, three] = await d.getMany(["one", "two", "three"]);
    expect(Array.from(one!.data)).toEqual(Array.from(vec(1)));
    expect(Array.from(two!.data)).toEqual(Array.from(vec(2)));
    expect(three).toBeUndefined();
    await d.putMany([{ key: "four", value: { data: vec(4) } }]);
    await d.close();

    await appendFile(c.file, Buffer.from([0x43, 0x52, 0x45])); // a header cut short
    const e = await EmbeddingCache.open(dir, ns);
    expect(e.size).toBe(3);
    expect(Array.from((await e.getMany(["four"]))[0]!.data)).toEqual(Array.from(vec(4)));
    await e.close();
  });

  it("a record whose bytes changed is a miss, not garbage", async () => {
    const dir = await freshDir();
    const c = await EmbeddingCache.open(dir, ns);
    await c.putMany([{ key: "a", value: { data: vec(1) } }, { key: "b", value: { data: vec(2) } }]);
    await c.close();
    const bytes = await readFile(c.file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff; // last float of "b"
    await writeFile(c.file, bytes);
    const d = await EmbeddingCache.open(dir, ns);
    const [a, b] = await d.getMany(["a", "b"]);
    expect(a).toBeDefined();
    expect(b).toBeUndefined();
    expect(d.has("b")).toBe(false);
    await d.close();
  });

  it("serializes concurrent writers on one namespace in one process", async () => {
    const dir = await freshDir();
    const [x, y] = await Promise.all([EmbeddingCache.open(dir, ns), EmbeddingCache.open(dir, ns)]);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const c = i % 2 === 0 ? x : y;
      writes.push(c.putMany([{ key: `k${i}`, value: { meta: { i }, data: vec(i, 1 + (i % 7)) } }]));
    }
    await Promise.all(writes);
    expect(x.size).toBe(50); // one shared index
    await x.close();
    expect((await y.getMany(["k49"]))[0]!.meta).toEqual({ i: 49 }); // still open through y
    await y.close();
    const z = await EmbeddingCache.open(dir, ns);
    const all = await z.getMany(Array.from({ length: 50 }, (_, i) => `k${i}`));
    all.forEach((v, i) => {
      expect(v!.meta).toEqual({ i });
      expect(Array.from(v!.data)).toEqual(Array.from(vec(i, 1 + (i % 7))));
    });
    await z.close();
    await expect(z.getMany(["k1"])).rejects.toThrow(/closed/);
  });

  it("refuses a file that is not a cache, restarts one torn at creation", async () => {
    const dir = await freshDir();
    const c = await EmbeddingCache.open(dir, ns);
    await c.close();
    await writeFile(c.file, "something else");
    await expect(EmbeddingCache.open(dir, ns)).rejects.toThrow(/not a crossrank embedding cache/);
    await writeFile(c.file, "crossrank-emb"); // torn while being created: starts over
    const d = await EmbeddingCache.open(dir, ns);
    await d.putMany([{ key: "x", value: { data: vec(1) } }]);
    await d.close();
    const e = await EmbeddingCache.open(dir, ns);
    expect(e.size).toBe(1);
    await e.close();
  });
});

describe("fileContentHash", () => {
  it("hashes content, remembering it by size and mtime", async () => {
    const dir = await freshDir();
    const file = join(dir, "model.onnx");
    await writeFile(file, "weights v1");
    const h1 = await fileContentHash(file, dir);
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(await fileContentHash(file, dir)).toBe(h1);
    const memo = JSON.parse(await readFile(join(dir, "file-hashes.json"), "utf8")) as Record<string, { sha256: string }>;
    expect(memo[file]!.sha256).toBe(h1);
    await writeFile(file, "weights v2");
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    expect(await fileContentHash(file, dir)).not.toBe(h1);
  });
});
