/**
 * Checks against the real datasets, when they are there (`$CROSSRANK_DATA/<name>` or
 * `../shared/datasets/<name>` next to the repository); skipped otherwise. Nothing is downloaded.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readDdtp } from "../src/ddtp.js";
import { ddtpLanguages, loadDdtpTask } from "../src/ddtp-task.js";
import { resolveDatasetPath } from "../src/locate.js";
import { loadManifest } from "../src/manifest.js";
import { readSquad } from "../src/squad.js";
import { loadXquadTask, XQUAD_LANGUAGES } from "../src/xquad.js";

const find = (name: string) => resolveDatasetPath(name, undefined, { download: false }).catch(() => undefined);
const xquadDir = await find("xquad");
const ddtpDir = await find("ddtp");
const title = (label: string, name: string, dir: string | undefined) =>
  dir === undefined
    ? `real ${label} (skipped: ../shared/datasets/${name} not found, nor $CROSSRANK_DATA/${name})`
    : `real ${label} (${dir})`;

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function checkManifest(name: string, dir: string): Promise<void> {
  for (const f of (await loadManifest(name)).files) expect([f.path, await sha256(join(dir, f.path))]).toEqual([f.path, f.sha256]);
}

describe.skipIf(xquadDir === undefined)(title("XQuAD", "xquad", xquadDir), { timeout: 60_000 }, () => {
  const dir = xquadDir!;

  it("matches the manifest's sha256", () => checkManifest("xquad", dir));

  it("has 48 articles, 240 paragraphs and 1190 questions in each of the 12 languages", async () => {
    for (const lang of XQUAD_LANGUAGES) {
      const squad = await readSquad(join(dir, `xquad.${lang}.json`));
      const paragraphs = squad.data.flatMap((a) => a.paragraphs);
      expect([lang, squad.data.length, paragraphs.length, paragraphs.flatMap((p) => p.qas).length]).toEqual([lang, 48, 240, 1190]);
    }
  });

  it("builds every task family", async () => {
    const sizes = async (task: Parameters<typeof loadXquadTask>[0]["task"]) => {
      const t = await loadXquadTask({ task, queryLang: "de" });
      return [t.queries.length, t.documents.length, t.qrels.size];
    };
    expect(await sizes("paragraph")).toEqual([240, 240, 240]);
    expect(await sizes("question-paragraph")).toEqual([1190, 240, 1190]);
    expect(await sizes("question-article")).toEqual([1190, 48, 1190]);
  });

  it("question-sentence locates nearly every answer's sentence", async () => {
    for (const queryLang of XQUAD_LANGUAGES) {
      const task = await loadXquadTask({ task: "question-sentence", queryLang, docLang: "en" });
      expect(task.documents.length).toBeGreaterThan(1000);
      expect(task.qrels.size).toBe(task.queries.length);
      // Observed: no question skipped for any language into English (answers span 2 sentences for 15).
      expect(1190 - task.queries.length, `${queryLang}: ${task.warnings?.join("; ")}`).toBeLessThanOrEqual(12);
    }
  });
});

describe.skipIf(ddtpDir === undefined)(title("DDTP", "ddtp", ddtpDir), { timeout: 120_000 }, () => {
  const dir = ddtpDir!;

  it("matches the manifest's sha256", () => checkManifest("ddtp", dir));

  it("Translation-en has 61,486 distinct descriptions over 63,956 stanzas", async () => {
    const start = performance.now();
    const warnings: string[] = [];
    const en = await readDdtp(join(dir, "Translation-en.gz"), { onWarning: (w) => warnings.push(w) });
    const ms = performance.now() - start;
    console.log(`read Translation-en.gz (${en.length} descriptions) in ${ms.toFixed(0)} ms`);
    expect(en.length).toBe(61_486);
    expect(en.reduce((n, d) => n + d.packages.length, 0)).toBe(63_956);
    expect(warnings).toEqual([]);
    expect(en.every((d) => d.lang === "en" && d.short !== "")).toBe(true);
  });

  it("every translation aligns with English by md5 and loads as a task", async () => {
    const langs = (await ddtpLanguages(dir)).filter((l) => l !== "en");
    expect(langs.length).toBeGreaterThanOrEqual(10);
    const de = await loadDdtpTask({ queryLang: "de", queryField: "short", docField: "description" });
    expect(de.documents).toHaveLength(61_486);
    expect(de.queries.length).toBeGreaterThan(10_000);
    expect(de.warnings).toEqual([expect.stringMatching(/^skipped \d+ de descriptions whose md5 has no en description$/)]);
  });
});
