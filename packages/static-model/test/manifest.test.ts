import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fileSha256, readStaticModelManifest, STATIC_MODEL_NAME, staticModelDir, verifyStaticModel, writeStaticModelManifest } from "../src/index.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "static-model-"));
  dirs.push(d);
  return d;
}

describe("the shipped model", () => {
  it("matches the sizes and sha256 its manifest records", async () => {
    expect(await verifyStaticModel()).toEqual([]);
  });

  it("is a model2vec folder whose manifest names it and says how it was built", async () => {
    const manifest = await readStaticModelManifest();
    expect(manifest.name).toBe(STATIC_MODEL_NAME);
    expect(Object.keys(manifest.files)).toEqual(expect.arrayContaining(["config.json", "model.safetensors", "tokenizer.json"]));
    expect(manifest.build).toHaveProperty("recipe");
    const config = JSON.parse(await readFile(join(staticModelDir(), "config.json"), "utf8")) as { model_type?: string };
    expect(config.model_type).toBe("model2vec");
  });

  it("stays within the 20 MB the repository allows it", async () => {
    const manifest = await readStaticModelManifest();
    const total = Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0);
    expect(total).toBeLessThanOrEqual(20_000_000);
  });
});

describe("verifyStaticModel", () => {
  it("reports a changed, a missing and an unlisted file", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "a.json"), "{}\n");
    await writeFile(join(dir, "b.bin"), "12345");
    const manifest = await writeStaticModelManifest(dir, { recipe: "test" }, "test-model");
    expect(manifest.files["b.bin"]).toEqual({ bytes: 5, sha256: await fileSha256(join(dir, "b.bin")) });
    expect(await verifyStaticModel(dir)).toEqual([]);

    await writeFile(join(dir, "b.bin"), "12346");
    await rm(join(dir, "a.json"));
    await writeFile(join(dir, "c.txt"), "new");
    const problems = await verifyStaticModel(dir);
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.includes("b.bin"))).toMatch(/sha256 [0-9a-f]{64}, the manifest records/);
    expect(problems.find((p) => p.includes("a.json"))).toMatch(/missing/);
    expect(problems.find((p) => p.includes("c.txt"))).toMatch(/not in the manifest/);
  });

  it("names the file when the manifest is not JSON", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "manifest.json"), "{oops");
    await expect(verifyStaticModel(dir)).rejects.toThrow(/manifest\.json: cannot read the model manifest/);
  });
});
