import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crossrank } from "./run-cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-cli-train-lm-emd-"));
  await writeFile(join(dir, "q.de"), ["Der Hund läuft im Park.", "Die Katze schläft.", "Der Zug fährt nach Berlin.", "Frisches Brot am Morgen.", "Das Museum zeigt alte Karten.", "Die Bibliothek leiht Bücher aus."].join("\n"));
  await writeFile(join(dir, "d.en"), ["The dog runs in the park.", "The cat sleeps.", "The train goes to Berlin.", "Fresh bread in the morning.", "The museum shows old maps.", "The library lends books."].join("\n"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("crossrank train-lm-emd", () => {
  it("trains a token head on parallel files and prints its folder and a summary", async () => {
    const out = join(dir, "head");
    const common = ["--encoder", "fixture:bert", "--queries", join(dir, "q.de"), "--docs", join(dir, "d.en"), "--query-lang", "de", "--doc-lang", "en", "--max-length", "16", "--iterations", "20", "--group", "3", "--negatives", "random"];
    const { stdout, stderr, code } = await crossrank("train-lm-emd", ...common, "--out", out, "--epochs", "2", "--gradient", "unrolled", "--solver", "reference");
    expect(code, stderr).toBe(0);
    const [folder, summary] = stdout.trim().split("\n");
    expect(folder).toBe(out);
    const s = JSON.parse(summary!) as { pairs: number; steps: number; firstEpochLoss: number; lastEpochLoss: number };
    expect(s.pairs).toBe(6);
    expect(s.steps).toBe(12);
    expect(Number.isFinite(s.lastEpochLoss)).toBe(true);
    const config = JSON.parse(await readFile(join(out, "crossrank-head.json"), "utf8"));
    expect(config).toMatchObject({ encoder: "fixture:bert", appliesTo: "tokens", trainedBy: { gradient: "unrolled", solver: "reference", epochs: 2, group: 3 } });
    expect(existsSync(join(out, "log.jsonl"))).toBe(true);
    expect((await crossrank("train-lm-emd", ...common, "--out", join(dir, "bad"), "--gradient", "unrolled")).stderr).toContain("--gradient unrolled needs --solver reference");
    expect((await crossrank("train-lm-emd", ...common, "--out", join(dir, "bad"), "--loss", "hinge")).stderr).toContain("--loss: expected pairwise, cross-entropy");
  }, 120_000);

  it("--ranker bert-max trains the study's MAX baseline the same way, and refuses the Sinkhorn flags", async () => {
    const out = join(dir, "max");
    const common = ["--encoder", "fixture:bert", "--queries", join(dir, "q.de"), "--docs", join(dir, "d.en"), "--max-length", "16", "--group", "3", "--negatives", "random", "--ranker", "bert-max"];
    const { stdout, stderr, code } = await crossrank("train-lm-emd", ...common, "--out", out, "--epochs", "2", "--loss", "cross-entropy");
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout.trim().split("\n")[1]!)).toMatchObject({ pairs: 6, steps: 12 });
    const config = JSON.parse(await readFile(join(out, "crossrank-head.json"), "utf8"));
    expect(config).toMatchObject({ pooling: "max", normalize: true, trainedBy: { stage: "bert-max", score: "cosine", loss: "cross-entropy" } });
    expect((await crossrank("train-lm-emd", ...common, "--out", join(dir, "bad"), "--gamma", "1")).stderr).toContain("--gamma: LM-EMD's Sinkhorn settings do not apply to --ranker bert-max");
    expect((await crossrank("train-lm-emd", ...common, "--out", join(dir, "bad"), "--ranker", "bert-sum")).stderr).toContain("--ranker: expected lm-emd, bert-cls, bert-max, bert-mean");
  }, 120_000);
});
