import { describe, expect, it } from "vitest";
import type { DdtpDescription } from "@crossrank/datasets";
import { splitOf } from "@crossrank/datasets";
import {
  CLDR_SOURCE,
  cldrPairs,
  ddtpPairs,
  devRecall,
  dictionaryPairs,
  GETTEXT_SOURCE,
  gettextPairs,
  groupPairs,
  learnVocabulary,
  sampleEpoch,
  textsByLanguage,
  type PairCatalogue,
  type TextPair,
} from "../src/index.js";

const md5 = (i: number) => i.toString(16).padStart(32, "0");
const desc = (i: number, lang: string, short: string, long = ""): DdtpDescription => ({ md5: md5(i), lang, packages: [`p${i}`], short, long, line: 1 });

describe("parallel pairs", () => {
  const en = Array.from({ length: 200 }, (_, i) => desc(i, "en", `tool ${i}`, i % 2 === 0 ? `long text\n.\nnumber ${i}` : ""));
  const de = Array.from({ length: 150 }, (_, i) => desc(i, "de", `Werkzeug ${i}`, i % 2 === 0 ? `langer Text ${i}` : ""));
  de.push(desc(999, "de", "kein Englisch")); // no English original: dropped

  it("aligns DDTP by md5, short and long, and splits by md5", () => {
    const { train, dev } = ddtpPairs(en, de, { devFraction: 0.2, seed: 3 });
    const all = [...train, ...dev];
    expect(all.filter((p) => p.source === "ddtp-short")).toHaveLength(150);
    expect(all.filter((p) => p.source === "ddtp-long")).toHaveLength(75);
    expect(all.every((p) => p.lang === "de-en")).toBe(true);
    const p0 = all.find((p) => p.key === md5(0) && p.source === "ddtp-long");
    expect(p0).toMatchObject({ a: "langer Text 0", b: "long text . number 0" });
    const trainKeys = new Set(train.map((p) => p.key));
    expect(dev.some((p) => trainKeys.has(p.key))).toBe(false);
    expect(dev.length).toBeGreaterThan(20);
    expect(dev.length).toBeLessThan(80);
    // The split depends only on the key and seed.
    expect(ddtpPairs(en, de, { devFraction: 0.2, seed: 3 })).toEqual({ train, dev });
    expect(splitOf(md5(5), 0.2, 3)).toBe(ddtpPairs(en, de.slice(5, 6), { devFraction: 0.2, seed: 3 }).dev.length > 0 ? "dev" : "train");
  });

  it("takes dictionary pairs of every language pair, deduplicated, split by headword", () => {
    const dicts = [
      { from: "de", to: "en", entries: [{ source: "Hund", target: "dog" }, { source: "Hund", target: "hound" }, { source: "Hund", target: "dog" }, { source: "Katze", target: "cat" }] },
      { from: "fr", to: "de", entries: [{ source: "chien", target: "Hund" }, { source: " ", target: "x" }] },
    ];
    const { train, dev } = dictionaryPairs(dicts, { devFraction: 0.5, seed: 1 });
    const all = [...train, ...dev];
    expect(all).toHaveLength(4);
    expect(all.map((p) => `${p.source}/${p.lang}`).sort()).toEqual(["dict-pivot/fr-de", "dict/de-en", "dict/de-en", "dict/de-en"]);
    const hund = all.filter((p) => p.a === "Hund");
    expect(new Set(hund.map((p) => (train.includes(p) ? "train" : "dev"))).size).toBe(1);
  });

  it("samples epochs with a cap per source and language, walking through each group", () => {
    const pairs: TextPair[] = [];
    for (let i = 0; i < 1000; i++) pairs.push({ a: `d${i}`, b: `e${i}`, source: "dict", lang: "de-en", key: `k${i}` });
    for (let i = 0; i < 50; i++) pairs.push({ a: `s${i}`, b: `t${i}`, source: "ddtp-short", lang: "de-en", key: `m${i}` });
    const groups = groupPairs(pairs);
    const e0 = sampleEpoch(groups, { seed: 1, epoch: 0, capBySource: { dict: 100 } });
    const e1 = sampleEpoch(groups, { seed: 1, epoch: 1, capBySource: { dict: 100 } });
    expect(e0).toHaveLength(150);
    expect(e0.filter((p) => p.source === "dict")).toHaveLength(100);
    expect(e0.filter((p) => p.source === "ddtp-short")).toHaveLength(50);
    const d0 = new Set(e0.filter((p) => p.source === "dict").map((p) => p.a));
    expect(e1.filter((p) => p.source === "dict" && d0.has(p.a))).toHaveLength(0);
    expect(sampleEpoch(groups, { seed: 1, epoch: 0, capBySource: { dict: 100 } })).toEqual(e0);
    expect(sampleEpoch(groups, { seed: 2, epoch: 0, capBySource: { dict: 100 } })).not.toEqual(e0);
  });
});

