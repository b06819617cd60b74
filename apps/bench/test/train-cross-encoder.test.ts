import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTrecTask, type RetrievalTask } from "@crossrank/datasets";
import { evaluate, type Run } from "@crossrank/metrics";
import { createRanker } from "@crossrank/rankers";
import { describe, expect, it } from "vitest";
import { rankerConfigs, runSuite } from "../src/run.js";
import { loadSuite, parseSuite, SuiteError } from "../src/suite.js";
import { foldQueryIds, foldSplits } from "../src/train.js";
import { TRAIN_DEFAULTS } from "../src/train-spec.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

const CLEF_MINI = fileURLToPath(new URL("./fixtures/clef-mini/", import.meta.url));
const clefMini = () => loadTrecTask({ topics: join(CLEF_MINI, "topics.sgml"), qrels: join(CLEF_MINI, "qrels.txt"), collection: join(CLEF_MINI, "documents.jsonl"), queryLang: "en", docLang: "de" });
const withRankers = (rankers: unknown[]) =>
  parseSuite({ name: "s", encoder: "fixture:bert", datasets: [{ dataset: "trec", topics: "t", qrels: "q", collection: "c" }], rankers, measures: ["P@1"] }, { source: "s.yaml", baseDir: "/suites/here" });

describe("train blocks of the cross-encoder and folds", () => {
  it("defaults the cross-encoder to the relevance-ranking loss and labels folds", () => {
    const [row] = rankerConfigs(withRankers([{ name: "cross-encoder", params: { model: "fixture:cross-encoder" }, train: { epochs: 2, folds: 5 } }]));
    expect(row!.train!.config).toEqual({ ...TRAIN_DEFAULTS, loss: "relevance-ranking", lr: 1e-3, epochs: 2, folds: 5 });
    expect(row!.train!.label).toBe("+train(loss=relevance-ranking,epochs=2,folds=5)");
  });

  it.each([
    [{ name: "cross-encoder", train: { loss: "pairwise" } }, "rankers[0].train.loss: the cross-encoder is trained with relevance-ranking (Pretraining-CLIR's RR)"],
    [{ name: "cross-encoder", train: { head: "mlp" } }, "rankers[0].train.head: does not apply to the cross-encoder"],
    [{ name: "cross-encoder", train: { margin: 1 } }, "rankers[0].train.margin: does not apply to the cross-encoder"],
    [{ name: "lm-emd", train: { loss: "relevance-ranking" } }, "rankers[0].train.loss: relevance-ranking trains the cross-encoder; lm-emd takes pairwise or cross-entropy"],
    [{ name: "lm-emd", train: { folds: 5, split: 0.5 } }, "rankers[0].train.folds: folds and split exclude each other"],
    [{ name: "cross-encoder", train: { folds: 1 } }, "rankers[0].train.folds: expected a whole number >= 2 (cross-validation folds, instead of split), got 1"],
    [{ name: "cross-encoder", train: { folds: [3, 5] } }, "rankers[0].train.folds: cannot be swept"],
  ])("rejects %j", (entry, message) => {
    expect(() => withRankers([entry])).toThrow(SuiteError);
    expect(() => withRankers([entry])).toThrow(message);
  });
});

describe("k-fold cross-validation", () => {
  const ids = Array.from({ length: 11 }, (_, i) => `q${String(i).padStart(2, "0")}`);

  it("deals every query id into exactly one fold, seeded, whatever the input order", () => {
    const folds = foldQueryIds(ids, 5, 1);
    expect(folds.flat().sort()).toEqual(ids);
    expect(folds.map((f) => f.length).sort()).toEqual([2, 2, 2, 2, 3]);
    expect(foldQueryIds([...ids].reverse(), 5, 1)).toEqual(folds);
    expect(foldQueryIds([...ids, ...ids], 5, 1)).toEqual(folds);
    expect(foldQueryIds(ids, 5, 2)).not.toEqual(folds);
    expect(() => foldQueryIds(ids.slice(0, 4), 5, 1)).toThrow("5-fold cross-validation needs at least 5 queries, the task has 4");
    expect(() => foldQueryIds(ids, 1, 1)).toThrow("folds must be a whole number >= 2, got 1");
  });

  it("tests each fold with a split that trains on the other folds only", async () => {
    const task = await clefMini();
    const splits = foldSplits(task, 5, 1);
    const tested = splits.flatMap((s) => s.test.queries.map((q) => q.id));
    expect(tested.sort()).toEqual(task.queries.map((q) => q.id).sort());
    splits.forEach((s, f) => {
      const held = new Set(s.test.queries.map((q) => q.id));
      expect(held).toEqual(new Set(foldQueryIds(task.queries.map((q) => q.id), 5, 1)[f]));
      expect(s.train.queries.some((q) => held.has(q.id))).toBe(false);
      expect(s.train.queries.length + held.size).toBe(task.queries.length);
      expect([...s.train.qrels.keys()].some((id) => held.has(id))).toBe(false);
      expect(s.summary).toMatchObject({ fold: { index: f, of: 5 }, seed: 1, trainQueries: 8, testQueries: 2, fraction: 0.8 });
      // No ranked document is relevant to a training query only.
      const trainRelevant = new Set([...s.train.qrels.values()].flatMap((m) => [...m].filter(([, r]) => r > 0).map(([d]) => d)));
      expect(s.test.documents.some((d) => trainRelevant.has(d.id))).toBe(false);
    });
  });
});

