import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TrecFormatError,
  formatQrels,
  formatRun,
  parseQrels,
  parseRun,
  readQrels,
  readRun,
  writeQrels,
  writeRun,
} from "../src/trec.js";
import type { Qrels, Run } from "../src/types.js";

/** The TrecFormatError thrown by `fn`, or a failed expectation if it throws nothing or something else. */
function formatError(fn: () => unknown): TrecFormatError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TrecFormatError);
    return error as TrecFormatError;
  }
  throw new Error("expected a TrecFormatError, nothing was thrown");
}

describe("parseRun", () => {
  it("keeps qid → docid → score; ignores Q0, rank and tag; splits on any whitespace", () => {
    const run = parseRun("q1 Q0 d1 1 2.5 a\nq1\tx  d2 7 -1 b\nq2 Q0 d1 3 0 c\n");
    expect([...run].map(([q, s]) => [q, [...s]])).toEqual([
      ["q1", [["d1", 2.5], ["d2", -1]]],
      ["q2", [["d1", 0]]],
    ]);
  });

  it("splits on ASCII whitespace only, like C's isspace (a no-break space stays in the id)", () => {
    expect([...parseRun("q1 Q0 d\u00a0x 1 1 t").get("q1")!.keys()]).toEqual(["d\u00a0x"]);
  });

  it("skips blank lines and accepts CRLF, a BOM and a missing final newline", () => {
    const run = parseRun("\uFEFFq1 Q0 d1 1 1 t\r\n\r\n   \nq1 Q0 d2 2 0.5 t");
    expect([...run.get("q1")!]).toEqual([["d1", 1], ["d2", 0.5]]);
    expect(parseRun("").size).toBe(0);
  });

  it.each([
    ["1.5e-3", 0.0015],
    ["-2", -2],
    [".5", 0.5],
    ["+3", 3],
    ["7.", 7],
    ["1E2", 100],
  ])("reads score %s as %d", (text, value) => {
    expect(parseRun(`q Q0 d 1 ${text} t`).get("q")!.get("d")).toBe(value);
  });

  it("reports a wrong field count with file:line and the line", () => {
    const text = ["q1 Q0 d1 1 1 t", "q1 Q0 d2 2 0.9 t", "", "q2 Q0 d1 1 1 t", "", "", "q1 Q0 d3 1", "q1 Q0 d4 4 1 t"].join("\n");
    const error = formatError(() => parseRun(text, "run.txt"));
    expect(error.message).toBe('run.txt:7: expected 6 fields "qid Q0 docid rank score tag", got 4: "q1 Q0 d3 1"');
    expect(error.file).toBe("run.txt");
    expect(error.line).toBe(7);
    expect(error.name).toBe("TrecFormatError");
  });

  it("reports too many fields, and defaults the source to <run>", () => {
    const error = formatError(() => parseRun("q1 Q0 d1 1 1 t extra"));
    expect(error.message).toBe('<run>:1: expected 6 fields "qid Q0 docid rank score tag", got 7: "q1 Q0 d1 1 1 t extra"');
  });

  it.each(["NaN", "abc", "0x10", "Infinity", "inf", "1e999", "1,5", "--1", "1e"])("rejects score %s", (score) => {
    const error = formatError(() => parseRun(`q1 Q0 d1 1 1 t\nq1 Q0 d2 2 ${score} t\n`, "run.txt"));
    expect(error.message).toBe(
      `run.txt:2: expected a finite number as score in field 5, got "${score}": "q1 Q0 d2 2 ${score} t"`,
    );
    expect(error.line).toBe(2);
  });

  it("rejects a docid repeated within a query, but not across queries", () => {
    expect(parseRun("q1 Q0 d1 1 1 t\nq2 Q0 d1 1 1 t").size).toBe(2);
    const error = formatError(() => parseRun("q1 Q0 d1 1 1 t\nq2 Q0 d1 1 1 t\nq1 Q0 d1 3 0.2 t", "r"));
    expect(error.message).toBe('r:3: expected each docid once per query, got docid "d1" again for query "q1": "q1 Q0 d1 3 0.2 t"');
  });

  it("shows tabs escaped in the quoted line", () => {
    const error = formatError(() => parseRun("q1\tQ0\td1", "r"));
    expect(error.message).toBe('r:1: expected 6 fields "qid Q0 docid rank score tag", got 3: "q1\\tQ0\\td1"');
  });
});

describe("parseQrels", () => {
  it("keeps qid → docid → integer grade, negative grades included", () => {
    const qrels = parseQrels("q1 0 d1 1\nq1 0 d2 0\n\nq2 1 d1 -1\nq1 0 d3 2\n");
    expect([...qrels].map(([q, j]) => [q, [...j]])).toEqual([
      ["q1", [["d1", 1], ["d2", 0], ["d3", 2]]],
      ["q2", [["d1", -1]]],
    ]);
  });

  it("reports a wrong field count", () => {
    const error = formatError(() => parseQrels("q1 0 d1 1\nq1 d2 1\n", "qrels.txt"));
    expect(error.message).toBe('qrels.txt:2: expected 4 fields "qid iter docid rel", got 3: "q1 d2 1"');
    expect([error.file, error.line]).toEqual(["qrels.txt", 2]);
  });

  it.each(["1.5", "x", "1e0", "0x1", "NaN"])("rejects grade %s", (grade) => {
    const line = `q1 0 d1 ${grade}`;
    expect(formatError(() => parseQrels(line)).message).toBe(
      `<qrels>:1: expected an integer relevance grade in field 4, got "${grade}": "${line}"`,
    );
  });

  it("rejects a repeated (qid, docid)", () => {
    const error = formatError(() => parseQrels("q1 0 d1 1\nq1 0 d2 0\nq1 0 d1 0\n", "qrels.txt"));
    expect(error.message).toBe(
      'qrels.txt:3: expected each (qid, docid) pair once, got docid "d1" again for query "q1": "q1 0 d1 0"',
    );
  });
});