describe("ddtpPairs kinds", () => {
  const en = [desc(1, "en", "Space game", "Orbit is a\ngame.\n\nWith moons."), desc(2, "en", "Only short"), desc(3, "en", "Not translated")];
  const de = [desc(1, "de", "Weltraumspiel", "Orbit ist ein Spiel."), desc(2, "de", "Nur kurz", "Lang ohne Englisch")];

  it("defaults to short and long pairs", () => {
    const { train, dev } = ddtpPairs(en, de, { devFraction: 0 });
    expect(dev).toEqual([]);
    expect(train.map((p) => [p.source, p.a, p.b])).toEqual([
      ["ddtp-short", "Weltraumspiel", "Space game"],
      ["ddtp-long", "Orbit ist ein Spiel.", "Orbit is a game. With moons."],
      ["ddtp-short", "Nur kurz", "Only short"],
    ]);
  });

  it("short-description pairs the translated short description with the English short + long", () => {
    const { train } = ddtpPairs(en, de, { devFraction: 0, kinds: ["short-description"] });
    expect(train).toEqual([
      { a: "Weltraumspiel", b: "Space game Orbit is a game. With moons.", source: "ddtp-short-description", lang: "de-en", key: md5(1) },
      { a: "Nur kurz", b: "Only short", source: "ddtp-short-description", lang: "de-en", key: md5(2) },
    ]);
  });

  it("takes only the kinds asked for, each md5 on one side", () => {
    const long = ddtpPairs(en, de, { devFraction: 0, kinds: ["long"] });
    expect(long.train.map((p) => p.source)).toEqual(["ddtp-long"]);
    const all = ddtpPairs(en, de, { devFraction: 1, kinds: ["short", "long", "short-description"] });
    expect(all.train).toEqual([]);
    expect(all.dev.map((p) => `${p.source}:${p.key.slice(-1)}`)).toEqual(["ddtp-short:1", "ddtp-long:1", "ddtp-short-description:1", "ddtp-short:2", "ddtp-short-description:2"]);
    expect(ddtpPairs(en, de, { kinds: [] })).toEqual({ train: [], dev: [] });
  });
});

describe("sampleEpoch budgetBySource", () => {
  const group = (source: string, lang: string, n: number): TextPair[] =>
    Array.from({ length: n }, (_, i) => ({ a: `${source}-${lang}-${i}`, b: `b${i}`, source, lang, key: `${lang}${i}` }));
  const pairs = [...group("dict", "de-en", 1000), ...group("dict", "fr-de", 30), ...group("dict", "ja-en", 200), ...group("ddtp-short", "de-en", 50)];
  const groups = groupPairs(pairs);
  const counts = (sample: readonly TextPair[]) => {
    const out: Record<string, number> = {};
    for (const p of sample) out[`${p.source}/${p.lang}`] = (out[`${p.source}/${p.lang}`] ?? 0) + 1;
    return out;
  };

  it("water-fills a source's budget over its groups: a small group gives all it has, the rest goes to the larger ones", () => {
    const e0 = sampleEpoch(groups, { seed: 1, epoch: 0, budgetBySource: { dict: 300 } });
    expect(counts(e0)).toEqual({ "dict/de-en": 135, "dict/fr-de": 30, "dict/ja-en": 135, "ddtp-short/de-en": 50 });
    // An uneven remainder goes to the largest group; the budget is spent exactly.
    expect(counts(sampleEpoch(groups, { seed: 1, epoch: 0, budgetBySource: { dict: 301 } }))).toEqual({
      "dict/de-en": 136,
      "dict/fr-de": 30,
      "dict/ja-en": 135,
      "ddtp-short/de-en": 50,
    });
    // Even split when every group is large enough.
    expect(counts(sampleEpoch(groups, { seed: 1, epoch: 0, budgetBySource: { dict: 60 } }))).toMatchObject({ "dict/de-en": 20, "dict/fr-de": 20, "dict/ja-en": 20 });
    // No pair twice within an epoch's group.
    expect(new Set(e0.map((p) => p.a)).size).toBe(e0.length);
  });

  it("a budget above the source's size takes everything; 0 takes nothing; other sources are untouched", () => {
    expect(counts(sampleEpoch(groups, { seed: 1, epoch: 0, budgetBySource: { dict: 5000 } }))).toEqual({
      "dict/de-en": 1000,
      "dict/fr-de": 30,
      "dict/ja-en": 200,
      "ddtp-short/de-en": 50,
    });
    expect(counts(sampleEpoch(groups, { seed: 1, epoch: 0, budgetBySource: { dict: 0 } }))).toEqual({ "ddtp-short/de-en": 50 });
    // A budget for a source with no groups changes nothing.
    expect(sampleEpoch(groups, { seed: 1, epoch: 0, budgetBySource: { nothing: 10 } })).toEqual(sampleEpoch(groups, { seed: 1, epoch: 0 }));
  });

  it("overrides capPerGroup and capBySource for the budgeted source only", () => {
    const e = sampleEpoch(groups, { seed: 1, epoch: 0, capPerGroup: 10, capBySource: { dict: 5 }, budgetBySource: { dict: 90 } });
    expect(counts(e)).toEqual({ "dict/de-en": 30, "dict/fr-de": 30, "dict/ja-en": 30, "ddtp-short/de-en": 10 });
  });

  it("walks through the groups over epochs and is deterministic", () => {
    const opts = { seed: 4, budgetBySource: { dict: 300 } };
    const e0 = sampleEpoch(groups, { ...opts, epoch: 0 });
    const e1 = sampleEpoch(groups, { ...opts, epoch: 1 });
    expect(sampleEpoch(groups, { ...opts, epoch: 0 })).toEqual(e0);
    const big0 = new Set(e0.filter((p) => p.lang === "de-en" && p.source === "dict").map((p) => p.a));
    expect(e1.filter((p) => p.lang === "de-en" && p.source === "dict" && big0.has(p.a))).toHaveLength(0);
  });

  it.each([1.5, -1, Number.NaN])("rejects a budget of %s", (budget) => {
    expect(() => sampleEpoch(groups, { seed: 1, epoch: 0, budgetBySource: { dict: budget } })).toThrow(/budgetBySource\.dict must be a whole number >= 0/);
  });
});

