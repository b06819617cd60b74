import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtRecipe, TINY_STATIC_CONFIG } from "@crossrank/train";
import { beforeAll, describe, expect, it } from "vitest";
import { rankerConfigs, runSuite } from "../src/run.js";
import { ensureStaticModels } from "../src/static-models.js";
import { loadSuite } from "../src/suite.js";
import { useTemporaryCache } from "./helpers/temporary-cache.js";

// The datasets package's committed DDTP fixtures, laid out under the names the loaders look for.
const DDTP_FIXTURES = fileURLToPath(new URL("../../../packages/datasets/test/fixtures/ddtp/", import.meta.url));

const tmp = useTemporaryCache("crossrank-bench-static-");
let ddtpDir: string;

beforeAll(async () => {
  ddtpDir = join(tmp.dir, "ddtp");
  await mkdir(ddtpDir);
  await copyFile(join(DDTP_FIXTURES, "de.deb822.gz"), join(ddtpDir, "Translation-de.gz"));
  await copyFile(join(DDTP_FIXTURES, "en.deb822"), join(ddtpDir, "Translation-en"));
  await copyFile(join(DDTP_FIXTURES, "pt_BR.deb822"), join(ddtpDir, "Translation-pt_BR"));
});

/** The tiny configuration on the DDTP fixtures (a handful of pairs: batches of 2 so that there are updates). */
const tinyRecipe = (seed: number) => ({ ...TINY_STATIC_CONFIG, batchSize: 2, epochs: 2, seed, ddtp: { dir: ddtpDir, devFraction: 0.3 }, dictionaries: false });

/** A digest of the model file (the embedding table; @crossrank/encode is not a dependency of the bench). */
const embeddings = async (model: string) => createHash("sha256").update(await readFile(join(model, "model.safetensors"))).digest("hex");

