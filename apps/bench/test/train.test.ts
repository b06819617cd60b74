import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadParallelTask, type RetrievalTask } from "@crossrank/datasets";
import { evaluate } from "@crossrank/metrics";
import { createRanker } from "@crossrank/rankers";
import { beforeAll, describe, expect, it } from "vitest";
import { rankerConfigs, runSuite } from "../src/run.js";
import { loadSuite, parseSuite, SuiteError } from "../src/suite.js";
import { splitQueryIds, splitTask, trainingPairs } from "../src/train.js";
import { resolveTrainConfig, TRAIN_DEFAULTS, trainLabel } from "../src/train-spec.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

const context = { source: "s.yaml", baseDir: "/suites/here" };
const minimal = {
  name: "s",
  encoder: "fixture:bert",
  datasets: [{ dataset: "xquad", tasks: ["paragraph"], queryLangs: ["en"], docLang: "de" }],
  measures: ["P@1", "MAP"],
};
const withRankers = (rankers: unknown[]) => parseSuite({ ...minimal, rankers }, context);

describe("parseSuite: train blocks", () => {
  it("keeps a train block on lm-emd; entries without one are unchanged", () => {
    const suite = withRankers([
      "bm25",
      { name: "lm-emd", params: { gamma: [0.1, 1] }, train: { loss: ["pairwise", "cross-entropy"], epochs: 3, lr: 0.001, group: 5, split: 0.5, seed: 1 } },
    ]);
    expect(suite.rankers[0]).toEqual({ name: "bm25", params: {} });
    expect(suite.rankers[1]).toEqual({
      name: "lm-emd",
      params: { gamma: [0.1, 1] },
      train: { loss: ["pairwise", "cross-entropy"], epochs: 3, lr: 0.001, group: 5, split: 0.5, seed: 1 },
    });
  });

  it.each([
    [{ name: "bm25", train: { epochs: 1 } }, 's.yaml: rankers[0].train: only lm-emd, bert-cls, bert-max, bert-mean, cross-encoder can be trained, not "bm25"'],
    [{ name: "lm-emd", train: [1] }, "s.yaml: rankers[0].train: expected a mapping, got a list"],
    [{ name: "lm-emd", train: { lossy: "pairwise" } }, "s.yaml: rankers[0].train.lossy: unknown key (a train block takes loss, epochs"],
    [{ name: "lm-emd", train: { loss: "hinge" } }, 's.yaml: rankers[0].train.loss: expected pairwise or cross-entropy or relevance-ranking, got "hinge"'],
    [{ name: "lm-emd", train: { loss: ["pairwise", "softmax"] } }, 's.yaml: rankers[0].train.loss[1]: expected pairwise or cross-entropy or relevance-ranking, got "softmax"'],
    [{ name: "lm-emd", train: { epochs: -1 } }, "s.yaml: rankers[0].train.epochs: expected a whole number >= 0, got -1"],
    [{ name: "lm-emd", train: { epochs: 1.5 } }, "s.yaml: rankers[0].train.epochs: expected a whole number >= 0, got 1.5"],
    [{ name: "lm-emd", train: { lr: [] } }, "s.yaml: rankers[0].train.lr: an empty sweep expands to no configuration"],
    [{ name: "lm-emd", train: { group: 1 } }, "s.yaml: rankers[0].train.group: expected a whole number >= 2, got 1"],
    [{ name: "lm-emd", train: { split: 1 } }, "s.yaml: rankers[0].train.split: expected a number strictly between 0 and 1"],
    [{ name: "lm-emd", train: { split: [0.3, 0.5] } }, "s.yaml: rankers[0].train.split: cannot be swept (every row of a table must share one test split)"],
    [{ name: "lm-emd", train: { seed: [1, 2] } }, "s.yaml: rankers[0].train.seed: cannot be swept"],
    [{ name: "lm-emd", train: { negatives: "hard" } }, 's.yaml: rankers[0].train.negatives: expected bm25 or random, got "hard"'],
    [{ name: "lm-emd", trian: { epochs: 1 } }, "s.yaml: rankers[0].trian: unknown key (a ranker entry has name, params, train and queryLangs)"],
  ])("rejects %j naming the key", (entry, message) => {
    expect(() => withRankers([entry])).toThrow(SuiteError);
    expect(() => withRankers([entry])).toThrow(message);
  });
});

