/**
 * The fixture model is random, so the end-to-end run cannot show that training helps. Here the base
 * vectors are synthetic and learnable: a large shared component, 6 dimensions where a question
 * matches its paragraph, 10 dimensions of strong noise. A linear head that suppresses the noise
 * retrieves well; the teacher stage (online mining) must find it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SquadDataset } from "@crossrank/datasets";
import { Rng, TrainableHead } from "@crossrank/train";
import { afterAll, expect, it } from "vitest";
import { parseDistillConfig } from "../src/config.js";
import { buildCorpus, splitArticles } from "../src/data.js";
import { SplitEvaluator } from "../src/evaluate.js";
import { silentProgress } from "../src/progress.js";
import { headConfigFor, type StageContext, trainDistill, trainTeacher } from "../src/stages.js";
import type { BaseVectors } from "../src/vectors.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it("the teacher stage learns a learnable problem; distillation keeps it; includeStart keeps a head no epoch beats", async () => {
  const articles = 20;
  const perArticle = 3;
  const d = 16;
  const rng = new Rng(5);
  const squad = (lang: string): SquadDataset => ({
    data: Array.from({ length: articles }, (_, a) => ({
      title: `t${a}`,
      paragraphs: Array.from({ length: perArticle }, (_, p) => ({ context: `paragraph ${a} ${p}`, qas: [0, 1].map((q) => ({ id: `q${a}-${p}-${q}`, question: `${lang} question ${a} ${p} ${q}`, answers: [] })) })),
    })),
  });
  const corpus = buildCorpus(["en", "de"], new Map(["en", "de"].map((l) => [l, { path: l, data: squad(l) }])));
  const split = splitArticles(articles, { kind: "ratio", train: 0.6, dev: 0.2, test: 0.2, seed: 1 });
  const common = Array.from({ length: d }, () => 3 * rng.normal());
  const paragraphs = new Float32Array(corpus.paragraphs.length * d);
  for (let i = 0; i < corpus.paragraphs.length; i++) for (let k = 0; k < d; k++) paragraphs[i * d + k] = common[k]! + (k < 6 ? 1 : 2) * rng.normal();
  const questions = (): Float32Array => {
    const m = new Float32Array(corpus.questions.length * d);
    corpus.questions.forEach((q, i) => {
      for (let k = 0; k < d; k++) m[i * d + k] = k < 6 ? paragraphs[q.paragraph * d + k]! + 0.3 * rng.normal() : common[k]! + 2 * rng.normal();
    });
    return m;
  };
  const base: BaseVectors = { dim: d, paragraphs, questions: new Map([["en", questions()], ["de", questions()]]), texts: 0 };
  const config = parseDistillConfig({
    encoder: "fixture:bert",
    data: { trainLangs: ["de"], heldOutLangs: [] },
    stages: { teacher: { lr: 0.02, epochs: 30, patience: null, halveLrOnNoGain: false }, distill: { lr: 0.01, epochs: 3 } },
  });
  const dev = new SplitEvaluator(corpus, base, "dev", split.dev, ["de"], true);
  const test = new SplitEvaluator(corpus, base, "test", split.test, ["en", "de"], true);
  const context = async (stageConfig = config): Promise<StageContext> => {
    const dir = await mkdtemp(join(tmpdir(), "crossrank-distill-learn-"));
    dirs.push(dir);
    return { config: stageConfig, corpus, split, base, dev, dir, resume: false, progress: silentProgress };
  };

  const before = test.evaluate(undefined).languages.de!["P@1"];
  const teacher = await trainTeacher(await context(), TrainableHead.init(headConfigFor(config, d), new Rng(1)));
  const afterTeacher = test.evaluate(teacher.head).languages.de!["P@1"];
  expect(before).toBeLessThan(0.3);
  expect(afterTeacher).toBeGreaterThan(0.75);
  const student = await trainDistill(await context(), teacher.head.clone(), teacher.head.clone());
  expect(test.evaluate(student.head).languages.de!["P@1"]).toBeGreaterThan(0.75);

  // includeStart: a stage whose epochs never beat its starting head on dev (an lr that wrecks the
  // head) hands that head on unchanged; without includeStart it keeps its best, wrecked, epoch.
  const wrecking = (includeStart: boolean) =>
    parseDistillConfig({ encoder: "fixture:bert", data: { trainLangs: ["de"], heldOutLangs: [] }, stages: { teacher: { lr: 50, epochs: 2, patience: null, includeStart } } });
  const kept = await trainTeacher(await context(wrecking(true)), teacher.head.clone());
  expect(kept.loop.bestEpoch).toBe(-1);
  expect(Array.from(kept.head.params()[0]!)).toEqual(Array.from(teacher.head.params()[0]!));
  const lost = await trainTeacher(await context(wrecking(false)), teacher.head.clone());
  expect(lost.loop.bestEpoch).toBeGreaterThanOrEqual(0);
  expect(test.evaluate(lost.head).languages.de!["P@1"]).toBeLessThan(afterTeacher);
});