describe("gettextPairs", () => {
  const catalogue = (lang: string, entries: PairCatalogue["entries"], singularIndex: number | undefined = 0): PairCatalogue => ({ lang, singularIndex, entries });

  it("pairs the cleaned singular translation with the cleaned English msgid, source gettext", () => {
    const { train, dev, dropped } = gettextPairs(
      [
        catalogue("de", [
          { msgid: "_Open File…", msgstr: ["Datei _öffnen …"] },
          { msgid: "Could not read »%s«:\n%s", msgstr: ["»%s« konnte nicht gelesen werden:\n%s"] },
          { msgid: "<b>%d</b> file selected", msgidPlural: "<b>%d</b> files selected", msgstr: ["<b>%d</b> Datei ausgewählt", "<b>%d</b> Dateien ausgewählt"] },
        ]),
        // Arabic: the form for n = 1 is msgstr[1].
        catalogue("ar", [{ msgid: "%d file", msgidPlural: "%d files", msgstr: ["لا ملفات", "ملف واحد", "ملفان"] }], 1),
      ],
      { devFraction: 0 },
    );
    expect(dev).toEqual([]);
    expect(train).toEqual([
      { a: "Datei öffnen …", b: "Open File…", source: GETTEXT_SOURCE, lang: "de-en", key: "open file…" },
      { a: "konnte nicht gelesen werden:", b: "Could not read :", source: "gettext", lang: "de-en", key: "could not read :" },
      { a: "Datei ausgewählt", b: "file selected", source: "gettext", lang: "de-en", key: "file selected" },
      { a: "ملف واحد", b: "file", source: "gettext", lang: "ar-en", key: "file" },
    ]);
    expect(Object.values(dropped).every((n) => n === 0)).toBe(true);
  });

  it("drops and counts settings, unknown plural forms, empty sides, no English letter, copies, long strings and duplicates", () => {
    const long = "word ".repeat(70).trim(); // 349 characters
    const { train, dropped } = gettextPairs(
      [
        catalogue("de", [
          { msgid: "default:LTR", msgstr: ["default:RTL"] },
          { msgid: "calendar:week_start:0", msgstr: ["calendar:week_start:1"] },
          { msgid: "%s", msgstr: ["Wort %s"] },
          { msgid: "Wort %s", msgstr: ["%s"] },
          { msgid: "%H:%M", msgstr: ["%H.%M Uhr"] },
          { msgid: "BMP", msgstr: ["BMP"] },
          { msgid: "Login", msgstr: ["_login"] },
          { msgid: long, msgstr: ["kurz"] },
          { msgid: "short", msgstr: [long] },
          { msgid: "_File", msgstr: ["_Datei"] },
          { msgid: "Fil_e", msgstr: ["Dat_ei"] }, // the same pair once cleaned
        ]),
        // Another package's catalogue of the same language: the same pair again, and a new one.
        catalogue("de", [{ msgid: "File", msgstr: ["Datei"] }, { msgid: "Folder", msgstr: ["Ordner"] }]),
        // Another language: not a duplicate.
        catalogue("fr", [{ msgid: "File", msgstr: ["Fichier"] }]),
        // Plural entries of a catalogue whose Plural-Forms could not be read, or lacking the form.
        { lang: "ru", singularIndex: undefined, entries: [{ msgid: "%d file", msgidPlural: "%d files", msgstr: ["%d файл", "%d файла", "%d файлов"] }] },
        catalogue("ar", [{ msgid: "%d file", msgidPlural: "%d files", msgstr: ["لا ملفات"] }], 1),
      ],
      { devFraction: 0 },
    );
    expect(train.map((p) => `${p.lang}:${p.a}=${p.b}`)).toEqual(["de-en:Datei=File", "de-en:Ordner=Folder", "fr-en:Fichier=File"]);
    expect(dropped).toEqual({ setting: 2, plural: 2, empty: 2, "no-letter": 1, untranslated: 2, "too-long": 2, duplicate: 2 });
    expect(gettextPairs([catalogue("de", [{ msgid: long, msgstr: ["kurz"] }])], { devFraction: 0, maxLength: 400 }).train).toHaveLength(1);
  });

  it("splits by the English string, lower-cased: one side of the split in every language", () => {
    const words = Array.from({ length: 200 }, (_, i) => `message number ${i}`);
    const cats = ["de", "fr", "uk"].map((lang) => catalogue(lang, words.map((w, i) => ({ msgid: i % 2 === 0 ? w : w.toUpperCase(), msgstr: [`${lang} ${i}`] }))));
    const { train, dev } = gettextPairs(cats, { devFraction: 0.2, seed: 5 });
    expect(dev.length).toBeGreaterThan(60);
    expect(dev.length).toBeLessThan(180);
    expect(dev.length % 3).toBe(0);
    const devKeys = new Set(dev.map((p) => p.key));
    expect(train.some((p) => devKeys.has(p.key))).toBe(false);
    expect(new Set(dev.map((p) => p.b.toLowerCase())).size).toBe(dev.length / 3);
    expect(gettextPairs(cats, { devFraction: 0.2, seed: 5 })).toEqual({ train, dev, dropped: expect.any(Object) });
  });

  it("is a source that budgetBySource and devBySource address by name", () => {
    const words = (lang: string, n: number) => catalogue(lang, Array.from({ length: n }, (_, i) => ({ msgid: `file ${i} of folder`, msgstr: [`${lang} fichier ${i} dossier`] })));
    const { train, dev } = gettextPairs([words("de", 400), words("ko", 40)], { devFraction: 0.1 });
    const dict: TextPair[] = Array.from({ length: 100 }, (_, i) => ({ a: `Hund ${i}`, b: `dog ${i}`, source: "dict", lang: "de-en", key: `de:${i}` }));
    const groups = groupPairs([...train, ...dict]);
    const e = sampleEpoch(groups, { seed: 1, epoch: 0, capPerGroup: 10, budgetBySource: { dict: 50, gettext: 100 } });
    const count = (g: string) => e.filter((p) => `${p.source}/${p.lang}` === g).length;
    const ko = train.filter((p) => p.lang === "ko-en").length;
    expect(count("gettext/ko-en")).toBe(ko); // smaller than its share: all of it
    expect(count("gettext/de-en")).toBe(100 - ko);
    expect(count("dict/de-en")).toBe(50);
    // devBySource: gettext groups evaluated on their own number of dev pairs, or not at all.
    const vocab = learnVocabulary(textsByLanguage([...train, ...dict]), { size: 300 });
    const model = { vocab, dim: 8, embeddings: Float32Array.from({ length: vocab.length * 8 }, (_, i) => Math.sin(i)) };
    const devPairs = [...dev, ...dict.slice(0, 5)];
    const gettextGroups = [...groupPairs(dev).keys()].map((g) => `r1/${g}`);
    expect(gettextGroups).toContain("r1/gettext/de-en");
    expect(Object.keys(devRecall(model, devPairs, 3, { gettext: 2 })).sort()).toEqual(["r1/dict/de-en", ...gettextGroups]);
    expect(Object.keys(devRecall(model, devPairs, 3, { gettext: 0 }))).toEqual(["r1/dict/de-en"]);
  });
});

describe("cldrPairs", () => {
  it("pairs each entry with English, split by the English side the same way in every language", () => {
    const entries = Array.from({ length: 200 }, (_, i) => ({ source: `wort ${i}`, target: `word ${i}` }));
    const de = cldrPairs([{ lang: "de", entries }], { devFraction: 0.2 });
    const fr = cldrPairs([{ lang: "fr", entries: entries.map((e) => ({ ...e, source: `mot ${e.target.slice(5)}` })) }], { devFraction: 0.2 });
    expect(de.train.length + de.dev.length).toBe(200);
    expect(de.dev.length).toBeGreaterThan(10);
    expect(de.train[0]).toMatchObject({ source: CLDR_SOURCE, lang: "de-en" });
    expect(de.dev.map((p) => p.b)).toEqual(fr.dev.map((p) => p.b));
  });
});
