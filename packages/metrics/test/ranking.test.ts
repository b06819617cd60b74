import { describe, expect, it } from "vitest";
import { compareRanked, rankedDocuments } from "../src/ranking.js";

describe("rankedDocuments", () => {
  it("sorts by score descending, whatever the insertion order", () => {
    expect(rankedDocuments(new Map([["a", 1], ["b", 3], ["c", 2], ["d", -5]]))).toEqual(["b", "c", "a", "d"]);
  });

  it("breaks score ties by document id descending, as strings (trec_eval's strcmp)", () => {
    const scores = new Map([
      ["d10", 1],
      ["x", 0.5],
      ["d9", 1],
      ["y", 2],
      ["d2", 1],
    ]);
    // Tied at 1: "d9" > "d2" > "d10" as strings (a numeric order would give d10, d9, d2).
    expect(rankedDocuments(scores)).toEqual(["y", "d9", "d2", "d10", "x"]);
  });

  it("orders ids by UTF-8 bytes like strcmp, also above U+FFFF", () => {
    // UTF-8: U+1F600 is F0 9F 98 80, U+FFFD is EF BF BD, so the emoji is the larger id and ranks
    // first on a tie. JavaScript's UTF-16 comparison ("\uD83D" < "\uFFFD") would say the opposite.
    expect(rankedDocuments(new Map([["\uFFFD", 0], ["\u{1F600}", 0]]))).toEqual(["\u{1F600}", "\uFFFD"]);
    expect(rankedDocuments(new Map([["b", 0], ["ab", 0], ["a", 0]]))).toEqual(["b", "ab", "a"]);
  });

  it("returns [] for no documents and rejects NaN scores", () => {
    expect(rankedDocuments(new Map())).toEqual([]);
    expect(() => rankedDocuments(new Map([["a", Number.NaN]]))).toThrow(RangeError);
  });

  it("exposes the comparator for top-k selection", () => {
    expect(compareRanked(["a", 2], ["b", 1])).toBeLessThan(0);
    expect(compareRanked(["a", 1], ["b", 1])).toBeGreaterThan(0); // "b" ranks above "a"
    expect(compareRanked(["a", 1], ["a", 1])).toBe(0);
  });
});
