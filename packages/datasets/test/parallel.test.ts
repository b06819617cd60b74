import { describe, expect, it } from "vitest";
import { loadParallelTask, readParallelPairs } from "../src/parallel.js";
import { fixture, tempFiles } from "./helpers.js";

const de = fixture("parallel", "de.txt");
const en = fixture("parallel", "en.txt");

describe("readParallelPairs", () => {
  it("pairs line i with line i, skipping pairs of blank lines (CRLF accepted)", async () => {
    expect(await readParallelPairs(de, en)).toEqual([
      { source: "Guten Morgen.", target: "Good morning.", line: 1 },
      { source: "Wie geht es dir?", target: "How are you?", line: 2 },
      { source: "Danke schön.", target: "Thank you.", line: 4 },
    ]);
  });
});

describe("loadParallelTask", () => {
  it("makes each line a query whose relevant document is the same line (ids = line numbers)", async () => {
    const task = await loadParallelTask(de, en, { queryLang: "de", docLang: "en" });
    expect(task.name).toBe("parallel/de.txt-en.txt");
    expect(task.queryLang).toBe("de");
    expect(task.queries).toEqual([
      { id: "1", text: "Guten Morgen.", lang: "de" },
      { id: "2", text: "Wie geht es dir?", lang: "de" },
      { id: "4", text: "Danke schön.", lang: "de" },
    ]);
    expect(task.documents.map((d) => [d.id, d.lang])).toEqual([["1", "en"], ["2", "en"], ["4", "en"]]);
    expect(task.qrels.get("4")).toEqual(new Map([["4", 1]]));
    expect(task.warnings).toEqual(["skipped 1 line pairs where both lines are blank"]);
  });

  it("leaves languages out when not given", async () => {
    const task = await loadParallelTask(de, en, { name: "p" });
    expect(task.name).toBe("p");
    expect("queryLang" in task).toBe(false);
    expect(task.queries[0]).toEqual({ id: "1", text: "Guten Morgen." });
  });

  describe("errors", () => {
    const tmp = tempFiles();
    it("different line counts name both files and counts", async () => {
      const a = tmp.write("a.txt", "one\ntwo\nthree\n");
      const b = tmp.write("b.txt.gz", "eins\nzwei\n");
      await expect(loadParallelTask(a, b)).rejects.toThrow(/a\.txt has 3 lines but .*b\.txt\.gz has 2: aligned files must have one line per sentence pair/);
      await expect(readParallelPairs(b, a)).rejects.toThrow(/b\.txt\.gz has 2 lines but .*a\.txt has 3/);
    });

    it("a blank line facing text is an error file:line", async () => {
      const a = tmp.write("c.txt", "one\n\nthree\n");
      const b = tmp.write("d.txt", "eins\nzwei\ndrei\n");
      await expect(loadParallelTask(a, b)).rejects.toThrow(/c\.txt:2: empty line, but .*d\.txt:2 is not; the files are misaligned or a translation is missing/);
      await expect(loadParallelTask(b, a)).rejects.toThrow(/c\.txt:2: empty line, but .*d\.txt:2 is not/);
    });

    it("a missing file", async () => {
      await expect(loadParallelTask(`${tmp.dir}/nope.txt`, en)).rejects.toThrow(/ENOENT/);
    });
  });
});
