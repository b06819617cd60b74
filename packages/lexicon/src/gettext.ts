/**
 * gettext translation catalogues (`.mo`), as Debian's packages install them in
 * `/usr/share/locale/<locale>/LC_MESSAGES/<domain>.mo`: each entry pairs an English message (the
 * msgid) with its translation in the locale's language (the msgstr). iso-codes (country, language,
 * currency and script names), GTK, GLib, coreutils and hundreds of other packages ship them, in
 * dozens of languages.
 *
 * The binary format is read by the `gettext-parser` npm package (MIT), which also converts
 * catalogues in legacy charsets (the header's `Content-Type: …; charset=`) to Unicode. This module
 * adds what a consumer of parallel text needs: locale names → crossrank's language codes, the
 * installed catalogues, the plural form that is the singular, and message clean-up (accelerators,
 * placeholders, markup).
 */
import { readdir, readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import gettextParser from "gettext-parser";
import { primaryLanguage } from "./languages.js";

/** Where Debian's packages install their message catalogues. */
export const GETTEXT_DIRECTORIES: readonly string[] = ["/usr/share/locale"];

/** One message of a catalogue. */
export interface GettextEntry {
  /** The original (English) message; for a plural entry, its singular. */
  msgid: string;
  /** The plural original, for an entry with plural forms. */
  msgidPlural?: string;
  /** The disambiguating context (msgctxt), when there is one; not part of the message. */
  context?: string;
  /** The translations: one, or one per plural form (see {@link GettextCatalogue.singularIndex}). */
  msgstr: string[];
}

/** A parsed `.mo` catalogue. */
export interface GettextCatalogue {
  /** Where it was read from (or the name given to {@link parseGettextCatalogue}). */
  path: string;
  /** The charset its strings were decoded from (`utf-8`, `iso-8859-1`, …). */
  charset: string;
  /** The header entry's fields (`Language`, `Plural-Forms`, `Content-Type`, …). */
  headers: Record<string, string>;
  /**
   * Index in a plural entry's `msgstr` of the form for n = 1, from the `Plural-Forms` header
   * (Arabic's is 1: its form 0 is for n = 0); 0 without the header; undefined when the header cannot
   * be evaluated or names a form the catalogue says it does not have.
   */
  singularIndex: number | undefined;
  /** Every message but the header, in the file's order (sorted by msgid, as msgfmt writes it). */
  entries: GettextEntry[];
}

const MO_MAGIC = 0x950412de;

/**
 * Parses the bytes of a `.mo` file. `path` names it in errors. Throws on a file that is not a
 * catalogue (wrong magic number) or whose string tables point past its end.
 */
export function parseGettextCatalogue(bytes: Uint8Array, path: string): GettextCatalogue {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 20) throw new Error(`${path}: not a gettext .mo file (${buffer.length} bytes)`);
  const little = buffer.readUInt32LE(0) === MO_MAGIC;
  if (!little && buffer.readUInt32BE(0) !== MO_MAGIC) throw new Error(`${path}: not a gettext .mo file (bad magic number)`);
  // The parser trusts the tables; check that they and the strings they locate are inside the file.
  const u32 = (at: number) => (little ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at));
  const count = u32(8);
  for (const table of [u32(12), u32(16)]) {
    if (table + count * 8 > buffer.length) throw new Error(`${path}: malformed .mo file: a table of ${count} strings at ${table} runs past the end (${buffer.length} bytes)`);
    for (let i = 0; i < count; i++) {
      const length = u32(table + i * 8);
      const offset = u32(table + i * 8 + 4);
      if (offset + length > buffer.length) throw new Error(`${path}: malformed .mo file: string ${i} at ${offset}+${length} runs past the end (${buffer.length} bytes)`);
    }
  }
  const parsed = gettextParser.mo.parse(buffer);
  if (parsed === false) throw new Error(`${path}: not a gettext .mo file (bad magic number)`);
  const headers: Record<string, string> = { ...(parsed.headers ?? {}) };
  const entries: GettextEntry[] = [];
  for (const [context, messages] of Object.entries(parsed.translations)) {
    for (const m of Object.values(messages)) {
      if (context === "" && m.msgid === "") continue; // the header
      entries.push({
        msgid: m.msgid,
        ...(m.msgid_plural === undefined ? {} : { msgidPlural: m.msgid_plural }),
        ...(context === "" ? {} : { context }),
        msgstr: m.msgstr,
      });
    }
  }
  const pluralForms = headers["Plural-Forms"];
  return { path, charset: parsed.charset, headers, singularIndex: pluralForms === undefined ? 0 : gettextPluralIndex(pluralForms, 1), entries };
}

