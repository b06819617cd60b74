/**
 * The analyzer's hybrid tokenizer against `Intl.Segmenter` alone, on every DDTP description (short +
 * long) of every language there and on every XQuAD paragraph and question: time for each, and the
 * number of texts whose word lists differ (expected: 0). Both sides get the same normalization and
 * case folding, so only segmentation is compared; the hybrid's time includes normalization, the
 * segmenter's does not.
 *
 *   pnpm --filter @crossrank/rankers bench:tokenizer
 *
 * Data as for `bm25-ddtp` (a missing dataset is skipped with a message); prints a table, writes
 * nothing, exits 1 if any text differs.
 */
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ddtpLanguages, ddtpText, readDdtp, readSquad, resolveDatasetPath } from "@crossrank/datasets";
import { createAnalyzer } from "../src/index.js";

/** What the analyzer does before segmentation (see `analyzer.ts`), for the reference side. */
function prepare(text: string): string {
  return text
    .normalize("NFKC")
    .replace(/\p{Default_Ignorable_Code_Point}/gu, "")
    .toLowerCase()
    .replace(/[ßς]/g, (c) => (c === "ß" ? "ss" : "σ"));
}

async function locate(name: string, file: string): Promise<string | undefined> {
  try {
    return dirname(await resolveDatasetPath(name, file, { download: false }));
  } catch (err) {
    console.log(`tokenizer-vs-segmenter: skipping ${name}: ${(err as Error).message}`);
    return undefined;
  }
}

/** Corpus name, BCP 47 language, texts. */
const corpora: [string, string, () => Promise<string[]>][] = [];
const ddtp = await locate("ddtp", "Translation-en.gz");
if (ddtp !== undefined) {
  for (const lang of await ddtpLanguages(ddtp)) {
    corpora.push([`ddtp ${lang}`, lang.replace("_", "-"), async () => {
      const descriptions = await readDdtp(join(ddtp, `Translation-${lang}.gz`));
      return descriptions.map((d) => ddtpText(d, "description"));
    }]);
  }
}
const xquad = await locate("xquad", "xquad.en.json");
if (xquad !== undefined) {
  for (const file of (await readdir(xquad)).filter((f) => /^xquad\.[a-z]+\.json$/.test(f)).sort()) {
    const lang = file.split(".")[1]!;
    corpora.push([`xquad ${lang}`, lang, async () => {
      const texts: string[] = [];
      for (const article of (await readSquad(join(xquad, file))).data) {
        for (const p of article.paragraphs) texts.push(p.context, ...p.qas.map((q) => q.question));
      }
      return texts;
    }]);
  }
}

if (corpora.length === 0) {
  console.log("tokenizer-vs-segmenter: skipped: no DDTP or XQuAD data found.");
  process.exit(0);
}

const rows: string[][] = [];
let differing = 0;
for (const [name, lang, load] of corpora) {
  const texts = await load();
  const chars = texts.reduce((sum, t) => sum + t.length, 0);
  const analyzer = createAnalyzer({ lang });
  const segmenter = new Intl.Segmenter(lang, { granularity: "word" });
  const prepared = texts.map(prepare);
  const reference = (text: string) => {
    const words: string[] = [];
    for (const s of segmenter.segment(text)) if (s.isWordLike && !/^\p{Pc}+$/u.test(s.segment)) words.push(s.segment);
    return words;
  };
  for (const t of texts.slice(0, 100)) analyzer.analyze(t); // warm up both
  for (const t of prepared.slice(0, 100)) reference(t);

  let t0 = performance.now();
  const hybrid = texts.map((t) => analyzer.analyze(t));
  const hybridSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const segmented = prepared.map(reference);
  const segmenterSeconds = (performance.now() - t0) / 1000;
  let diff = 0;
  hybrid.forEach((words, i) => {
    if (words.join("\u0000") !== segmented[i]!.join("\u0000")) diff++;
  });
  differing += diff;
  rows.push([
    name,
    texts.length.toLocaleString("en-US"),
    (chars / 1e6).toFixed(2),
    hybridSeconds.toFixed(2),
    segmenterSeconds.toFixed(2),
    (segmenterSeconds / hybridSeconds).toFixed(1),
    String(diff),
  ]);
}

const header = ["corpus", "texts", "M chars", "hybrid s", "segmenter s", "speed-up", "differ"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log(`Hybrid tokenizer vs Intl.Segmenter; Node ${process.version}, ICU ${process.versions.icu}`);
console.log(line(header));
for (const r of rows) console.log(line(r));
if (differing > 0) {
  console.log(`\n${differing} texts tokenized differently`);
  process.exit(1);
}
