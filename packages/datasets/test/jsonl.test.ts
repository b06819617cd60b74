import { describe, expect, it } from "vitest";
import { loadJsonlTask } from "../src/jsonl.js";
import { fixture, tempFiles } from "./helpers.js";

const wiki = fixture("wiki.jsonl");

describe("loadJsonlTask", () => {
  it("pairs queryLang records with the docLang record of the same id", async () => {
    const task = await loadJsonlTask(wiki, { queryLang: "de", docLang: "en" });
    expect(task.name).toBe("wiki/de-en");
    expect(task.queryLang).toBe("de");
    expect(task.docLang).toBe("en");
    expect(task.documents).toEqual([
      { id: "Q1", lang: "en", title: "Berlin", url: "https://en.wikipedia.org/wiki/Berlin", text: "Berlin is the capital of Germany." },
      { id: "Q2", lang: "en", title: "Paris", url: "https://en.wikipedia.org/wiki/Paris", text: "Paris is the capital of France." },
      { id: "3", lang: "en", title: "Rome", text: "Rome is the capital of Italy." },
    ]);
    expect(task.queries.map((q) => q.id)).toEqual(["Q1", "Q2", "3"]);
    expect(task.queries[0]).toEqual({ id: "Q1", lang: "de", text: "Berlin ist die Hauptstadt Deutschlands." });
    expect(task.qrels).toEqual(new Map([["Q1", new Map([["Q1", 1]])], ["Q2", new Map([["Q2", 1]])], ["3", new Map([["3", 1]])]]));
    expect(task.warnings).toEqual(["skipped 1 de records whose id has no en document"]);
  });

  it("takes the first `limit` documents and counts the queries left without one", async () => {
    const task = await loadJsonlTask(wiki, { queryLang: "de", docLang: "en", limit: 2, name: "wiki-sample" });
    expect(task.name).toBe("wiki-sample");
    expect(task.documents.map((d) => d.id)).toEqual(["Q1", "Q2"]);
    expect(task.queries.map((q) => q.id)).toEqual(["Q1", "Q2"]);
    expect(task.warnings).toEqual(["skipped 2 de records whose id has no en document (limit 2)"]);
  });

  it("limits the queries too, and works in either direction", async () => {
    const task = await loadJsonlTask(wiki, { queryLang: "en", docLang: "fr", limit: 1 });
    expect(task.documents.map((d) => d.id)).toEqual(["Q1"]);
    expect(task.queries.map((q) => q.id)).toEqual(["Q1"]);
    expect(task.warnings).toEqual(["skipped 2 en records whose id has no fr document (limit 1)"]);
    const all = await loadJsonlTask(wiki, { queryLang: "fr", docLang: "en" });
    expect(all.queries.map((q) => q.id)).toEqual(["Q1", "3"]);
    expect(all.warnings).toEqual([]);
  });

  it("rejects a limit that is not a positive integer", async () => {
    await expect(loadJsonlTask(wiki, { queryLang: "de", docLang: "en", limit: 0 })).rejects.toThrow("limit must be a positive integer, got 0");
  });

  it("limits documents and queries separately (the LaBSE / DistilUSE notebook's N per language); kept queries keep their documents", async () => {
    // Documents en: Q1, Q2, 3 (file order); de records: Q1, Q2, Q4 (no en document), 3.
    const docs2 = await loadJsonlTask(wiki, { queryLang: "de", docLang: "en", documentLimit: 2 });
    expect(docs2.documents.map((d) => d.id)).toEqual(["Q1", "Q2"]);
    expect(docs2.queries.map((q) => q.id)).toEqual(["Q1", "Q2"]);
    expect(docs2.warnings).toEqual(["skipped 2 de records whose id has no en document (documentLimit 2)"]);
    const queries1 = await loadJsonlTask(wiki, { queryLang: "de", docLang: "en", queryLimit: 1 });
    expect(queries1.documents.map((d) => d.id)).toEqual(["Q1", "Q2", "3"]);
    expect(queries1.queries.map((q) => q.id)).toEqual(["Q1"]);
    expect([...queries1.qrels.keys()]).toEqual(["Q1"]);
    const both = await loadJsonlTask(wiki, { queryLang: "de", docLang: "en", queryLimit: 3, documentLimit: 3 });
    expect(both.documents).toHaveLength(3);
    // Q4 has no en document: the third query is 3's, whose document is kept.
    expect(both.queries.map((q) => q.id)).toEqual(["Q1", "Q2", "3"]);
    for (const q of both.queries) expect(both.documents.some((d) => d.id === q.id)).toBe(true);
    await expect(loadJsonlTask(wiki, { queryLang: "de", docLang: "en", limit: 2, queryLimit: 1 })).rejects.toThrow("give limit (both sides) or documentLimit / queryLimit, not both");
    await expect(loadJsonlTask(wiki, { queryLang: "de", docLang: "en", queryLimit: 1.5 })).rejects.toThrow("queryLimit must be a positive integer, got 1.5");
  });

  describe("errors name the file and line", () => {
    const tmp = tempFiles();
    const good = '{"id": "a", "lang": "en", "text": "x"}\n';
    const cases: [string, string, RegExp][] = [
      ["broken JSON", '{"id": "a", "lang": "en", "text": "x"', /bad\.jsonl:2: invalid JSON \(.*\); expected one object \{id, lang, text, title\?, url\?\} per line/],
      ["not an object", "[1, 2]", /bad\.jsonl:2: expected an object \{id, lang, text, title\?, url\?\}, got array/],
      ["missing id", '{"lang": "en", "text": "x"}', /bad\.jsonl:2: missing "id"/],
      ["bad id", '{"id": true, "lang": "en", "text": "x"}', /bad\.jsonl:2: expected "id" to be a non-empty string or an integer, got true/],
      ["empty id", '{"id": "", "lang": "en", "text": "x"}', /bad\.jsonl:2: expected "id" to be a non-empty string or an integer, got ""/],
      ["missing lang", '{"id": "b", "text": "x"}', /bad\.jsonl:2: missing "lang"/],
      ["missing text", '{"id": "b", "lang": "en"}', /bad\.jsonl:2: missing "text"/],
      ["bad text", '{"id": "b", "lang": "en", "text": 5}', /bad\.jsonl:2: expected "text" to be a string, got number/],
      ["bad title", '{"id": "b", "lang": "en", "text": "x", "title": 5}', /bad\.jsonl:2: expected "title" to be a string when present, got number/],
      ["bad url", '{"id": "b", "lang": "en", "text": "x", "url": {}}', /bad\.jsonl:2: expected "url" to be a string when present, got object/],
      ["duplicate (id, lang)", '{"id": "a", "lang": "en", "text": "y"}', /bad\.jsonl:2: duplicate record for id "a" and lang "en" \(first at line 1\)/],
    ];
    it.each(cases)("%s", async (_what, line, message) => {
      const path = tmp.write(`${_what.replaceAll(" ", "-")}/bad.jsonl`, good + line + "\n");
      await expect(loadJsonlTask(path, { queryLang: "de", docLang: "en" })).rejects.toThrow(message);
    });

    it("reads gzipped files and does not count the same id in another language as a duplicate", async () => {
      const path = tmp.write("ok.jsonl.gz", good + '{"id": "a", "lang": "de", "text": "y"}\n');
      const task = await loadJsonlTask(path, { queryLang: "de", docLang: "en" });
      expect(task.name).toBe("ok/de-en");
      expect(task.queries).toEqual([{ id: "a", lang: "de", text: "y" }]);
    });
  });
});
