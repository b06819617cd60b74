import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crossrank } from "./run-cli.js";

// The trainer itself is tested in apps/distill (an end-to-end `all` run, resume); these check that
// the command hands user mistakes back as one-line errors with exit status 1.
describe("crossrank distill", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crossrank-distill-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("rejects an unknown stage, naming the stages", async () => {
    const r = await crossrank("distill", "pretrain", "--config", "x.json");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown stage "pretrain"');
    expect(r.stderr).toContain("warmup, teacher, distill, all");
    expect(r.stdout).toBe("");
  });

  it("reports a bad config key on one line naming the file and the key", async () => {
    const config = join(dir, "bad.json");
    await writeFile(config, JSON.stringify({ encoder: "fixture:bert", stages: { warmup: { lrr: 0.1 } } }));
    const r = await crossrank("distill", "warmup", "--config", config);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(config);
    expect(r.stderr).toContain("lrr");
    expect(r.stdout).toBe("");
  });
});
