/**
 * On-disk embedding cache, so a bench that encodes the same 61k documents again reads them back
 * instead of running the model.
 *
 * One namespace (model fingerprint + what is stored + options) is ONE append-only file
 * `<dir>/<hash>.emb` — never one file per text — plus `<hash>.json` describing the namespace for
 * people. Records are [magic, payload length, sha256(key), 8 bytes of sha256(payload)] + payload;
 * opening scans the record headers into an in-memory index (key hash → offset). A torn last
 * record (a crash mid-append) is cut off on open; a record whose checksum does not match is a
 * miss. Writers in one process share one handle and append one after another; separate processes
 * must not write the same cache directory at the same time.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** One cached value: float32 data plus optional JSON metadata (e.g. tokens and offsets). */
export interface CachedEmbedding {
  meta?: unknown;
  data: Float32Array;
}

const FILE_MAGIC = Buffer.from("crossrank-embeddings\0v1\n", "latin1");
const RECORD_MAGIC = 0x31455243; // "CRE1"
const HEADER = 48; // magic u32, payload length u32, key sha256 (32), payload checksum (8)
/** Read-ahead when scanning headers of small records (sentence vectors). */
const SCAN_WINDOW = 1 << 16;
const READ_CONCURRENCY = 32;

interface Entry {
  offset: number;
  length: number;
  checksum: Buffer;
}

/** Process-wide state of one cache file, shared by every handle on it. */
class Store {
  readonly index = new Map<string, Entry>();
  refs = 0;
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private end: number,
  ) {}

  static async open(file: string): Promise<Store> {
    // Not "a+": Linux ignores the position of writes on append handles.
    const fh = await open(file, "r+").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return open(file, "w+");
      throw e;
    });
    try {
      const size = (await fh.stat()).size;
      const magic = Buffer.alloc(Math.min(size, FILE_MAGIC.length));
      await fh.read(magic, 0, magic.length, 0);
      if (!magic.equals(FILE_MAGIC.subarray(0, magic.length))) throw new Error(`${file} is not a crossrank embedding cache file (remove it to start over)`);
      if (size < FILE_MAGIC.length) {
        // New, or torn while writing its first bytes.
        await fh.write(FILE_MAGIC, 0, FILE_MAGIC.length, 0);
        return new Store(file, fh, FILE_MAGIC.length);
      }
      const store = new Store(file, fh, FILE_MAGIC.length);
      await store.scan(size);
      return store;
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Indexes every complete record; cuts off a torn tail so later appends start on a record boundary. */
  private async scan(size: number): Promise<void> {
    let window = Buffer.alloc(0);
    let windowStart = 0;
    let pos = this.end;
    let lastLength = 0;
    while (pos + HEADER <= size) {
      if (pos < windowStart || pos + HEADER > windowStart + window.length) {
        // Large records (token matrices): read just the header; small ones: read ahead.
        window = Buffer.alloc(lastLength > SCAN_WINDOW ? HEADER : Math.min(SCAN_WINDOW, size - pos));
        window = window.subarray(0, (await this.fh.read(window, 0, window.length, pos)).bytesRead);
        windowStart = pos;
        if (window.length < HEADER) break;
      }
      const h = window.subarray(pos - windowStart, pos - windowStart + HEADER);
      if (h.readUInt32LE(0) !== RECORD_MAGIC) break;
      const length = h.readUInt32LE(4);
      if (pos + HEADER + length > size) break;
      this.index.set(h.toString("hex", 8, 40), { offset: pos + HEADER, length, checksum: Buffer.from(h.subarray(40, 48)) });
      pos += HEADER + length;
      lastLength = length;
    }
    if (pos < size) await this.fh.truncate(pos);
    this.end = pos;
  }

  async read(keyHash: string): Promise<Uint8Array | undefined> {
    const e = this.index.get(keyHash);
    if (e === undefined) return undefined;
    // Own ArrayBuffer at offset 0, so the float32 part can be viewed without copying.
    const bytes = new Uint8Array(e.length);
    const { bytesRead } = await this.fh.read(bytes, 0, e.length, e.offset);
    if (bytesRead !== e.length || !checksum(bytes).equals(e.checksum)) {
      if (this.index.get(keyHash) === e) this.index.delete(keyHash);
      return undefined;
    }
    return bytes;
  }

  append(records: { keyHash: string; payload: Uint8Array }[]): Promise<void> {
    const run = async (): Promise<void> => {
      const total = records.reduce((s, r) => s + HEADER + r.payload.length, 0);
      const buf = Buffer.alloc(total);
      const entries: [string, Entry][] = [];
      let o = 0;
      for (const r of records) {
        const sum = checksum(r.payload);
        buf.writeUInt32LE(RECORD_MAGIC, o);
        buf.writeUInt32LE(r.payload.length, o + 4);
        buf.write(r.keyHash, o + 8, 32, "hex");
        sum.copy(buf, o + 40);
        buf.set(r.payload, o + HEADER);
        entries.push([r.keyHash, { offset: this.end + o + HEADER, length: r.payload.length, checksum: sum }]);
        o += HEADER + r.payload.length;
      }
      const start = this.end;
      try {
        await this.fh.write(buf, 0, buf.length, start);
      } catch (e) {
        await this.fh.truncate(start).catch(() => undefined);
        throw e;
      }
      this.end = start + buf.length;
      for (const [k, v] of entries) this.index.set(k, v);
    };
    const next = this.tail.then(run);
    this.tail = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.fh.close();
  }
}

