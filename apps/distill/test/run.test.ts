import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HEAD_CONFIG_FILE, HEAD_WEIGHTS_FILE, loadEncoder, readHead } from "@crossrank/encode";
import { TrainableHead } from "@crossrank/train";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runCli } from "../src/cli.js";
import { type DistillConfig, parseDistillConfig, STAGES } from "../src/config.js";
import { loadXquadCorpus, paragraphsOf, splitArticles } from "../src/data.js";
import { silentProgress } from "../src/progress.js";
import { type DistillRunResult, runDistill } from "../src/run.js";
import { DistillInterruptedError } from "../src/stages.js";
import { encodeBase, project } from "../src/vectors.js";
import { testEnvironment, writeXquadFixture } from "./helpers.js";

let env: { dir: string; done: () => Promise<void> };
let config: DistillConfig;
let configPath: string;
let data: string;
let full: DistillRunResult;
const fullHeads: string[] = [];

function configValue(dataDir: string): Record<string, unknown> {
  return {
    encoder: "fixture:bert",
    data: { dir: dataDir, trainLangs: ["de"], heldOutLangs: ["es"], split: { seed: 3 } },
    head: { pooling: "mean" },
    seed: 5,
    checkpointEvery: 3,
    stages: {
      warmup: { lr: 0.01, epochs: 3, batchSize: 4, negatives: { bm25: 2, randomAfterEpoch: 1 } },
      teacher: { lr: 0.01, epochs: 3, batchSize: 4, patience: 2 },
      distill: { lr: 0.01, epochs: 2, batchSize: 4 },
    },
  };
}

beforeAll(async () => {
  env = await testEnvironment();
  data = await writeXquadFixture(join(env.dir, "xquad"));
  config = parseDistillConfig(configValue(data), { source: "test.json", baseDir: env.dir });
  configPath = join(env.dir, "test.json");
  await writeFile(configPath, JSON.stringify({ ...configValue(data), out: "runs/cli" }));
  full = await runDistill("all", { config, out: join(env.dir, "full"), onStage: (s) => fullHeads.push(s.head) });
});

afterAll(async () => {
  await env.done();
});

async function headBytes(folder: string): Promise<Buffer[]> {
  return [await readFile(join(folder, HEAD_CONFIG_FILE)), await readFile(join(folder, HEAD_WEIGHTS_FILE))];
}

