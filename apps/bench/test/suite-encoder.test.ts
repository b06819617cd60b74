import { existsSync } from "node:fs";
import { cp, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runSuite, withSuiteDefaults } from "../src/run.js";
import { loadSuite, parseSuite, resolveModelSpec, SuiteError, type Suite } from "../src/suite.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

const tmp = useTemporaryCache("crossrank-bench-encoder-");

const minimal = {
  name: "s",
  datasets: [{ dataset: "parallel", queries: "q.de", documents: "d.en", queryLang: "de", docLang: "en" }],
  rankers: ["bm25"],
  measures: ["R@1"],
};

/** A parsed suite whose files live in `/suites/here`. */
const suiteWith = (extra: Record<string, unknown>): Suite => parseSuite({ ...minimal, ...extra }, { source: "s.yaml", baseDir: "/suites/here" });

describe("parseSuite: encoder and embeddingCache", () => {
  it("resolves a relative encoder folder against the suite's folder and leaves hub ids and fixtures alone", () => {
    expect(suiteWith({ encoder: "./models/bert" }).encoder).toBe("/suites/here/models/bert");
    expect(suiteWith({ encoder: "../models/bert" }).encoder).toBe("/suites/models/bert");
    expect(suiteWith({ encoder: "Xenova/bert-base-multilingual-cased" }).encoder).toBe("Xenova/bert-base-multilingual-cased");
    expect(suiteWith({ encoder: "fixture:bert" }).encoder).toBe("fixture:bert");
    expect(suiteWith({ encoder: "/abs/model" }).encoder).toBe("/abs/model");
    expect(suiteWith({}).encoder).toBeUndefined();
  });

  it("resolves what the model loader reads as a folder, not only ./ and ../", () => {
    expect(resolveModelSpec(".", "/suites/here")).toBe("/suites/here");
    expect(resolveModelSpec("..", "/suites/here")).toBe("/suites");
    expect(resolveModelSpec("~/models/bert", "/suites/here")).toBe("~/models/bert");
    expect(resolveModelSpec("bert-base-multilingual-cased", "/suites/here")).toBe("bert-base-multilingual-cased");
  });

  it("takes embeddingCache as a folder (resolved) or false", () => {
    expect(suiteWith({ embeddingCache: "emb" }).embeddingCache).toBe("/suites/here/emb");
    expect(suiteWith({ embeddingCache: false }).embeddingCache).toBe(false);
    expect(suiteWith({}).embeddingCache).toBeUndefined();
  });

  it.each([
    [{ encoder: "" }, "s.yaml: encoder: expected a non-empty string"],
    [{ encoder: 3 }, "s.yaml: encoder: expected a non-empty string, got 3"],
    [{ embeddingCache: true }, "s.yaml: embeddingCache: expected a non-empty string, got true"],
  ])("rejects %j naming the key", (extra, message) => {
    expect(() => suiteWith(extra)).toThrow(SuiteError);
    expect(() => suiteWith(extra)).toThrow(message);
  });
});

describe("withSuiteDefaults", () => {
  it("gives the suite's encoder to the neural rankers only", () => {
    const suite = suiteWith({ encoder: "fixture:bert" });
    expect(withSuiteDefaults(suite, "bm25", { k1: 0.9 })).toEqual({ k1: 0.9 });
    expect(withSuiteDefaults(suite, "bm25", {})).toEqual({});
    for (const name of ["bert-cls", "bert-max", "bert-mean", "bi-encoder", "maxsim", "lm-emd", "rerank"]) {
      expect(withSuiteDefaults(suite, name, { gamma: 0.2 }), name).toMatchObject({ encoder: "fixture:bert", gamma: 0.2 });
    }
  });

  it("lets a ranker's own encoder win, resolving it against the suite's folder", () => {
    const suite = suiteWith({ encoder: "fixture:bert" });
    expect(withSuiteDefaults(suite, "bi-encoder", { encoder: "sentence-transformers/LaBSE" }).encoder).toBe("sentence-transformers/LaBSE");
    expect(withSuiteDefaults(suite, "bi-encoder", { encoder: "./st" }).encoder).toBe("/suites/here/st");
    // No suite encoder: a neural ranker without one is left for createRanker to reject.
    expect(withSuiteDefaults(suiteWith({}), "lm-emd", {}).encoder).toBeUndefined();
  });

  it("defaults the embedding cache to embeddings/ under CROSSRANK_CACHE_DIR", () => {
    expect(withSuiteDefaults(suiteWith({ encoder: "fixture:bert" }), "maxsim", {}).cache).toBe(join(tmp.cacheDir, "embeddings"));
  });

  it("uses the suite's embeddingCache folder, none for false, and a ranker's own cache (resolved) first", () => {
    expect(withSuiteDefaults(suiteWith({ encoder: "fixture:bert", embeddingCache: "emb" }), "maxsim", {}).cache).toBe("/suites/here/emb");
    expect(withSuiteDefaults(suiteWith({ encoder: "fixture:bert", embeddingCache: false }), "maxsim", {})).not.toHaveProperty("cache");
    expect(withSuiteDefaults(suiteWith({ encoder: "fixture:bert" }), "maxsim", { cache: "./mine" }).cache).toBe("/suites/here/mine");
    expect(withSuiteDefaults(suiteWith({ encoder: "fixture:bert" }), "maxsim", { cache: "/abs/mine" }).cache).toBe("/abs/mine");
    expect(withSuiteDefaults(suiteWith({ encoder: "fixture:bert" }), "bm25", {})).not.toHaveProperty("cache");
  });
});

