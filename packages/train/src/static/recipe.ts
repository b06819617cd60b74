/**
 * The whole recipe of a static multilingual model, from data on disk to a model folder: which DDTP
 * languages and pair kinds, which installed dictionaries and gettext catalogues, and the training
 * configuration. What `crossrank train-static --config FILE` reads (a JSON object of this shape)
 * and what a benchmark suite names to have a model built before it runs. Deterministic from the
 * recipe and the data.
 */
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ddtpLanguages, DEFAULT_DEV_FRACTION, resolveDatasetPath } from "@crossrank/datasets";
import { cldrGlossary, installedCatalogues, installedDictionaries, readGettextCatalogue, readInstalledDictionary, type InstalledCatalogue } from "@crossrank/lexicon";
import { cldrPairs, dictionaryPairs, GETTEXT_DROP_REASONS, gettextPairs, loadDdtpPairs, type DdtpPairKind, type PairCatalogue, type PairSplit } from "./pairs.js";
import { canonicalJson, DEFAULT_STATIC_CONFIG, pairSources, type StaticProgress, type StaticTrainConfig, trainStaticModel, type TrainStaticResult, writeStaticModel } from "./model.js";

/** DDTP part of a recipe. */
export interface StaticDdtpData {
  /** Folder of `Translation-<lang>[.gz]`; default: the `ddtp` dataset (`resolveDatasetPath`). */
  dir?: string;
  /** Languages paired with English (`de`, `pt_BR`); default: every translation in the folder. */
  languages?: string[];
  /** Default `["short", "long"]`. */
  kinds?: DdtpPairKind[];
  /** Share of md5s held out as dev (default 0.1: what the DDTP dev tasks of the benchmark use). */
  devFraction?: number;
  /** Seed of the md5 split (default 0). */
  splitSeed?: number;
}

/** Dictionary part of a recipe. */
export interface StaticDictionaryData {
  /**
   * Use every installed dictionary both of whose languages are in this list (`fr-de` as well as
   * `de-en`); default: every installed dictionary.
   */
  languages?: string[];
  /** Where the dictd files are (default `/usr/share/dictd`). */
  directories?: string[];
  /** CC-CEDICT for Chinese (default true). */
  cedict?: boolean;
  /** Share of headwords held out as dev (default 0.02). */
  devFraction?: number;
}

/** gettext catalogue part of a recipe. */
export interface StaticGettextData {
  /** Where the locale folders are (default `["/usr/share/locale"]`). */
  directories?: string[];
  /**
   * Languages whose catalogues are read, each paired with English (`de`; locales compare by
   * language, so `pt` takes `pt` and `pt_BR`); default: the recipe's `dictionaries.languages`,
   * else {@link STATIC_DICTIONARY_LANGUAGES}.
   */
  languages?: string[];
  /** Catalogue names to read (`iso_3166-1`, `glib20`, `coreutils`); default: all. */
  domains?: string[];
  /** Share of English strings held out as dev (default 0.02). */
  devFraction?: number;
}

/** CLDR glossary part of a recipe (names, calendar words, relative times and measures from Node's `Intl`). */
export interface StaticCldrData {
  /** Languages, each paired with English; default: the recipe's `dictionaries.languages`, else {@link STATIC_DICTIONARY_LANGUAGES}. */
  languages?: string[];
  /** Share of English entries held out as dev (default 0.02). */
  devFraction?: number;
}

/** A training configuration plus the data it trains on. */
export interface StaticRecipe extends StaticTrainConfig {
  /** DDTP pairs (false: none). Default `{}`: every language of the dataset. */
  ddtp?: StaticDdtpData | false;
  /** Dictionary pairs (false: none). Default `{}`: every installed dictionary. */
  dictionaries?: StaticDictionaryData | false;
  /** gettext catalogue pairs (source `gettext`). Absent or false: none. */
  gettext?: StaticGettextData | false;
  /** CLDR glossary pairs (source `cldr`). Absent or false: none. */
  cldr?: StaticCldrData | false;
}

/**
 * Languages of the default recipe's dictionaries: the DDTP languages and XQuAD's, and English.
 * Any freedict pair between two of them is used.
 */
export const STATIC_DICTIONARY_LANGUAGES: readonly string[] = [
  "en", "cs", "da", "de", "es", "fi", "fr", "it", "ja", "ko", "pl", "pt", "ru", "uk", "zh",
  "ar", "el", "hi", "ro", "th", "tr", "vi",
];

