import { describe, expect, it } from "vitest";
import { ddtpText, parseDdtp, readDdtp, type DdtpDescription } from "../src/ddtp.js";
import { collectionFormat, readCollection } from "../src/collection.js";
import { ddtpLanguages, loadDdtpTask } from "../src/ddtp-task.js";
import { fixture, tempFiles } from "./helpers.js";

const dir = fixture("ddtp");

describe("readDdtp", () => {
  it("parses stanzas: short, long with ' .' as an empty line, one leading space removed", async () => {
    const en = await readDdtp(fixture("ddtp", "Translation-en"));
    expect(en.map((d) => d.md5)).toEqual([
      "a1b2c3d4e5f60718293a4b5c6d7e8f90",
      "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
      "0123456789abcdef0123456789abcdef",
      "ffffffffffffffffffffffffffffffff",
    ]);
    expect(en[0]).toEqual({
      md5: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
      lang: "en",
      packages: ["orbit"],
      short: "Turn-based space trading game",
      long: 'Orbit (pronounced "or-bit") is a small, free trading game\nset among the moons of a gas giant.\n\nThis package contains the game itself.',
      line: 1,
    });
    expect(en[1]!.long.split("\n").slice(1)).toEqual([
      "",
      "Features:",
      " * twelve moons",
      " * a fuel economy",
      '.cabal files are generated from YAML (a line starting with " ." and more).',
    ]);
    // Two packages share one description (md5 compared case-insensitively).
    expect(en[2]).toMatchObject({ packages: ["python3-foo", "python3-foo-doc"], line: 19 });
    expect(en[3]).toMatchObject({ short: "A package with only a short description", long: "", line: 29 });
  });

  it("reads the gzipped file like the plain one, and warns when merged stanzas differ", async () => {
    const warnings: string[] = [];
    const gz = await readDdtp(fixture("ddtp", "Translation-de.gz"), { onWarning: (w) => warnings.push(w) });
    expect(gz).toEqual(await readDdtp(fixture("Translation-de")));
    expect(gz.map((d) => [d.lang, d.packages])).toEqual([
      ["de", ["orbit"]],
      ["de", ["python3-foo", "python3-foo-doc"]],
      ["de", ["obsolete"]],
    ]);
    // A continuation line holding a no-break space is text, not a stanza separator.
    expect(gz[0]!.long.split("\n")[2]).toBe("\u00a0");
    expect(gz[1]!.short).toBe("Foo-Bibliothek für Python 3");
    expect(warnings).toEqual([
      expect.stringMatching(
        /Translation-de\.gz: kept the first text of 1 stanzas that share a Description-md5 with an earlier one but differ in text \(e\.g\. line 14, md5 0123456789abcdef0123456789abcdef\)$/,
      ),
    ]);
  });

  it("takes the language from the field name and accepts CRLF and extra blank lines", () => {
    const text = "\r\n\r\nPackage: a\r\nDescription-md5: ffffffffffffffffffffffffffffffff\r\nX-Other: y\r\n more of X\r\nDescription-pt_BR: Curta\r\n Longa\r\n .\r\n fim\r\n \t\r\n";
    expect(parseDdtp(text, "mem")).toEqual([
      { md5: "ffffffffffffffffffffffffffffffff", lang: "pt_BR", packages: ["a"], short: "Curta", long: "Longa\n\nfim", line: 3 },
    ]);
    // Field names ignore case; tab-led continuation lines; a byte-order mark; bytes as input.
    const lower = "\ufeffpackage: b\ndescription-md5: EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE\ndescription-de: Kurz\n\tLang\n .\n";
    expect(parseDdtp(Buffer.from(lower), "mem")).toEqual([
      { md5: "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", lang: "de", packages: ["b"], short: "Kurz", long: "Lang\n", line: 1 },
    ]);
  });

  describe("errors name the file and line", () => {
    const md5 = "Description-md5: ffffffffffffffffffffffffffffffff\n";
    const cases: [string, string, string][] = [
      ["continuation before any field", ` text\n`, "x:1: continuation line (starting with a space) before any field"],
      ["continuation after a blank line", `Package: a\n${md5}Description-en: s\n\n more\n`, "x:5: continuation line (starting with a space) before any field"],
      ["not a field", `Package: a\nno colon here\n`, 'x:2: expected "Field: value" or a continuation line starting with a space, got "no colon here"'],
      ["no md5", `\nPackage: a\nDescription-en: s\n`, "x:2: stanza has no Description-md5 field"],
      ["no description", `Package: a\n${md5}`, "x:1: stanza has no Description-<lang> field"],
      ["short md5", `Package: a\nDescription-md5: abc\nDescription-en: s\n`, 'x:2: Description-md5 must be 32 hex digits, got "abc" (3 characters)'],
      ["non-hex md5", `Description-md5: ${"g".repeat(32)}\nDescription-en: s\n`, "x:1: Description-md5 must be 32 hex digits"],
      ["two md5s", `${md5}${md5}Description-en: s\n`, "x:2: second Description-md5 field in one stanza"],
      ["two descriptions", `${md5}Description-en: s\nDescription-de: t\n`, "x:3: second description field (Description-de) in one stanza"],
      ["a Description- field without a language", `${md5}Description-: s\n`, "x:1: stanza has no Description-<lang> field"],
      ["mixed languages", `${md5}Description-en: s\n\nDescription-md5: ${"e".repeat(32)}\nDescription-de: t\n`, "x:4: Description-de in a file whose first stanza is Description-en"],
    ];
    it.each(cases)("%s", (_what, text, message) => {
      expect(() => parseDdtp(text, "x")).toThrow(message);
    });

    it("readDdtp names the path", async () => {
      const tmp = tempFiles();
      const path = tmp.write("Translation-xx.gz", "Package: a\n bad\n");
      await expect(readDdtp(path)).rejects.toThrow(/Translation-xx\.gz:1: stanza has no Description-md5 field/);
    });
  });

  it("ddtpText joins short and long", () => {
    const d: DdtpDescription = { md5: "f".repeat(32), lang: "en", packages: [], short: "S", long: "L1\nL2", line: 1 };
    expect([ddtpText(d, "short"), ddtpText(d, "long"), ddtpText(d, "description")]).toEqual(["S", "L1\nL2", "S\nL1\nL2"]);
    expect(ddtpText({ ...d, long: "" }, "description")).toBe("S");
  });
});