describe("runSuite: the cross-encoder trained with relevance ranking, 5-fold over a TREC-style collection", { timeout: 300_000 }, () => {
  const tmp = useTemporaryCache("crossrank-bench-folds-");

  it("ranks each query once, by the head trained without its fold, and evaluates the merged run; lm-emd shares the folds", async () => {
    const train = { epochs: 2, lr: 0.01, group: 3, negatives: "random", folds: 5, seed: 1 };
    const path = join(tmp.dir, "clef.json");
    const datasets = [{ dataset: "trec", topics: join(CLEF_MINI, "topics.sgml"), qrels: join(CLEF_MINI, "qrels.txt"), collection: join(CLEF_MINI, "documents.jsonl"), queryLang: "en", docLang: "de" }];
    const rankers = [
      { name: "cross-encoder", params: { model: "fixture:cross-encoder" }, train },
      { name: "cross-encoder", params: { model: "fixture:cross-encoder" }, train: { ...train, folds: undefined, split: 0.5 } },
      { name: "lm-emd", params: { gamma: 0.5, iterations: 10, maxLength: 16 }, train: { ...train, loss: "cross-entropy" } },
    ];
    await writeFile(path, JSON.stringify({ name: "clef", encoder: "fixture:bert", datasets, rankers, measures: ["P@1", "MAP"] }));
    const result = await runSuite(await loadSuite(path), { outDir: null });
    const [folded, split, lmEmd] = result.results;
    expect(folded!.label).toBe("cross-encoder(model=fixture:cross-encoder)+train(loss=relevance-ranking,epochs=2,folds=5)");
    expect(split!.label).toBe("cross-encoder(model=fixture:cross-encoder)+train(loss=relevance-ranking,epochs=2)");
    expect(folded!.queries).toBe(10);
    expect(folded!.folds).toHaveLength(5);
    expect(folded!.split).toBeUndefined();
    expect(new Set(folded!.folds!.map((f) => f.head.folder)).size).toBe(5);

    const task: RetrievalTask = await clefMini();
    const splits = foldSplits(task, 5, 1);
    const merged: Run = new Map();
    for (const [f, fold] of folded!.folds!.entries()) {
      expect(fold.split).toEqual(splits[f]!.summary);
      const config = JSON.parse(await readFile(join(fold.head.folder, "crossrank-head.json"), "utf8"));
      // Trained on the other folds' 8 queries (one relevant document each), never on the fold it ranks.
      expect(config).toMatchObject({ encoder: "fixture:cross-encoder", appliesTo: "pair", trainedBy: { loss: "relevance-ranking", pairs: 8, bench: { split: { fold: { index: f, of: 5 }, trainQueries: 8 } } } });
      expect(fold.head.steps).toBe(16);
      const run = await createRanker("cross-encoder", { model: fold.head.folder }).rank(splits[f]!.test, { k: 100 });
      for (const [q, hits] of run) {
        expect(merged.has(q)).toBe(false);
        merged.set(q, hits);
      }
    }
    expect(merged.size).toBe(10);
    expect(folded!.measures).toEqual(evaluate(task.qrels, merged, ["P@1", "MAP"]).mean);
    // A trained head scores differently from the checkpoint's classifier.
    const untrained = await createRanker("cross-encoder", { model: "fixture:cross-encoder" }).rank(splits[0]!.test, { k: 100 });
    const trained = await createRanker("cross-encoder", { model: folded!.folds![0]!.head.folder }).rank(splits[0]!.test, { k: 100 });
    expect([...trained.values()].map((m) => [...m.values()])).not.toEqual([...untrained.values()].map((m) => [...m.values()]));

    expect(split!.queries).toBe(5);
    expect(split!.head!.folder).toContain(join("heads", "cross-encoder-"));
    expect(lmEmd!.queries).toBe(10);
    expect(lmEmd!.folds!.map((f) => f.split.fold)).toEqual([0, 1, 2, 3, 4].map((index) => ({ index, of: 5 })));
    expect(lmEmd!.folds!.every((f) => f.head.folder.includes(join("heads", "lm-emd-")))).toBe(true);
  });
});
