/**
 * apt's `Translation-<lang>` files: Debian package descriptions (`Translation-en`) and their
 * translations by the Debian Description Translation Project, aligned by `Description-md5` (the md5
 * of the English description). deb822 stanzas separated by blank lines:
 *
 *     Package: orbit
 *     Description-md5: a1b2c3d4e5f60718293a4b5c6d7e8f90
 *     Description-de: Rundenbasiertes Weltraum-Handelsspiel   ← short description
 *      Orbit ist ein kleines, freies Handelsspiel …           ← long description
 *      .                                                      ← an empty line of it
 */
import type { Qrels } from "@crossrank/metrics";
import { readBytes } from "./io.js";

/** One distinct description (one md5) of a Translation file. */
export interface DdtpDescription {
  /** `Description-md5`, lower-case hex. */
  md5: string;
  /** From the field name `Description-<lang>`, as apt writes it (`de`, `pt_BR`, `zh_CN`). */
  lang: string;
  /** Every package whose stanza carries this md5, in file order. */
  packages: string[];
  /** The short description (the field's first line). */
  short: string;
  /** The long description: continuation lines without their leading space, ` .` as an empty line, joined with "\n". */
  long: string;
  /** 1-based line of the first stanza with this md5. */
  line: number;
}

/** Options of `readDdtp`. */
export interface ReadDdtpOptions {
  /** Called with a line of text for each documented skip (stanzas sharing an md5 whose texts differ). */
  onWarning?: (message: string) => void;
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const PACKAGE = "package";
const MD5_FIELD = "description-md5";
const DESCRIPTION = "description-";
const OTHER = "";
const PACKAGE_BYTES = Buffer.from("Package");
const MD5_BYTES = Buffer.from("Description-md5");
const DESCRIPTION_BYTES = Buffer.from("Description-");

/**
 * What the field named bytes[from, colon) is: `package`, `description-md5`, `description-` (for any
 * `Description-<lang>`), or "" for any other field.
 */
function fieldName(bytes: Buffer, from: number, colon: number): string {
  const length = colon - from;
  // apt writes the names in this case; others go through toLowerCase (deb822 ignores case).
  if (length === 7 && bytes.compare(PACKAGE_BYTES, 0, 7, from, colon) === 0) return PACKAGE;
  if (length === 15 && bytes.compare(MD5_BYTES, 0, 15, from, colon) === 0) return MD5_FIELD;
  if (length > 12 && bytes.compare(DESCRIPTION_BYTES, 0, 12, from, from + 12) === 0) return DESCRIPTION;
  const name = bytes.toString("utf8", from, colon).toLowerCase();
  if (name === PACKAGE || name === MD5_FIELD) return name;
  return name.length > DESCRIPTION.length && name.startsWith(DESCRIPTION) ? DESCRIPTION : OTHER;
}

/** bytes[from, to) decoded, without surrounding spaces and tabs. */
function fieldValue(bytes: Buffer, from: number, to: number): string {
  while (from < to && (bytes[from] === SPACE || bytes[from] === TAB)) from++;
  while (to > from && (bytes[to - 1] === SPACE || bytes[to - 1] === TAB)) to--;
  return bytes.toString("utf8", from, to);
}

/** 32 hex digits. */
function isMd5(value: string): boolean {
  if (value.length !== 32) return false;
  for (let i = 0; i < 32; i++) {
    const c = value.charCodeAt(i) | 0x20; // lower-cases letters
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * True when bytes[from, to) are only ASCII spaces and tabs: a stanza separator. (Unlike `trim()`: a
 * continuation line " \u00a0" — a no-break space — is text, not a separator.)
 */
function isBlank(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c !== SPACE && c !== TAB) return false;
  }
  return true;
}

/** A line's leading space or tab, and the "." of a line " ." (an empty line of the description). */
const CONTINUATION = /^[ \t](?:\.$)?/gm;

/** Continuation lines → the long description: each line loses its first character; " ." becomes "". */
function unfold(block: string): string {
  return (block.includes("\r") ? block.replaceAll("\r\n", "\n") : block).replace(CONTINUATION, "");
}

/** Reads a `Translation-<lang>` file, plain or gzipped (detected by its magic bytes); see `parseDdtp`. */
export async function readDdtp(path: string, options: ReadDdtpOptions = {}): Promise<DdtpDescription[]> {
  return parseDdtp(await readBytes(path), path, options);
}

/**
 * Parses a `Translation-<lang>` file's content (UTF-8 bytes, or text); `source` names it in errors
 * and warnings.
 *
 * Stanzas sharing one md5 become one description listing all their packages; if their texts
 * differ, the first is kept and the number of such stanzas reported through `onWarning`. Fields
 * other than `Package`, `Description-md5` and `Description-<lang>` are ignored (names compare
 * case-insensitively, as in deb822). Throws `source:line: …` for a continuation line before any
 * field, a line that is neither a field nor a continuation, a stanza without `Description-md5` or
 * `Description-<lang>` or with two of either, an md5 that is not 32 hex digits, and a stanza whose
 * language differs from the file's first.
 *
 * It walks the bytes line by line and decodes only the fields and long descriptions it keeps, so
 * Translation-en (32 MB, 726k lines) needs no 32-million-character string, and its descriptions stay
 * compact one-byte strings where they are Latin-1.
 */
export function parseDdtp(content: Uint8Array | string, source: string, options: ReadDdtpOptions = {}): DdtpDescription[] {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const byMd5 = new Map<string, DdtpDescription>();
  let fileLang: string | undefined;
  let differing = 0;
  let firstDiffering: DdtpDescription | undefined;

  // The stanza being read.
  let start = 0; // its first line, 0 when between stanzas
  let packages: string[] = [];
  let md5: string | undefined;
  let lang: string | undefined;
  let short = "";
  let inDescription = false;
  // The long description is one contiguous block of continuation lines: bytes [longStart, longEnd).
  let longStart = -1;
  let longEnd = -1;

  const fail = (line: number, what: string): never => {
    throw new Error(`${source}:${line}: ${what}`);
  };
  const endStanza = () => {
    if (md5 === undefined) fail(start, "stanza has no Description-md5 field");
    if (lang === undefined) fail(start, "stanza has no Description-<lang> field");
    const key = md5!;
    const long = longStart < 0 ? "" : unfold(bytes.toString("utf8", longStart, longEnd));
    const entry: DdtpDescription = { md5: key, lang: lang!, packages, short, long, line: start };
    fileLang ??= entry.lang;
    if (entry.lang !== fileLang) fail(start, `Description-${entry.lang} in a file whose first stanza is Description-${fileLang}`);
    const first = byMd5.get(key);
    if (first === undefined) {
      byMd5.set(key, entry);
    } else {
      first.packages.push(...packages);
      if (first.short !== entry.short || first.long !== entry.long) {
        differing++;
        firstDiffering ??= entry;
      }
    }
    start = 0;
    packages = [];
    md5 = undefined;
    lang = undefined;
    short = "";
    inDescription = false;
    longStart = -1;
  };

  const length = bytes.length;
  let n = 0;
  // Skip a UTF-8 byte-order mark.
  for (let pos = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; pos < length; ) {
    let eol = bytes.indexOf(LF, pos);
    if (eol < 0) eol = length;
    const lineStart = pos;
    pos = eol + 1;
    n++;
    const end = eol > lineStart && bytes[eol - 1] === CR ? eol - 1 : eol;
    const c = bytes[lineStart];
    if (lineStart === end || c === SPACE || c === TAB) {
      if (isBlank(bytes, lineStart, end)) {
        if (start !== 0) endStanza();
      } else if (start === 0) {
        fail(n, "continuation line (starting with a space) before any field");
      } else if (inDescription) {
        if (longStart < 0) longStart = lineStart;
        longEnd = end;
      }
      continue;
    }
    if (start === 0) start = n;
    const colon = bytes.indexOf(COLON, lineStart);
    if (colon < 0 || colon >= end) {
      const shown = bytes.toString("utf8", lineStart, Math.min(end, lineStart + 60));
      fail(n, `expected "Field: value" or a continuation line starting with a space, got ${JSON.stringify(shown)}`);
    }
    inDescription = false;
    const name = fieldName(bytes, lineStart, colon);
    if (name === PACKAGE) {
      packages.push(fieldValue(bytes, colon + 1, end));
    } else if (name === MD5_FIELD) {
      if (md5 !== undefined) fail(n, "second Description-md5 field in one stanza");
      const value = fieldValue(bytes, colon + 1, end);
      if (!isMd5(value)) fail(n, `Description-md5 must be 32 hex digits, got ${JSON.stringify(value)} (${value.length} characters)`);
      md5 = value.toLowerCase();
    } else if (name === DESCRIPTION) {
      const field = bytes.toString("utf8", lineStart, colon);
      if (lang !== undefined) fail(n, `second description field (${field}) in one stanza`);
      lang = field.slice(DESCRIPTION.length);
      short = fieldValue(bytes, colon + 1, end);
      inDescription = true;
    }
  }
  if (start !== 0) endStanza();
  if (differing > 0 && options.onWarning !== undefined) {
    options.onWarning(
      `${source}: kept the first text of ${differing} stanzas that share a Description-md5 with an earlier one but differ in text (e.g. line ${firstDiffering!.line}, md5 ${firstDiffering!.md5})`,
    );
  }
  return [...byMd5.values()];
}

/** The text of a description for a task field: `description` is short + "\n" + long (just short when long is empty). */
export function ddtpText(d: DdtpDescription, field: "short" | "long" | "description"): string {
  if (field === "short") return d.short;
  if (field === "long") return d.long;
  return d.long === "" ? d.short : `${d.short}\n${d.long}`;
}

/** Relevance for same-md5 tasks: each query md5 → its own md5, grade 1. */
export function sameIdQrels(ids: Iterable<string>): Qrels {
  return new Map([...ids].map((id) => [id, new Map([[id, 1]])]));
}