describe("rankerConfigs: params × train grid and row labels", () => {
  it("expands params (outer) × train (inner), fills defaults, labels loss, epochs and swept keys", () => {
    const suite = withRankers([
      "bm25",
      { name: "lm-emd", params: { gamma: [0.1, 1], iterations: 20 }, train: { loss: ["pairwise", "cross-entropy"], epochs: 3, lr: 0.001 } },
    ]);
    const configs = rankerConfigs(suite);
    expect(configs.map((c) => [c.name, c.params.gamma, c.train?.config.loss])).toEqual([
      ["bm25", undefined, undefined],
      ["lm-emd", 0.1, "pairwise"],
      ["lm-emd", 0.1, "cross-entropy"],
      ["lm-emd", 1, "pairwise"],
      ["lm-emd", 1, "cross-entropy"],
    ]);
    expect(configs[1]!.params).toMatchObject({ encoder: "fixture:bert", gamma: 0.1, iterations: 20 });
    expect(configs[1]!.train!.config).toEqual({ ...TRAIN_DEFAULTS, loss: "pairwise", epochs: 3, lr: 0.001 });
    expect(configs.slice(1).map((c) => c.train!.label)).toEqual([
      "+train(loss=pairwise,epochs=3)",
      "+train(loss=cross-entropy,epochs=3)",
      "+train(loss=pairwise,epochs=3)",
      "+train(loss=cross-entropy,epochs=3)",
    ]);
  });

  it("labels the identity head epochs=0 alone, and sweeps of other keys", () => {
    expect(trainLabel(resolveTrainConfig({ epochs: 0, loss: "cross-entropy" }), { epochs: 0, loss: "cross-entropy" })).toBe("+train(epochs=0)");
    const block = { epochs: 2, lr: [0.001, 0.01], group: 4 };
    expect(trainLabel(resolveTrainConfig({ epochs: 2, lr: 0.01, group: 4 }), block)).toBe("+train(loss=pairwise,epochs=2,lr=0.01)");
    expect(trainLabel(resolveTrainConfig({ epochs: 2, lr: 0.01, group: 4 }), block, true)).toBe("+train(loss=pairwise,epochs=2,lr=0.01,group=4)");
  });

  it("gives the full label to rows whose short labels would coincide", () => {
    const suite = withRankers([
      { name: "lm-emd", params: { gamma: 1 }, train: { epochs: 2, lr: 0.001 } },
      { name: "lm-emd", params: { gamma: 1 }, train: { epochs: 2, lr: 0.01 } },
      { name: "lm-emd", params: { gamma: 0.1 }, train: { epochs: 2, lr: 0.01 } },
    ]);
    const labels = rankerConfigs(suite).map((c) => c.train!.label);
    expect(labels[0]).toBe("+train(loss=pairwise,epochs=2,lr=0.001,weightDecay=0.01,margin=0,batchSize=1,group=5,negatives=bm25,head=linear,solver=batched,gradient=envelope)");
    expect(labels[1]).toBe("+train(loss=pairwise,epochs=2,lr=0.01,weightDecay=0.01,margin=0,batchSize=1,group=5,negatives=bm25,head=linear,solver=batched,gradient=envelope)");
    // A different gamma is a different ranker label already.
    expect(labels[2]).toBe("+train(loss=pairwise,epochs=2)");
  });
});

/** A task with 10 queries q0…q9 (q_i ↔ d_i), plus d10 relevant to q0 and q1 and d11 relevant to none. */
function task(): RetrievalTask {
  const queries = Array.from({ length: 10 }, (_, i) => ({ id: `q${i}`, text: `query ${i}` }));
  const documents = Array.from({ length: 12 }, (_, i) => ({ id: `d${i}`, text: `document ${i}`, ...(i === 3 ? { title: "Title" } : {}) }));
  const qrels = new Map(queries.map((q, i) => [q.id, new Map([[`d${i}`, 1]])]));
  qrels.get("q0")!.set("d10", 1);
  qrels.get("q1")!.set("d10", 1);
  return { name: "toy", queryLang: "de", docLang: "en", queries, documents, qrels };
}