/**
 * The default recipe (`crossrank train-static` without `--config`): every DDTP language, short,
 * long and short → whole description pairs; every installed dictionary among
 * {@link STATIC_DICTIONARY_LANGUAGES}, a fixed budget of dictionary pairs per epoch shared by the
 * language pairs, so that dictionaries teach general vocabulary without drowning DDTP; every
 * installed gettext catalogue of those languages (software strings: the most text there is for
 * Korean, Ukrainian, Greek and Arabic) and the CLDR glossary of Node's Intl (names, calendar
 * words, relative times, measures), each with a budget of its own. Against the same recipe
 * without the last two, on crossrank's everyday-dev set bi-encoder R@1 rose 0.508 → 0.592 on
 * average over 16 languages (el 0.456 → 0.695, uk 0.191 → 0.374) and DDTP dev (a) 0.538 → 0.572.
 */
export const DEFAULT_STATIC_RECIPE: StaticRecipe = {
  ...DEFAULT_STATIC_CONFIG,
  ddtp: { kinds: ["short", "long", "short-description"] },
  dictionaries: { languages: [...STATIC_DICTIONARY_LANGUAGES] },
  gettext: {},
  cldr: {},
};

const RECIPE_KEYS = new Set<string>([
  "dim", "vocabSize", "minCharFrequency", "minWordFrequency", "vocabPairsPerGroup", "epochs", "batchSize", "temperature", "lr", "initStd", "seed",
  "capPerGroup", "capBySource", "budgetBySource", "maxTokens", "checkpointEvery", "devPerGroup", "devBySource", "ddtp", "dictionaries", "gettext", "cldr",
]);
const DDTP_KEYS = new Set(["dir", "languages", "kinds", "devFraction", "splitSeed"]);
const DICTIONARY_KEYS = new Set(["languages", "directories", "cedict", "devFraction"]);
const GETTEXT_KEYS = new Set(["directories", "languages", "domains", "devFraction"]);
const CLDR_KEYS = new Set(["languages", "devFraction"]);
const REQUIRED: readonly (keyof StaticTrainConfig)[] = ["dim", "vocabSize", "epochs", "batchSize", "temperature", "lr", "initStd", "seed"];

/**
 * Checks a recipe read from JSON: unknown keys (a typo would silently train something else),
 * missing required numbers and ill-typed values are errors naming `source` and the key.
 */
export function parseStaticRecipe(raw: unknown, source: string): StaticRecipe {
  const fail = (key: string, message: string): never => {
    throw new Error(`${source}: ${key}: ${message}`);
  };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return fail("(top level)", "expected a JSON object");
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!RECIPE_KEYS.has(key)) fail(key, `unknown key (known: ${[...RECIPE_KEYS].join(", ")})`);
  for (const key of REQUIRED) if (r[key] === undefined) fail(key, "required");
  for (const key of ["dim", "vocabSize", "epochs", "batchSize", "seed", "minCharFrequency", "minWordFrequency", "vocabPairsPerGroup", "capPerGroup", "maxTokens", "checkpointEvery", "devPerGroup"]) {
    const v = r[key];
    if (v !== undefined && !(typeof v === "number" && Number.isInteger(v) && v >= (key === "seed" || key === "checkpointEvery" ? 0 : 1))) fail(key, `expected a whole number${key === "seed" || key === "checkpointEvery" ? " >= 0" : " >= 1"}, got ${JSON.stringify(v)}`);
  }
  for (const key of ["temperature", "lr", "initStd"]) {
    const v = r[key];
    if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) fail(key, `expected a number > 0, got ${JSON.stringify(v)}`);
  }
  for (const key of ["capBySource", "budgetBySource", "devBySource"]) {
    const v = r[key];
    if (v === undefined) continue;
    if (v === null || typeof v !== "object" || Array.isArray(v)) fail(key, "expected an object of source → whole number");
    for (const [k, n] of Object.entries(v as object)) if (!(typeof n === "number" && Number.isInteger(n) && n >= 0)) fail(`${key}.${k}`, `expected a whole number >= 0, got ${JSON.stringify(n)}`);
  }
  const part = (key: "ddtp" | "dictionaries" | "gettext" | "cldr", known: Set<string>) => {
    const v = r[key];
    if (v === undefined || v === false) return;
    if (v === null || typeof v !== "object" || Array.isArray(v)) fail(key, "expected an object or false");
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (!known.has(k)) fail(`${key}.${k}`, `unknown key (known: ${[...known].join(", ")})`);
      if ((k === "languages" || k === "kinds" || k === "directories" || k === "domains") && !(Array.isArray(x) && x.every((s) => typeof s === "string"))) fail(`${key}.${k}`, "expected a list of strings");
      if (k === "devFraction" && !(typeof x === "number" && x >= 0 && x < 1)) fail(`${key}.${k}`, `expected a number in [0, 1), got ${JSON.stringify(x)}`);
    }
  };
  part("ddtp", DDTP_KEYS);
  part("dictionaries", DICTIONARY_KEYS);
  part("gettext", GETTEXT_KEYS);
  part("cldr", CLDR_KEYS);
  const kinds = (r.ddtp as StaticDdtpData | undefined)?.kinds;
  for (const k of kinds ?? []) if (!["short", "long", "short-description"].includes(k)) fail("ddtp.kinds", `"${k}" is not one of short, long, short-description`);
  return r as unknown as StaticRecipe;
}

