import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mulberry32 } from "@crossrank/ot";
import { describe, expect, it } from "vitest";
import { Bm25Index, Bm25PsqRanker, bm25Idf, createRanker, rankerNames, type RankingInput } from "../src/index.js";

// Four documents; lengths 4, 2, 3, 3 terms (avgdl = 3).
const DOCS = [
  { id: "d1", text: "house house home garden" },
  { id: "d2", text: "home office" },
  { id: "d3", text: "car garden tree" },
  { id: "d4", text: "the car park" },
];

describe("Bm25Index.searchPsq", () => {
  const index = Bm25Index.build(DOCS);

  it("scores a hand-computed example", () => {
    // q1 = {house: 0.5, home: 0.5}: tf(q1,d1) = 0.5·2 + 0.5·1 = 1.5, tf(q1,d2) = 0.5,
    // df(q1) = 0.5·1 + 0.5·2 = 1.5; q2 = {garden: 1}: df 2, tf 1 in d1 and d3.
    const N = 4;
    const idf1 = Math.log(1 + (N - 1.5 + 0.5) / (1.5 + 0.5)); // ln 2.5
    const idf2 = Math.log(1 + (N - 2 + 0.5) / (2 + 0.5)); // ln 2
    const sat = (tf: number, dl: number) => (tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * dl) / 3));
    const expected = {
      d1: idf1 * sat(1.5, 4) + idf2 * sat(1, 4),
      d2: idf1 * sat(0.5, 2),
      d3: idf2 * sat(1, 3),
    };
    const hits = index.searchPsq([
      { translations: [{ term: "house", weight: 0.5 }, { term: "home", weight: 0.5 }] },
      { translations: [{ term: "garden", weight: 1 }] },
    ]);
    expect(hits.map((h) => h.id)).toEqual(["d1", "d2", "d3"]); // d2: 0.916·0.786 = 0.720 > d3: 0.693·1
    for (const hit of hits) expect(hit.score).toBeCloseTo(expected[hit.id as keyof typeof expected], 12);
    expect(idf1).toBeCloseTo(Math.log(2.5), 12);
  });

  it("equals plain BM25 for single translations of probability 1", () => {
    const psq = index.searchPsq([{ translations: [{ term: "car", weight: 1 }] }, { translations: [{ term: "garden", weight: 1 }] }]);
    const plain = index.searchTerms(["car", "garden"]);
    expect(psq.map((h) => h.id)).toEqual(plain.map((h) => h.id));
    psq.forEach((h, i) => expect(h.score).toBeCloseTo(plain[i]!.score, 6));
    expect(bm25Idf(4, 2)).toBeCloseTo(Math.log(2), 12);
  });

  it("keeps a missing translation's share (it lowers tf) and saturates repeated terms with k3", () => {
    const half = index.searchPsq([{ translations: [{ term: "office", weight: 0.5 }, { term: "unknown", weight: 0.5 }] }]);
    const sat = (tf: number, dl: number) => (tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * dl) / 3));
    expect(half).toHaveLength(1);
    expect(half[0]!.score).toBeCloseTo(Math.log(1 + (4 - 0.5 + 0.5) / (0.5 + 0.5)) * sat(0.5, 2), 12);
    const once = index.searchPsq([{ translations: [{ term: "car", weight: 1 }] }]);
    const twice = index.searchPsq([{ translations: [{ term: "car", weight: 1 }], count: 2 }]);
    const saturated = index.searchPsq([{ translations: [{ term: "car", weight: 1 }], count: 2 }], 10, 0);
    expect(twice[0]!.score).toBeCloseTo(2 * once[0]!.score, 12);
    expect(saturated[0]!.score).toBeCloseTo(once[0]!.score, 12);
  });

  it("gives the exhaustive scores' top k while skipping frequent translations (MaxScore pruning)", () => {
    // A Zipf-like collection: a few very frequent words (long postings, small bounds, the ones the
    // pruning skips) and many rare ones; queries mixing both, k from 1 to 50; each term's
    // translation probabilities sum to at most 1, as a dictionary's do.
    const random = mulberry32(11);
    const vocabulary = Array.from({ length: 400 }, (_, i) => `w${i}`);
    const word = () => vocabulary[Math.min(vocabulary.length - 1, Math.floor(1 / (random() * 0.995 + 0.005)) - 1)]!;
    const docs = Array.from({ length: 3000 }, (_, i) => ({ id: `d${String(i).padStart(4, "0")}`, text: Array.from({ length: 3 + Math.floor(random() * 30) }, word).join(" ") }));
    const big = Bm25Index.build(docs);
    const k1 = 1.2;
    const b = 0.75;
    const lengths = docs.map((d) => d.text.split(" ").length);
    const avgdl = lengths.reduce((s, l) => s + l, 0) / lengths.length;
    const tfOf = docs.map((d) => {
      const m = new Map<string, number>();
      for (const w of d.text.split(" ")) m.set(w, (m.get(w) ?? 0) + 1);
      return m;
    });
    const dfs = new Map<string, number>();
    for (const m of tfOf) for (const w of m.keys()) dfs.set(w, (dfs.get(w) ?? 0) + 1);
    const dfOf = (w: string) => dfs.get(w) ?? 0;
    let pruned = 0;
    for (let q = 0; q < 60; q++) {
      const terms = Array.from({ length: 1 + Math.floor(random() * 5) }, () => {
        const n = 1 + Math.floor(random() * 4);
        return {
          translations: Array.from({ length: n }, () => ({ term: q % 3 === 0 ? word() : vocabulary[Math.floor(random() * 60)]!, weight: random() / n })),
          count: 1 + Math.floor(random() * 2),
        };
      });
      const k = [1, 3, 10, 50][q % 4]!;
      // The exhaustive scores, written from the formula in the doc comment.
      const scores = docs.map((_, d) => {
        let score = 0;
        for (const { translations, count } of terms) {
          const df = translations.reduce((s, t) => s + t.weight * dfOf(t.term), 0);
          const tf = translations.reduce((s, t) => s + t.weight * (tfOf[d]!.get(t.term) ?? 0), 0);
          if (tf > 0) score += count * bm25Idf(docs.length, df) * ((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * lengths[d]!) / avgdl)));
        }
        return score;
      });
      const expected = scores
        .map((s, d) => ({ id: docs[d]!.id, s }))
        .filter((x) => x.s > 0)
        .sort((x, y) => y.s - x.s || (x.id < y.id ? 1 : -1))
        .slice(0, k);
      const hits = big.searchPsq(terms, k);
      expect(hits.map((h) => h.id), `query ${q}`).toEqual(expected.map((x) => x.id));
      hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.s, 9));
      if (hits.length === k && terms.length > 1) pruned++;
    }
    expect(pruned).toBeGreaterThan(10);
  });

  it("rejects bad probabilities, counts and k; returns nothing for unknown terms", () => {
    expect(() => index.searchPsq([{ translations: [{ term: "car", weight: -1 }] }])).toThrow(RangeError);
    expect(() => index.searchPsq([{ translations: [{ term: "car", weight: NaN }] }])).toThrow(RangeError);
    expect(() => index.searchPsq([{ translations: [{ term: "car", weight: 1 }], count: 0 }])).toThrow(RangeError);
    expect(() => index.searchPsq([], -1)).toThrow(RangeError);
    expect(index.searchPsq([{ translations: [{ term: "zebra", weight: 1 }] }])).toEqual([]);
    // the scratch space is clean after a search: the same query twice gives the same scores
    const q = [{ translations: [{ term: "house", weight: 0.5 }, { term: "home", weight: 0.5 }] }];
    expect(index.searchPsq(q)).toEqual(index.searchPsq(q));
  });
});