describe("runDistill all", () => {
  it("trains the three stages and writes heads, logs, plots, checkpoints and evaluations", async () => {
    const out = join(env.dir, "full");
    expect(full.stages.map((s) => s.stage)).toEqual([...STAGES]);
    expect(fullHeads).toEqual(STAGES.map((s) => join(out, s, "head")));
    for (const s of full.stages) {
      const dir = join(out, s.stage);
      expect((await readdir(s.head)).sort()).toEqual([HEAD_CONFIG_FILE, HEAD_WEIGHTS_FILE]);
      expect(existsSync(join(dir, "plot.svg"))).toBe(true);
      expect(existsSync(join(dir, "checkpoint"))).toBe(true);
      const log = (await readFile(join(dir, "log.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number; dev?: Record<string, number> });
      expect(log.length).toBe(s.summary.steps);
      expect(log.filter((e) => e.dev !== undefined).length).toBe(s.summary.epochsRun);
      const evals = JSON.parse(await readFile(join(dir, "eval.json"), "utf8")) as { before: { languages: Record<string, Record<string, number>> }; after: { model: string; languages: Record<string, Record<string, number>> } };
      expect(Object.keys(evals.after.languages)).toEqual(["en", "de", "es"]);
      expect(Object.keys(evals.after.languages.de!).sort()).toEqual(["MRR@10", "P@1", "Success@10", "Success@5", "queries"]);
      expect(evals.after.model).toBe(s.stage);
      const head = JSON.parse(await readFile(join(s.head, HEAD_CONFIG_FILE), "utf8")) as { encoder: string; pooling: string; trainedBy: Record<string, unknown> };
      expect(head).toMatchObject({ encoder: "fixture:bert", pooling: "mean", trainedBy: { stage: s.stage, configHash: full.configHash, steps: s.summary.steps } });
    }
    // Each stage starts where the previous one ended.
    expect(full.stages[1]!.before).toEqual(full.stages[0]!.after);
    expect(full.stages[2]!.before).toEqual(full.stages[1]!.after);
    expect(JSON.parse(await readFile(join(out, "split.json"), "utf8"))).toMatchObject({ train: { questions: 16 }, dev: { questions: 4 }, test: { questions: 4 } });
  });

  it("writes the table base / warmup / teacher / distill", async () => {
    const md = await readFile(full.table.markdown, "utf8");
    for (const row of ["base", "warmup", "teacher", "distill"]) expect(md).toMatch(new RegExp(`^\\| ${row} \\| \\d\\.\\d{3} / \\d\\.\\d{3} \\|`, "m"));
    expect(md).toContain("| model | en | de | train avg | es | held-out avg |");
    const json = JSON.parse(await readFile(full.table.json, "utf8")) as { rows: { model: string; languages: Record<string, unknown> }[] };
    expect(json.rows.map((r) => r.model)).toEqual(["base", "warmup", "teacher", "distill"]);
    expect(json.rows[0]!.languages).toEqual(full.stages[0]!.before.languages);
    expect(json.rows[3]!.languages).toEqual(full.stages[2]!.after.languages);
  });

  it("a head folder is an encoder spec: loadEncoder gives the vectors the trainer evaluated", async () => {
    const corpus = await loadXquadCorpus({ languages: ["de", "es"], dir: data });
    const split = splitArticles(corpus.articles.length, config.data.split);
    const paragraphs = paragraphsOf(corpus, split.test);
    const texts = paragraphs.map((p) => corpus.paragraphs[p]!.text);
    const baseEncoder = await loadEncoder("fixture:bert");
    const base = await encodeBase(baseEncoder, corpus, { paragraphs, questions: new Map() }, { pooling: "mean" });
    await baseEncoder.dispose();
    for (const s of full.stages) {
      const encoder = await loadEncoder(s.head);
      expect(encoder.id).toMatch(/^fixture:bert\+head:[0-9a-f]{12}$/);
      const got = await encoder.encode(texts);
      await encoder.dispose();
      const head = await readHead(s.head);
      const rows = Float32Array.from(paragraphs.flatMap((p) => Array.from(base.paragraphs.subarray(p * base.dim, (p + 1) * base.dim))));
      const expected = project(TrainableHead.fromWeights(head.config, head.weights), rows, paragraphs.length, true);
      expect(Array.from(got.data)).toEqual(Array.from(expected));
    }
  });

  it("--resume after an interruption ends with the same heads as an uninterrupted run", async () => {
    const out = join(env.dir, "resumed");
    // Interrupt the teacher in its second epoch, whose negatives were mined at the end of the first
    // (restored from the checkpoint), mid-epoch and one update after a checkpoint (every 3 updates).
    const teacherLog = (await readFile(join(env.dir, "full", "teacher", "log.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { step: number; epoch: number });
    const firstOfEpoch1 = teacherLog.find((e) => e.epoch === 1)!.step;
    let stopAt = firstOfEpoch1 + 2;
    while (stopAt % 3 !== 1) stopAt++;
    expect(teacherLog.find((e) => e.step === stopAt)?.epoch).toBe(1);
    const controller = new AbortController();
    const progress = {
      ...silentProgress,
      step: (stage: string, info: { step: number }) => {
        if (stage === "teacher" && info.step === stopAt) controller.abort();
      },
    };
    await expect(runDistill("all", { config, out, progress, signal: controller.signal })).rejects.toBeInstanceOf(DistillInterruptedError);
    expect(existsSync(join(out, "teacher", "stage.json"))).toBe(false);
    expect(existsSync(join(out, "teacher", "checkpoint"))).toBe(true);

    const resumed = await runDistill("all", { config, out, resume: true });
    expect(resumed.stages.map((s) => s.skipped)).toEqual([true, false, false]);
    for (const s of STAGES) expect(await headBytes(join(out, s, "head"))).toEqual(await headBytes(join(env.dir, "full", s, "head")));
    const losses = async (dir: string) => (await readFile(join(dir, "teacher", "log.jsonl"), "utf8")).trim().split("\n").map((l) => (JSON.parse(l) as { loss: number }).loss);
    expect(await losses(out)).toEqual(await losses(join(env.dir, "full")));
    expect(await readFile(resumed.table.json, "utf8")).toEqual((await readFile(full.table.json, "utf8")).replaceAll(join(env.dir, "full"), out));
  });

  it("a later stage alone needs the earlier heads; --resume refuses a changed config", async () => {
    await expect(runDistill("teacher", { config, out: join(env.dir, "empty") })).rejects.toThrow(/teacher: needs the warmup head/);
    const changed = parseDistillConfig({ ...configValue(data), seed: 6 }, { source: "changed.json", baseDir: env.dir });
    await expect(runDistill("distill", { config: changed, out: join(env.dir, "full"), resume: true })).rejects.toThrow(/started with another config/);
  });

  it("the command line prints one head path per stage on stdout", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    let status: number;
    try {
      status = await runCli(["warmup", "--config", configPath, "--no-progress"]);
    } finally {
      spy.mockRestore();
    }
    expect(status).toBe(0);
    expect(lines).toEqual([`${join(env.dir, "runs", "cli", "warmup", "head")}\n`]);
  });
});
