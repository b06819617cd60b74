/**
 * Reader and writer for the safetensors format (https://github.com/huggingface/safetensors), the
 * weight format of Hugging Face and sentence-transformers folders (e.g. `2_Dense/model.safetensors`).
 *
 * Layout: an 8-byte little-endian unsigned length N, then N bytes of UTF-8 JSON
 * `{"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}`
 * (padded with spaces so that the data starts 8-byte aligned), then the data buffer; offsets are
 * relative to the start of the data buffer, tensors are row-major little-endian.
 */
// Node's file modules are imported where files are read or written, so that reading bytes (a
// browser page's fetched model) needs none.

/** The bytes of a file (Node), or `bytes` themselves. */
async function bytesOf(pathOrBytes: string | Uint8Array): Promise<Uint8Array> {
  if (typeof pathOrBytes !== "string") return pathOrBytes;
  const { readFile } = await import("node:fs/promises");
  return new Uint8Array(await readFile(pathOrBytes));
}

/** Element types this module reads and writes (the safetensors dtype names). */
export type SafetensorsDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I8" | "U8";

/**
 * One tensor. F16 and BF16 are held widened to a Float32Array (what is stored is `dtype`); on
 * write they are rounded to nearest-even.
 */
export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;
}

const BYTES: Record<SafetensorsDtype, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I8: 1, U8: 1 };

/** The typed array each dtype is held in (F16/BF16 widened to float32). */
const ARRAY_OF: Record<SafetensorsDtype, string> = {
  F32: "Float32Array",
  F16: "Float32Array",
  BF16: "Float32Array",
  F64: "Float64Array",
  I64: "BigInt64Array",
  I32: "Int32Array",
  I8: "Int8Array",
  U8: "Uint8Array",
};

// The reference implementation refuses headers over 100 MB; so do we (a corrupt length would
// otherwise make us try to allocate gigabytes).
const MAX_HEADER = 100_000_000;

/** A tensor's entry in a safetensors header: its dtype, shape and [begin, end) bytes in the data buffer. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * The tensor entries of a header (`__metadata__` left out), in file order, each checked: a known
 * dtype, a shape, offsets inside the `dataLen`-byte data buffer that match the shape.
 */