describe("Bm25PsqRanker", () => {
  const input = (queries: RankingInput["queries"], documents: RankingInput["documents"], queryLang: string, docLang: string): RankingInput => ({
    queries,
    documents,
    queryLang,
    docLang,
  });

  it("translates queries through a TSV dictionary and passes numbers and names through", async () => {
    const dir = await mkdtemp(join(tmpdir(), "psq-"));
    const tsv = join(dir, "de-en.tsv");
    await writeFile(tsv, "Krankenhaus\thospital\nbauen\tbuild\nbauen\tconstruct\n");
    const ranker = createRanker("bm25-psq", { dictionary: tsv });
    const run = await ranker.rank(
      input(
        [
          { id: "q1", text: "Krankenhaus bauen" },
          { id: "q2", text: "Siemens 1847" },
        ],
        [
          { id: "a", text: "They construct a new hospital" },
          { id: "b", text: "Build a house" },
          { id: "c", text: "Siemens was founded in 1847" },
        ],
        "de",
        "en",
      ),
    );
    expect([...run.get("q1")!.keys()]).toEqual(["a", "b"]);
    expect([...run.get("q2")!.keys()]).toEqual(["c"]);
    // without translation nothing matches the German words
    const plain = await createRanker("bm25").rank(input([{ id: "q1", text: "Krankenhaus bauen" }], [{ id: "a", text: "a new hospital" }], "de", "en"));
    expect(plain.get("q1")!.size).toBe(0);
  });

  it("segments Chinese queries into CC-CEDICT words", async () => {
    const run = await new Bm25PsqRanker().rank(
      input(
        [{ id: "q", text: "天安门广场在北京" }],
        [
          { id: "square", text: "Tiananmen Square is in Beijing" },
          { id: "other", text: "A square garden in Paris" },
        ],
        "zh",
        "en",
      ),
    );
    expect([...run.get("q")!.keys()][0]).toBe("square");
  }, 60_000); // reading CC-CEDICT's 124,000 entries takes a few seconds

  it("names the Debian package or says there is none when a pair has no dictionary", async () => {
    const docs = [{ id: "a", text: "text" }];
    await expect(new Bm25PsqRanker().rank(input([{ id: "q", text: "ข้อความ" }], docs, "th", "en"))).rejects.toThrow(
      /^no dictionary for th→en: Debian has no freedict package for tha-eng or eng-tha/,
    );
    await expect(new Bm25PsqRanker().rank({ queries: [], documents: docs })).rejects.toThrow(/needs the query and document languages/);
    if (!existsSync("/usr/share/dictd/freedict-eng-ita.index") && !existsSync("/usr/share/dictd/freedict-ita-eng.index")) {
      await expect(new Bm25PsqRanker().rank(input([{ id: "q", text: "casa" }], docs, "it", "en"))).rejects.toThrow(
        "no dictionary for it→en: apt-get install dict-freedict-ita-eng (or dict-freedict-eng-ita)",
      );
    }
  });

  const greek = existsSync("/usr/share/dictd/freedict-ell-eng.index") || existsSync("/usr/share/dictd/freedict-eng-ell.index");
  it.skipIf(!greek)("ranks Greek documents for an English query, the reverse direction (skipped without dict-freedict-ell-eng)", async () => {
    const run = await createRanker("bm25-psq", { stem: true }).rank(
      input(
        [{ id: "q", text: "the old house" }],
        [
          { id: "house", text: "Το σπίτι είναι παλιό." },
          { id: "car", text: "Το αυτοκίνητο είναι καινούργιο." },
        ],
        "en",
        "el",
      ),
    );
    expect([...run.get("q")!.keys()][0]).toBe("house");
  }, 30_000);

  it("is registered with documented parameters", () => {
    expect(rankerNames()).toContain("bm25-psq");
    expect(createRanker("bm25-psq", { k3: 0, stem: true, maxTranslations: 3 }).name).toBe("bm25-psq(k1=1.2,b=0.75,k3=0,maxTranslations=3,stem)");
    expect(() => createRanker("bm25-psq", { stem: "yes" })).toThrow('parameter stem of ranker bm25-psq must be a boolean; got the string "yes"');
    expect(() => createRanker("bm25-psq", { maxTranslations: 0.5 })).toThrow(/must be a whole number >= 1/);
    expect(() => createRanker("bm25-psq", { weighting: "idf" })).toThrow(/must be a string "uniform" or "weighted"/);
    expect(() => createRanker("bm25-psq", { lang: "de" })).toThrow(/unknown parameter "lang" for ranker bm25-psq; accepted: k1 .*dictionary/);
  });
});