const stores = new Map<string, Promise<Store>>();
const closing = new Map<string, Promise<void>>();

/**
 * A handle on one namespace of an embedding cache directory. Handles on the same namespace in
 * one process share the open file and its index.
 */
export class EmbeddingCache {
  private closed = false;

  private constructor(
    private readonly store: Store,
    /** The append-only data file of this namespace. */
    readonly file: string,
  ) {}

  /**
   * Opens (creating when needed) the namespace `namespace` (any JSON: model fingerprint, kind,
   * options — key order does not matter) of the cache directory `dir`.
   */
  static async open(dir: string, namespace: Record<string, unknown>): Promise<EmbeddingCache> {
    await mkdir(dir, { recursive: true });
    const description = stableStringify(namespace);
    const name = sha256Hex(description).slice(0, 32);
    const file = join(dir, `${name}.emb`);
    const sidecar = join(dir, `${name}.json`);
    await writeFile(sidecar, `${JSON.stringify(JSON.parse(description), null, 2)}\n`, { flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
    let pending = stores.get(file);
    if (pending === undefined) {
      const previous = closing.get(file) ?? Promise.resolve();
      pending = previous.then(() => Store.open(file));
      stores.set(file, pending);
      pending.catch(() => stores.delete(file));
    }
    const store = await pending;
    store.refs++;
    return new EmbeddingCache(store, file);
  }

  /** Number of keys stored. */
  get size(): number {
    return this.store.index.size;
  }

  /** Whether `key` is stored (its record may still fail its checksum on read). */
  has(key: string): boolean {
    return this.store.index.has(sha256Hex(key));
  }

  /** The values of `keys`, `undefined` for misses (and for records that fail their checksum). */
  async getMany(keys: readonly string[]): Promise<(CachedEmbedding | undefined)[]> {
    this.check();
    const out = new Array<CachedEmbedding | undefined>(keys.length);
    for (let i = 0; i < keys.length; i += READ_CONCURRENCY) {
      const part = keys.slice(i, i + READ_CONCURRENCY);
      const values = await Promise.all(part.map(async (k) => {
        const bytes = await this.store.read(sha256Hex(k));
        return bytes === undefined ? undefined : decode(bytes);
      }));
      for (let j = 0; j < values.length; j++) out[i + j] = values[j];
    }
    return out;
  }

  /** Stores values (one append; a key stored again replaces the old value). */
  async putMany(entries: readonly { key: string; value: CachedEmbedding }[]): Promise<void> {
    this.check();
    if (entries.length === 0) return;
    await this.store.append(entries.map((e) => ({ keyHash: sha256Hex(e.key), payload: encode(e.value) })));
  }

  /** Releases this handle; the file closes after pending writes once no handle uses it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (--this.store.refs > 0) return;
    stores.delete(this.file);
    const done = this.store.close();
    // A reopen waits for this close, so it never scans a file with appends still in flight.
    const marker = done.catch(() => undefined);
    closing.set(this.file, marker);
    try {
      await done;
    } finally {
      if (closing.get(this.file) === marker) closing.delete(this.file);
    }
  }

  private check(): void {
    if (this.closed) throw new Error(`embedding cache ${this.file} is closed`);
  }
}

/** Payload: u32 JSON length, JSON metadata, zero padding to 4 bytes, float32 data (little-endian). */
function encode(value: CachedEmbedding): Uint8Array {
  const meta = value.meta === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(value.meta), "utf8");
  const dataOffset = align4(4 + meta.length);
  const out = new Uint8Array(dataOffset + value.data.byteLength);
  new DataView(out.buffer).setUint32(0, meta.length, true);
  out.set(meta, 4);
  out.set(new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength), dataOffset);
  return out;
}

function decode(bytes: Uint8Array): CachedEmbedding {
  const metaLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const dataOffset = align4(4 + metaLength);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset + dataOffset, (bytes.length - dataOffset) / 4);
  if (metaLength === 0) return { data };
  return { meta: JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 4, metaLength).toString("utf8")) as unknown, data };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function checksum(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest().subarray(0, 8);
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/** JSON with object keys sorted at every level, so equal namespaces give equal names. */
function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * sha256 of a file's content, remembered in `<memoDir>/file-hashes.json` by (path, size, mtime) so
 * a 700 MB model is hashed once, not on every load.
 */
export async function fileContentHash(path: string, memoDir: string): Promise<string> {
  const st = await stat(path);
  const memoFile = join(memoDir, "file-hashes.json");
  const memo = await readFile(memoFile, "utf8")
    .then((t) => JSON.parse(t) as Record<string, { size: number; mtimeMs: number; sha256: string }>)
    .catch(() => ({}) as Record<string, { size: number; mtimeMs: number; sha256: string }>);
  const known = memo[path];
  if (known !== undefined && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.sha256;
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest("hex");
  memo[path] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
  await mkdir(memoDir, { recursive: true });
  // tmp + rename: a reader never sees a half-written memo.
  const tmp = `${memoFile}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, JSON.stringify(memo));
  await rename(tmp, memoFile);
  return sha256;
}

/**
 * The embedding caches of one encoder: a handle per namespace, opened on first use and shared by
 * later calls, all keyed by a content fingerprint of the model files (not their spec or path, so a
 * moved or re-downloaded model keeps its cache and a changed one gets new namespaces).
 */
export class EncoderCaches {
  private readonly handles = new Map<string, Promise<EmbeddingCache>>();
  private fingerprint: Promise<string> | undefined;

  /**
   * @param dir the cache folder; undefined disables caching.
   * @param files the files the vectors depend on, hashed by content.
   * @param extra further fingerprint lines (e.g. the hashes of trained heads), after the files.
   */
  constructor(
    private readonly dir: string | undefined,
    private readonly files: readonly { name: string; path: string }[],
    private readonly extra: readonly string[] = [],
  ) {}

  /** The cache of one namespace (what is stored and with which options), or undefined without a folder. */
  open(namespace: Record<string, unknown>): Promise<EmbeddingCache | undefined> {
    const dir = this.dir;
    if (dir === undefined) return Promise.resolve(undefined);
    const key = JSON.stringify(namespace);
    let handle = this.handles.get(key);
    if (handle === undefined) {
      handle = this.modelFingerprint(dir).then((fingerprint) => EmbeddingCache.open(dir, { ...namespace, fingerprint }));
      handle.catch(() => this.handles.delete(key));
      this.handles.set(key, handle);
    }
    return handle;
  }

  /** Closes every handle that opened (failed opens have nothing to close). */
  async close(): Promise<void> {
    const handles = await Promise.allSettled(this.handles.values());
    await Promise.all(handles.map((h) => (h.status === "fulfilled" ? h.value.close() : undefined)));
  }

  private modelFingerprint(dir: string): Promise<string> {
    this.fingerprint ??= (async () => {
      const parts = await Promise.all(this.files.map(async (f) => `${f.name}:${await fileContentHash(f.path, dir)}`));
      return [...parts.sort(), ...this.extra].join("\n");
    })();
    return this.fingerprint;
  }
}