function parseHeader(headerBytes: Uint8Array, where: string, dataLen: number): Map<string, SafetensorsEntry> {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`safetensors: ${where}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new Error(`safetensors: ${where}: header is not a JSON object`);
  const out = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info.dtype as SafetensorsDtype;
    if (typeof dtype !== "string" || !(dtype in BYTES)) throw new Error(`safetensors: ${where}: tensor ${name}: unsupported dtype ${JSON.stringify(info.dtype)}`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`safetensors: ${where}: tensor ${name}: bad shape ${JSON.stringify(shape)}`);
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) throw new Error(`safetensors: ${where}: tensor ${name}: bad data_offsets`);
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((p, d) => p * d, 1);
    if (end < begin || end > dataLen) throw new Error(`safetensors: ${where}: tensor ${name}: data_offsets [${begin}, ${end}] outside the ${dataLen}-byte data buffer`);
    if (end - begin !== count * BYTES[dtype]) throw new Error(`safetensors: ${where}: tensor ${name}: ${end - begin} bytes for ${dtype}[${(shape as number[]).join(", ")}] (${count * BYTES[dtype]} expected)`);
    out.set(name, { dtype, shape: [...(shape as number[])], begin, end });
  }
  return out;
}

/** The header length stored in the first 8 bytes, checked against what follows them. */
function headerLength(first8: Uint8Array, total: number, where: string): number {
  if (total < 8) throw new Error(`safetensors: ${where}: too short (${total} bytes)`);
  const headerLen = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER, total - 8))) throw new Error(`safetensors: ${where}: header length ${headerLen} exceeds the file`);
  return Number(headerLen);
}

/**
 * Reads a safetensors file (path) or buffer. Returns the tensors in file order; F16/BF16 come back
 * widened to Float32Array with `dtype` as stored. Throws on malformed headers, unknown dtypes, or
 * offsets that do not match the shapes or leave the buffer.
 */
export async function readSafetensors(pathOrBytes: string | Uint8Array): Promise<Map<string, NamedTensor>> {
  const bytes = await bytesOf(pathOrBytes);
  const where = typeof pathOrBytes === "string" ? pathOrBytes : "buffer";
  const n = headerLength(bytes, bytes.length, where);
  const dataStart = 8 + n;
  const out = new Map<string, NamedTensor>();
  for (const [name, { dtype, shape, begin, end }] of parseHeader(bytes.subarray(8, dataStart), where, bytes.length - dataStart)) {
    out.set(name, { dtype, shape, data: decode(dtype, bytes.subarray(dataStart + begin, dataStart + end), shape.reduce((p, d) => p * d, 1)) });
  }
  return out;
}

/**
 * The tensor entries of a safetensors file, reading its header only (a checkpoint's weights stay on
 * disk), checked as `readSafetensors` checks them.
 */
export async function readSafetensorsHeader(path: string): Promise<Map<string, SafetensorsEntry>> {
  return (await openSafetensors(path, async () => undefined)).entries;
}

/** One tensor of a safetensors file, reading the header and that tensor's bytes only (F16/BF16 widened as `readSafetensors` does). */
export async function readSafetensorsTensor(path: string, name: string): Promise<NamedTensor> {
  const { result } = await openSafetensors(path, async (entries, read) => {
    const entry = entries.get(name);
    if (entry === undefined) throw new Error(`safetensors: ${path}: no tensor ${name}`);
    const count = entry.shape.reduce((p, d) => p * d, 1);
    return { dtype: entry.dtype, shape: entry.shape, data: decode(entry.dtype, await read(entry.begin, entry.end - entry.begin), count) };
  });
  return result!;
}

/** Opens a safetensors file, parses its header, and hands `use` the entries and a reader of the data buffer. */
async function openSafetensors<T>(
  path: string,
  use: (entries: Map<string, SafetensorsEntry>, read: (offset: number, length: number) => Promise<Uint8Array>) => Promise<T>,
): Promise<{ entries: Map<string, SafetensorsEntry>; result: T }> {
  const { open } = await import("node:fs/promises");
  const file = await open(path, "r");
  try {
    const size = (await file.stat()).size;
    const at = async (position: number, length: number) => {
      const buf = new Uint8Array(length);
      await file.read(buf, 0, length, position);
      return buf;
    };
    const n = headerLength(await at(0, Math.min(8, size)), size, path);
    const dataStart = 8 + n;
    const entries = parseHeader(await at(8, n), path, size - dataStart);
    return { entries, result: await use(entries, (offset, length) => at(dataStart + offset, length)) };
  } finally {
    await file.close();
  }
}

/** Metadata (`__metadata__`) of a safetensors file or buffer; {} when absent. */
export async function readSafetensorsMetadata(pathOrBytes: string | Uint8Array): Promise<Record<string, string>> {
  const bytes = await bytesOf(pathOrBytes);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as { __metadata__?: Record<string, string> };
  return { ...(header.__metadata__ ?? {}) };
}

/**
 * Serialises tensors to safetensors bytes. Deterministic: tensors are laid out by element size
 * (largest first, so every tensor stays aligned to its element size) then by name, and the header
 * lists `__metadata__` first and then the tensors in that order.
 */
export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => {
    const da = BYTES[(tensors[a] as NamedTensor).dtype];
    const db = BYTES[(tensors[b] as NamedTensor).dtype];
    return db - da || (a < b ? -1 : a > b ? 1 : 0);
  });
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    const meta: Record<string, string> = {};
    for (const key of Object.keys(metadata).sort()) {
      const v = metadata[key];
      if (typeof v !== "string") throw new Error(`safetensors: metadata ${key} must be a string`);
      meta[key] = v;
    }
    header.__metadata__ = meta;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") throw new Error("safetensors: a tensor cannot be named __metadata__");
    const t = tensors[name] as NamedTensor;
    if (!(t.dtype in BYTES)) throw new Error(`safetensors: tensor ${name}: unsupported dtype ${t.dtype}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`safetensors: tensor ${name}: bad shape [${t.shape.join(", ")}]`);
    const count = t.shape.reduce((p, d) => p * d, 1);
    if (t.data.length !== count) throw new Error(`safetensors: tensor ${name}: ${t.data.length} elements for shape [${t.shape.join(", ")}]`);
    // The typed array's own tag (not constructor.name): a Node Buffer is a Uint8Array too.
    const kind = Object.prototype.toString.call(t.data).slice(8, -1);
    if (kind !== ARRAY_OF[t.dtype]) throw new Error(`safetensors: tensor ${name}: ${t.dtype} data must be a ${ARRAY_OF[t.dtype]} (got ${kind})`);
    const raw = encode(t);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + raw.length] };
    chunks.push(raw);
    offset += raw.length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces (valid JSON whitespace) so the data buffer starts 8-byte aligned, as the
  // reference writer does; readers may then view it without copying.
  const jsonBytesLen = new TextEncoder().encode(json).length;
  json += " ".repeat((8 - (jsonBytesLen % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/**
 * Writes tensors (and optional string metadata) as a safetensors file. Deterministic bytes (see
 * {@link encodeSafetensors}); atomic: written to a temporary file beside `path`, then renamed.
 */
export async function writeSafetensors(path: string, tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  const [{ randomUUID }, { rename, rm, writeFile }] = await Promise.all([import("node:crypto"), import("node:fs/promises")]);
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Whether this machine stores numbers little-endian, as safetensors does (then typed arrays view the bytes as they are). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function decode(dtype: SafetensorsDtype, src: Uint8Array, count: number): NamedTensor["data"] {
  // Copy into a fresh, aligned buffer: `src` may sit at any byte offset of the file.
  const buf = new ArrayBuffer(src.length);
  new Uint8Array(buf).set(src);
  // On a little-endian machine (every platform Node ships for) the copy is the array: no
  // per-element conversion, which took most of the 28 s of opening a million-document index.
  if (LITTLE_ENDIAN) {
    if (dtype === "F32") return new Float32Array(buf, 0, count);
    if (dtype === "F64") return new Float64Array(buf, 0, count);
    if (dtype === "I32") return new Int32Array(buf, 0, count);
    if (dtype === "I64") return new BigInt64Array(buf, 0, count);
  }
  const dv = new DataView(buf);
  switch (dtype) {
    case "F32": {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getFloat32(i * 4, true);
      return a;
    }
    case "F64": {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getFloat64(i * 8, true);
      return a;
    }
    case "F16": {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = halfToFloat(dv.getUint16(i * 2, true));
      return a;
    }
    case "BF16": {
      const a = new Float32Array(count);
      const u = new Uint32Array(a.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return a;
    }
    case "I64": {
      const a = new BigInt64Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getBigInt64(i * 8, true);
      return a;
    }
    case "I32": {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getInt32(i * 4, true);
      return a;
    }
    case "I8":
      return new Int8Array(buf);
    case "U8":
      return new Uint8Array(buf);
  }
}

function encode(t: NamedTensor): Uint8Array {
  const n = t.data.length;
  const buf = new ArrayBuffer(n * BYTES[t.dtype]);
  const dv = new DataView(buf);
  switch (t.dtype) {
    case "F32": {
      const d = t.data as Float32Array;
      for (let i = 0; i < n; i++) dv.setFloat32(i * 4, d[i] as number, true);
      break;
    }
    case "F64": {
      const d = t.data as Float64Array;
      for (let i = 0; i < n; i++) dv.setFloat64(i * 8, d[i] as number, true);
      break;
    }
    case "F16": {
      const d = t.data as Float32Array;
      for (let i = 0; i < n; i++) dv.setUint16(i * 2, floatToHalf(d[i] as number), true);
      break;
    }
    case "BF16": {
      const d = t.data as Float32Array;
      for (let i = 0; i < n; i++) dv.setUint16(i * 2, floatToBfloat16(d[i] as number), true);
      break;
    }
    case "I64": {
      const d = t.data as BigInt64Array;
      for (let i = 0; i < n; i++) dv.setBigInt64(i * 8, d[i] as bigint, true);
      break;
    }
    case "I32": {
      const d = t.data as Int32Array;
      for (let i = 0; i < n; i++) dv.setInt32(i * 4, d[i] as number, true);
      break;
    }
    case "I8":
    case "U8":
      new Uint8Array(buf).set(new Uint8Array(t.data.buffer, t.data.byteOffset, n));
      break;
  }
  return new Uint8Array(buf);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits → number (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** number → IEEE binary16 bits, rounded to nearest-even from the float32 value (as numpy/torch do). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1 into place.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1; // may carry into the exponent: still correct
  return sign | half;
}

/** number → bfloat16 bits (the top half of the float32), rounded to nearest-even. */
export function floatToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff; // keep NaN a NaN
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