/** Reads and checks a recipe file (JSON). */
export async function readStaticRecipe(path: string): Promise<StaticRecipe> {
  const text = await readFile(path, "utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON: ${(error as Error).message}`);
  }
  return parseStaticRecipe(raw, path);
}

/** What {@link loadStaticData} read. */
export interface StaticData extends PairSplit {
  /** One line per source read, for logs: `DDTP da: 36,810 train / 4,102 dev pairs`. */
  summary: string[];
}

/** Reads the recipe's pairs: DDTP (split by md5), dictionaries (split by headword) and gettext catalogues (split by English string). */
export async function loadStaticData(recipe: StaticRecipe, onStage: (message: string) => void = () => {}): Promise<StaticData> {
  const out: StaticData = { train: [], dev: [], summary: [] };
  const push = (split: PairSplit, label: string, note = "") => {
    for (const p of split.train) out.train.push(p);
    for (const p of split.dev) out.dev.push(p);
    out.summary.push(`${label}: ${split.train.length} train / ${split.dev.length} dev pairs${note}`);
  };
  if (recipe.ddtp !== false) {
    const d = recipe.ddtp ?? {};
    const dir = d.dir ?? (await resolveDatasetPath("ddtp"));
    const languages = d.languages ?? (await ddtpLanguages(dir)).filter((l) => l !== "en");
    onStage(`reading DDTP (${languages.join(", ")}) from ${dir}`);
    for (const lang of languages) {
      push(await loadDdtpPairs(dir, [lang], { devFraction: d.devFraction ?? DEFAULT_DEV_FRACTION, seed: d.splitSeed ?? 0, kinds: d.kinds ?? ["short", "long"] }), `DDTP ${lang}`);
    }
  }
  if (recipe.dictionaries !== false) {
    const d = recipe.dictionaries ?? {};
    const list = await installedDictionaries({
      ...(d.languages === undefined ? {} : { languages: d.languages }),
      ...(d.directories === undefined ? {} : { directories: d.directories }),
      ...(d.cedict === undefined ? {} : { cedict: d.cedict }),
    });
    onStage(`reading ${list.length} dictionaries`);
    // One at a time: the largest (German, Japanese) hold ~800k entries each.
    for (const entry of list) {
      const dictionary = await readInstalledDictionary(entry);
      push(dictionaryPairs([dictionary], { devFraction: d.devFraction ?? 0.02, seed: 0 }), `dictionary ${entry.from}-${entry.to} (${entry.path})`);
    }
  }
  if (recipe.gettext !== undefined && recipe.gettext !== false) {
    const g = recipe.gettext;
    const languages = g.languages ?? (recipe.dictionaries === false ? undefined : recipe.dictionaries?.languages) ?? STATIC_DICTIONARY_LANGUAGES;
    const list = await installedCatalogues({
      languages,
      ...(g.directories === undefined ? {} : { directories: g.directories }),
      ...(g.domains === undefined ? {} : { domains: g.domains }),
    });
    const byLanguage = new Map<string, InstalledCatalogue[]>();
    for (const c of list) {
      const same = byLanguage.get(c.lang);
      if (same === undefined) byLanguage.set(c.lang, [c]);
      else same.push(c);
    }
    onStage(`reading ${list.length} gettext catalogues (${[...byLanguage.keys()].sort().join(", ")})`);
    const droppedText = (counts: Readonly<Record<string, number>>) => {
      const parts = GETTEXT_DROP_REASONS.filter((r) => (counts[r] ?? 0) > 0).map((r) => `${counts[r]} ${r}`);
      return parts.length === 0 ? "" : `; dropped ${parts.join(", ")}`;
    };
    const total = { train: 0, dev: 0, dropped: {} as Record<string, number> };
    // A language at a time, its catalogues together: duplicates are dropped across them.
    for (const lang of [...byLanguage.keys()].sort()) {
      const catalogues = byLanguage.get(lang)!;
      const read: PairCatalogue[] = [];
      for (const c of catalogues) read.push({ lang, ...(await readGettextCatalogue(c.path)) });
      const split = gettextPairs(read, { devFraction: g.devFraction ?? 0.02, seed: 0 });
      push(split, `gettext ${lang}-en (${catalogues.length} catalogues)`, droppedText(split.dropped));
      total.train += split.train.length;
      total.dev += split.dev.length;
      for (const r of GETTEXT_DROP_REASONS) total.dropped[r] = (total.dropped[r] ?? 0) + split.dropped[r];
    }
    // The one data line a run shows (the per-language lines are in the summary).
    if (list.length > 0) onStage(`gettext: ${total.train} train / ${total.dev} dev pairs${droppedText(total.dropped)}`);
  }
  if (recipe.cldr !== undefined && recipe.cldr !== false) {
    const c = recipe.cldr;
    const languages = (c.languages ?? (recipe.dictionaries === false ? undefined : recipe.dictionaries?.languages) ?? STATIC_DICTIONARY_LANGUAGES).filter((l) => l !== "en");
    onStage(`reading the CLDR glossaries of Node's Intl (ICU ${process.versions.icu ?? "?"}) for ${languages.join(", ")}`);
    for (const lang of languages) push(cldrPairs([{ lang, entries: cldrGlossary(lang) }], { devFraction: c.devFraction ?? 0.02, seed: 0 }), `CLDR ${lang}-en`);
  }
  return out;
}

