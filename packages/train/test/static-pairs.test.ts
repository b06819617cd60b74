import { describe, expect, it } from "vitest";
import type { DdtpDescription } from "@crossrank/datasets";
import { ddtpPairs, dictionaryPairs, groupPairs, sampleEpoch, splitOf, type TextPair } from "../src/index.js";

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
    expect(all.map((p) => p.lang).sort()).toEqual(["de-en", "de-en", "de-en", "fr-de"]);
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
