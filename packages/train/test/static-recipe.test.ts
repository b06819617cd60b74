import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEncoder } from "@crossrank/encode";
import { compileGettextCatalogue } from "@crossrank/lexicon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  builtRecipe,
  buildStaticModel,
  canonicalJson,
  DEFAULT_STATIC_CONFIG,
  DEFAULT_STATIC_RECIPE,
  loadStaticData,
  parseStaticRecipe,
  readStaticRecipe,
  STATIC_DICTIONARY_LANGUAGES,
  TINY_STATIC_CONFIG,
  type StaticProgress,
  type StaticRecipe,
} from "../src/index.js";

// The committed fixtures of the datasets and lexicon packages, laid out under the names the
// loaders look for (the DDTP fixtures are stored under neutral names, see datasets/test/helpers.ts).
const DDTP_FIXTURES = fileURLToPath(new URL("../../datasets/test/fixtures/ddtp/", import.meta.url));
const LEXICON_FIXTURES = fileURLToPath(new URL("../../lexicon/test/fixtures/", import.meta.url));

let root: string;
let ddtpDir: string;
let dictDir: string;
let localeDir: string;

/** A few catalogues per locale, as Debian lays them out: `<locale>/LC_MESSAGES/<domain>.mo`. */
const CATALOGUES: Record<string, Record<string, [string, string][]>> = {
  de: {
    glib20: [["_Open", "_Öffnen"], ["Could not read »%s«", "»%s« konnte nicht gelesen werden"], ["BMP", "BMP"], ["default:LTR", "default:LTR"]],
    iso_3166: [["Germany", "Deutschland"], ["France", "Frankreich"], ["Greece", "Griechenland"], ["Korea, Republic of", "Korea, Republik"]],
  },
  de_CH: { glib20: [["_Open", "_Öffnen"], ["Street", "Strasse"]] },
  pt_BR: { glib20: [["_Open", "_Abrir"], ["File", "Arquivo"]] },
  pt: { glib20: [["File", "Ficheiro"]] },
  fr: { glib20: [["_Open", "_Ouvrir"], ["File", "Fichier"]] },
  zh_TW: { glib20: [["File", "檔案"]] },
  "sr@latin": { glib20: [["File", "Datoteka"]] },
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "crossrank-static-recipe-"));
  ddtpDir = join(root, "ddtp");
  dictDir = join(root, "dictd");
  await mkdir(ddtpDir);
  await mkdir(dictDir);
  await copyFile(join(DDTP_FIXTURES, "de.deb822.gz"), join(ddtpDir, "Translation-de.gz"));
  await copyFile(join(DDTP_FIXTURES, "en.deb822"), join(ddtpDir, "Translation-en"));
  await copyFile(join(DDTP_FIXTURES, "pt_BR.deb822"), join(ddtpDir, "Translation-pt_BR"));
  await copyFile(join(LEXICON_FIXTURES, "freedict-deu-eng.index"), join(dictDir, "freedict-deu-eng.index"));
  await copyFile(join(LEXICON_FIXTURES, "freedict-deu-eng.dict.dz"), join(dictDir, "freedict-deu-eng.dict.dz"));
  localeDir = join(root, "locale");
  for (const [locale, domains] of Object.entries(CATALOGUES)) {
    await mkdir(join(localeDir, locale, "LC_MESSAGES"), { recursive: true });
    for (const [domain, messages] of Object.entries(domains)) {
      await writeFile(join(localeDir, locale, "LC_MESSAGES", `${domain}.mo`), compileGettextCatalogue(messages.map(([msgid, msgstr]) => ({ msgid, msgstr: [msgstr] }))));
    }
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * The tiny configuration on the fixtures. The fixtures give about a dozen training pairs: batches
 * of 2 (instead of TINY's 16) so that there are updates at all.
 */
const recipe = (): StaticRecipe => ({
  ...TINY_STATIC_CONFIG,
  batchSize: 2,
  epochs: 2,
  ddtp: { dir: ddtpDir, devFraction: 0.3 },
  dictionaries: { directories: [dictDir], cedict: false },
});

describe("parseStaticRecipe", () => {
  it("accepts the default and tiny recipes unchanged", () => {
    expect(parseStaticRecipe(JSON.parse(JSON.stringify(DEFAULT_STATIC_RECIPE)), "d.json")).toEqual(DEFAULT_STATIC_RECIPE);
    expect(parseStaticRecipe({ ...TINY_STATIC_CONFIG }, "t.json")).toEqual(TINY_STATIC_CONFIG);
    expect(DEFAULT_STATIC_RECIPE).toMatchObject({ ...DEFAULT_STATIC_CONFIG, ddtp: { kinds: ["short", "long", "short-description"] } });
    expect(DEFAULT_STATIC_RECIPE.dictionaries).toEqual({ languages: [...STATIC_DICTIONARY_LANGUAGES] });
  });

  it.each<[string, unknown, RegExp]>([
    ["an unknown key", { ...TINY_STATIC_CONFIG, vocabsize: 3 }, /^r\.json: vocabsize: unknown key/],
    ["a missing required key", { ...TINY_STATIC_CONFIG, dim: undefined }, /^r\.json: dim: required/],
    ["a missing lr", (({ lr: _, ...rest }) => rest)(TINY_STATIC_CONFIG), /^r\.json: lr: required/],
    ["a string for a number", { ...TINY_STATIC_CONFIG, epochs: "8" }, /^r\.json: epochs: expected a whole number >= 1, got "8"/],
    ["a fractional batch size", { ...TINY_STATIC_CONFIG, batchSize: 2.5 }, /^r\.json: batchSize: expected a whole number >= 1/],
    ["a negative seed", { ...TINY_STATIC_CONFIG, seed: -1 }, /^r\.json: seed: expected a whole number >= 0/],
    ["a zero temperature", { ...TINY_STATIC_CONFIG, temperature: 0 }, /^r\.json: temperature: expected a number > 0, got 0/],
    ["a bad budget", { ...TINY_STATIC_CONFIG, budgetBySource: { dict: 1.5 } }, /^r\.json: budgetBySource\.dict: expected a whole number >= 0, got 1\.5/],
    ["a list for capBySource", { ...TINY_STATIC_CONFIG, capBySource: [1] }, /^r\.json: capBySource: expected an object/],
    ["an unknown ddtp kind", { ...TINY_STATIC_CONFIG, ddtp: { kinds: ["title"] } }, /^r\.json: ddtp\.kinds: "title" is not one of short, long, short-description/],
    ["an unknown ddtp key", { ...TINY_STATIC_CONFIG, ddtp: { language: ["de"] } }, /^r\.json: ddtp\.language: unknown key/],
    ["ddtp: true", { ...TINY_STATIC_CONFIG, ddtp: true }, /^r\.json: ddtp: expected an object or false/],
    ["a string for languages", { ...TINY_STATIC_CONFIG, dictionaries: { languages: "de" } }, /^r\.json: dictionaries\.languages: expected a list of strings/],
    ["a devFraction of 1", { ...TINY_STATIC_CONFIG, ddtp: { devFraction: 1 } }, /^r\.json: ddtp\.devFraction: expected a number in \[0, 1\), got 1/],
    ["an unknown dictionaries key", { ...TINY_STATIC_CONFIG, dictionaries: { cedic: false } }, /^r\.json: dictionaries\.cedic: unknown key/],
    ["gettext: true", { ...TINY_STATIC_CONFIG, gettext: true }, /^r\.json: gettext: expected an object or false/],
    ["an unknown gettext key", { ...TINY_STATIC_CONFIG, gettext: { domain: ["glib20"] } }, /^r\.json: gettext\.domain: unknown key \(known: directories, languages, domains, devFraction\)/],
    ["a string for gettext domains", { ...TINY_STATIC_CONFIG, gettext: { domains: "glib20" } }, /^r\.json: gettext\.domains: expected a list of strings/],
    ["numbers for gettext languages", { ...TINY_STATIC_CONFIG, gettext: { languages: [1] } }, /^r\.json: gettext\.languages: expected a list of strings/],
    ["a string for gettext directories", { ...TINY_STATIC_CONFIG, gettext: { directories: "/usr/share/locale" } }, /^r\.json: gettext\.directories: expected a list of strings/],
    ["an unknown cldr key", { ...TINY_STATIC_CONFIG, cldr: { language: ["de"] } }, /^r\.json: cldr\.language: unknown key \(known: languages, devFraction\)/],
    ["cldr: 1", { ...TINY_STATIC_CONFIG, cldr: 1 }, /^r\.json: cldr: expected an object or false/],
    ["a gettext devFraction of -0.1", { ...TINY_STATIC_CONFIG, gettext: { devFraction: -0.1 } }, /^r\.json: gettext\.devFraction: expected a number in \[0, 1\), got -0\.1/],
    ["an array", [TINY_STATIC_CONFIG], /^r\.json: \(top level\): expected a JSON object/],
    ["null", null, /^r\.json: \(top level\): expected a JSON object/],
  ])("rejects %s, naming the source and the key", (_, raw, message) => {
    expect(() => parseStaticRecipe(raw, "r.json")).toThrow(message);
  });

  it("accepts false for ddtp and dictionaries", () => {
    const r = parseStaticRecipe({ ...TINY_STATIC_CONFIG, ddtp: false, dictionaries: false }, "r.json");
    expect(r.ddtp).toBe(false);
    expect(r.dictionaries).toBe(false);
  });

  it("accepts a gettext block or false, and leaves recipes without one as they were", () => {
    const block = { directories: ["/usr/share/locale"], languages: ["de", "uk"], domains: ["iso_3166-1"], devFraction: 0.05 };
    expect(parseStaticRecipe({ ...TINY_STATIC_CONFIG, gettext: block }, "r.json").gettext).toEqual(block);
    expect(parseStaticRecipe({ ...TINY_STATIC_CONFIG, gettext: {} }, "r.json").gettext).toEqual({});
    expect(parseStaticRecipe({ ...TINY_STATIC_CONFIG, gettext: false }, "r.json").gettext).toBe(false);
    // The default recipe reads every installed catalogue and the CLDR glossary; a recipe without
    // the blocks keeps its canonical JSON (work folders and built models of older recipes are
    // still theirs).
    expect(DEFAULT_STATIC_RECIPE.gettext).toEqual({});
    expect(DEFAULT_STATIC_RECIPE.cldr).toEqual({});
    const { gettext: _g, cldr: _c, ...older } = DEFAULT_STATIC_RECIPE;
    expect(canonicalJson(older)).not.toContain("\"gettext\":{");
    expect(canonicalJson({ ...older, gettext: undefined })).toBe(canonicalJson(older));
    expect(canonicalJson({ ...older, gettext: {} })).not.toBe(canonicalJson(older));
  });
});

describe("readStaticRecipe", () => {
  it("reads a JSON file and names it in errors", async () => {
    const good = join(root, "good.json");
    await writeFile(good, JSON.stringify({ ...TINY_STATIC_CONFIG, ddtp: false }));
    expect(await readStaticRecipe(good)).toEqual({ ...TINY_STATIC_CONFIG, ddtp: false });
    const broken = join(root, "broken.json");
    await writeFile(broken, "{ dim: 3 ");
    await expect(readStaticRecipe(broken)).rejects.toThrow(`${broken}: not valid JSON`);
    const unknown = join(root, "unknown.json");
    await writeFile(unknown, JSON.stringify({ ...TINY_STATIC_CONFIG, epoch: 3 }));
    await expect(readStaticRecipe(unknown)).rejects.toThrow(`${unknown}: epoch: unknown key`);
    await expect(readStaticRecipe(join(root, "missing.json"))).rejects.toThrow(/ENOENT/);
  });
});

describe("loadStaticData", () => {
  it("reads DDTP (split by md5) and the dictionaries of the directories", async () => {
    const stages: string[] = [];
    const data = await loadStaticData(recipe(), (m) => stages.push(m));
    expect(stages).toEqual([`reading DDTP (de, pt_BR) from ${ddtpDir}`, "reading 1 dictionaries"]);
    // At devFraction 0.3 the orbit md5 is dev, the python3-foo and tiny md5s are train.
    const ddtp = (pairs: typeof data.train) => pairs.filter((p) => p.source.startsWith("ddtp")).map((p) => `${p.source}/${p.lang}:${p.key}`);
    expect(ddtp(data.train)).toEqual([
      "ddtp-short/de-en:0123456789abcdef0123456789abcdef",
      "ddtp-long/de-en:0123456789abcdef0123456789abcdef",
      "ddtp-short/pt_BR-en:ffffffffffffffffffffffffffffffff",
    ]);
    expect(ddtp(data.dev)).toEqual(["ddtp-short/de-en:a1b2c3d4e5f60718293a4b5c6d7e8f90", "ddtp-long/de-en:a1b2c3d4e5f60718293a4b5c6d7e8f90"]);
    const dict = [...data.train, ...data.dev].filter((p) => p.source === "dict");
    expect(dict.length).toBeGreaterThan(0);
    expect(dict.every((p) => p.lang === "de-en")).toBe(true);
    expect(dict.some((p) => p.a.toLowerCase() === "haus")).toBe(true);
    expect(data.summary).toEqual([
      "DDTP de: 2 train / 2 dev pairs",
      "DDTP pt_BR: 1 train / 0 dev pairs",
      expect.stringMatching(new RegExp(`^dictionary de-en \\(${join(dictDir, "freedict-deu-eng.index").replace(/[.\\/]/g, "\\$&")}\\): \\d+ train / \\d+ dev pairs$`)),
    ]);
  });

  it("honours languages, kinds and false", async () => {
    const data = await loadStaticData({ ...recipe(), ddtp: { dir: ddtpDir, languages: ["de"], kinds: ["short-description"], devFraction: 0 }, dictionaries: false });
    expect(data.dev).toEqual([]);
    expect(data.train).toEqual([
      { a: "Rundenbasiertes Weltraum-Handelsspiel", b: expect.stringMatching(/^Turn-based space trading game Orbit \(pronounced "or-bit"\) is a small/), source: "ddtp-short-description", lang: "de-en", key: "a1b2c3d4e5f60718293a4b5c6d7e8f90" },
      { a: "Foo-Bibliothek für Python 3", b: "Foo library for Python 3 Foo does everything.", source: "ddtp-short-description", lang: "de-en", key: "0123456789abcdef0123456789abcdef" },
    ]);
    const none = await loadStaticData({ ...TINY_STATIC_CONFIG, ddtp: false, dictionaries: false });
    expect(none).toEqual({ train: [], dev: [], summary: [] });
  });
});

describe("loadStaticData gettext", () => {
  const only = (gettext: StaticRecipe["gettext"], dictionaries: StaticRecipe["dictionaries"] = false): StaticRecipe => ({ ...TINY_STATIC_CONFIG, ddtp: false, dictionaries, gettext });

  it("reads the catalogues of the languages asked for into gettext pairs, a summary line per language", async () => {
    const stages: string[] = [];
    const data = await loadStaticData(only({ directories: [localeDir], languages: ["de", "pt"], devFraction: 0 }), (m) => stages.push(m));
    expect(stages).toEqual(["reading 5 gettext catalogues (de, pt)", "gettext: 10 train / 0 dev pairs; dropped 1 setting, 1 untranslated, 1 duplicate"]);
    expect(data.dev).toEqual([]);
    expect(data.train.every((p) => p.source === "gettext")).toBe(true);
    expect(data.train.map((p) => `${p.lang}:${p.a}=${p.b}`)).toEqual([
      "de-en:konnte nicht gelesen werden=Could not read", // in msgid order, as msgfmt writes them
      "de-en:Öffnen=Open",
      "de-en:Frankreich=France",
      "de-en:Deutschland=Germany",
      "de-en:Griechenland=Greece",
      "de-en:Korea, Republik=Korea, Republic of",
      "de-en:Strasse=Street", // de_CH is German; its "Öffnen" was a duplicate
      "pt-en:Ficheiro=File",
      "pt-en:Arquivo=File", // pt_BR is Portuguese
      "pt-en:Abrir=Open",
    ]);
    expect(data.train.find((p) => p.a === "Öffnen")).toEqual({ a: "Öffnen", b: "Open", source: "gettext", lang: "de-en", key: "open" });
    expect(data.summary).toEqual([
      "gettext de-en (3 catalogues): 7 train / 0 dev pairs; dropped 1 setting, 1 untranslated, 1 duplicate",
      "gettext pt-en (2 catalogues): 3 train / 0 dev pairs",
    ]);
  });

  it("takes the domains asked for, splits by English string and by default the recipe's dictionary languages", async () => {
    const iso = await loadStaticData(only({ directories: [localeDir], domains: ["iso_3166"], devFraction: 0.5 }));
    expect([...iso.train, ...iso.dev].map((p) => p.b).sort()).toEqual(["France", "Germany", "Greece", "Korea, Republic of"]);
    expect(iso.dev.length).toBeGreaterThan(0);
    expect(iso.train.length).toBeGreaterThan(0);
    // Languages: the dictionaries' when the recipe lists them, else STATIC_DICTIONARY_LANGUAGES
    // (which has de, fr and pt; traditional Chinese and sr@latin are never read).
    const fr = await loadStaticData(only({ directories: [localeDir] }, { languages: ["en", "fr"], directories: [join(root, "no-dictionaries")], cedict: false }));
    expect(fr.summary).toEqual(["gettext fr-en (1 catalogues): 2 train / 0 dev pairs"]);
    const all = await loadStaticData(only({ directories: [localeDir] }));
    expect(new Set([...all.train, ...all.dev].map((p) => p.lang))).toEqual(new Set(["de-en", "fr-en", "pt-en"]));
    expect(await loadStaticData(only({ directories: [join(root, "no-locales")] }))).toEqual({ train: [], dev: [], summary: [] });
    expect(await loadStaticData(only(false))).toEqual({ train: [], dev: [], summary: [] });
  });

  it("builds a model from gettext pairs alone, with budgetBySource and devBySource for the source", async () => {
    const r: StaticRecipe = { ...only({ directories: [localeDir], devFraction: 0.3 }), epochs: 1, batchSize: 2, budgetBySource: { gettext: 4 }, devBySource: { gettext: 3 } };
    const data = await loadStaticData(r);
    expect(data.train.length + data.dev.length).toBe(12);
    expect(data.dev.length).toBeGreaterThan(0);
    const out = join(root, "gettext-model");
    const result = await buildStaticModel(r, { out });
    expect(Object.values(result.sources).reduce((x, y) => x + y, 0)).toBe(data.train.length);
    expect(Object.keys(result.sources).every((g) => g.startsWith("gettext/"))).toBe(true);
    expect(result.steps).toBe(2); // 4 pairs an epoch in batches of 2
    expect(Object.keys(result.dev).sort()).toEqual([...new Set(data.dev.map((p) => `r1/gettext/${p.lang}`))].sort());
    expect(await builtRecipe(out)).toEqual(r);
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toContain("- gettext catalogues (`.mo` files of Debian packages)");
    expect(card).toContain(`| gettext/de-en | ${result.sources["gettext/de-en"]} |`);
  });
});

describe("buildStaticModel", () => {
  it("builds a model folder end to end, records the recipe, and resumes from the work folder", async () => {
    const r = recipe();
    const out = join(root, "model");
    const work = join(root, "work");
    const stages: string[] = [];
    const progress: StaticProgress[] = [];
    const result = await buildStaticModel(r, { out, workDir: work, onStage: (m) => stages.push(m), onProgress: (p) => progress.push(p) });

    expect(result.out).toBe(out);
    expect(result.workDir).toBe(work);
    expect(result.steps).toBeGreaterThan(0);
    expect(progress).toHaveLength(result.steps);
    expect(progress.at(-1)).toMatchObject({ step: result.steps, totalSteps: result.steps, epoch: 1 });
    expect(result.model.dim).toBe(32);
    expect(result.model.vocab.length).toBeGreaterThan(5);
    expect(result.model.vocab.length).toBeLessThanOrEqual(400);
    expect(Object.keys(result.sources).sort()).toEqual(["ddtp-long/de-en", "ddtp-short/de-en", "ddtp-short/pt_BR-en", "dict/de-en"]);
    expect(result.sources["ddtp-short/de-en"]).toBe(1);
    expect(result.sources["ddtp-short/pt_BR-en"]).toBe(1);
    expect(result.sources["dict/de-en"]).toBeGreaterThan(0);
    expect(Object.keys(result.dev)).toContain("r1/ddtp-short/de-en");
    expect(result.timings.total).toBeGreaterThanOrEqual(result.timings.train);
    expect(stages[0]).toBe(`reading DDTP (de, pt_BR) from ${ddtpDir}`);
    expect(stages).toContain(`writing ${out}`);
    expect(stages.some((s) => s.startsWith("training on ") && s.includes(`(work folder ${work})`))).toBe(true);

    const files = await readdir(out);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "README.md"]) expect(files).toContain(f);
    expect(await readdir(work)).toEqual(expect.arrayContaining(["checkpoint", "log.jsonl", "vocab.txt"]));
    expect(await builtRecipe(out)).toEqual(r);
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toContain("| dict/de-en |");
    expect(card).toContain("| ddtp-short/pt_BR-en | 1 |");

    const encoder = await loadEncoder(out);
    try {
      expect(encoder.backend).toBe("static");
      expect(encoder.dim).toBe(32);
      const e = await encoder.encode(["ein Test", "Foo-Bibliothek für Python 3"]);
      expect([e.rows, e.dim]).toEqual([2, 32]);
      for (let i = 0; i < 2; i++) {
        const row = e.data.subarray(i * 32, (i + 1) * 32);
        expect(Math.hypot(...row)).toBeCloseTo(1, 5);
      }
    } finally {
      await encoder.dispose();
    }

    // Same recipe and work folder, fresh out: the checkpoint is complete, so no update runs.
    const out2 = join(root, "model2");
    const progress2: StaticProgress[] = [];
    const again = await buildStaticModel(r, { out: out2, workDir: work, onProgress: (p) => progress2.push(p) });
    expect(again.steps).toBe(result.steps);
    expect(progress2).toEqual([]);
    expect(again.model.vocab).toEqual(result.model.vocab);
    expect(Array.from(again.model.embeddings)).toEqual(Array.from(result.model.embeddings));
    expect(await builtRecipe(out2)).toEqual(r);

    // resume: false starts over and, training being deterministic, ends at the same weights.
    const progress3: StaticProgress[] = [];
    const fresh = await buildStaticModel(r, { out: join(root, "model3"), workDir: work, resume: false, onProgress: (p) => progress3.push(p) });
    expect(progress3).toHaveLength(result.steps);
    expect(Array.from(fresh.model.embeddings)).toEqual(Array.from(result.model.embeddings));
  });

  it("defaults the work folder to <out>.work", async () => {
    const out = join(root, "default-work");
    const result = await buildStaticModel({ ...recipe(), dictionaries: false }, { out });
    expect(result.workDir).toBe(`${out}.work`);
    expect(await readdir(`${out}.work`)).toContain("vocab.txt");
    expect(Object.keys(result.sources).sort()).toEqual(["ddtp-long/de-en", "ddtp-short/de-en", "ddtp-short/pt_BR-en"]);
  });

  it("fails clearly when the recipe gives no training pairs", async () => {
    await expect(buildStaticModel({ ...TINY_STATIC_CONFIG, ddtp: false, dictionaries: false }, { out: join(root, "empty") })).rejects.toThrow(/gave no training pairs/);
  });
});

describe("builtRecipe", () => {
  it("is undefined for a folder that is missing or holds no crossrank model", async () => {
    expect(await builtRecipe(join(root, "nothing-here"))).toBeUndefined();
    const other = join(root, "other");
    await mkdir(other);
    await writeFile(join(other, "config.json"), "{}");
    expect(await builtRecipe(other)).toBeUndefined();
    await writeFile(join(other, "model.safetensors"), "");
    expect(await builtRecipe(other)).toBeUndefined();
  });
});
