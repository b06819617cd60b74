/**
 * The standalone page's sample collection, as JSONL ({"id", "title", "text", "lang"} a line), built
 * at build time from data that is never committed here, from the first source found:
 *
 * 1. DDTP (../shared/datasets/ddtp/, or $CROSSRANK_DDTP): English Debian package descriptions,
 *    those with a German or Chinese translation first (so queries in those languages have their
 *    counterparts), then others, by package name, up to `limit` (default 3000: below the 4096
 *    documents from which the bi-encoder scores whole collections on onnxruntime, which a browser
 *    has not);
 * 2. this machine's dpkg status file (/var/lib/dpkg/status): the installed packages' English
 *    descriptions (Debian and derivatives; a fresh clone without ../shared);
 * 3. the sentences of @crossrank/encode's fixture corpus (crossrank's own text, 7 languages).
 *
 * Debian package descriptions come from the packages' maintainers (free software, redistributed by
 * every Debian mirror); the DDTP README asks that its files not be copied into this repository, so
 * the sample exists in build output only.
 *
 * CLI: node scripts/sample-collection.mjs [out.jsonl] [limit] — prints the source and the count.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..");

/** deb822 stanzas of a Packages/Translation/status text: field → value (continuation lines joined with "\n"). */
function stanzas(text) {
  const out = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = {};
    let last;
    for (const line of block.split("\n")) {
      if (/^[ \t]/.test(line) && last !== undefined) fields[last] += `\n${line.slice(1)}`;
      else {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        last = line.slice(0, colon);
        fields[last] = line.slice(colon + 1).trim();
      }
    }
    if (Object.keys(fields).length > 0) out.push(fields);
  }
  return out;
}

/** A description field as title (the synopsis) and text (the long description, " ." lines as paragraph breaks). */
function description(value) {
  const [title, ...rest] = value.split("\n");
  const text = rest.map((l) => (l.trim() === "." ? "" : l)).join("\n").replace(/\n{3,}/g, "\n\n").trim();
  return { title: title.trim(), text: text === "" ? title.trim() : text };
}

function fromDdtp(folder, limit) {
  const en = stanzas(gunzipSync(readFileSync(join(folder, "Translation-en.gz"))).toString("utf8"));
  const translated = new Set();
  for (const lang of ["zh_CN", "de"]) {
    const file = join(folder, `Translation-${lang}.gz`);
    if (!existsSync(file)) continue;
    for (const s of stanzas(gunzipSync(readFileSync(file)).toString("utf8"))) if (s["Description-md5"]) translated.add(s["Description-md5"]);
  }
  // One document per distinct description (several packages can share one).
  const byMd5 = new Map();
  for (const s of en) if (s.Package && s["Description-en"] && !byMd5.has(s["Description-md5"])) byMd5.set(s["Description-md5"], s);
  const all = [...byMd5.values()].sort((a, b) => (a.Package < b.Package ? -1 : a.Package > b.Package ? 1 : 0));
  const chosen = [...all.filter((s) => translated.has(s["Description-md5"])), ...all.filter((s) => !translated.has(s["Description-md5"]))].slice(0, limit);
  chosen.sort((a, b) => (a.Package < b.Package ? -1 : 1));
  return chosen.map((s) => ({ id: s.Package, ...description(s["Description-en"]), lang: "en" }));
}

function fromDpkg(path, limit) {
  const seen = new Set();
  const docs = [];
  for (const s of stanzas(readFileSync(path, "utf8"))) {
    if (!s.Package || !s.Description || seen.has(s.Package)) continue;
    seen.add(s.Package);
    docs.push({ id: s.Package, ...description(s.Description), lang: "en" });
  }
  docs.sort((a, b) => (a.id < b.id ? -1 : 1));
  return docs.slice(0, limit);
}

/** The fixture corpus's sentences as documents (id `<lang>-<line>`), e.g. for tests. */
export function fromFixtureCorpus(folder = join(repo, "packages", "encode", "fixtures", "corpus")) {
  const docs = [];
  for (const file of readdirSync(folder).filter((f) => f.endsWith(".txt")).sort()) {
    const lang = file.replace(/\.txt$/, "");
    readFileSync(join(folder, file), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .forEach((text, i) => docs.push({ id: `${lang}-${i + 1}`, text, lang }));
  }
  return docs;
}

/** The sample's documents and where they came from. */
export function sampleCollection(limit = 3000) {
  const ddtp = process.env.CROSSRANK_DDTP ?? join(repo, "..", "shared", "datasets", "ddtp");
  if (existsSync(join(ddtp, "Translation-en.gz"))) return { source: `DDTP English descriptions (${ddtp})`, documents: fromDdtp(ddtp, limit) };
  const status = "/var/lib/dpkg/status";
  if (existsSync(status)) return { source: `installed Debian packages' descriptions (${status})`, documents: fromDpkg(status, limit) };
  const corpus = join(repo, "packages", "encode", "fixtures", "corpus");
  return { source: `@crossrank/encode's fixture corpus (${corpus})`, documents: fromFixtureCorpus(corpus) };
}

/** JSONL of documents, one a line. */
export function toJsonl(documents) {
  return `${documents.map((d) => JSON.stringify(d)).join("\n")}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? "collection.jsonl";
  const { source, documents } = sampleCollection(process.argv[3] === undefined ? undefined : Number(process.argv[3]));
  writeFileSync(out, toJsonl(documents));
  console.log(`${out}: ${documents.length} documents from ${source}`);
}
