import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_STATIC_RECIPE, TINY_STATIC_CONFIG } from "@crossrank/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crossrank } from "./run-cli.js";

// The datasets package's committed DDTP fixtures, laid out under the names the loaders look for.
const DDTP_FIXTURES = fileURLToPath(new URL("../../../packages/datasets/test/fixtures/ddtp/", import.meta.url));

describe("crossrank train-static", () => {
  let dir: string;
  let ddtpDir: string;
  /** The tiny configuration on the DDTP fixtures (a handful of pairs: batches of 2 so that there are updates). */
  const tiny = () => ({ ...TINY_STATIC_CONFIG, batchSize: 2, epochs: 2, ddtp: { dir: ddtpDir, devFraction: 0.3 }, dictionaries: false });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crossrank-train-static-cli-"));
    ddtpDir = join(dir, "ddtp");
    await mkdir(ddtpDir);
    await copyFile(join(DDTP_FIXTURES, "de.deb822.gz"), join(ddtpDir, "Translation-de.gz"));
    await copyFile(join(DDTP_FIXTURES, "en.deb822"), join(ddtpDir, "Translation-en"));
    await copyFile(join(DDTP_FIXTURES, "pt_BR.deb822"), join(ddtpDir, "Translation-pt_BR"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("--print-config without --config prints the default recipe and trains nothing", async () => {
    const out = join(dir, "never");
    const r = await crossrank("train-static", "--out", out, "--print-config");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(DEFAULT_STATIC_RECIPE);
    expect(await readdir(dir)).not.toContain("never");
  });

  // --out is a required option, so printing the recipe needs a folder it does not use. Marked
  // `fails` until --out is required only when training: remove `.fails` then.
  it("--print-config needs no --out", async () => {
    const r = await crossrank("train-static", "--print-config");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(DEFAULT_STATIC_RECIPE);
  });

  it("--print-config with --config prints that recipe", async () => {
    const config = join(dir, "tiny.json");
    await writeFile(config, JSON.stringify(tiny()));
    const r = await crossrank("train-static", "--out", join(dir, "never"), "--config", config, "--print-config");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(tiny());
  });

  it("reports a config with an unknown key on one line naming the file and the key", async () => {
    const config = join(dir, "bad.json");
    await writeFile(config, JSON.stringify({ ...tiny(), vocabsize: 3 }));
    const r = await crossrank("train-static", "--out", join(dir, "bad-model"), "--config", config);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`${config}: vocabsize: unknown key`);
    expect(r.stdout).toBe("");
    expect(await readdir(dir)).not.toContain("bad-model");
  });

  it("reports a config that is not JSON on one line naming the file", async () => {
    const config = join(dir, "broken.json");
    await writeFile(config, "{ dim: ");
    const r = await crossrank("train-static", "--out", join(dir, "broken-model"), "--config", config);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`${config}: not valid JSON`);
  });

  it("trains a tiny model end to end: the folder on stdout's first line, a JSON summary on the second", async () => {
    const config = join(dir, "tiny.json");
    await writeFile(config, JSON.stringify(tiny()));
    const out = join(dir, "model");
    const work = join(dir, "work");
    const r = await crossrank("train-static", "--out", out, "--config", config, "--work", work);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(out);
    const summary = JSON.parse(lines[1]!) as Record<string, unknown>;
    expect(Object.keys(summary)).toEqual(expect.arrayContaining(["steps", "seconds", "vocabulary", "dim", "dev"]));
    expect(summary.dim).toBe(32);
    expect(summary.steps).toBeGreaterThan(0);
    expect(summary.vocabulary).toBeGreaterThan(5);
    expect(summary.seconds).toMatchObject({ data: expect.any(Number), train: expect.any(Number), write: expect.any(Number), total: expect.any(Number) });
    expect(Object.keys(summary.dev as object).sort()).toEqual(["r1/ddtp-long/de-en", "r1/ddtp-short/de-en"]);
    // Stages go to stderr, not stdout.
    expect(r.stderr).toContain(`train-static: reading DDTP (de, pt_BR) from ${ddtpDir}`);
    expect(r.stderr).toContain(`train-static: writing ${out}`);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "README.md"]) expect(await readdir(out)).toContain(f);
    expect(JSON.parse(await readFile(join(out, "config.json"), "utf8")).crossrank.config).toEqual(tiny());
    expect(await readdir(work)).toContain("checkpoint");

    // Again into another folder with the same work folder: resumed, no update runs (no update line).
    const again = await crossrank("train-static", "--out", join(dir, "model2"), "--config", config, "--work", work);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout.trim().split("\n")[1]!).steps).toBe(summary.steps);
    expect(again.stderr).not.toMatch(/train-static: update \d+/);
    // --no-resume trains again from the start.
    const fresh = await crossrank("train-static", "--out", join(dir, "model3"), "--config", config, "--work", work, "--no-resume");
    expect(fresh.code).toBe(0);
    expect(JSON.parse(fresh.stdout.trim().split("\n")[1]!).steps).toBe(summary.steps);
    expect(fresh.stderr).toMatch(/train-static: update 1\//);
    expect(await readFile(join(dir, "model3", "model.safetensors"))).toEqual(await readFile(join(out, "model.safetensors")));
  });
});
