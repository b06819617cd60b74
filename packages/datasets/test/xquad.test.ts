import { describe, expect, it } from "vitest";
import { readSquad } from "../src/squad.js";
import { loadXquadTask, locateAnswer, XQUAD_LANGUAGES, XQUAD_TASKS } from "../src/xquad.js";
import { splitSentences } from "../src/sentences.js";
import { fixture, tempFiles } from "./helpers.js";

const dir = fixture("xquad");

describe("readSquad", () => {
  it("reads a SQuAD v1.1 file", async () => {
    const squad = await readSquad(fixture("xquad", "xquad.en.json"));
    expect(squad.version).toBe("1.1");
    expect(squad.data.map((a) => a.title)).toEqual(["Rivers", "Abbreviations"]);
    expect(squad.data[0]!.paragraphs[0]!.qas[0]).toEqual({
      id: "q1",
      question: "Where does the Rhine flow to?",
      answers: [{ answer_start: 60, text: "the North Sea" }],
    });
  });

  describe("errors name the file and the JSON path", () => {
    const tmp = tempFiles();
    const qa = { id: "x", question: "?", answers: [{ answer_start: 0, text: "a" }] };
    const squad = (q: unknown) => ({ data: [{ title: "T", paragraphs: [{ context: "a", qas: [q] }] }] });
    const at = "data\\[0\\]\\.paragraphs\\[0\\]\\.qas\\[0\\]";
    const cases: [string, unknown, RegExp][] = [
      ["not an object", [1], /s\.json: expected an object, got array/],
      ["no data", { version: "1.1" }, /s\.json: missing "data"/],
      ["data not an array", { data: {} }, /s\.json: expected "data" to be an array, got object/],
      ["article not an object", { data: [null] }, /s\.json: data\[0\]: expected an object, got null/],
      ["missing title", { data: [{ paragraphs: [] }] }, /s\.json: data\[0\]: missing "title"/],
      ["missing context", { data: [{ title: "T", paragraphs: [{ qas: [] }] }] }, /s\.json: data\[0\]\.paragraphs\[0\]: missing "context"/],
      ["missing question", squad({ id: "x", answers: [] }), new RegExp(`s\\.json: ${at}: missing "question"`)],
      ["bad id", squad({ ...qa, id: 7 }), new RegExp(`s\\.json: ${at}: expected "id" to be a string, got 7`)],
      ["bad answers", squad({ ...qa, answers: "a" }), new RegExp(`s\\.json: ${at}: expected "answers" to be an array, got "a"`)],
      [
        "bad answer_start",
        squad({ ...qa, answers: [{ answer_start: -1, text: "a" }] }),
        new RegExp(`s\\.json: ${at}\\.answers\\[0\\]: expected "answer_start" to be a non-negative integer, got -1`),
      ],
      [
        "duplicate id",
        { data: [{ title: "T", paragraphs: [{ context: "a", qas: [qa] }, { context: "b", qas: [qa] }] }] },
        /s\.json: data\[0\]\.paragraphs\[1\]\.qas\[0\]: duplicate question id "x" \(first at data\[0\]\.paragraphs\[0\]\.qas\[0\]\)/,
      ],
    ];
    it.each(cases)("%s", async (what, value, message) => {
      const path = tmp.write(`${what.replaceAll(" ", "-")}/s.json`, JSON.stringify(value));
      await expect(readSquad(path)).rejects.toThrow(message);
    });

    it("broken JSON, with line and column", async () => {
      const path = tmp.write("broken/s.json", '{\n  "data": [\n    {"title": "T",}\n  ]\n}\n');
      await expect(readSquad(path)).rejects.toThrow(/broken\/s\.json:3:19: invalid JSON: /);
    });
  });
});

