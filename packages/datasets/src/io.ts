/**
 * Small file-reading helpers shared by the loaders: gzip is detected by its magic bytes (not the
 * file name), text is UTF-8 with an optional byte-order mark, and line numbers are 1-based so that
 * error messages can say `file:line`.
 */
import { createReadStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createGunzip, gunzip } from "node:zlib";
import { promisify } from "node:util";

const gunzipAsync = promisify(gunzip);

/** True when `bytes` start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads a whole file, gunzipping it when it is gzip. */
export async function readBytes(path: string): Promise<Buffer> {
  const raw = await readFile(path);
  return isGzip(raw) ? gunzipAsync(raw) : raw;
}

/** Reads a whole (possibly gzipped) UTF-8 file as a string, without a leading byte-order mark. */
export async function readText(path: string): Promise<string> {
  return stripBom((await readBytes(path)).toString("utf8"));
}

/** Removes a leading U+FEFF byte-order mark. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** True when the file at `path` starts with the gzip magic number. */
export async function isGzipFile(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return isGzip(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Opens a (possibly gzipped) file as a stream of bytes, so large files need not fit in memory. */
export async function openStream(path: string): Promise<Readable> {
  const gz = await isGzipFile(path);
  const file = createReadStream(path);
  if (!gz) return file;
  const gunzipStream = createGunzip();
  file.on("error", (err) => gunzipStream.destroy(err));
  return file.pipe(gunzipStream);
}

/** One line of a text file: its 1-based number and its text without the line terminator. */
export interface NumberedLine {
  line: number;
  text: string;
}

/**
 * Streams the lines of a (possibly gzipped) UTF-8 file (`\n` or `\r\n`), numbered from 1; a
 * byte-order mark on the first line is dropped. A final newline does not make an extra line.
 */
export async function* readLines(path: string): AsyncGenerator<NumberedLine> {
  const stream = await openStream(path);
  stream.setEncoding("utf8");
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      yield { line, text: line === 1 ? stripBom(text) : text };
    }
  } finally {
    rl.close();
    stream.destroy();
  }
}

/** Type name for error messages: `null`, `array`, or `typeof`. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** True for a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Language tag in BCP 47 form: apt's `pt_BR` becomes `pt-BR`. */
export function bcp47(lang: string): string {
  return lang.replaceAll("_", "-");
}
