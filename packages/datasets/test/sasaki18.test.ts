import { describe, expect, it } from "vitest";
import { loadSasaki18Task, readSasaki18File } from "../src/sasaki18.js";
import { fixture, tempFiles } from "./helpers.js";

describe("sasaki18 files (rel<TAB>query<TAB>document, a query's candidates on consecutive lines)", () => {
  it("makes each run of lines with one query a query whose candidates are its lines' documents", async () => {
    const task = await loadSasaki18Task({ docLang: "de", dir: fixture("sasaki18") });
    expect(task).toMatchObject({ name: "sasaki18/en-de/test1", queryLang: "en", docLang: "de" });
    expect(task.queries.map((q) => q.id)).toEqual(["q1", "q2", "q3", "q4", "q5"]);
    expect(task.queries[1]).toEqual({ id: "q2", text: "is the natural satellite of the earth.", lang: "en" });
    // Five distinct German leads, each a candidate of four queries: one document each.
    expect(task.documents.length).toBe(5);
    expect(task.documents[0]).toEqual({ id: "d1", text: "wolfgang amadeus mozart war ein österreichischer komponist , geboren 1756 in salzburg .", lang: "de" });
    for (const q of task.queries) {
      const candidates = task.candidates!.get(q.id)!;
      expect(candidates.length).toBe(4);
      // Every candidate is judged; exactly one is relevant.
      expect([...task.qrels.get(q.id)!.keys()].sort()).toEqual([...candidates].sort());
      expect([...task.qrels.get(q.id)!.values()].filter((rel) => rel > 0)).toEqual([1]);
    }
    expect(task.qrels.get("q2")!.get(task.documents.find((d) => d.text.startsWith("der mond"))!.id)).toBe(1);
    expect(task.warnings).toBeUndefined();
    const train = await loadSasaki18Task({ docLang: "de", split: "train", dir: fixture("sasaki18") });
    expect(train.queries.length).toBe(6);
  });

  it("skips lines without three fields (as the study's loader), counts them, and names a bad label's line", async () => {
    const files = tempFiles();
    const ok = files.write("ok.txt", "1\tq one\tdoc a\n0\tq one\t\tdoc b\nnot a line\n\n2\tq two\tdoc a\n0\tq two\tdoc c\textra\n");
    const task = await readSasaki18File(ok, { docLang: "de" });
    expect(task.queries.map((q) => q.text)).toEqual(["q one", "q two"]);
    expect(task.candidates).toEqual(new Map([["q1", ["d1", "d2"]], ["q2", ["d1"]]]));
    expect(task.qrels.get("q2")).toEqual(new Map([["d1", 2]]));
    expect(task.warnings).toEqual(["2 lines without three tab-separated fields skipped (as the LM-EMD study's loader skips them)"]);
    const bad = files.write("bad.txt", "1\tq\td\nyes\tq\td2\n");
    await expect(readSasaki18File(bad)).rejects.toThrow(`${bad}:2: the relevance label must be a whole number, got "yes"`);
    await expect(readSasaki18File(files.write("empty.txt", "\n"))).rejects.toThrow(/no line of the form rel<TAB>query<TAB>document/);
    await expect(loadSasaki18Task({ docLang: "German" })).rejects.toThrow(/docLang must be a language code such as "de"/);
  });
});
