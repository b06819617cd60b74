import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Document, streamCollection } from "@crossrank/datasets";
import { writeFixtureModel } from "@crossrank/encode";
import { Bm25PsqRanker, Bm25Ranker, clearNeuralMemo, createRanker, PooledRanker } from "@crossrank/rankers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILD_CHUNK } from "../src/build.js";
import { buildIndex, INDEX_FORMAT_VERSION, openIndex, updateIndex } from "../src/index.js";
import { encodePart } from "../src/parts.js";
import { annRecall, DOCS, QUERIES, recombinedDocs } from "./collection.js";

let dir: string;
let model: string;
let dictionary: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-index-"));
  model = (await writeFixtureModel(join(dir, "static"), { kind: "static" })).dir;
  dictionary = join(dir, "de-en.tsv");
  await writeFile(dictionary, "Katze\tcat\nschläft\tsleeps\nZug\ttrain\nZug\ttrains\nnach\tto\nfrisches\tfresh\nBrot\tbread\n");
});
afterAll(async () => {
  await clearNeuralMemo();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The run of `ranker` over `documents` in memory, as `crossrank search --docs` computes it. */
async function inMemory(ranker: string, params: Record<string, unknown>, documents: readonly Document[], k = 4) {
  return createRanker(ranker, params).rank({ queries: QUERIES, documents: documents.map((d) => ({ ...d, lang: "en" })), queryLang: "de", docLang: "en" }, { k });
}

const RANKERS: [string, (encoder: string) => Record<string, unknown>][] = [
  ["bm25", () => ({})],
  ["bm25-psq", () => ({ dictionary })],
  ["bi-encoder", (encoder) => ({ encoder })],
  ["hybrid", (encoder) => ({ encoder, lexical: "bm25", depth: 4 })],
  ["rerank", (encoder) => ({ encoder, first: "bi-encoder", depth: 4, second: "lm-emd", otBackend: "js" })],
];

describe("buildIndex / openIndex", () => {
  it("search an index as the rankers search the documents in memory, every ranker", async () => {
    const out = join(dir, "same");
    const manifest = await buildIndex(out, DOCS, { encoder: model });
    expect(manifest.formatVersion).toBe(INDEX_FORMAT_VERSION);
    expect(manifest.documents).toEqual({ count: 6, lang: "en", file: "documents.jsonl" });
    expect(manifest.parts.map((p) => p.ranker)).toEqual(["bm25", "bm25-psq", "bi-encoder"]);
    for (const [name, file] of Object.entries(manifest.files)) expect((await stat(join(out, "gen-000001", name))).size).toBe(file.bytes);
    const index = await openIndex(out);
    expect(index.size).toBe(6);
    expect(index.document("d2")).toEqual({ ...DOCS[1], lang: "en" });
    for (const [ranker, params] of RANKERS) {
      const expected = await inMemory(ranker, params(model), DOCS);
      // The index's encoder is the default of neural rankers.
      const { encoder: _, ...withoutEncoder } = params(model);
      expect(await index.rank(QUERIES, { ranker, params: withoutEncoder, queryLang: "de", k: 4 }), ranker).toEqual(expected);
    }
    const hits = await index.search("Zug nach Berlin", { ranker: "bm25-psq", params: { dictionary }, queryLang: "de", k: 2 });
    expect(hits[0]).toMatchObject({ rank: 1, id: "d2", title: "Timetable", text: DOCS[1]!.text });
  });

  it("uses the parts on disk: a search does not read the collection's texts for BM25", async () => {
    const out = join(dir, "parts");
    await buildIndex(out, DOCS, { encoder: null, lexical: ["bm25"] });
    const index = await openIndex(out);
    const before = await index.rank(QUERIES, { ranker: "bm25" });
    // Emptying the texts in memory changes nothing: the postings come from the index files.
    for (const d of index.documents as Document[]) d.text = "";
    expect(await index.rank(QUERIES, { ranker: "bm25" })).toEqual(before);
  });

  it("refuses duplicate ids, a folder that is not an index, and bad options", async () => {
    await expect(buildIndex(join(dir, "dup"), [...DOCS, { id: "d3", text: "again" }], { encoder: null })).rejects.toThrow('documents 3 and 7 have the same id "d3"');
    const other = join(dir, "other");
    await buildIndex(join(other, "sub"), DOCS, { encoder: null, lexical: ["bm25"] });
    await expect(buildIndex(other, DOCS, { encoder: null })).rejects.toThrow(`${other}: exists and is not a crossrank index (no CURRENT file)`);
    await expect(buildIndex(join(dir, "lex"), DOCS, { encoder: null, lexical: ["bm26" as "bm25"] })).rejects.toThrow('unknown lexical index "bm26"');
    await expect(openIndex(join(dir, "nothing"))).rejects.toThrow("not a crossrank index (no CURRENT file)");
  });
});

describe("a streamed build (documents from an async iterable)", () => {
  /** Every file of the live generation by name, with its sha256; the manifest without its time of creation. */
  async function contents(out: string) {
    const generation = join(out, "gen-000001");
    const { created: _, ...manifest } = JSON.parse(await readFile(join(generation, "manifest.json"), "utf8"));
    const files: Record<string, string> = {};
    for (const name of Object.keys(manifest.files)) files[name] = createHash("sha256").update(await readFile(join(generation, name))).digest("hex");
    return { manifest, files };
  }

  async function* stream(documents: readonly Document[]) {
    for (const d of documents) yield d;
  }

  it("writes the same files as the array of the same documents, over several chunks, and the parts prebuild makes", async () => {
    const words = ["cat", "train", "bread", "river", "map", "book", "music", "station", "window", "market", "Berlin", "fresh"];
    const documents: Document[] = Array.from({ length: 2 * BUILD_CHUNK + 123 }, (_, i) => ({
      id: `s${i}`,
      text: Array.from({ length: 3 + (i % 11) }, (_, j) => words[(i * 7 + j * 5) % words.length]).join(" "),
      ...(i % 5 === 0 ? { title: `Title ${i % 13}` } : {}),
    }));
    // No LanceDB index: it names its files by random UUIDs and seeds its k-means randomly, so even
    // two builds from one array differ there.
    const options = { encoder: model, ann: "none" as const };
    const fromArray = join(dir, "stream-array");
    const fromStream = join(dir, "stream-iterable");
    await buildIndex(fromArray, documents, options);
    await buildIndex(fromStream, stream(documents), options);
    const expected = await contents(fromArray);
    expect(await contents(fromStream)).toEqual(expected);
    // The chunked parts are what the rankers' prebuild makes over the whole array at once.
    const prebuilt = [
      await new Bm25Ranker().prebuild(documents, "en"),
      await new Bm25PsqRanker().prebuild(documents, "en"),
      await new PooledRanker("bi-encoder", { encoder: model }).prebuild(documents),
    ];
    prebuilt.forEach((part, i) => expect(createHash("sha256").update(encodePart(part)).digest("hex"), part.key).toBe(expected.files[`part-${i}.safetensors`]));
    expect(expected.manifest.documents.count).toBe(documents.length);
  });

  it("refuses duplicate ids across streamed files with both positions, and a bad line with file:line, leaving the live generation", async () => {
    const out = join(dir, "stream-errors");
    await buildIndex(out, DOCS, { encoder: null, lexical: ["bm25"] });
    const a = join(dir, "stream-a.jsonl");
    const b = join(dir, "stream-b.tsv");
    await writeFile(a, `${JSON.stringify({ id: "x1", text: "one" })}\n${JSON.stringify({ id: "x2", text: "two" })}\n`);
    await writeFile(b, "y1\tthree\nx2\tfour again\n");
    async function* files(...paths: string[]) {
      for (const path of paths) yield* streamCollection(path);
    }
    await expect(buildIndex(out, files(a, b), { encoder: null, lexical: ["bm25"] })).rejects.toThrow('documents 2 and 4 have the same id "x2"');
    await writeFile(b, "y1\tthree\ny2\n");
    await expect(buildIndex(out, files(a, b), { encoder: null, lexical: ["bm25"] })).rejects.toThrow(`${b}:2: expected "id<TAB>text" or "id<TAB>title<TAB>text"`);
    // The failed builds left nothing behind, and the index is the one built first.
    expect((await readdir(out)).sort()).toEqual(["CURRENT", "gen-000001"]);
    expect((await openIndex(out)).documents.map((d) => d.id)).toEqual(DOCS.map((d) => d.id));
  });
});

describe("the approximate dense stage on LanceDB", () => {
  it("builds an IVF_HNSW_SQ index from enough vectors and finds the exact scan's neighbours through it", async () => {
    // 600 documents (the quantizer needs a few hundred to train on): sentences of the collection recombined.
    const many = recombinedDocs(600);
    const out = join(dir, "lance-hnsw");
    const manifest = await buildIndex(out, many, { encoder: model, lexical: [], ann: "lancedb" });
    expect(manifest.parts.find((p) => p.kind === "ann")!.params).toMatchObject({ index: "ivf-hnsw-sq" });
    const index = await openIndex(out);
    const { approximate, exact, recall } = await annRecall(index, many);
    // Candidates are scored exactly, so what HNSW finds has the exact scores; recall is what it can lose.
    expect(recall).toBeGreaterThan(0.9);
    for (const [q, hits] of approximate) for (const [id, score] of hits) if (exact.get(q)!.has(id)) expect(score).toBe(exact.get(q)!.get(id));
    await index.close();
  });

  it("gives the bi-encoder its candidates (all of them here: every partition is probed), through build, update and damage", async () => {
    const out = join(dir, "lance");
    const manifest = await buildIndex(out, DOCS, { encoder: model, lexical: ["bm25"], ann: "lancedb" });
    const ann = manifest.parts.find((p) => p.kind === "ann")!;
    expect(ann).toMatchObject({ ranker: "bi-encoder", file: "lancedb", params: { store: "lancedb", index: "ivf-hnsw-sq" } });
    const lanceFiles = Object.keys(manifest.files).filter((f) => f.startsWith("lancedb/"));
    expect(lanceFiles.length).toBeGreaterThan(2);
    const index = await openIndex(out);
    const exact = await inMemory("bi-encoder", { encoder: model }, DOCS);
    expect(await index.rank(QUERIES, { ranker: "bi-encoder", queryLang: "de", k: 4 })).toEqual(exact);
    expect(await index.rank(QUERIES, { ranker: "bi-encoder", params: { exact: true }, queryLang: "de", k: 4 })).toEqual(await inMemory("bi-encoder", { encoder: model, exact: true }, DOCS));
    const added = { id: "d7", text: "Fresh fish and bread at the Berlin market." };
    const updated = await updateIndex(out, { upsert: [added] });
    expect(updated.manifest.parts.map((p) => p.kind)).toEqual(["bm25", "vectors", "ann"]);
    expect(await (await openIndex(out)).rank(QUERIES, { ranker: "bi-encoder", queryLang: "de", k: 4 })).toEqual(await inMemory("bi-encoder", { encoder: model }, [...DOCS, added]));
    const victim = Object.keys(updated.manifest.files).filter((f) => f.startsWith("lancedb/")).sort()[0]!;
    const path = join(out, "gen-000002", victim);
    const bytes = await readFile(path);
    bytes[0]! ^= 1;
    await writeFile(path, bytes);
    await expect(openIndex(out)).rejects.toThrow(`${path}: corrupted`);
    await expect(buildIndex(join(dir, "lance-bad"), DOCS, { encoder: model, ann: "faiss" as "lancedb" })).rejects.toThrow('ann must be "lancedb", "none" or "auto", got "faiss"');
  });
});

describe("damage is an error naming the file, never a wrong result", () => {
  let built = 0;
  async function damaged(name: string, damage: (path: string) => Promise<void>) {
    const out = join(dir, `damage-${name}-${++built}`);
    const manifest = await buildIndex(out, DOCS, { encoder: model });
    const file = name === "vectors" ? manifest.parts[2]!.file : name === "postings" ? manifest.parts[0]!.file : "documents.jsonl";
    const path = join(out, "gen-000001", file);
    await damage(path);
    return { out, path };
  }

  it("a truncated file", async () => {
    const { out, path } = await damaged("postings", async (p) => writeFile(p, (await readFile(p)).subarray(0, 100)));
    await expect(openIndex(out)).rejects.toThrow(`${path}: truncated or damaged: 100 bytes, the manifest says`);
  });

  it("a changed byte", async () => {
    for (const what of ["vectors", "documents"]) {
      const { out, path } = await damaged(what, async (p) => {
        const bytes = await readFile(p);
        bytes[bytes.length - 3]! ^= 1;
        await writeFile(p, bytes);
      });
      await expect(openIndex(out)).rejects.toThrow(`${path}: corrupted: its sha256 is not the manifest's`);
    }
  });

  it("a missing file, another format version, a damaged manifest", async () => {
    const { out, path } = await damaged("vectors", (p) => rm(p));
    await expect(openIndex(out)).rejects.toThrow(`${path}: cannot read the index file (ENOENT)`);
    const manifestPath = join(out, "gen-000001", "manifest.json");
    const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    await writeFile(manifestPath, JSON.stringify({ ...manifest, formatVersion: 99 }));
    await expect(openIndex(out)).rejects.toThrow(`${manifestPath}: index format version 99; this crossrank reads version ${INDEX_FORMAT_VERSION}`);
    await writeFile(manifestPath, "{");
    await expect(openIndex(out)).rejects.toThrow(`${manifestPath}: not a readable manifest`);
  });

  it("vectors of another version of the built-in model", async () => {
    const out = join(dir, "model-version");
    await buildIndex(out, DOCS, { lexical: ["bm25"] });
    const manifestPath = join(out, "gen-000001", "manifest.json");
    const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    expect(manifest.encoder).toMatchObject({ spec: "crossrank-static" });
    expect(manifest.encoder.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await (await openIndex(out)).search("bread", { ranker: "bi-encoder" }))[0]!.id).toBe("d4");
    await writeFile(manifestPath, JSON.stringify({ ...manifest, encoder: { ...manifest.encoder, modelSha256: "0".repeat(64) } }));
    await expect((await openIndex(out)).search("bread", { ranker: "bi-encoder" })).rejects.toThrow("its vectors come from another version of crossrank-static");
    // BM25 does not use the vectors.
    expect((await (await openIndex(out)).search("bread", { ranker: "bm25" }))[0]!.id).toBe("d4");
  });
});

describe("updateIndex", () => {
  it("adds, replaces and deletes as a new generation equal to a rebuild, encoding only new texts", async () => {
    const out = join(dir, "update");
    await buildIndex(out, DOCS, { encoder: model });
    const old = await openIndex(out);
    const added = { id: "d7", text: "Fresh fish and bread at the Berlin market." };
    const changed = { id: "d4", text: "The bakery is closed on Sundays." };
    const unchanged = { ...DOCS[0]! };
    const r = await updateIndex(out, { upsert: [added, changed, unchanged], delete: ["d3"] });
    expect(r).toMatchObject({ added: 1, replaced: 2, deleted: 1, encoded: 2 });
    expect(r.manifest.generation).toBe(2);
    const expectedDocs = [DOCS[0]!, DOCS[1]!, changed, DOCS[4]!, DOCS[5]!, added];
    const index = await openIndex(out);
    expect(index.documents.map((d) => d.id)).toEqual(expectedDocs.map((d) => d.id));
    for (const [ranker, params] of RANKERS) {
      const { encoder: _, ...withoutEncoder } = params(model);
      expect(await index.rank(QUERIES, { ranker, params: withoutEncoder, queryLang: "de", k: 4 }), ranker).toEqual(await inMemory(ranker, params(model), expectedDocs));
    }
    // A reader that opened the old generation still searches it whole.
    expect(await old.rank(QUERIES, { ranker: "bm25", k: 4 })).toEqual(await inMemory("bm25", {}, DOCS));
    expect((await readdir(out)).sort()).toEqual(["CURRENT", "gen-000002"]);
  });

  it("says what it cannot do", async () => {
    const out = join(dir, "update-errors");
    await buildIndex(out, DOCS, { encoder: null, lexical: ["bm25"] });
    await expect(updateIndex(out, { delete: ["d1", "nope"] })).rejects.toThrow('cannot delete 1 document(s) the index does not hold: "nope"');
    await expect(updateIndex(out, { upsert: [{ id: "d9", text: "a" }, { id: "d9", text: "b" }] })).rejects.toThrow('the documents to add hold id "d9" twice');
    await expect(updateIndex(out, { upsert: [{ id: "d1", text: "a" }], delete: ["d1"] })).rejects.toThrow('document "d1" is both added and deleted');
    expect((await openIndex(out)).generation).toBe(1);
  });
});

describe("a build killed at any moment (kill -9)", () => {
  it("leaves the previous index intact and usable, and a re-run completes", async () => {
    const out = join(dir, "killed");
    await buildIndex(out, DOCS, { encoder: model });
    const expected = await (await openIndex(out)).rank(QUERIES, { ranker: "hybrid", params: { lexical: "bm25" } });
    const big = join(dir, "big.jsonl");
    const words = ["cat", "train", "bread", "river", "map", "book", "music", "station", "window", "market"];
    const lines = Array.from({ length: 30000 }, (_, i) => JSON.stringify({ id: `b${i}`, text: Array.from({ length: 40 }, (_, j) => words[(i * 7 + j * 3) % 10]).join(" ") }));
    await writeFile(big, `${lines.join("\n")}\n`);
    const child = new URL("./build-child.mjs", import.meta.url);
    const killedAt: string[] = [];
    // Each run is killed a given time after its temporary generation folder appears: while it
    // writes the documents, the parts, the manifest, or renames.
    for (const delay of [0, 2, 5, 10, 20, 40, 80, 160, 320]) {
      const before = new Set(await readdir(out));
      const proc = fork(child, [out, big, model], { stdio: "ignore" });
      const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
      // (an earlier killed run's folder is still there until a build completes)
      while (proc.exitCode === null && !(await readdir(out)).some((e) => e.startsWith("tmp-") && !before.has(e))) await new Promise((resolve) => setTimeout(resolve, 1));
      await new Promise((resolve) => setTimeout(resolve, delay));
      const finished = proc.exitCode !== null;
      proc.kill("SIGKILL");
      await exit;
      const left = (await readdir(out)).join(" ");
      const index = await openIndex(out);
      if (finished || index.size === 30000) {
        // The build got through before the kill: the new generation is live and whole.
        expect(index.size).toBe(30000);
        break;
      }
      killedAt.push(`${delay} ms: ${left}`);
      expect(index.size).toBe(6);
      expect(await index.rank(QUERIES, { ranker: "hybrid", params: { lexical: "bm25" } })).toEqual(expected);
    }
    // At least one kill hit a build in progress (a temporary folder or a lock was left behind).
    expect(killedAt.some((k) => k.includes("tmp-") || k.includes("LOCK"))).toBe(true);
    const rerun = fork(child, [out, big, model], { stdio: "ignore" });
    expect(await new Promise((resolve) => rerun.on("exit", resolve))).toBe(0);
    expect((await openIndex(out)).size).toBe(30000);
    expect((await readdir(out)).filter((e) => e.startsWith("tmp-") || e === "LOCK")).toEqual([]);
  }, 180_000);
});