/** Reads and parses a `.mo` file (see {@link parseGettextCatalogue}). */
export async function readGettextCatalogue(path: string): Promise<GettextCatalogue> {
  return parseGettextCatalogue(await readFile(path), path);
}

/** A message to write with {@link compileGettextCatalogue}. */
export interface GettextMessage {
  msgid: string;
  msgidPlural?: string;
  context?: string;
  msgstr: string[];
}

/**
 * A `.mo` file's bytes holding `messages` (messages without a non-empty translation are left out,
 * as msgfmt leaves them out) and a header of `headers` (`Language`, `Plural-Forms`; the charset is
 * UTF-8). For tests and fixtures of the readers' users.
 */
export function compileGettextCatalogue(messages: readonly GettextMessage[], headers: Readonly<Record<string, string>> = {}): Buffer {
  // Defined, not assigned, so that a context named `constructor` is not taken for Object's. (The
  // library's compiler itself still loses a `__proto__` msgid; its parser reads one.)
  const own = <T>(object: Record<string, T>, key: string, value: T) => Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  const translations: Record<string, Record<string, { msgid: string; msgctxt?: string; msgid_plural?: string; msgstr: string[] }>> = { "": {} };
  for (const m of messages) {
    const context = m.context ?? "";
    if (!Object.hasOwn(translations, context)) own(translations, context, {});
    own(translations[context]!, m.msgid, {
      msgid: m.msgid,
      ...(m.context === undefined ? {} : { msgctxt: m.context }),
      ...(m.msgidPlural === undefined ? {} : { msgid_plural: m.msgidPlural }),
      msgstr: [...m.msgstr],
    });
  }
  return gettextParser.mo.compile({ charset: "utf-8", headers: { "Content-Type": "text/plain; charset=UTF-8", ...headers }, translations });
}

/**
 * The plural form a catalogue uses for `n`, from its `Plural-Forms` header
 * (`nplurals=2; plural=(n != 1);`): the C expression is evaluated (`n`, whole numbers, `?:`, `||`,
 * `&&`, comparisons, `+ - * / %`, `!`, parentheses). Undefined when the header has no `plural=`,
 * the expression is not of that language, or the result is not a form below `nplurals`.
 */
export function gettextPluralIndex(pluralForms: string, n: number): number | undefined {
  const expression = /(?:^|;)\s*plural\s*=\s*([^;]+)/.exec(pluralForms)?.[1];
  const nplurals = Number(/nplurals\s*=\s*(\d+)/.exec(pluralForms)?.[1] ?? NaN);
  if (expression === undefined || !(nplurals >= 1)) return undefined;
  const value = evaluatePlural(expression, n);
  return value !== undefined && Number.isInteger(value) && value >= 0 && value < nplurals ? value : undefined;
}

