import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanGettextText,
  compileGettextCatalogue,
  gettextLanguage,
  gettextPluralIndex,
  installedCatalogues,
  parseGettextCatalogue,
  readGettextCatalogue,
  singularTranslation,
} from "../src/index.js";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "crossrank-lexicon-gettext-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const ARABIC_PLURALS = "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;";

/**
 * The bytes of a .mo file written by hand (GNU gettext's layout: magic, revision, count, offsets of
 * the original and translation tables, an empty hash table, then the NUL-terminated strings), so
 * that the reader is checked on a file its own library did not write. `strings` are [msgid, msgstr]
 * in sorted msgid order, already encoded.
 */
function handMadeMo(strings: readonly (readonly [Uint8Array, Uint8Array])[], bigEndian = false): Buffer {
  const n = strings.length;
  const headerSize = 28;
  const originals = headerSize;
  const translations = originals + 8 * n;
  let at = translations + 8 * n;
  const out = Buffer.alloc(at + strings.reduce((s, [a, b]) => s + a.length + b.length + 2, 0));
  const put = (offset: number, value: number) => (bigEndian ? out.writeUInt32BE(value, offset) : out.writeUInt32LE(value, offset));
  [0x950412de, 0, n, originals, translations, 0, at].forEach((v, i) => put(i * 4, v));
  for (const side of [0, 1] as const) {
    strings.forEach((pair, i) => {
      const bytes = pair[side];
      put((side === 0 ? originals : translations) + i * 8, bytes.length);
      put((side === 0 ? originals : translations) + i * 8 + 4, at);
      out.set(bytes, at);
      at += bytes.length + 1;
    });
  }
  return out;
}

describe("readGettextCatalogue", () => {
  it("reads a catalogue: messages, contexts, plurals and the singular form of the Plural-Forms header", async () => {
    const path = join(root, "ar.mo");
    await writeFile(
      path,
      compileGettextCatalogue(
        [
          { msgid: "_Open", msgstr: ["_فتح"] },
          { msgid: "Left", context: "keyboard label", msgstr: ["يسار"] },
          { msgid: "%d file", msgidPlural: "%d files", msgstr: ["لا ملفات", "ملف %d", "ملفان", "%d ملفات", "%d ملفًا", "%d ملف"] },
          { msgid: "Untranslated", msgstr: [""] },
        ],
        { Language: "ar", "Plural-Forms": ARABIC_PLURALS },
      ),
    );
    const c = await readGettextCatalogue(path);
    expect(c.path).toBe(path);
    expect(c.charset).toBe("utf-8");
    expect(c.headers.Language).toBe("ar");
    expect(c.singularIndex).toBe(1); // Arabic's form 0 is for n = 0
    const byId = new Map(c.entries.map((e) => [e.msgid, e]));
    expect(c.entries).toHaveLength(3); // no header entry, no untranslated message
    expect(byId.get("_Open")).toEqual({ msgid: "_Open", msgstr: ["_فتح"] });
    expect(byId.get("Left")).toEqual({ msgid: "Left", context: "keyboard label", msgstr: ["يسار"] });
    const plural = byId.get("%d file")!;
    expect(plural.msgidPlural).toBe("%d files");
    expect(singularTranslation(plural, c)).toBe("ملف %d");
    expect(singularTranslation(byId.get("_Open")!, c)).toBe("_فتح");
    expect(singularTranslation(plural, { singularIndex: undefined })).toBeUndefined();
  });

  it("reads a hand-made big-endian ISO-8859-1 catalogue and one without Plural-Forms", () => {
    const latin1 = (s: string) => Buffer.from(s, "latin1");
    const header = latin1("Content-Type: text/plain; charset=ISO-8859-1\nLanguage: de\n");
    const mo = handMadeMo(
      [
        [latin1(""), header],
        [latin1("File"), latin1("Datei")],
        [latin1("Size"), latin1("Größe")],
        [Buffer.concat([latin1("door"), Buffer.from([0]), latin1("doors")]), Buffer.concat([latin1("Tür"), Buffer.from([0]), latin1("Türen")])],
      ],
      true,
    );
    const c = parseGettextCatalogue(mo, "de.mo");
    expect(c.charset).toBe("iso-8859-1");
    expect(c.singularIndex).toBe(0);
    expect(c.entries).toEqual([
      { msgid: "File", msgstr: ["Datei"] },
      { msgid: "Size", msgstr: ["Größe"] },
      { msgid: "door", msgidPlural: "doors", msgstr: ["Tür", "Türen"] },
    ]);
    // Little-endian and UTF-8 by the same hand.
    const utf8 = (s: string) => Buffer.from(s, "utf8");
    const little = handMadeMo([[utf8(""), utf8("Content-Type: text/plain; charset=UTF-8\n")], [utf8("Greek"), utf8("Ελληνικά")]]);
    expect(parseGettextCatalogue(little, "el.mo").entries).toEqual([{ msgid: "Greek", msgstr: ["Ελληνικά"] }]);
  });

  it("reads msgids and contexts named like Object's properties as messages", () => {
    // By hand: gettext-parser's compiler loses a `__proto__` msgid, its parser (10.x) does not.
    const utf8 = (t: string) => Buffer.from(t, "utf8");
    const mo = handMadeMo([
      [utf8(""), utf8("Content-Type: text/plain; charset=UTF-8\n")],
      [utf8("__proto__"), utf8("Prototyp")],
      [utf8("constructor"), utf8("Konstruktor")],
      [utf8("constructor\u0004toString"), utf8("in Zeichenkette")],
    ]);
    expect(parseGettextCatalogue(mo, "odd.mo").entries).toEqual([
      { msgid: "__proto__", msgstr: ["Prototyp"] },
      { msgid: "constructor", msgstr: ["Konstruktor"] },
      { msgid: "toString", context: "constructor", msgstr: ["in Zeichenkette"] },
    ]);
  });

  it("rejects what is not a catalogue, naming the file", async () => {
    expect(() => parseGettextCatalogue(Buffer.from("# not a catalogue, but long enough\n"), "x.mo")).toThrow(/^x\.mo: not a gettext \.mo file \(bad magic number\)/);
    expect(() => parseGettextCatalogue(Buffer.alloc(8), "short.mo")).toThrow(/^short\.mo: not a gettext \.mo file \(8 bytes\)/);
    const whole = compileGettextCatalogue([{ msgid: "File", msgstr: ["Datei"] }]);
    expect(() => parseGettextCatalogue(whole.subarray(0, whole.length - 8), "cut.mo")).toThrow(/^cut\.mo: malformed \.mo file: string \d+ at \d+\+\d+ runs past the end/);
    await expect(readGettextCatalogue(join(root, "missing.mo"))).rejects.toThrow(/ENOENT/);
  });
});