describe("formatRun / formatQrels", () => {
  const run: Run = new Map([
    ["q2", new Map([["a", 0.5], ["c", 2], ["b", 0.5]])],
    ["q1", new Map([["d10", 1e-7], ["d9", -3]])],
  ]);

  it("writes each query in trec rank order with ranks from 1 and the given tag", () => {
    // q2: c (2), then the tie a/b at 0.5 with "b" first.
    expect(formatRun(run, "bm25")).toBe(
      ["q2 Q0 c 1 2 bm25", "q2 Q0 b 2 0.5 bm25", "q2 Q0 a 3 0.5 bm25", "q1 Q0 d10 1 1e-7 bm25", "q1 Q0 d9 2 -3 bm25", ""].join("\n"),
    );
    expect(formatRun(new Map([["q", new Map([["d", 1]])]]))).toBe("q Q0 d 1 1 crossrank\n");
  });

  it("round-trips a run through parseRun", () => {
    const scores = new Map([["x", 0.1 + 0.2], ["y", -1.5e-300], ["z", 123456789.125]]);
    const back = parseRun(formatRun(new Map([...run, ["q3", scores]])));
    expect([...back.keys()]).toEqual(["q2", "q1", "q3"]);
    expect(back.get("q3")).toEqual(scores);
    expect(back.get("q3")!.get("x")).toBe(0.30000000000000004);
    expect(back.get("q2")).toEqual(run.get("q2"));
  });

  it("writes and round-trips qrels in the map's order", () => {
    const qrels: Qrels = new Map([["q1", new Map([["d2", 0], ["d1", 2]])], ["q0", new Map([["d1", -1]])]]);
    const text = formatQrels(qrels);
    expect(text).toBe("q1 0 d2 0\nq1 0 d1 2\nq0 0 d1 -1\n");
    expect([...parseQrels(text)].map(([q, j]) => [q, [...j]])).toEqual([...qrels].map(([q, j]) => [q, [...j]]));
  });

  it("refuses what the format cannot hold", () => {
    expect(() => formatRun(new Map([["q 1", new Map([["d", 1]])]]))).toThrow(/query id "q 1"/);
    expect(() => formatRun(new Map([["q", new Map([["", 1]])]]))).toThrow(/document id ""/);
    expect(() => formatRun(new Map([["q", new Map([["d", Number.POSITIVE_INFINITY]])]]))).toThrow(/not finite/);
    expect(() => formatRun(run, "my run")).toThrow(/run tag/);
    expect(() => formatQrels(new Map([["q", new Map([["d", 0.5]])]]))).toThrow(/not an integer/);
  });
});

describe("files", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crossrank-metrics-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes and reads back a run larger than one read buffer, with multi-byte ids", async () => {
    const run: Run = new Map();
    for (let q = 0; q < 300; q++) {
      const scores = new Map<string, number>();
      for (let d = 0; d < 100; d++) scores.set(`документ-${q}-${d}`, (d * 7919) % 101 / 3);
      run.set(`запрос${q}`, scores);
    }
    const path = join(dir, "run.txt");
    await writeRun(path, run, "t");
    expect((await readFile(path)).length).toBeGreaterThan(1 << 20); // crosses the 1 MiB chunk boundary
    const back = await readRun(path);
    expect(back.size).toBe(300);
    expect(back).toEqual(run);
    expect(await readFile(path, "utf8")).toBe(formatRun(run, "t"));
  });

  it("reads a 2-byte UTF-8 character split by the 1 MiB read boundary", async () => {
    // "q1 Q0 " is 6 bytes; 1048569 more bytes of "a" put "ж" (2 bytes) at offsets 1048575-1048576,
    // straddling the end of the first 1 MiB (1048576-byte) read.
    const docid = `${"a".repeat(1048569)}ж`;
    const path = join(dir, "boundary.txt");
    await writeFile(path, `q1 Q0 ${docid} 1 1 t\nq1 Q0 b 2 0.5 t\n`);
    const run = await readRun(path);
    expect([...run.get("q1")!.keys()]).toEqual([docid, "b"]);
  });

  it("writes and reads back qrels", async () => {
    const qrels: Qrels = new Map([["q1", new Map([["d1", 1], ["d2", 0]])], ["q2", new Map([["d3", 2]])]]);
    const path = join(dir, "qrels.txt");
    await writeQrels(path, qrels);
    expect(await readQrels(path)).toEqual(qrels);
  });

  it("names the file path in errors, with the line number counted across CRLF and blank lines", async () => {
    const path = join(dir, "bad-run.txt");
    await writeFile(path, "\uFEFFq1 Q0 d1 1 1 t\r\n\r\nq1 Q0 d2 2 NaN t\r\n");
    const error = await readRun(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrecFormatError);
    expect((error as TrecFormatError).message).toBe(
      `${path}:3: expected a finite number as score in field 5, got "NaN": "q1 Q0 d2 2 NaN t"`,
    );
    const qrelsPath = join(dir, "bad-qrels.txt");
    await writeFile(qrelsPath, "q1 0 d1");
    await expect(readQrels(qrelsPath)).rejects.toThrow(`${qrelsPath}:1: expected 4 fields`);
  });
});
