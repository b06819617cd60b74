import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSasaki18Task } from "@crossrank/datasets";
import { evaluate } from "@crossrank/metrics";
import { createRanker, rankCandidateSets } from "@crossrank/rankers";
import { beforeAll, describe, expect, it } from "vitest";
import { rankerConfigs, runSuite } from "../src/run.js";
import { loadSuite, type Suite } from "../src/suite.js";
import { splitTask } from "../src/train.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

const here = dirname(fileURLToPath(import.meta.url));
const suitePath = join(here, "..", "suites", "lm-emd-sasaki18.yaml");
/** Invented lines in the sasaki18 format, committed with the datasets package's tests. */
const fixtureLines = join(here, "..", "..", "..", "packages", "datasets", "test", "fixtures", "clir-lines");

describe("the LM-EMD study's protocol suite (lm-emd-sasaki18.yaml)", { timeout: 300_000 }, () => {
  const tmp = useTemporaryCache("crossrank-bench-sasaki18-");
  let data: string;

  beforeAll(async () => {
    // The files under the names the study's archive gives them.
    data = join(tmp.dir, "sasaki18");
    mkdirSync(join(data, "data_en_de"), { recursive: true });
    copyFileSync(join(fixtureLines, "en-de.train.tsv"), join(data, "data_en_de", "train.txt"));
    copyFileSync(join(fixtureLines, "en-de.test.tsv"), join(data, "data_en_de", "test1.txt"));
  });

  it("parses into the study's rows: LM-EMD at γ 0.1, 1, 10 and the three baselines, untrained and trained with both losses", async () => {
    const suite = await loadSuite(suitePath);
    expect(suite.datasets).toEqual([{ dataset: "sasaki18", docLangs: ["de", "fr", "ja", "sw", "tl"], test: "test1", train: "train" }]);
    expect(suite.measures).toEqual(["P@1", "MAP"]);
    const configs = rankerConfigs({ ...suite, embeddingCache: false });
    expect(configs.length).toBe(3 + 3 + 3 * 2 + 3 * 2);
    expect(configs.filter((c) => c.name === "lm-emd").map((c) => c.params.gamma)).toEqual([0.1, 1, 10, 0.1, 0.1, 1, 1, 10, 10]);
    expect(configs.filter((c) => c.train !== undefined).map((c) => c.train!.label)).toEqual(Array.from({ length: 12 }, (_, i) => `+train(loss=${i % 2 === 0 ? "pairwise" : "cross-entropy"},epochs=1)`));
  });

  it("splits a task with candidate sets by query: each side ranks and trains on its queries' candidates", async () => {
    const task = await loadSasaki18Task({ docLang: "de", split: "train", dir: data });
    const split = splitTask(task, 0.5, 1);
    const testIds = split.test.queries.map((q) => q.id);
    expect([...split.test.candidates!.keys()].sort()).toEqual([...testIds].sort());
    const named = (ids: string[]) => [...new Set(ids.flatMap((id) => task.candidates!.get(id)!))].sort();
    expect(split.test.documents.map((d) => d.id).sort()).toEqual(named(testIds));
    expect(split.train.documents.map((d) => d.id).sort()).toEqual(named(split.train.queries.map((q) => q.id)));
  });

  it("rankCandidateSets needs a ranker that scores given candidates, and ids of the collection", async () => {
    const task = await loadSasaki18Task({ docLang: "de", dir: data });
    await expect(rankCandidateSets(createRanker("bm25", {}), task, task.candidates!)).rejects.toThrow(/ranker bm25.* cannot rank per-query candidate sets/);
    const ranker = createRanker("bert-mean", { encoder: "fixture:bert" });
    await expect(rankCandidateSets(ranker, task, new Map([["q1", ["d1", "nope"]]]))).rejects.toThrow('the candidates of query "q1" list document "nope", which is not in the collection');
  });

  it("runs end to end on the fixture model: each test query ranked within its candidates, heads trained on the train file", async () => {
    const loaded = await loadSuite(suitePath);
    // The committed suite with the fixture model and the fixture files (German only).
    const suite: Suite = { ...loaded, encoder: "fixture:bert", embeddingCache: false, datasets: [{ dataset: "sasaki18", docLangs: ["de"], test: "test1", train: "train", dir: data }] };
    const result = await runSuite(suite, { outDir: join(tmp.dir, "out") });
    expect(result.results.length).toBe(18);
    for (const cell of result.results) {
      expect(cell).toMatchObject({ dataset: "sasaki18", task: "test1", queryLang: "en", docLang: "de", queries: 5, documents: 5 });
      expect(cell.measures["P@1"]).toBeGreaterThanOrEqual(0);
      expect(cell.measures.MAP).toBeGreaterThan(0);
    }
    // An untrained row is the ranker over each query's four candidates only (never the fifth document).
    const task = await loadSasaki18Task({ docLang: "de", dir: data });
    const ranker = createRanker("lm-emd", { encoder: "fixture:bert", gamma: 1, iterations: 100 });
    const run = await rankCandidateSets(ranker, task, task.candidates!, { k: 100 });
    for (const q of task.queries) expect([...run.get(q.id)!.keys()].sort()).toEqual([...task.candidates!.get(q.id)!].sort());
    const untrained = result.results.find((r) => r.label === "lm-emd(encoder=fixture:bert,gamma=1,iterations=100)")!;
    expect(untrained.measures).toEqual(evaluate(task.qrels, run, ["P@1", "MAP"]).mean);
    // Trained rows: a head per row, trained on train.txt's six queries, ranked on test1.txt's five.
    const trained = result.results.filter((r) => r.train !== undefined);
    expect(trained.length).toBe(12);
    for (const cell of trained) {
      expect(cell.split).toMatchObject({ trainQueries: 6, testQueries: 5, testDocuments: 5, trainedOn: "sasaki18/en-de/train" });
      expect(cell.head!.steps).toBe(6);
    }
    expect(new Set(trained.map((c) => c.head!.folder)).size).toBe(12);
    expect(trained.filter((c) => c.ranker === "bert-mean").map((c) => c.train!.loss)).toEqual(["pairwise", "cross-entropy"]);
  });
});
