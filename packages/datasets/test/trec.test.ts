import { describe, expect, it } from "vitest";
import { readCollection, collectionFormat, streamCollection } from "../src/collection.js";
import { readTopics } from "../src/topics.js";
import { loadTrecTask } from "../src/trec.js";
import type { Document } from "../src/types.js";
import { fixture, tempFiles } from "./helpers.js";

const trec = (name: string) => fixture("trec", name);

describe("readTopics", () => {
  it("reads SGML topics: labels removed, white space collapsed, closing tags optional, CLEF's <EN-title>", async () => {
    expect(await readTopics(trec("topics.sgml"))).toEqual([
      {
        id: "401",
        title: "foreign minorities, Germany",
        description: "What language and cultural differences impede the integration of foreign minorities in Germany?",
        narrative: "A relevant document will focus on the causes.",
        line: 1,
      },
      { id: "402", title: "behavioral genetics", description: "What is happening in the field of behavioral genetics?", line: 13 },
      { id: "403", title: "osteoporosis", description: "Find information on the incidence of osteoporosis.", line: 19 },
    ]);
  });

  it("reads TSV and JSONL topics", async () => {
    const expected = [
      { id: "401", title: "foreign minorities, Germany", line: 1 },
      { id: "402", title: "behavioral genetics", line: 2 },
      { id: "403", title: "osteoporosis", line: 4 },
    ];
    expect(await readTopics(trec("topics.tsv"))).toEqual(expected);
    expect(await readTopics(trec("topics.jsonl"))).toEqual(expected.map((t, i) => ({ ...t, line: i + 1 })));
  });

  describe("errors", () => {
    const tmp = tempFiles();
    const cases: [string, string, string, RegExp][] = [
      ["unclosed <top>", "t.sgml", "<top>\n<num> 1\n<title> a\n</top>\n\n<top>\n<num> 2\n", /t\.sgml:6: <top> without <\/top>/],
      ["no <num>", "t.sgml", "\n<top>\n<title> a\n</top>\n", /t\.sgml:2: topic without a <num>/],
      ["no <top> at all", "t.sgml", "<topic> 1 </topic>\n", /t\.sgml:1: expected "id<TAB>text"/],
      ["TSV with 3 fields", "t.tsv", "1\ta\n2\tb\tc\n", /t\.tsv:2: expected "id<TAB>text" \(2 tab-separated fields\), got 3 field\(s\)/],
      ["duplicate topic", "t.tsv", "1\ta\n\n1\tb\n", /t\.tsv:3: duplicate topic 1 \(first at line 1\)/],
      ["JSONL without id", "t.jsonl", '{"text": "a"}\n', /t\.jsonl:1: expected a topic id \("_id", "id", "qid" or "query_id"\) that is a string or an integer, got none/],
      ["JSONL without text", "t.jsonl", '{"_id": "1"}\n', /t\.jsonl:1: expected a topic text \("text" or "query"\) that is a string, got undefined/],
      ["JSONL broken", "t.jsonl", '{"_id": "1", "text": "a"}\n{"_id"\n', /t\.jsonl:2: invalid JSON \(.*\); expected one object \{"_id", "text"\} per line/],
      ["JSONL not an object", "t.jsonl", "3\n", /t\.jsonl:1: expected an object \{"_id", "text"\}, got number/],
    ];
    it.each(cases)("%s", async (what, name, text, message) => {
      const path = tmp.write(`${what.replace(/\W+/g, "-")}/${name}`, text);
      await expect(readTopics(path)).rejects.toThrow(message);
    });
  });
});

describe("readCollection", () => {
  const expected = [
    { id: "d1", title: "Integration", text: "Language differences and the integration of minorities in Germany." },
    { id: "d2", text: "Weather report for Bonn." },
    { id: "d3", text: "Twin studies in behavioral genetics." },
    { id: "4", text: "Bone density and osteoporosis in older adults." },
  ];

  it("reads JSONL (id|docno|_id, text|contents|body, title?) and TSV (2 or 3 columns, header skipped)", async () => {
    expect(await readCollection(trec("collection.jsonl"))).toEqual(expected);
    expect(await readCollection(trec("collection.tsv"), "en")).toEqual(expected.map((d) => ({ ...d, lang: "en" })));
  });

  it("tells the format by extension, gzip allowed", () => {
    expect(collectionFormat("a/docs.jsonl.gz")).toBe("jsonl");
    expect(collectionFormat("docs.json")).toBe("jsonl");
    expect(collectionFormat("docs.TSV.gz")).toBe("tsv");
    expect(() => collectionFormat("docs.csv")).toThrow(
      "docs.csv: cannot tell the collection format from the file name: expected .jsonl, .json, .tsv, .txt or DDTP's Translation-<lang>, optionally followed by .gz",
    );
  });

  describe("errors", () => {
    const tmp = tempFiles();
    const cases: [string, string, string, RegExp][] = [
      ["broken JSON", "c.jsonl", '{"id": "a", "text": "x"}\n{', /c\.jsonl:2: invalid JSON \(.*\); expected one object \{id, text, title\?\} per line/],
      ["not an object", "c.jsonl", '"x"\n', /c\.jsonl:1: expected an object \{id, text, title\?\}, got string/],
      ["no id", "c.jsonl", '{"text": "x"}\n', /c\.jsonl:1: missing document id \(one of "id", "docno", "_id"\)/],
      ["bad id", "c.jsonl", '{"docno": 1.5, "text": "x"}\n', /c\.jsonl:1: expected "docno" to be a non-empty string or an integer, got 1\.5/],
      ["no text", "c.jsonl", '{"_id": "a"}\n', /c\.jsonl:1: missing document text \(one of "text", "contents", "body"\)/],
      ["bad text", "c.jsonl", '{"_id": "a", "contents": ["x"]}\n', /c\.jsonl:1: expected "contents" to be a string, got array/],
      ["bad title", "c.jsonl", '{"_id": "a", "text": "x", "title": 1}\n', /c\.jsonl:1: expected "title" to be a string when present, got number/],
      ["duplicate id", "c.jsonl.gz", '{"id": "a", "text": "x"}\n\n{"id": "a", "text": "y"}\n', /c\.jsonl\.gz:3: duplicate document id "a" \(first at line 1\)/],
      ["TSV with 1 field", "c.tsv", "a\tx\nb\n", /c\.tsv:2: expected "id<TAB>text" or "id<TAB>title<TAB>text", got 1 tab-separated field\(s\)/],
      ["TSV with 4 fields", "c.tsv", "a\tb\tc\td\n", /c\.tsv:1: expected "id<TAB>text" or "id<TAB>title<TAB>text", got 4 tab-separated field\(s\)/],
      ["TSV with an empty id", "c.tsv", "\tx\n", /c\.tsv:1: expected "id<TAB>text"/],
    ];
    it.each(cases)("%s", async (what, name, text, message) => {
      const path = tmp.write(`${what.replace(/\W+/g, "-")}/${name}`, text);
      await expect(readCollection(path)).rejects.toThrow(message);
    });
  });
});