describe("gettextPluralIndex", () => {
  it("evaluates the Plural-Forms expression", () => {
    expect([0, 1, 2, 5, 11, 100].map((n) => gettextPluralIndex(ARABIC_PLURALS, n))).toEqual([0, 1, 2, 3, 4, 5]);
    expect([1, 2, 0].map((n) => gettextPluralIndex("nplurals=2; plural=(n != 1);", n))).toEqual([0, 1, 1]);
    expect(gettextPluralIndex("nplurals=2; plural=n>1;", 0)).toBe(0); // French
    expect(gettextPluralIndex("nplurals=1; plural=0;", 7)).toBe(0);
    const ukrainian = "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);";
    expect([1, 21, 11, 3, 5, 22].map((n) => gettextPluralIndex(ukrainian, n))).toEqual([0, 0, 2, 1, 2, 1]);
    const slovenian = "nplurals=4; plural=(n%100==1 ? 1 : n%100==2 ? 2 : n%100==3 || n%100==4 ? 3 : 0);";
    expect(gettextPluralIndex(slovenian, 1)).toBe(1);
    expect(gettextPluralIndex("nplurals=2; plural=!(n==1);", 1)).toBe(0);
  });

  it("is undefined for what it cannot evaluate or a form the catalogue lacks", () => {
    expect(gettextPluralIndex("nplurals=2; plural=foo(n);", 1)).toBeUndefined();
    expect(gettextPluralIndex("nplurals=2; plural=(n != 1", 1)).toBeUndefined();
    expect(gettextPluralIndex("nplurals=2;", 1)).toBeUndefined();
    expect(gettextPluralIndex("nplurals=2; plural=n%0;", 1)).toBeUndefined();
    expect(gettextPluralIndex("nplurals=1; plural=n==1 ? 1 : 0;", 1)).toBeUndefined();
    expect(gettextPluralIndex("nplurals=2; plural=n; alert(1)", 1)).toBe(1);
  });
});

describe("gettextLanguage", () => {
  it.each<[string, string | undefined]>([
    ["de", "de"],
    ["de_DE", "de"],
    ["de_CH", "de"],
    ["de_DE.UTF-8", "de"],
    ["pt_BR", "pt"],
    ["pt_PT", "pt"],
    ["zh_CN", "zh"],
    ["zh_SG", "zh"],
    ["zh_Hans", "zh"],
    ["zh_TW", undefined],
    ["zh_HK", undefined],
    ["zh_Hant", undefined],
    ["sr@latin", undefined],
    ["ca@valencia", undefined],
    ["en@quot", undefined],
    ["uz_Latn", undefined],
    ["en_GB", "en"],
    ["es_419", "es"],
    ["ast", "ast"],
    ["locale.alias", undefined],
    ["C", undefined],
  ])("%s → %s", (locale, lang) => {
    expect(gettextLanguage(locale)).toBe(lang);
  });
});

