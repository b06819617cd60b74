import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installedDictionaries, iso639_1, iso639_3, readInstalledDictionary } from "../src/index.js";

const FIXTURES = fileURLToPath(new URL("fixtures/", import.meta.url));

let dir: string;
let second: string;

/** Copies the deu-eng fixture dictionary into `folder` as `freedict-<pair>.index` / `.dict.dz`. */
async function install(folder: string, pair: string): Promise<void> {
  await copyFile(join(FIXTURES, "freedict-deu-eng.index"), join(folder, `freedict-${pair}.index`));
  await copyFile(join(FIXTURES, "freedict-deu-eng.dict.dz"), join(folder, `freedict-${pair}.dict.dz`));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-lexicon-installed-"));
  second = await mkdtemp(join(tmpdir(), "crossrank-lexicon-installed2-"));
  // Written in an order other than the sorted one.
  await install(dir, "wol-fra");
  await install(dir, "fra-deu");
  await install(dir, "deu-eng");
  await writeFile(join(dir, "README"), "not a dictionary\n");
  await writeFile(join(dir, "freedict-deu-eng.dict.dz.bak"), "");
  await install(second, "eng-deu");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(second, { recursive: true, force: true });
});

describe("iso639_1", () => {
  it("maps ISO 639-3 to ISO 639-1 where there is one, else keeps the code", () => {
    expect(iso639_1("deu")).toBe("de");
    expect(iso639_1("eng")).toBe("en");
    expect(iso639_1("FRA")).toBe("fr");
    expect(iso639_1("zho")).toBe("zh");
    expect(iso639_1("wol")).toBe("wol");
    for (const code of ["deu", "fra", "spa", "jpn", "swh"]) expect(iso639_3(iso639_1(code))).toBe(code);
  });
});

describe("installedDictionaries", () => {
  it("lists every freedict pair by file name, ISO 639-1 tags, CC-CEDICT last", async () => {
    expect(await installedDictionaries({ directories: [dir] })).toEqual([
      { from: "de", to: "en", path: join(dir, "freedict-deu-eng.index") },
      { from: "fr", to: "de", path: join(dir, "freedict-fra-deu.index") },
      { from: "wol", to: "fr", path: join(dir, "freedict-wol-fra.index") },
      { from: "zh", to: "en", path: "cc-cedict" },
    ]);
  });

  it("cedict: false drops CC-CEDICT; directories are taken in order", async () => {
    expect(await installedDictionaries({ directories: [second, dir], cedict: false })).toEqual([
      { from: "en", to: "de", path: join(second, "freedict-eng-deu.index") },
      { from: "de", to: "en", path: join(dir, "freedict-deu-eng.index") },
      { from: "fr", to: "de", path: join(dir, "freedict-fra-deu.index") },
      { from: "wol", to: "fr", path: join(dir, "freedict-wol-fra.index") },
    ]);
  });

  it("keeps only dictionaries both of whose languages are listed (any tag form)", async () => {
    const list = await installedDictionaries({ directories: [dir], languages: ["de", "en", "fr"] });
    expect(list.map((d) => `${d.from}-${d.to}`)).toEqual(["de-en", "fr-de"]);
    // zh is not listed: no CC-CEDICT either.
    expect(list.some((d) => d.path === "cc-cedict")).toBe(false);

    const withZh = await installedDictionaries({ directories: [dir], languages: ["deu", "en_US", "zh-Hans"] });
    expect(withZh.map((d) => `${d.from}-${d.to}`)).toEqual(["de-en", "zh-en"]);
    expect(withZh.at(-1)).toEqual({ from: "zh", to: "en", path: "cc-cedict" });

    const wolof = await installedDictionaries({ directories: [dir], languages: ["wol", "fr"], cedict: false });
    expect(wolof).toEqual([{ from: "wol", to: "fr", path: join(dir, "freedict-wol-fra.index") }]);
  });

  it("skips a directory that does not exist", async () => {
    const missing = join(dir, "no-such-folder");
    expect(await installedDictionaries({ directories: [missing], cedict: false })).toEqual([]);
    expect(await installedDictionaries({ directories: [missing] })).toEqual([{ from: "zh", to: "en", path: "cc-cedict" }]);
    expect((await installedDictionaries({ directories: [missing, dir], cedict: false })).map((d) => d.from)).toEqual(["de", "fr", "wol"]);
  });

  it("readInstalledDictionary reads a listed dictd file with its language pair", async () => {
    const [deuEng, fraDeu] = await installedDictionaries({ directories: [dir], languages: ["de", "en", "fr"] });
    const d = await readInstalledDictionary(deuEng!);
    expect(d.from).toBe("de");
    expect(d.to).toBe("en");
    expect(d.entries.length).toBeGreaterThan(0);
    for (const e of d.entries) {
      expect(e.source.trim()).not.toBe("");
      expect(e.target.trim()).not.toBe("");
    }
    expect(d.entries.some((e) => e.source.toLowerCase() === "haus")).toBe(true);
    // The same file under another pair's name carries that pair.
    const f = await readInstalledDictionary(fraDeu!);
    expect([f.from, f.to]).toEqual(["fr", "de"]);
    expect(f.entries.length).toBeGreaterThan(0);
  });
});