describe("streamCollection", () => {
  const tmp = tempFiles();
  async function collect(path: string, lang?: string): Promise<Document[]> {
    const documents: Document[] = [];
    for await (const d of streamCollection(path, lang)) documents.push(d);
    return documents;
  }

  it("streams the documents readCollection reads: JSONL, TSV, DDTP", async () => {
    for (const path of [trec("collection.jsonl"), trec("collection.tsv"), fixture("ddtp", "Translation-de.gz")]) expect(await collect(path, "en")).toEqual(await readCollection(path, "en"));
  });

  it("yields the documents before a bad line, then fails with file:line", async () => {
    const cases: [string, string, RegExp][] = [
      ["c.tsv.gz", "a\tx\nb\ty\nc\n", /c\.tsv\.gz:3: expected "id<TAB>text" or "id<TAB>title<TAB>text", got 1 tab-separated field\(s\)/],
      ["c.jsonl", '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n{"id": "a", "text": "z"}\n', /c\.jsonl:3: duplicate document id "a" \(first at line 1\)/],
      ["d.jsonl", '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n{"id": "c"', /d\.jsonl:3: invalid JSON/],
    ];
    for (const [name, text, message] of cases) {
      const ids: string[] = [];
      const read = async () => {
        for await (const d of streamCollection(tmp.write(`stream/${name}`, text))) ids.push(d.id);
      };
      await expect(read()).rejects.toThrow(message);
      expect(ids).toEqual(["a", "b"]);
    }
  });
});

describe("loadTrecTask", () => {
  it("keeps the usable judgments and counts the skipped ones", async () => {
    const task = await loadTrecTask({ topics: trec("topics.sgml"), qrels: trec("qrels.txt"), collection: trec("collection.jsonl"), queryLang: "en", docLang: "en" });
    expect(task.name).toBe("trec/collection/topics");
    expect(task.queries).toEqual([
      { id: "401", text: "foreign minorities, Germany", lang: "en" },
      { id: "402", text: "behavioral genetics", lang: "en" },
      { id: "403", text: "osteoporosis", lang: "en" },
    ]);
    expect(task.documents.every((d) => d.lang === "en")).toBe(true);
    expect(task.qrels).toEqual(
      new Map([
        ["401", new Map([["d1", 1], ["d2", 0]])],
        ["402", new Map([["d3", 1]])],
      ]),
    );
    expect(task.warnings).toEqual([
      expect.stringMatching(/^skipped 2 judgments of 1 qrels queries with no topic in .*topics\.sgml$/),
      expect.stringMatching(/^skipped 2 judgments of documents not in .*collection\.jsonl \(1 queries left with no judgment\)$/),
    ]);
  });

  it("takes the description when asked, and reads gzipped qrels and TSV collections", async () => {
    const tmp = tempFiles();
    const qrels = tmp.write("qrels.gz", "401 0 d1 1\n403 0 4 2\n");
    const task = await loadTrecTask({ topics: trec("topics.sgml"), qrels, collection: trec("collection.tsv"), topicField: "description", name: "t" });
    expect(task.name).toBe("t");
    expect(task.queries[2]).toEqual({ id: "403", text: "Find information on the incidence of osteoporosis." });
    expect(task.qrels.get("403")).toEqual(new Map([["4", 2]]));
    expect(task.warnings).toEqual([]);
    expect("docLang" in task).toBe(false);
  });

  it("a topic without the chosen field is an error topics:line", async () => {
    await expect(loadTrecTask({ topics: trec("topics.tsv"), qrels: trec("qrels.txt"), collection: trec("collection.jsonl"), topicField: "description" })).rejects.toThrow(
      /topics\.tsv:1: topic 401 has no description \(<desc>\); TSV and JSONL topics have only one text: use topicField "title"/,
    );
  });

  it("malformed qrels fail with the metrics package's file:line message", async () => {
    const tmp = tempFiles();
    const qrels = tmp.write("bad-qrels.txt", "401 0 d1 1\n401 d1 1\n");
    await expect(loadTrecTask({ topics: trec("topics.tsv"), qrels, collection: trec("collection.jsonl") })).rejects.toThrow(/bad-qrels\.txt:2: /);
  });
});
