import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  foldTerm,
  freedictPackage,
  loadDictionaries,
  loadStemmer,
  missingDictionaryMessage,
  MissingDictionaryError,
  normalizeText,
  readCedict,
  readDictd,
  readTsv,
  reverseDictionary,
  simpleTokenizer,
  TranslationTable,
  type Dictionary,
  type Translation,
} from "../src/index.js";

const FIXTURES = fileURLToPath(new URL("fixtures/", import.meta.url));
const deuEng = () => readDictd(join(FIXTURES, "freedict-deu-eng.index"), { from: "de", to: "en" });
const probabilities = (translations: Translation[] | undefined) =>
  Object.fromEntries((translations ?? []).map((t) => [t.term, Number(t.probability.toFixed(4))]));

describe("normalisation and folding", () => {
  it("normalizes as the analyzer does", () => {
    expect(normalizeText("STRAßE")).toBe("strasse");
    expect(normalizeText("ΟΔΟΣ")).toBe("οδοσ");
    expect(normalizeText("ｆｕｌｌ\u00adwidth")).toBe("fullwidth");
  });

  it("folds Arabic diacritics, tatweel and alef variants", () => {
    expect(foldTerm("كَتَبَ")).toBe("كتب");
    expect(foldTerm("مـــدرسة")).toBe("مدرسة");
    expect(foldTerm("أحمد")).toBe("احمد");
    expect(foldTerm("إسلام")).toBe("اسلام");
    expect(foldTerm("النَّفْس")).toBe("النفس");
  });

  it("folds Greek accents and diaeresis, and leaves Latin diacritics alone", () => {
    expect(foldTerm(normalizeText("Ελλάδα"))).toBe("ελλαδα");
    expect(foldTerm("σπίτι")).toBe("σπιτι");
    expect(foldTerm("προϊόν")).toBe("προιον");
    expect(foldTerm("schön")).toBe("schön");
    expect(foldTerm("año")).toBe("año");
  });

  it("tokenizes headwords without language knowledge", () => {
    expect(simpleTokenizer("Nach Hause, don't!")).toEqual(["nach", "hause", "don't"]);
    expect(simpleTokenizer("天安门广场")).toEqual(["天安门广场"]);
  });
});

describe("TranslationTable", () => {
  it("gives each distinct translation the same probability by default", async () => {
    const table = TranslationTable.build([await deuEng()]);
    // house (listed twice), establishment, institution, home: four distinct translations
    expect(probabilities(table.lookup("Haus"))).toEqual({ house: 0.25, establishment: 0.25, institution: 0.25, home: 0.25 });
    expect(table.lookup("Auto")).toBeUndefined();
  });

  it("counts listings with weighting: weighted, and uses a TSV's weights", async () => {
    const counted = TranslationTable.build([await deuEng()], { weighting: "weighted" });
    expect(probabilities(counted.lookup("Haus"))).toEqual({ house: 0.4, establishment: 0.2, institution: 0.2, home: 0.2 });
    const tsv = TranslationTable.build([await readTsv(join(FIXTURES, "words.tsv"), "de", "en")], { weighting: "weighted" });
    expect(probabilities(tsv.lookup("haus"))).toEqual({ house: 0.75, home: 0.25 });
  });

  it("keeps the most probable translations with maxTranslations, renormalized", async () => {
    const table = TranslationTable.build([await deuEng()], { weighting: "weighted", maxTranslations: 2 });
    expect(probabilities(table.lookup("Haus"))).toEqual({ house: 0.6667, establishment: 0.3333 });
    expect(() => TranslationTable.build([], { maxTranslations: 0 })).toThrow(RangeError);
  });

  it("shares a multi-word translation's probability among its words", async () => {
    const table = TranslationTable.build([await deuEng()]);
    expect(probabilities(table.lookup("fehlleiten"))).toEqual({ misguide: 0.5, lead: 0.25, astray: 0.25 });
  });

  it("translates the longest phrase and passes unknown terms through", async () => {
    const table = TranslationTable.build([await deuEng()]);
    const translated = table.translate(["wir", "gehen", "nach", "hause", "2024", "schnell"]);
    expect(translated.map((t) => [t.source, t.translated])).toEqual([
      ["wir", false],
      ["gehen", false],
      ["nach hause", true],
      ["2024", false],
      ["schnell", true],
    ]);
    expect(translated[0]!.translations).toEqual([{ term: "wir", probability: 1 }]);
    expect(probabilities(translated[2]!.translations)).toEqual({ home: 1 });
  });

  it("segments Chinese by the longest dictionary word", async () => {
    const table = TranslationTable.build([await readCedict(join(FIXTURES, "cedict-excerpt.u8"))]);
    const translated = table.translate(simpleTokenizer("我爱北京天安门广场2024"));
    expect(translated.map((t) => t.source)).toEqual(["我", "爱", "北京", "天安门广场", "2024"]);
    expect(probabilities(translated[3]!.translations)).toEqual({ tiananmen: 0.5, square: 0.5 });
    // A character the dictionary lacks passes through on its own, and matching resumes after it.
    expect(table.translate(["天安门", "们", "门"]).map((t) => [t.source, t.translated])).toEqual([
      ["天安门", true],
      ["们", false],
      ["门", true],
    ]);
  });

  it("looks inflected words up by their stem and stems translations", async () => {
    const [de, en] = await Promise.all([loadStemmer("de"), loadStemmer("en")]);
    const plain = TranslationTable.build([await deuEng()]);
    expect(plain.lookup("Häuser")).toBeUndefined();
    const stemmed = TranslationTable.build([await deuEng()], { sourceStemmer: de!, targetStemmer: en! });
    expect(probabilities(stemmed.lookup("Häuser"))).toEqual({ hous: 0.25, establish: 0.25, institu: 0.25, home: 0.25 });
    expect(stemmed.translate(["computers"])[0]!.translations).toEqual([{ term: "comput", probability: 1 }]);
    expect(await loadStemmer("zh")).toBeUndefined();
  });

  it("translates the reverse direction through a reversed dictionary", async () => {
    const table = TranslationTable.build([reverseDictionary(await deuEng())]);
    expect(probabilities(table.lookup("home"))).toEqual({ haus: 0.5, nach: 0.25, hause: 0.25 });
    expect(probabilities(table.lookup("bench"))).toEqual({ bank: 1 });
  });

  it("rejects dictionaries of different directions", async () => {
    const d = await deuEng();
    const reversed: Dictionary = reverseDictionary(d);
    expect(() => TranslationTable.build([d, reversed])).toThrow(/different directions: de→en and en→de/);
  });
});