describe("the train/test split", () => {
  it("is seeded, by query id: the same set whatever the input order, a given share of the ids", () => {
    const ids = Array.from({ length: 40 }, (_, i) => `q${i}`);
    const a = splitQueryIds(ids, 0.5, 1);
    expect(a.size).toBe(20);
    expect(splitQueryIds([...ids].reverse(), 0.5, 1)).toEqual(a);
    expect(splitQueryIds(ids, 0.5, 2)).not.toEqual(a);
    expect(splitQueryIds(ids, 0.25, 1).size).toBe(10);
    // At least one query on each side.
    expect(splitQueryIds(["a", "b"], 0.01, 1).size).toBe(1);
    expect(splitQueryIds(["a", "b"], 0.99, 1).size).toBe(1);
    expect(() => splitQueryIds(["a"], 0.5, 1)).toThrow(/at least 2 queries/);
  });

  it("ranks the test queries over documents no training saw, except those relevant to both sides", () => {
    const t = task();
    const split = splitTask(t, 0.5, 3);
    const trainIds = new Set(split.train.queries.map((q) => q.id));
    const testIds = new Set(split.test.queries.map((q) => q.id));
    expect(trainIds.size).toBe(5);
    expect(testIds.size).toBe(5);
    expect([...trainIds].some((id) => testIds.has(id))).toBe(false);
    // The test task: test queries, their qrels, and every document but those relevant only to train queries.
    expect([...split.test.qrels.keys()].sort()).toEqual([...testIds].sort());
    const testDocs = new Set(split.test.documents.map((d) => d.id));
    for (let i = 0; i < 10; i++) expect(testDocs.has(`d${i}`), `d${i}`).toBe(testIds.has(`q${i}`));
    expect(testDocs.has("d11")).toBe(true); // unjudged: a test distractor, never a training negative
    // d10 (relevant to q0 and q1) is ranked when a test query needs it, and counted as shared when a train query had it too.
    const bothSides = (trainIds.has("q0") || trainIds.has("q1")) && (testIds.has("q0") || testIds.has("q1"));
    expect(testDocs.has("d10")).toBe(testIds.has("q0") || testIds.has("q1"));
    expect(split.summary.shared).toBe(bothSides ? 1 : 0);
    // The training pool: the documents relevant to train queries.
    const trainDocs = split.train.documents.map((d) => d.id);
    expect(trainDocs).not.toContain("d11");
    for (const id of trainIds) expect(trainDocs).toContain(`d${id.slice(1)}`);
    expect(split.test).toMatchObject({ name: "toy", queryLang: "de", docLang: "en" });
    expect(split.summary).toMatchObject({ fraction: 0.5, seed: 3, trainQueries: 5, testQueries: 5, testDocuments: split.test.documents.length, trainDocuments: trainDocs.length });
  });

  it("pairs each train query with each of its relevant documents (title on a line before the text)", () => {
    const t = task();
    const split = splitTask(t, 0.9, 1);
    const pairs = trainingPairs(split);
    for (const p of pairs) {
      expect(split.train.qrels.get(p.queryId!)!.get(p.relevantId!)).toBe(1);
      expect(p.relevant).toBe(p.relevantId === "d3" ? "Title\ndocument 3" : `document ${p.relevantId!.slice(1)}`);
    }
    const expected = [...split.train.qrels.values()].reduce((n, m) => n + m.size, 0);
    expect(pairs.length).toBe(expected);
  });
});

