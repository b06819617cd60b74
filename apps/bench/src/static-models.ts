/**
 * Static models a suite needs (`staticModels`): built before the suite runs, unless the folder
 * already holds a model built from the same recipe. Training is deterministic from the recipe and
 * the data, so a model folder is a build artifact: git-ignored, rebuilt on demand.
 */
import type { StaticModelSpec } from "./suite.js";

/** Builds each model whose folder is missing or was built from another recipe; returns the folders built. */
export async function ensureStaticModels(specs: readonly StaticModelSpec[], log: (line: string) => void = (line) => console.error(line)): Promise<string[]> {
  if (specs.length === 0) return [];
  const train = await import("@crossrank/train");
  const built: string[] = [];
  for (const spec of specs) {
    const recipe = spec.recipe === "default" ? train.DEFAULT_STATIC_RECIPE : await train.readStaticRecipe(spec.recipe);
    const existing = await train.builtRecipe(spec.out);
    if (existing !== undefined && train.canonicalJson(existing) === train.canonicalJson(recipe)) continue;
    log(`bench: building static model ${spec.out} (recipe ${spec.recipe}${existing === undefined ? "" : "; the folder holds a model of another recipe"})`);
    let reported = -1;
    const result = await train.buildStaticModel(recipe, {
      out: spec.out,
      onStage: (message) => log(`bench: train-static: ${message}`),
      // A line every 5% (the suite's bar has not started yet; this also reads well in CI logs).
      onProgress: (p) => {
        const twentieth = Math.floor((20 * p.step) / Math.max(1, p.totalSteps));
        if (twentieth === reported) return;
        reported = twentieth;
        log(`bench: train-static: update ${p.step}/${p.totalSteps}, epoch ${p.epoch + 1}, loss ${p.loss.toFixed(3)}`);
      },
    });
    log(`bench: built ${spec.out} in ${result.timings.total.toFixed(0)} s (${result.steps} updates)`);
    built.push(spec.out);
  }
  return built;
}