describe("loadXquadTask", () => {
  it("exports the languages and task families", () => {
    expect(XQUAD_LANGUAGES).toHaveLength(12);
    expect(XQUAD_TASKS).toEqual(["paragraph", "question-paragraph", "question-article", "question-sentence"]);
  });

  it("paragraph: each paragraph finds its translation (ids <article>-<paragraph>)", async () => {
    const task = await loadXquadTask({ task: "paragraph", queryLang: "de", dir });
    expect(task.name).toBe("xquad/paragraph/de-en");
    expect(task.docLang).toBe("en");
    expect(task.documents.map((d) => d.id)).toEqual(["0-0", "0-1", "1-0"]);
    expect(task.documents[1]).toEqual({ id: "0-1", lang: "en", text: "The Danube flows through ten countries. It ends in the Black Sea." });
    expect(task.queries.map((q) => [q.id, q.lang])).toEqual([["0-0", "de"], ["0-1", "de"], ["1-0", "de"]]);
    expect(task.qrels.get("1-0")).toEqual(new Map([["1-0", 1]]));
    expect(task.warnings).toEqual([]);
  });

  it("question-paragraph: a question finds the paragraph holding it (query id = SQuAD id)", async () => {
    const task = await loadXquadTask({ task: "question-paragraph", queryLang: "de", docLang: "en", dir });
    expect(task.queries.map((q) => q.id)).toEqual(["q1", "q2", "q3", "q4", "q5", "q6"]);
    expect(task.queries[0]).toEqual({ id: "q1", lang: "de", text: "Wohin fließt der Rhein?" });
    expect([...task.qrels].map(([q, rel]) => [q, [...rel.keys()]])).toEqual([
      ["q1", ["0-0"]],
      ["q2", ["0-0"]],
      ["q3", ["0-1"]],
      ["q4", ["0-1"]],
      ["q5", ["1-0"]],
      ["q6", ["1-0"]],
    ]);
  });

  it("question-article: documents are whole articles with their title", async () => {
    const task = await loadXquadTask({ task: "question-article", queryLang: "en", docLang: "de", dir, name: "x" });
    expect(task.name).toBe("x");
    expect(task.documents.map((d) => [d.id, d.title])).toEqual([["0", "Rivers"], ["1", "Abbreviations"]]);
    expect(task.documents[0]!.text).toBe(
      "Der Rhein ist ein europäischer Fluss. Er fließt von der Schweiz in die Nordsee. Seine Länge beträgt 1.230 km.\n\nDie Donau fließt durch zehn Länder. Sie mündet ins Schwarze Meer.",
    );
    expect(task.qrels.get("q4")).toEqual(new Map([["0", 1]]));
    expect(task.qrels.get("q5")).toEqual(new Map([["1", 1]]));
  });

  it("question-sentence: the answer's sentence in the document language, skips counted", async () => {
    const task = await loadXquadTask({ task: "question-sentence", queryLang: "de", docLang: "en", dir });
    expect(task.documents.map((d) => d.id)).toEqual(["0-0-0", "0-0-1", "0-0-2", "0-1-0", "0-1-1", "1-0-0", "1-0-1", "1-0-2", "1-0-3"]);
    expect(task.documents[1]).toEqual({ id: "0-0-1", lang: "en", text: "It flows from Switzerland to the North Sea." });
    expect(task.queries.map((q) => q.id)).toEqual(["q1", "q2", "q3", "q5"]);
    expect([...task.qrels].map(([q, rel]) => [q, [...rel.keys()]])).toEqual([
      ["q1", ["0-0-1"]],
      ["q2", ["0-0-2"]], // answer_start is wrong in the file: found by the answer text
      ["q3", ["0-1-0"]],
      ["q5", ["1-0-0", "1-0-1"]], // "U.S. Army" straddles ICU's break after "U.S."
    ]);
    expect(task.warnings).toEqual([
      "skipped 1 de questions with no en version (same id)",
      "skipped 1 questions whose answer could not be located in the en paragraph",
    ]);
  });

  it("question-sentence in the other direction uses the German answers", async () => {
    const task = await loadXquadTask({ task: "question-sentence", queryLang: "en", docLang: "de", dir });
    expect(task.qrels.get("q4")).toEqual(new Map([["0-1-1", 1]]));
    expect(task.warnings).toEqual([]);
  });

  describe("errors", () => {
    const tmp = tempFiles();
    const en = { data: [{ title: "A", paragraphs: [{ context: "x", qas: [{ id: "q", question: "?", answers: [] }] }] }] };

    it("unknown task", async () => {
      await expect(loadXquadTask({ task: "passage" as "paragraph", queryLang: "de", dir })).rejects.toThrow(
        'unknown XQuAD task "passage": expected one of paragraph, question-paragraph, question-article, question-sentence',
      );
    });

    it("missing language file", async () => {
      await expect(loadXquadTask({ task: "paragraph", queryLang: "xx", dir })).rejects.toThrow(/xquad\.xx\.json: no such file \(XQuAD languages: ar, de, /);
    });

    it("different article counts", async () => {
      tmp.write("a/xquad.en.json", JSON.stringify(en));
      tmp.write("a/xquad.de.json", JSON.stringify({ data: [...en.data, { title: "B", paragraphs: [] }] }));
      await expect(loadXquadTask({ task: "paragraph", queryLang: "de", dir: `${tmp.dir}/a` })).rejects.toThrow(
        /a\/xquad\.de\.json and .*a\/xquad\.en\.json are not parallel: 2 articles in the first, 1 in the second/,
      );
    });

    it("different paragraph counts", async () => {
      tmp.write("b/xquad.en.json", JSON.stringify(en));
      tmp.write("b/xquad.de.json", JSON.stringify({ data: [{ title: "A", paragraphs: [] }] }));
      await expect(loadXquadTask({ task: "question-paragraph", queryLang: "de", dir: `${tmp.dir}/b` })).rejects.toThrow(
        /are not parallel: data\[0\] has 0 paragraphs in the first, 1 in the second/,
      );
    });

    it("a question in another paragraph", async () => {
      const two = (first: string, second: string) => ({
        data: [{ title: "A", paragraphs: [first, second].map((id) => ({ context: "x", qas: id === "" ? [] : [{ id, question: "?", answers: [] }] })) }],
      });
      tmp.write("c/xquad.en.json", JSON.stringify(two("q", "")));
      tmp.write("c/xquad.de.json", JSON.stringify(two("", "q")));
      await expect(loadXquadTask({ task: "question-paragraph", queryLang: "de", dir: `${tmp.dir}/c` })).rejects.toThrow(
        /are not parallel: question q is in data\[0\]\.paragraphs\[1\] of the first, data\[0\]\.paragraphs\[0\] of the second/,
      );
    });
  });
});

describe("locateAnswer and splitSentences", () => {
  it("locates by offset, by code-point offset, then by text", () => {
    expect(locateAnswer("abc def", 4, "def")).toEqual([4, 7]);
    expect(locateAnswer("😀 def", 2, "def")).toEqual([3, 6]); // Python's offset counts the emoji as one
    expect(locateAnswer("abc def", 0, "def")).toEqual([4, 7]);
    expect(locateAnswer("abc def", 0, "xyz")).toBeUndefined();
    expect(locateAnswer("abc def", 0, "")).toBeUndefined();
  });

  it("keeps offsets of trimmed, non-empty sentences", () => {
    const text = "  One. Two!  \n\nThree?";
    const spans = splitSentences(text, "en");
    expect(spans.map((s) => s.text)).toEqual(["One.", "Two!", "Three?"]);
    for (const s of spans) expect(text.slice(s.start, s.end)).toBe(s.text);
  });
});
