import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, configHash, loadDistillConfig, parseDistillConfig } from "../src/config.js";
import { parseDistillArgs, UsageError } from "../src/cli.js";

const configs = fileURLToPath(new URL("../configs/", import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-distill-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const parse = (value: unknown) => parseDistillConfig(value, { source: "c.json", baseDir: "/configs/here" });
const minimal = { encoder: "fixture:bert", out: "runs/x" };

function errorOf(value: unknown): string {
  try {
    parse(value);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("no error");
}

describe("config", () => {
  it("fills in CL-ReLKT's XQuAD values as defaults", () => {
    const c = parse(minimal);
    expect(c.encoder).toBe("fixture:bert");
    expect(c.out).toBe(resolve("/configs/here/runs/x"));
    expect(c.data).toEqual({ dataset: "xquad", trainLangs: ["ar", "de", "es", "ru", "th", "zh", "tr"], heldOutLangs: ["ro", "el", "hi", "vi"], split: { kind: "ratio", train: 0.6, dev: 0.2, test: 0.2, seed: 1 } });
    expect(c.head).toEqual({ type: "linear", appliesTo: "sentence", normalize: true });
    const { warmup, teacher, distill } = c.stages;
    expect(warmup).toMatchObject({ batchSize: 16, lr: 1e-5, epochs: 10, loss: { margin: 0.24, distance: "dot", reduction: "sum" }, negatives: { bm25: 3, randomAfterEpoch: 3 } });
    expect(warmup.anchorLangs).toEqual(c.data.trainLangs);
    expect(teacher).toMatchObject({ batchSize: 16, lr: 1e-5, epochs: 100, patience: 20, halveLrOnNoGain: true, mining: { hard: 1, semiHard: 1 } });
    expect(teacher.anchorLangs).toEqual(["en", ...c.data.trainLangs]);
    expect(distill).toMatchObject({ batchSize: 16, lr: 1e-3, epochs: 30, patience: 20, weights: { queryQuery: 0.001, docDoc: 1, docQuery: 0.01, scale: 1000 } });
  });

  it("resolves paths against the config's folder; fixture and hub specs stay as written", () => {
    expect(parse({ ...minimal, encoder: "./model", cache: "c", data: { dir: "../data" } })).toMatchObject({ encoder: resolve("/configs/here/model"), cache: resolve("/configs/here/c"), data: { dir: resolve("/configs/data") } });
    expect(parse({ ...minimal, encoder: "sentence-transformers/LaBSE" }).encoder).toBe("sentence-transformers/LaBSE");
  });

  it("reads the 5-fold split and validates it", () => {
    expect(parse({ ...minimal, data: { split: { folds: 5, fold: 4, seed: 9 } } }).data.split).toEqual({ kind: "folds", folds: 5, fold: 4, seed: 9 });
    expect(errorOf({ ...minimal, data: { split: { folds: 5, fold: 5 } } })).toBe("c.json: data.split.fold: must be in [0, 4] (0-based), got 5");
    expect(errorOf({ ...minimal, data: { split: { train: 0.5, dev: 0.25, test: 0.2 } } })).toBe("c.json: data.split: train + dev + test must be 1, got 0.95");
    expect(errorOf({ ...minimal, data: { split: { folds: 5, train: 0.5 } } })).toMatch(/^c\.json: data\.split\.train: unknown key/);
  });

  it("takes the shipped static model when no encoder is named", () => {
    expect(parse({ out: "x" }).encoder).toBe("crossrank-static");
  });

  it("names the file and the key in every error", () => {
    expect(errorOf({ out: "x", encoder: 3 })).toBe("c.json: encoder: expected a non-empty string, got 3");
    expect(errorOf([])).toBe("c.json: expected an object, got an array");
    expect(errorOf({ ...minimal, stages: { warmup: { lrr: 1 } } })).toBe(
      'c.json: stages.warmup.lrr: unknown key (did you mean "lr"?); known: batchSize, lr, epochs, weightDecay, patience, halveLrOnNoGain, includeStart, loss, negatives, anchorLangs',
    );
    expect(errorOf({ ...minimal, stages: { teacher: { batchSize: 2.5 } } })).toBe("c.json: stages.teacher.batchSize: expected an integer, got 2.5");
    expect(errorOf({ ...minimal, stages: { teacher: { lr: "fast" } } })).toBe('c.json: stages.teacher.lr: expected a number, got "fast"');
    expect(errorOf({ ...minimal, stages: { distill: { lr: 0 } } })).toBe("c.json: stages.distill.lr: must be > 0, got 0");
    expect(errorOf({ ...minimal, stages: { warmup: { loss: { distance: "l1" } } } })).toBe('c.json: stages.warmup.loss.distance: expected one of "dot", "cosine", "euclidean", got "l1"');
    expect(errorOf({ ...minimal, stages: { teacher: { mining: { hard: 0, semiHard: 0 } } } })).toBe("c.json: stages.teacher.mining: hard + semiHard must be at least 1");
    expect(errorOf({ ...minimal, data: { trainLangs: ["de", "xx"] } })).toMatch(/^c\.json: data\.trainLangs\[1\]: expected one of ar, de, el, es, hi, ro, ru, th, tr, vi, zh, got "xx"$/);
    expect(errorOf({ ...minimal, data: { trainLangs: ["de", "en"] } })).toMatch(/^c\.json: data\.trainLangs\[1\]: expected one of/);
    expect(errorOf({ ...minimal, data: { trainLangs: ["de", "ro"] } })).toBe("c.json: data.heldOutLangs: ro also in data.trainLangs (held-out languages are never trained on)");
    expect(errorOf({ ...minimal, data: { trainLangs: [] } })).toBe("c.json: data.trainLangs: needs at least 1 language");
    expect(errorOf({ ...minimal, stages: { distill: { studentLangs: ["vi"] } } })).toMatch(/^c\.json: stages\.distill\.studentLangs\[0\]: expected one of ar, de, es, ru, th, zh, tr, got "vi"$/);
    expect(errorOf({ ...minimal, head: { appliesTo: "tokens" } })).toMatch(/^c\.json: head\.appliesTo: this trainer trains sentence heads/);
    expect(errorOf({ ...minimal, head: { type: "linear", hidden: 8 } })).toBe('c.json: head: "hidden" and "activation" are for type "mlp" only');
    expect(errorOf({ ...minimal, encoderOptions: { maxLenght: 64 } })).toMatch(/^c\.json: encoderOptions\.maxLenght: unknown key \(did you mean "maxLength"\?\)/);
  });

  it("ignores keys starting with an underscore (comments); null patience turns early stopping off", () => {
    const c = parse({ ...minimal, _comment: "hi", stages: { teacher: { _why: "x", patience: null } } });
    expect(c.stages.teacher.patience).toBeUndefined();
  });

  it("loadDistillConfig names the file for unreadable or invalid JSON", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, "{ nope");
    await expect(loadDistillConfig(bad)).rejects.toThrow(/^.*bad\.json: invalid JSON: /);
    await expect(loadDistillConfig(join(dir, "missing.json"))).rejects.toThrow(/missing\.json: cannot read the config/);
    const wrong = join(dir, "wrong.json");
    await writeFile(wrong, JSON.stringify({ encoder: "fixture:bert", seed: -1 }));
    await expect(loadDistillConfig(wrong)).rejects.toThrow(`${wrong}: seed: must be >= 0, got -1`);
  });

  it("the shipped configs load; xquad-clrelkt.json is the faithful recipe (= the defaults)", async () => {
    const faithful = await loadDistillConfig(join(configs, "xquad-clrelkt.json"));
    const defaults = parseDistillConfig({ encoder: faithful.encoder, encoderOptions: faithful.encoderOptions, out: "x" });
    expect(faithful.stages).toEqual(defaults.stages);
    expect(faithful.data).toEqual(defaults.data);
    expect(configHash(faithful)).toBe(configHash(defaults));
    const fixture = await loadDistillConfig(join(configs, "xquad-fixture.json"));
    expect(fixture.encoder).toMatch(/^fixture:/);
    expect(fixture.out).toBe(resolve(configs, "../runs/xquad-fixture"));
  });
});

describe("command line", () => {
  it("parses the stage and the options", () => {
    expect(parseDistillArgs(["all", "--config", "c.json"])).toEqual({ stage: "all", config: "c.json", resume: false, progress: true });
    expect(parseDistillArgs(["--resume", "--config=c.json", "teacher", "--out", "o", "--no-progress"])).toEqual({ stage: "teacher", config: "c.json", resume: true, progress: false, out: "o" });
    expect(parseDistillArgs(["--help"])).toBeUndefined();
    expect(parseDistillArgs(["--", "distill", "--config", "c.json"])).toMatchObject({ stage: "distill" });
  });

  it("reports usage errors clearly", () => {
    const err = (argv: string[]) => {
      try {
        parseDistillArgs(argv);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(err(["--config", "c.json"])).toBe("missing the stage (warmup, teacher, distill or all)");
    expect(err(["train", "--config", "c.json"])).toBe('unknown stage "train" (warmup, teacher, distill or all)');
    expect(err(["all"])).toBe("--config FILE is required");
    expect(err(["all", "--config"])).toBe("--config needs a value");
    expect(err(["all", "--config", "c", "--fast"])).toBe("unknown option --fast");
    expect(err(["warmup", "teacher", "--config", "c"])).toBe('one stage at a time (got "warmup" and "teacher"; "all" runs the three)');
    expect(err(["all", "--config", "c", "--resume=yes"])).toBe("--resume takes no value");
  });
});