describe("cleanGettextText", () => {
  it.each<[string, string]>([
    ["_File", "File"],
    ["Open _Recent", "Open Recent"],
    ["&Open", "Open"],
    ["Save &As…", "Save As…"],
    ["ファイル(_F)", "ファイル"],
    ["열기(_O):", "열기:"],
    ["文件(&F)", "文件"],
    ["snake__case", "snake_case"],
    ["R&&D", "R&D"],
    ["LC_ALL and LC_CTYPE", "LC_ALL and LC_CTYPE"], // several: identifiers, kept
    ["Open _File in %(app_name)s", "Open File in"],
    ["%s: %1$d files in %(dir)s", ": files in"],
    ["Copy {0} to {name}, {}, {0:>10} and {obj.attr!r}", "Copy to , , and"],
    ["%-.*s and %lu of %5.2f%%", "and of %"],
    ["Size: %<PRIu64> bytes", "Size: bytes"],
    ["Copy %1 to %2", "Copy to"],
    ["%H:%M", ":"],
    ["»%s« konnte nicht gelesen werden", "konnte nicht gelesen werden"],
    ["Could not read '%s' (%d)", "Could not read"],
    ["<b>Bold</b> and <span weight=\"bold\">heavy</span>", "Bold and heavy"],
    ["<a href=\"http://example.org/x_y\">_Home page</a>", "Home page"],
    ["Save &amp; Quit", "Save & Quit"],
    ["Drag & Drop", "Drag & Drop"],
    ["&lt;b&gt; is a tag, &#234; a letter", "<b> is a tag, ê a letter"],
    ["Line one\nLine two\n\tthree  ", "Line one Line two three"],
    ["|pinentry-label|_Cancel", "Cancel"],
    ["||Please enter the PIN", "Please enter the PIN"],
    ["100% sure", "100% sure"],
    ["%s", ""],
  ])("%j → %j", (raw, clean) => {
    expect(cleanGettextText(raw)).toBe(clean);
  });
});

describe("installedCatalogues", () => {
  let dir: string;

  beforeAll(async () => {
    dir = join(root, "locale");
    const mo = compileGettextCatalogue([{ msgid: "File", msgstr: ["x"] }]);
    // Written in an order other than the sorted one.
    for (const locale of ["pt_BR", "de", "zh_TW", "sr@latin", "en_GB", "en@quot", "de_CH", "zh_CN", "fr", "pt"]) {
      await mkdir(join(dir, locale, "LC_MESSAGES"), { recursive: true });
      await writeFile(join(dir, locale, "LC_MESSAGES", "glib20.mo"), mo);
    }
    await writeFile(join(dir, "de", "LC_MESSAGES", "iso_639-2.mo"), mo);
    await symlink("iso_639-2.mo", join(dir, "de", "LC_MESSAGES", "iso_639.mo")); // as iso-codes installs it
    await symlink("missing.mo", join(dir, "de", "LC_MESSAGES", "dangling.mo"));
    await writeFile(join(dir, "de", "LC_MESSAGES", "README"), "not a catalogue\n");
    await mkdir(join(dir, "it")); // no LC_MESSAGES
    await writeFile(join(dir, "locale.alias"), "# not a locale\n");
  });

  const names = (list: { locale: string; lang: string; domain: string }[]) => list.map((c) => `${c.locale}:${c.lang}:${c.domain}`);

  it("lists the catalogues of non-English locales of one language, once each, in sorted order", async () => {
    const list = await installedCatalogues({ directories: [dir, join(root, "no-such-directory")] });
    expect(names(list)).toEqual([
      "de:de:glib20",
      "de:de:iso_639-2", // iso_639.mo is a link to it
      "de_CH:de:glib20",
      "fr:fr:glib20",
      "pt:pt:glib20",
      "pt_BR:pt:glib20",
      "zh_CN:zh:glib20",
    ]);
    expect(list[0]!.path).toBe(join(dir, "de", "LC_MESSAGES", "glib20.mo"));
  });

  it("keeps the languages and domains asked for", async () => {
    expect(names(await installedCatalogues({ directories: [dir], languages: ["pt_BR", "zh", "en"] }))).toEqual(["pt:pt:glib20", "pt_BR:pt:glib20", "zh_CN:zh:glib20"]);
    expect(names(await installedCatalogues({ directories: [dir], domains: ["iso_639"] }))).toEqual(["de:de:iso_639"]);
    expect(names(await installedCatalogues({ directories: [dir], languages: ["de"], domains: ["iso_639-2", "iso_639"] }))).toEqual(["de:de:iso_639-2"]);
    expect(await installedCatalogues({ directories: [join(root, "no-such-directory")] })).toEqual([]);
  });
});