describe("ensureStaticModels", () => {
  it("builds a missing model, skips it when built from the same recipe, rebuilds when the recipe changes", async () => {
    const recipePath = join(tmp.dir, "recipe.json");
    await writeFile(recipePath, JSON.stringify(tinyRecipe(1)));
    const out = join(tmp.dir, "models", "static");
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);

    expect(await ensureStaticModels([], log)).toEqual([]);
    expect(await ensureStaticModels([{ out, recipe: recipePath }], log)).toEqual([out]);
    expect(await builtRecipe(out)).toEqual(tinyRecipe(1));
    expect(lines[0]).toBe(`bench: building static model ${out} (recipe ${recipePath})`);
    expect(lines.some((l) => l.startsWith("bench: train-static: reading DDTP (de, pt_BR)"))).toBe(true);
    expect(lines.some((l) => /^bench: train-static: update \d+\/\d+, epoch \d, loss /.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(new RegExp(`^bench: built ${out.replace(/[.\\/]/g, "\\$&")} in \\d+ s \\(\\d+ updates\\)$`));

    // Same recipe (even with its keys in another order): nothing to do, nothing logged.
    lines.length = 0;
    const reordered = Object.fromEntries(Object.entries(tinyRecipe(1)).reverse());
    await writeFile(recipePath, JSON.stringify(reordered, null, 2));
    expect(await ensureStaticModels([{ out, recipe: recipePath }], log)).toEqual([]);
    expect(lines).toEqual([]);

    // Another recipe (seed changed): rebuilt, and config.json records the new one.
    await writeFile(recipePath, JSON.stringify(tinyRecipe(2)));
    expect(await ensureStaticModels([{ out, recipe: recipePath }], log)).toEqual([out]);
    expect(lines[0]).toBe(`bench: building static model ${out} (recipe ${recipePath}; the folder holds a model of another recipe)`);
    expect(await builtRecipe(out)).toEqual(tinyRecipe(2));
    expect(await ensureStaticModels([{ out, recipe: recipePath }], log)).toEqual([]);
  });

  // A rebuild must not resume from `<out>.work` when that checkpoint is another recipe's: training
  // would be complete there, no update would run, and the "rebuilt" model would keep the old
  // weights while config.json claimed the new recipe.
  it("a rebuilt model is trained from the new recipe, not resumed from the old recipe's checkpoint", async () => {
    const recipePath = join(tmp.dir, "recipe-seeds.json");
    const out = join(tmp.dir, "models", "seeds");
    const reference = join(tmp.dir, "models", "seed2-reference");
    await writeFile(recipePath, JSON.stringify(tinyRecipe(2)));
    await ensureStaticModels([{ out: reference, recipe: recipePath }], () => {});
    await writeFile(recipePath, JSON.stringify(tinyRecipe(1)));
    await ensureStaticModels([{ out, recipe: recipePath }], () => {});
    await writeFile(recipePath, JSON.stringify(tinyRecipe(2)));
    await ensureStaticModels([{ out, recipe: recipePath }], () => {});
    // Deterministic training: the rebuilt seed-2 model equals a seed-2 model built from scratch.
    expect(await embeddings(out)).toEqual(await embeddings(reference));
  });

  it("reads a bad recipe file's error naming the file and key", async () => {
    const recipePath = join(tmp.dir, "bad.json");
    await writeFile(recipePath, JSON.stringify({ ...tinyRecipe(1), vocabsize: 3 }));
    await expect(ensureStaticModels([{ out: join(tmp.dir, "models", "bad"), recipe: recipePath }], () => {})).rejects.toThrow(`${recipePath}: vocabsize: unknown key`);
  });
});

describe("runSuite with staticModels, a ddtp split and ranker queryLangs", { timeout: 120_000 }, () => {
  it("builds the model first, runs a ranker only on its query languages, and loads the ddtp dev split", async () => {
    const suiteDir = join(tmp.dir, "suite");
    await mkdir(suiteDir, { recursive: true });
    await writeFile(join(suiteDir, "q.de"), ["Der Hund läuft schnell.", "Die Katze schläft.", "Paris ist die Hauptstadt von Frankreich.", "Ein Spiel im Weltraum."].join("\n") + "\n");
    await writeFile(join(suiteDir, "q.fr"), ["Le chien court vite.", "Le chat dort.", "Paris est la capitale de la France.", "Un jeu dans l'espace."].join("\n") + "\n");
    await writeFile(join(suiteDir, "d.en"), ["The dog runs fast.", "The cat sleeps.", "Paris is the capital of France.", "A game in space."].join("\n") + "\n");
    await writeFile(join(suiteDir, "tiny.json"), JSON.stringify(tinyRecipe(1)));
    const suitePath = join(suiteDir, "static.json");
    await writeFile(
      suitePath,
      JSON.stringify({
        name: "static",
        staticModels: [{ out: "models/tiny", recipe: "tiny.json" }],
        embeddingCache: false,
        datasets: [
          { dataset: "parallel", queries: "q.de", documents: "d.en", queryLang: "de", docLang: "en" },
          { dataset: "parallel", queries: "q.fr", documents: "d.en", queryLang: "fr", docLang: "en" },
          { dataset: "ddtp", tasks: ["short"], queryLangs: ["de"], dir: ddtpDir, split: { part: "dev", devFraction: 0.3 } },
        ],
        rankers: [
          { name: "bm25", queryLangs: ["de"] },
          { name: "bi-encoder", params: { encoder: "./models/tiny" } },
        ],
        measures: ["R@1", "MRR@10"],
      }),
    );
    const suite = await loadSuite(suitePath);
    expect(rankerConfigs(suite).map((c) => [c.name, c.queryLangs])).toEqual([
      ["bm25", ["de"]],
      ["bi-encoder", undefined],
    ]);

    const result = await runSuite(suite, { outDir: null });
    const model = join(suiteDir, "models", "tiny");
    expect(await builtRecipe(model)).toEqual(tinyRecipe(1));
    expect(JSON.parse(await readFile(join(model, "config.json"), "utf8")).hidden_dim).toBe(32);

    const cells = result.results.map((r) => `${r.ranker}:${r.taskName}`);
    expect(cells).toEqual([
      "bm25:parallel/q.de-d.en",
      "bi-encoder:parallel/q.de-d.en",
      "bi-encoder:parallel/q.fr-d.en",
      "bm25:ddtp/short-description/de-en/dev",
      "bi-encoder:ddtp/short-description/de-en/dev",
    ]);
    expect(result.results.filter((r) => r.ranker === "bm25" && r.queryLang === "fr")).toEqual([]);
    for (const r of result.results.filter((c) => c.dataset === "parallel")) expect(r.queries).toBe(4);
    // The dev side at 0.3 holds one German description (orbit) against all 4 English ones.
    for (const r of result.results.filter((c) => c.dataset === "ddtp")) expect([r.queries, r.documents]).toEqual([1, 4]);
    const bm25de = result.results[0]!;
    // "Paris" alone is shared by query and document: bm25 finds at least that one.
    expect(bm25de.measures["R@1"]).toBeGreaterThanOrEqual(0.25);
    expect(result.results[1]!.params.encoder).toBe(model);

    // A second run finds the model built from the same recipe and does not rebuild it.
    const before = await embeddings(model);
    expect(await ensureStaticModels(suite.staticModels ?? [], () => {})).toEqual([]);
    expect(await embeddings(model)).toEqual(before);
  });
});