describe("readCollection of a DDTP file", () => {
  it("gives one document per description: id its md5, text short + long, lang from the file", async () => {
    const path = fixture("ddtp", "Translation-de.gz");
    expect(collectionFormat(path)).toBe("ddtp");
    expect(collectionFormat("/x/Translation-pt_BR")).toBe("ddtp");
    const descriptions = await readDdtp(path);
    expect(await readCollection(path)).toEqual(descriptions.map((d) => ({ id: d.md5, text: ddtpText(d, "description"), lang: "de" })));
    expect((await readCollection(fixture("ddtp", "Translation-pt_BR")))[0]!.lang).toBe("pt-BR");
    expect((await readCollection(path, "x"))[0]!.lang).toBe("x");
  });
});

describe("loadDdtpTask", () => {
  it("lists the languages of a folder", async () => {
    expect(await ddtpLanguages(dir)).toEqual(["de", "en", "pt_BR"]);
  });

  it("queries = translations with an English original, documents = all English descriptions", async () => {
    const task = await loadDdtpTask({ dir, queryLang: "de", queryField: "short", docField: "description" });
    expect(task.name).toBe("ddtp/short-description/de-en");
    expect(task.documents).toHaveLength(4);
    expect(task.documents[3]).toEqual({ id: "ffffffffffffffffffffffffffffffff", text: "A package with only a short description", lang: "en" });
    expect(task.documents[2]!.text).toBe("Foo library for Python 3\nFoo does everything.");
    expect(task.queries).toEqual([
      { id: "a1b2c3d4e5f60718293a4b5c6d7e8f90", text: "Rundenbasiertes Weltraum-Handelsspiel", lang: "de" },
      { id: "0123456789abcdef0123456789abcdef", text: "Foo-Bibliothek für Python 3", lang: "de" },
    ]);
    expect(task.qrels.get("0123456789abcdef0123456789abcdef")).toEqual(new Map([["0123456789abcdef0123456789abcdef", 1]]));
    expect(task.warnings).toEqual([
      expect.stringMatching(/Translation-de\.gz: kept the first text of 1 stanzas/),
      "skipped 1 de descriptions whose md5 has no en description",
    ]);
  });

  it("md5Filter selects queries only; BCP 47 tags in names and langs", async () => {
    const task = await loadDdtpTask({
      dir,
      queryLang: "pt-BR",
      queryField: "description",
      docField: "long",
      md5Filter: (md5) => md5.startsWith("f"),
    });
    expect(task.name).toBe("ddtp/description-long/pt-BR-en");
    expect(task.queryLang).toBe("pt-BR");
    expect(task.queries).toEqual([{ id: "ffffffffffffffffffffffffffffffff", text: "Um pacote com apenas uma descrição curta", lang: "pt-BR" }]);
    expect(task.documents.map((d) => d.text)[3]).toBe("");
    const none = await loadDdtpTask({ dir, queryLang: "pt_BR", queryField: "short", docField: "short", md5Filter: () => false, name: "n" });
    expect([none.name, none.queries.length, none.documents.length, none.warnings]).toEqual(["n", 0, 4, []]);
  });

  it("a missing language names the folder and the languages there", async () => {
    await expect(loadDdtpTask({ dir, queryLang: "fr", queryField: "short", docField: "short" })).rejects.toThrow(
      /no Translation-fr\.gz or Translation-fr in .*ddtp \(languages there: de, en, pt_BR\)/,
    );
  });
});