/** Evaluates gettext's C subset by recursive descent; undefined on a syntax error or division by zero. */
function evaluatePlural(expression: string, n: number): number | undefined {
  const tokens = expression.match(/\d+|n|\|\||&&|[=!<>]=|[-+*/%?:()<>!]|\S/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const fail = (): never => {
    throw new SyntaxError(expression);
  };
  const truth = (v: boolean) => (v ? 1 : 0);
  const primary = (): number => {
    const t = tokens[i++];
    if (t === "n") return n;
    if (t !== undefined && /^\d+$/.test(t)) return Number(t);
    if (t === "(") {
      const v = conditional();
      if (tokens[i++] !== ")") fail();
      return v;
    }
    if (t === "!") return truth(primary() === 0);
    if (t === "-") return -primary();
    return fail();
  };
  const binary = (next: () => number, ops: Readonly<Record<string, (a: number, b: number) => number>>) => (): number => {
    let v = next();
    for (let op = peek(); op !== undefined && ops[op] !== undefined; op = peek()) {
      i++;
      v = ops[op]!(v, next());
    }
    return v;
  };
  const integer = (x: number) => (Number.isFinite(x) ? Math.trunc(x) : fail());
  const multiplicative = binary(primary, { "*": (a, b) => a * b, "/": (a, b) => integer(a / b), "%": (a, b) => (b === 0 ? fail() : a % b) });
  const additive = binary(multiplicative, { "+": (a, b) => a + b, "-": (a, b) => a - b });
  const relational = binary(additive, { "<": (a, b) => truth(a < b), ">": (a, b) => truth(a > b), "<=": (a, b) => truth(a <= b), ">=": (a, b) => truth(a >= b) });
  const equality = binary(relational, { "==": (a, b) => truth(a === b), "!=": (a, b) => truth(a !== b) });
  const and = binary(equality, { "&&": (a, b) => truth(a !== 0 && b !== 0) });
  const or = binary(and, { "||": (a, b) => truth(a !== 0 || b !== 0) });
  function conditional(): number {
    const c = or();
    if (peek() !== "?") return c;
    i++;
    const yes = conditional();
    if (tokens[i++] !== ":") fail();
    const no = conditional();
    return c !== 0 ? yes : no;
  }
  try {
    const v = conditional();
    return i === tokens.length ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An entry's singular translation: `msgstr[0]`, or for a plural entry the form for n = 1
 * (`catalogue.singularIndex`). Undefined when that form is unknown or missing.
 */
export function singularTranslation(entry: GettextEntry, catalogue: Pick<GettextCatalogue, "singularIndex">): string | undefined {
  if (entry.msgidPlural === undefined) return entry.msgstr[0];
  return catalogue.singularIndex === undefined ? undefined : entry.msgstr[catalogue.singularIndex];
}

/** Region and script subtags of traditional Chinese locales (`zh_TW`, `zh_HK`, `zh_MO`, `zh_Hant`). */
const TRADITIONAL_CHINESE = new Set(["tw", "hk", "mo", "hant"]);

/**
 * crossrank's language code for a locale directory name, the code the dictionaries use (ISO 639-1
 * where there is one): `de`, `de_DE`, `de_CH` → `de`; `pt_BR`, `pt_PT` → `pt`; `zh_CN`, `zh_SG`,
 * `zh_Hans` → `zh`. Undefined for what is not one language in its usual script: variants after `@`
 * (`sr@latin`, `ca@valencia`, `en@quot`), script subtags (`uz_Latn`) but `zh_Hans`, traditional
 * Chinese (`zh_TW`, `zh_HK`, `zh_Hant`: crossrank's `zh` is simplified, as DDTP's `zh_CN` and
 * XQuAD's), and names that are not locales (`locale.alias`). A codeset suffix (`.UTF-8`) is
 * ignored. English locales give `en`.
 */
export function gettextLanguage(locale: string): string | undefined {
  if (locale.includes("@")) return undefined;
  const [language = "", ...rest] = locale.replace(/\.[^.]*$/, "").split("_");
  if (!/^[a-z]{2,3}$/.test(language)) return undefined;
  if (!rest.every((part) => /^(?:[A-Z]{2}|\d{3}|[A-Z][a-z]{3})$/.test(part))) return undefined;
  const subtags = rest.map((part) => part.toLowerCase());
  if (language === "zh") return subtags.some((s) => TRADITIONAL_CHINESE.has(s)) ? undefined : "zh";
  if (rest.some((part) => /^[A-Z][a-z]{3}$/.test(part))) return undefined;
  return language;
}

/** One installed catalogue. */
export interface InstalledCatalogue {
  /** The locale directory's name (`pt_BR`). */
  locale: string;
  /** Its language, as {@link gettextLanguage} names it (`pt`). */
  lang: string;
  /** The catalogue's name: the file name without `.mo` (`iso_3166-1`, `glib20`). */
  domain: string;
  /** The `.mo` file. */
  path: string;
}

/** Options of {@link installedCatalogues}. */
export interface InstalledCataloguesOptions {
  /** Where to look; default {@link GETTEXT_DIRECTORIES}. Directories that do not exist are skipped. */
  directories?: readonly string[];
  /** Keep the locales of these languages, compared by primary language (`pt_BR` → `pt`); default: every language. */
  languages?: readonly string[];
  /** Keep these catalogue names (`iso_3166-1`, `glib20`); default: every catalogue. */
  domains?: readonly string[];
}

/**
 * Every installed catalogue of a non-English locale that {@link gettextLanguage} maps to a
 * language, in a fixed order (by directory, locale, then file name). A file reached again through
 * a symbolic link (iso-codes installs `iso_639.mo` → `iso_639-2.mo`) is listed once, under the
 * first name in that order.
 */
export async function installedCatalogues(options: InstalledCataloguesOptions = {}): Promise<InstalledCatalogue[]> {
  const wanted = options.languages === undefined ? undefined : new Set(options.languages.map((l) => gettextLanguage(l) ?? primaryLanguage(l)));
  const domains = options.domains === undefined ? undefined : new Set(options.domains);
  const seen = new Set<string>();
  const out: InstalledCatalogue[] = [];
  for (const directory of options.directories ?? GETTEXT_DIRECTORIES) {
    const locales = await listDirectory(directory);
    for (const locale of locales) {
      const lang = gettextLanguage(locale);
      if (lang === undefined || lang === "en" || (wanted !== undefined && !wanted.has(lang))) continue;
      const messages = join(directory, locale, "LC_MESSAGES");
      for (const name of await listDirectory(messages)) {
        if (!name.endsWith(".mo")) continue;
        const domain = name.slice(0, -3);
        if (domains !== undefined && !domains.has(domain)) continue;
        const path = join(messages, name);
        const real = await realpath(path).catch(() => undefined);
        if (real === undefined || seen.has(real)) continue; // a dangling link, or a file already listed
        seen.add(real);
        out.push({ locale, lang, domain, path });
      }
    }
  }
  return out;
}

/** The sorted names in a directory; none when it does not exist or is not a directory. */
async function listDirectory(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw error;
  }
}

const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** Brackets and quotes that a removed placeholder can leave empty (`»%s«`, `'%s'`, `<%s>`, `(%d)`). */
const EMPTY_PAIRS = /(?:""|''|``|`'|«»|»«|“”|„“|‚‘|‘’|‹›|›‹|「」|『』|\(\)|\[\]|<>|（）|【】)/g;

/**
 * A message as plain text, for parallel-text use: GnuPG's `|context|` prefix removed;
 * keyboard accelerators removed (`_File` → `File`, `&Open` → `Open`, `ファイル(_F)` → `ファイル`; a
 * string with several `_x` is taken to hold identifiers and keeps them; `__` and `&&` are a literal
 * `_` and `&`); printf, strftime, Qt, Python and brace placeholders removed (`%s`, `%1$d`, `%-.*s`,
 * `%lu`, `%H`, `%<PRIu64>`, `%1`, `%(name)s`, `{0}`, `{name}`; `%%` is `%`); markup tags removed
 * (`<b>`, `</span>`, `<a href="…">`) and the XML entities decoded (`&amp;` → `&`); brackets and
 * quotes left empty removed; line breaks, tabs and runs of spaces made one space; trimmed.
 */
export function cleanGettextText(text: string): string {
  let t = text.replace(/^\|[^|\n]*\|/, "");
  // Literal % _ & first, so that no rule below reads them.
  t = t.replace(/%%/g, "\u0001").replace(/__/g, "\u0002").replace(/&&/g, "\u0003");
  t = t.replace(/\s*[(（][_&][\p{L}\p{N}][)）]/gu, "");
  t = t
    .replace(/%\([^()\s]*\)[-+#0 ]*\d*(?:\.\d+)?[a-zA-Z]/g, "")
    .replace(/%<[A-Za-z0-9_]+>/g, "")
    .replace(/%(?:\d+\$)?[-+#0']*(?:\d+|\*(?:\d+\$)?)?(?:\.(?:\d+|\*(?:\d+\$)?))?(?:hh|ll|I64|I32|[hlLqjzZtI])?[a-zA-Z]/g, "")
    .replace(/%\d+/g, "")
    .replace(/\{(?:\d*|[A-Za-z_][\w.]*(?:\[\w+\])?)(?:![rsa])?(?::[^{}]*)?\}/g, "")
    .replace(/<\/?[A-Za-z][\w:.-]*(?:\s[^<>]*)?\/?>/g, " ");
  // Accelerators once placeholders and tags (`%(file_name)s`, `<a href="…">`) are gone.
  const underscores = [...t.matchAll(/_(?=[\p{L}\p{N}])/gu)];
  if (underscores.length === 1) t = t.replace(/_(?=[\p{L}\p{N}])/u, "");
  const entity = /&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);/y;
  const ampersands = [...t.matchAll(/&(?=[\p{L}\p{N}])/gu)].filter((m) => {
    entity.lastIndex = m.index;
    return !entity.test(t);
  });
  if (ampersands.length === 1) t = t.slice(0, ampersands[0]!.index) + t.slice(ampersands[0]!.index + 1);
  t = t.replace(/&(?:([a-zA-Z]+)|#(\d+)|#x([0-9a-fA-F]+));/g, (all, name: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (name !== undefined) return ENTITIES[name] ?? all;
    const code = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
  for (let before = ""; before !== t; ) {
    before = t;
    t = t.replace(/([("'`«»“„‚‘‹›「『<\[（【])\s+([)"'`«»“”‘’‹›」』>\]）】])/g, "$1$2").replace(EMPTY_PAIRS, "");
  }
  return t
    .replace(/\u0001/g, "%")
    .replace(/\u0002/g, "_")
    .replace(/\u0003/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}