describe("runSuite with a train block", { timeout: 180_000 }, () => {
  const tmp = useTemporaryCache("crossrank-bench-train-");

  beforeAll(async () => {
    const german = ["Der Hund läuft schnell.", "Die Katze schläft.", "Paris ist die Hauptstadt von Frankreich.", "Im Jahr 1969 landeten Menschen auf dem Mond.", "Wasser kocht bei 100 Grad.", "Beethoven komponierte neun Sinfonien.", "Der Zug nach Berlin ist spät.", "Mozart wurde 1756 in Salzburg geboren."];
    const english = ["The dog runs fast.", "The cat sleeps.", "Paris is the capital of France.", "In 1969 humans landed on the Moon.", "Water boils at 100 degrees.", "Beethoven composed nine symphonies.", "The train to Berlin is late.", "Mozart was born in Salzburg in 1756."];
    await mkdir(join(tmp.dir, "suite"), { recursive: true });
    await writeFile(join(tmp.dir, "suite", "q.de"), german.join("\n") + "\n");
    await writeFile(join(tmp.dir, "suite", "d.en"), english.join("\n") + "\n");
  });

  /** A suite over the parallel files q.de / d.en with the fixture model, written into the suite folder; returns its path. */
  async function writeSuite(name: string, rankers: unknown[], measures: string[]): Promise<string> {
    const path = join(tmp.dir, "suite", `${name}.json`);
    const datasets = [{ dataset: "parallel", queries: "q.de", documents: "d.en", queryLang: "de", docLang: "en" }];
    await writeFile(path, JSON.stringify({ name, encoder: "fixture:bert", datasets, rankers, measures }));
    return path;
  }

  it("trains a head per grid point on the train queries, ranks the test queries with it, and reuses heads", async () => {
    const params = { gamma: 0.5, iterations: 30, maxLength: 16 };
    const path = await writeSuite(
      "train",
      [
        { name: "lm-emd", params, train: { epochs: 0, split: 0.5, seed: 1 } },
        { name: "lm-emd", params, train: { loss: ["pairwise", "cross-entropy"], epochs: 2, lr: 0.01, group: 3, negatives: "random", split: 0.5, seed: 1 } },
        { name: "lm-emd", params },
      ],
      ["P@1", "MAP"],
    );
    const suite = await loadSuite(path);
    const result = await runSuite(suite, { outDir: join(tmp.dir, "out") });
    const [identity, pairwise, crossEntropy, plain] = result.results;
    const base = "lm-emd(encoder=fixture:bert,maxLength=16,gamma=0.5,iterations=30)";
    expect(result.results.map((r) => r.label)).toEqual([`${base}+train(epochs=0)`, `${base}+train(loss=pairwise,epochs=2)`, `${base}+train(loss=cross-entropy,epochs=2)`, base]);
    for (const cell of [identity!, pairwise!, crossEntropy!]) {
      expect(cell.queries).toBe(4);
      expect(cell.documents).toBe(4);
      expect(cell.split).toEqual({ fraction: 0.5, seed: 1, trainQueries: 4, testQueries: 4, trainDocuments: 4, testDocuments: 4, shared: 0 });
      expect(cell.head!.folder.startsWith(join(tmp.cacheDir, "heads", "lm-emd-"))).toBe(true);
      expect(cell.head!.reused).toBe(false);
      expect(existsSync(join(cell.head!.folder, "crossrank-head.json"))).toBe(true);
      // Parameters as given (the encoder is the base, not the head folder).
      expect(cell.params.encoder).toBe("fixture:bert");
    }
    expect(pairwise!.train).toMatchObject({ loss: "pairwise", epochs: 2, lr: 0.01, group: 3, negatives: "random" });
    expect(pairwise!.head!.steps).toBe(8);
    expect(new Set([identity!.head!.folder, pairwise!.head!.folder, crossEntropy!.head!.folder]).size).toBe(3);
    const config = JSON.parse(await readFile(join(crossEntropy!.head!.folder, "crossrank-head.json"), "utf8"));
    expect(config).toMatchObject({ encoder: "fixture:bert", encoderOptions: { maxLength: 16 }, appliesTo: "tokens" });
    expect(config.trainedBy).toMatchObject({ loss: "cross-entropy", gamma: 0.5, iterations: 30, epochs: 2, group: 3, bench: { task: "parallel/q.de-d.en", split: { trainQueries: 4, testQueries: 4 } } });
    // The untrained row without a train block ranks every query over every document.
    expect(plain!.queries).toBe(8);
    expect(plain!.split).toBeUndefined();
    expect(await readFile(join(tmp.dir, "out", "train.md"), "utf8")).toContain(`| ${base}+train(loss=cross-entropy,epochs=2) |`);

    // The epochs=0 row is the untrained ranker on the same test split (identity head).
    const loaded = await loadParallelTask(join(tmp.dir, "suite", "q.de"), join(tmp.dir, "suite", "d.en"), { queryLang: "de", docLang: "en" });
    const testPart = splitTask(loaded, 0.5, 1).test;
    const untrained = await createRanker("lm-emd", { encoder: "fixture:bert", ...params }).rank(testPart, { k: 100 });
    expect(identity!.measures).toEqual(evaluate(testPart.qrels, untrained, ["P@1", "MAP"]).mean);

    // A second run reuses every head and gives the same figures.
    const again = await runSuite(suite, { outDir: null });
    expect(again.results.slice(0, 3).map((r) => r.head!.reused)).toEqual([true, true, true]);
    expect(again.results.map((r) => r.measures)).toEqual(result.results.map((r) => r.measures));
    expect((await readdir(join(tmp.cacheDir, "heads"))).filter((f) => f.startsWith("lm-emd-")).length).toBe(3);
  });

  it("trains with the LM-EMD study's gradient through every Sinkhorn iteration when asked (gradient: unrolled)", async () => {
    const params = { gamma: 0.5, iterations: 10, maxLength: 16 };
    const train = { epochs: 1, lr: 0.01, group: 3, negatives: "random", solver: "reference", split: 0.5, seed: 1 };
    const path = await writeSuite("unrolled", [{ name: "lm-emd", params, train: { ...train, gradient: ["envelope", "unrolled"] } }], ["P@1"]);
    const result = await runSuite(await loadSuite(path), { outDir: null });
    const [envelope, unrolled] = result.results;
    expect(unrolled!.label).toContain("gradient=unrolled");
    expect(unrolled!.train).toMatchObject({ gradient: "unrolled", solver: "reference" });
    const config = JSON.parse(await readFile(join(unrolled!.head!.folder, "crossrank-head.json"), "utf8"));
    expect(config.trainedBy).toMatchObject({ gradient: "unrolled", solver: "reference" });
    // Another gradient, another head.
    expect(unrolled!.head!.folder).not.toBe(envelope!.head!.folder);
    expect(() => withRankers([{ name: "lm-emd", train: { gradient: "unrolled" } }])).toThrow('rankers[0].train.gradient: gradient "unrolled" needs solver: reference');
  });

  it("trains the LM-EMD study's CLS / MAX / MEAN baselines with the same losses, and ranks with their heads", async () => {
    const train = { loss: ["pairwise", "cross-entropy"], epochs: 2, lr: 0.01, group: 3, negatives: "random", split: 0.5, seed: 1 };
    const params = { maxLength: 16 };
    const path = await writeSuite(
      "baselines",
      [
        { name: "bert-max", params, train },
        { name: "bert-cls", params, train: { ...train, loss: "cross-entropy" } },
        { name: "bert-mean", params, train: { epochs: 0, split: 0.5, seed: 1 } },
      ],
      ["P@1", "MAP"],
    );
    const result = await runSuite(await loadSuite(path), { outDir: null });
    expect(result.results.map((r) => r.label)).toEqual([
      "bert-max(encoder=fixture:bert,maxLength=16)+train(loss=pairwise,epochs=2)",
      "bert-max(encoder=fixture:bert,maxLength=16)+train(loss=cross-entropy,epochs=2)",
      "bert-cls(encoder=fixture:bert,maxLength=16)+train(loss=cross-entropy,epochs=2)",
      "bert-mean(encoder=fixture:bert,maxLength=16)+train(epochs=0)",
    ]);
    const [maxPairwise, maxCe, cls, meanIdentity] = result.results;
    for (const [cell, ranker] of [
      [maxPairwise!, "bert-max"],
      [maxCe!, "bert-max"],
      [cls!, "bert-cls"],
    ] as const) {
      expect(cell.head!.folder.startsWith(join(tmp.cacheDir, "heads", `${ranker}-`))).toBe(true);
      expect(cell.head!.steps).toBe(8);
      const config = JSON.parse(await readFile(join(cell.head!.folder, "crossrank-head.json"), "utf8"));
      expect(config).toMatchObject({ encoder: "fixture:bert", appliesTo: "tokens", pooling: ranker.slice(5), trainedBy: { stage: ranker, score: "cosine", loss: cell.train!.loss } });
      // The row is the ranker over that head, on the test split.
      const testPart = splitTask(await loadParallelTask(join(tmp.dir, "suite", "q.de"), join(tmp.dir, "suite", "d.en"), { queryLang: "de", docLang: "en" }), 0.5, 1).test;
      const run = await createRanker(ranker, { encoder: cell.head!.folder, maxLength: 16 }).rank(testPart, { k: 100 });
      expect(cell.measures).toEqual(evaluate(testPart.qrels, run, ["P@1", "MAP"]).mean);
    }
    expect(new Set([maxPairwise!.head!.folder, maxCe!.head!.folder]).size).toBe(2);
    // The identity head is the untrained baseline on the same split.
    const testPart = splitTask(await loadParallelTask(join(tmp.dir, "suite", "q.de"), join(tmp.dir, "suite", "d.en"), { queryLang: "de", docLang: "en" }), 0.5, 1).test;
    const untrained = await createRanker("bert-mean", { encoder: "fixture:bert", maxLength: 16 }).rank(testPart, { k: 100 });
    expect(meanIdentity!.measures).toEqual(evaluate(testPart.qrels, untrained, ["P@1", "MAP"]).mean);
    // Sinkhorn settings belong to lm-emd.
    expect(() => withRankers([{ name: "bert-mean", train: { solver: "reference" } }])).toThrow("rankers[0].train.solver: sets LM-EMD's Sinkhorn solver; bert-mean is scored by the cosine of pooled vectors");
  });
});
