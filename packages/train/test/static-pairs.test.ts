import { describe, expect, it } from "vitest";
import type { DdtpDescription } from "@crossrank/datasets";
import { splitOf } from "@crossrank/datasets";
import { ddtpPairs, dictionaryPairs, groupPairs, sampleEpoch, type TextPair } from "../src/index.js";

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