describe("loadDictionaries", () => {
  it("finds dictd files in the given directories, forward and reversed", async () => {
    const forward = await loadDictionaries("de", "en", { directories: [FIXTURES] });
    expect(forward.map((d) => [d.from, d.to, d.entries.length])).toEqual([["de", "en", 14]]);
    const backward = await loadDictionaries("en", "de", { directories: [FIXTURES] });
    expect(backward.map((d) => [d.from, d.to])).toEqual([["en", "de"]]);
    expect(backward[0]!.entries[0]).toEqual({ source: "house", target: "haus" });
  });

  it("says which Debian package to install when none is found", async () => {
    const empty = await mkdtemp(join(tmpdir(), "lexicon-"));
    const failure = loadDictionaries("de", "en", { directories: [empty] });
    await expect(failure).rejects.toBeInstanceOf(MissingDictionaryError);
    await expect(failure).rejects.toThrow("no dictionary for de→en: apt-get install dict-freedict-deu-eng (or dict-freedict-eng-deu)");
    await expect(loadDictionaries("hi", "en", { directories: [empty] })).rejects.toThrow(
      "no dictionary for hi→en: apt-get install dict-freedict-eng-hin",
    );
    expect(missingDictionaryMessage("th", "en")).toMatch(/^no dictionary for th→en: Debian has no freedict package for tha-eng or eng-tha; give a word list/);
    expect(freedictPackage("el", "en")).toBe("dict-freedict-ell-eng");
  });

  it("reads a dictionary file named by path", async () => {
    const [tsv] = await loadDictionaries("de", "en", { path: join(FIXTURES, "words.tsv") });
    expect(tsv!.entries).toHaveLength(4);
    const [cedict] = await loadDictionaries("zh", "en", { path: join(FIXTURES, "cedict-excerpt.u8") });
    expect(cedict!.headwords).toBe(9);
  });

  // The smallest installed dictionary with a non-Latin script, to exercise folding on real data.
  const installed = existsSync("/usr/share/dictd/freedict-ell-eng.index");
  it.skipIf(!installed)("reads Debian's dict-freedict-ell-eng (skipped when not installed: apt-get install dict-freedict-ell-eng)", async () => {
    const dictionaries = await loadDictionaries("el", "en");
    expect(dictionaries[0]!.headwords).toBeGreaterThan(30_000);
    const table = TranslationTable.build(dictionaries);
    expect(Object.keys(probabilities(table.lookup("ΣΠΊΤΙ")))).toContain("house");
    expect(Object.keys(probabilities(table.lookup("σπιτι")))).toContain("home");
  });
});
