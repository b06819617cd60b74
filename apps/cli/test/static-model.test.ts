import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TINY_STATIC_CONFIG } from "@crossrank/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestDifference } from "../src/commands/static-model.js";
import { crossrank } from "./run-cli.js";

const DDTP_FIXTURES = fileURLToPath(new URL("../../../packages/datasets/test/fixtures/ddtp/", import.meta.url));

describe("crossrank static-model", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crossrank-static-model-cli-"));
    const ddtpDir = join(dir, "ddtp");
    await mkdir(ddtpDir);
    await copyFile(join(DDTP_FIXTURES, "de.deb822.gz"), join(ddtpDir, "Translation-de.gz"));
    await copyFile(join(DDTP_FIXTURES, "en.deb822"), join(ddtpDir, "Translation-en"));
    await writeFile(join(dir, "tiny.json"), JSON.stringify({ ...TINY_STATIC_CONFIG, batchSize: 2, epochs: 1, ddtp: { dir: ddtpDir, devFraction: 0.3 }, dictionaries: false }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("verify: the shipped model matches its manifest", async () => {
    const r = await crossrank("static-model", "verify");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/every file matches its manifest/);
  });

  it("build trains, quantizes and writes a manifest; a rebuild from the same float model changes nothing; verify names a tampered file", async () => {
    const out = join(dir, "model");
    const work = join(dir, "work");
    const first = await crossrank("static-model", "build", "--config", join(dir, "tiny.json"), "--work", work, "--out", out);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^new model: \d+ files, \d+ bytes$/m);
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as { files: Record<string, unknown>; build: { recipe: unknown; quantization: { embeddings: string } } };
    expect(Object.keys(manifest.files)).toEqual(expect.arrayContaining(["config.json", "model.safetensors", "tokenizer.json"]));
    expect(manifest.build.quantization.embeddings).toBe("int8, symmetric per row");
    expect(manifest.build.recipe).toMatchObject({ epochs: 1, batchSize: 2 });

    const again = await crossrank("static-model", "build", "--from", join(work, "float32"), "--out", out);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe("no difference: the same files");

    await writeFile(join(out, "tokenizer.json"), "{}");
    const bad = await crossrank("static-model", "verify", "--dir", out);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/tokenizer\.json: .*the manifest records/);
  });

  it("build --from a folder that is not a crossrank model says so", async () => {
    const r = await crossrank("static-model", "build", "--from", join(dir, "nothing"), "--out", join(dir, "never"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nothing[\\/]config\.json: not found/);
  });
});

describe("manifestDifference", () => {
  const manifest = (sha: string, dev: number) => ({ name: "m", files: { "a.bin": { bytes: 3, sha256: sha.repeat(64) } }, build: { recipe: { seed: 1 }, trainDev: { "r1/ddtp-short/de-en": dev, "r1/dict/de-en": 0.1 } } });
  it("lists changed files and changed DDTP dev figures", () => {
    expect(manifestDifference(manifest("a", 0.5), manifest("b", 0.52))).toEqual([
      `a.bin: changed, 3 → 3 bytes, sha256 ${"a".repeat(12)} → ${"b".repeat(12)}`,
      "r1/ddtp-short/de-en: R@1 0.500 → 0.520",
    ]);
    expect(manifestDifference(manifest("a", 0.5), manifest("a", 0.5))).toEqual(["no difference: the same files"]);
  });
});