describe("runSuite with an encoder", { timeout: 60_000 }, () => {
  let suiteDir: string;

  beforeAll(async () => {
    // The suite's folder: the parallel files next to the suite file (loadParallelTask: line i of
    // the query file is the translation of line i of the document file).
    suiteDir = join(tmp.dir, "suite");
    await mkdir(suiteDir, { recursive: true });
    await writeFile(join(suiteDir, "q.de"), ["Der Hund läuft schnell.", "Die Katze schläft.", "Paris ist die Hauptstadt von Frankreich."].join("\n") + "\n");
    await writeFile(join(suiteDir, "d.en"), ["The dog runs fast.", "The cat sleeps.", "Paris is the capital of France."].join("\n") + "\n");
  });

  const writeSuite = async (name: string, body: Record<string, unknown>): Promise<Suite> => {
    const path = join(suiteDir, `${name}.json`);
    await writeFile(path, JSON.stringify({ ...minimal, name, measures: ["R@1", "MRR@10"], ...body }));
    return loadSuite(path);
  };

  it("injects the suite's encoder into the neural rankers only; a ranker's own encoder wins", async () => {
    const suite = await writeSuite("inject", {
      encoder: "fixture:bert",
      rankers: [
        { name: "bm25", params: { k1: 0.9 } },
        "bert-mean",
        { name: "bi-encoder", params: { encoder: "fixture:sentence-transformers" } },
      ],
    });
    const result = await runSuite(suite, { outDir: null });
    expect(result.config.encoder).toBe("fixture:bert");
    expect(result.results.map((r) => r.ranker)).toEqual(["bm25", "bert-mean", "bi-encoder"]);
    const [bm25, mean, bi] = result.results;
    expect(bm25!.params).toEqual({ k1: 0.9 });
    expect(bm25!.label).toBe("bm25(k1=0.9,b=0.75)");
    expect(mean!.params.encoder).toBe("fixture:bert");
    expect(mean!.label).toContain("encoder=fixture:bert");
    expect(bi!.params.encoder).toBe("fixture:sentence-transformers");
    expect(bi!.label).toContain("encoder=fixture:sentence-transformers");
    for (const cell of result.results) {
      expect(cell.queries).toBe(3);
      expect(cell.measures["MRR@10"]).toBeGreaterThan(0);
    }
    // The default embedding cache is under CROSSRANK_CACHE_DIR.
    expect((await readdir(join(tmp.cacheDir, "embeddings"))).some((f) => f.endsWith(".emb"))).toBe(true);
  });

  it("loads a ./relative encoder folder from the suite's folder and honours embeddingCache: false", async () => {
    // A real model folder next to the suite: the bert fixture the previous run generated.
    const fixtures = await readdir(join(tmp.cacheDir, "fixtures")).catch(() => [] as string[]);
    let bert = fixtures.find((f) => /^bert-[0-9a-f]+$/.test(f));
    if (bert === undefined) {
      await runSuite(await writeSuite("warm", { encoder: "fixture:bert", rankers: ["bert-cls"], embeddingCache: false }), { outDir: null });
      bert = (await readdir(join(tmp.cacheDir, "fixtures"))).find((f) => /^bert-[0-9a-f]+$/.test(f))!;
    }
    await cp(join(tmp.cacheDir, "fixtures", bert), join(suiteDir, "models", "bert"), { recursive: true });

    const before = existsSync(join(tmp.cacheDir, "embeddings")) ? (await readdir(join(tmp.cacheDir, "embeddings"))).length : 0;
    const suite = await writeSuite("relative", {
      encoder: "./models/bert",
      embeddingCache: false,
      rankers: ["bert-cls", { name: "maxsim", params: { encoder: "./models/bert", includeSpecial: false } }],
    });
    expect(suite.encoder).toBe(join(suiteDir, "models", "bert"));
    // Run from elsewhere: the folder is found through the suite's folder, not the working folder.
    expect(process.cwd()).not.toBe(suiteDir);
    const result = await runSuite(suite, { outDir: null });
    for (const cell of result.results) {
      expect(cell.params.encoder).toBe(join(suiteDir, "models", "bert"));
      expect(cell.params).not.toHaveProperty("cache");
      expect(cell.label).toContain(`encoder=${join(suiteDir, "models", "bert")}`);
    }
    const after = existsSync(join(tmp.cacheDir, "embeddings")) ? (await readdir(join(tmp.cacheDir, "embeddings"))).length : 0;
    expect(after).toBe(before);
  });

  it("runs a neural ranker without an encoder on the shipped static model", async () => {
    const suite = await writeSuite("default-encoder", { rankers: ["bm25", "bi-encoder"] });
    const result = await runSuite(suite, { outDir: null });
    expect(result.results.map((c) => c.label)).toEqual([expect.stringMatching(/^bm25\(/), "bi-encoder(encoder=crossrank-static)"]);
  });
});
