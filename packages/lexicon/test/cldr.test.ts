import { describe, expect, it } from "vitest";
import { cldrGlossary } from "../src/index.js";

describe("cldrGlossary", () => {
  it("pairs everyday words of Node's CLDR data with their English forms", () => {
    const de = cldrGlossary("de");
    const has = (source: string, target: string) => de.some((e) => e.source === source && e.target === target);
    expect(has("gestern", "yesterday")).toBe(true);
    expect(has("Januar", "January")).toBe(true);
    expect(has("Montag", "Monday")).toBe(true);
    expect(has("Frankreich", "France")).toBe(true);
    expect(has("Deutsch", "German")).toBe(true);
    expect(new Set(de.map((e) => e.kind))).toEqual(new Set(["language", "region", "currency", "field", "month", "weekday", "relative", "unit"]));
  });

  it("leaves out entries equal on both sides, and duplicates", () => {
    for (const lang of ["de", "ko", "el"]) {
      const g = cldrGlossary(lang);
      expect(g.length).toBeGreaterThan(300);
      for (const e of g) {
        expect(e.source.toLowerCase()).not.toBe(e.target.toLowerCase());
      }
      expect(new Set(g.map((e) => `${e.source}\t${e.target}`)).size).toBe(g.length);
    }
    expect(cldrGlossary("en")).toEqual([]);
  });

  it("rejects what is not a language tag", () => {
    expect(() => cldrGlossary("not a tag")).toThrow(RangeError);
  });
});