/** The recipe of the run in a work folder (canonical JSON). */
const RECIPE_FILE = "recipe.json";

/** Options of {@link buildStaticModel}. */
export interface BuildStaticModelOptions {
  /** The model folder to write. */
  out: string;
  /** Checkpoints, log.jsonl, loss.svg, vocab.txt; default `<out>.work`. */
  workDir?: string;
  /** Continue from the work folder's checkpoint (default true). */
  resume?: boolean;
  onStage?: (message: string) => void;
  onProgress?: (p: StaticProgress) => void;
}

/** What {@link buildStaticModel} returns. */
export interface BuildStaticModelResult extends TrainStaticResult {
  out: string;
  workDir: string;
  /** Training pairs per source/language group. */
  sources: Record<string, number>;
  /** Seconds spent reading data, training and writing, and in all. */
  timings: { data: number; train: number; write: number; total: number };
}

/**
 * Reads the data, trains (resuming from `<workDir>/checkpoint` when there is one) and writes the
 * model folder (model2vec format, with a model card listing the recipe, the sources and dev R@1).
 */
export async function buildStaticModel(recipe: StaticRecipe, options: BuildStaticModelOptions): Promise<BuildStaticModelResult> {
  const t0 = Date.now();
  const onStage = options.onStage ?? (() => {});
  const data = await loadStaticData(recipe, onStage);
  if (data.train.length === 0) throw new Error("train-static: the recipe's data gave no training pairs (no DDTP languages, no dictionaries and no gettext catalogues?)");
  const sources = pairSources(data.train);
  const t1 = Date.now();
  const workDir = options.workDir ?? `${options.out}.work`;
  // A work folder left by another recipe is not resumed (its checkpoint would be refused): start over.
  let resume = options.resume ?? true;
  const previous = await readFile(join(workDir, RECIPE_FILE), "utf8").catch(() => undefined);
  if (resume && previous !== undefined && previous.trim() !== canonicalJson(recipe)) {
    onStage(`${workDir} holds a run of another recipe: starting over`);
    resume = false;
  }
  await mkdir(workDir, { recursive: true });
  await writeFile(join(workDir, RECIPE_FILE), `${canonicalJson(recipe)}\n`);
  onStage(`training on ${data.train.length} pairs in ${Object.keys(sources).length} groups (work folder ${workDir})`);
  const result = await trainStaticModel({
    config: recipe,
    train: data.train,
    dev: data.dev,
    workDir,
    resume,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const t2 = Date.now();
  onStage(`writing ${options.out}`);
  await writeStaticModel(options.out, result.model, { config: recipe, sources, dev: result.dev });
  const t3 = Date.now();
  return { ...result, out: options.out, workDir, sources, timings: { data: (t1 - t0) / 1000, train: (t2 - t1) / 1000, write: (t3 - t2) / 1000, total: (t3 - t0) / 1000 } };
}

/** The recipe a model folder was built from (config.json's `crossrank.config`), if it was built by crossrank. */
export async function builtRecipe(dir: string): Promise<StaticRecipe | undefined> {
  try {
    await access(join(dir, "model.safetensors"));
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as { crossrank?: { config?: StaticRecipe } };
    return config.crossrank?.config ?? undefined;
  } catch {
    return undefined;
  }
}

