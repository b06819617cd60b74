import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  encodeSafetensors,
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  readSafetensors,
  readSafetensorsHeader,
  readSafetensorsMetadata,
  readSafetensorsTensor,
  writeSafetensors,
  type NamedTensor,
} from "../src/safetensors.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crossrank-safetensors-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tensors = (): Record<string, NamedTensor> => ({
  "b.weight": { dtype: "F32", shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -7.25]) },
  "a.half": { dtype: "F16", shape: [4], data: Float32Array.from([1, -2.5, 65504, 2 ** -24]) },
  "c.bf": { dtype: "BF16", shape: [2, 1], data: Float32Array.from([1.5, -3]) },
  ids: { dtype: "I64", shape: [3], data: BigInt64Array.from([0n, -1n, 9007199254740993n]) },
  d64: { dtype: "F64", shape: [1], data: Float64Array.from([Math.PI]) },
  i32: { dtype: "I32", shape: [2], data: Int32Array.from([-5, 2147483647]) },
  i8: { dtype: "I8", shape: [3], data: Int8Array.from([-128, 0, 127]) },
  u8: { dtype: "U8", shape: [2, 2], data: Uint8Array.from([0, 1, 254, 255]) },
  scalar: { dtype: "F32", shape: [], data: Float32Array.from([42]) },
  empty: { dtype: "F32", shape: [0, 3], data: new Float32Array(0) },
});

describe("safetensors", () => {
  test("round trip of every dtype, with metadata", async () => {
    const path = join(dir, "all.safetensors");
    await writeSafetensors(path, tensors(), { format: "pt", note: "ünïcødé" });
    const back = await readSafetensors(path);
    const want = tensors();
    expect([...back.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [name, t] of Object.entries(want)) {
      const got = back.get(name) as NamedTensor;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect(got.data.constructor, name).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<number | bigint>), name).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
    expect(await readSafetensorsMetadata(path)).toEqual({ format: "pt", note: "ünïcødé" });
    // atomic write: no temporary file left behind
    expect((await readdir(dir)).filter((n) => n.includes("tmp"))).toEqual([]);
  });

  test("header layout: u64 LE length, aligned JSON header, data_offsets, __metadata__", async () => {
    const bytes = encodeSafetensors(tensors(), { format: "pt" });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(view.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0); // data buffer starts 8-byte aligned
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(headerText.trimEnd().length).toBeLessThanOrEqual(n);
    const header = JSON.parse(headerText) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    expect(Object.keys(header)[0]).toBe("__metadata__");
    expect(header.__metadata__).toEqual({ format: "pt" });
    const entries = Object.entries(header).filter(([k]) => k !== "__metadata__");
    // Larger elements first, then names: each tensor aligned to its element size; offsets contiguous.
    expect(entries.map(([k]) => k)).toEqual(["d64", "ids", "b.weight", "empty", "i32", "scalar", "a.half", "c.bf", "i8", "u8"]);
    let pos = 0;
    const size: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I8: 1, U8: 1 };
    for (const [name, info] of entries) {
      expect(info.data_offsets[0], name).toBe(pos);
      const count = info.shape.reduce((p, d) => p * d, 1);
      expect(info.data_offsets[1] - info.data_offsets[0], name).toBe(count * (size[info.dtype] as number));
      expect(info.data_offsets[0] % (size[info.dtype] as number)).toBe(0);
      pos = info.data_offsets[1];
    }
    expect(bytes.length).toBe(8 + n + pos);
    // F32 values are little-endian at their offsets
    const b = header["b.weight"] as { data_offsets: [number, number] };
    expect(view.getFloat32(8 + n + b.data_offsets[0] + 8, true)).toBe(3.5);
  });

  test("deterministic bytes, independent of the key order given", () => {
    const t = tensors();
    const reversed = Object.fromEntries(Object.entries(t).reverse());
    expect(Buffer.from(encodeSafetensors(reversed, { b: "2", a: "1" })).equals(Buffer.from(encodeSafetensors(t, { a: "1", b: "2" })))).toBe(true);
  });

  test("reads a hand-written file (unpadded header, arbitrary order)", async () => {
    const header = JSON.stringify({ y: { dtype: "F16", shape: [2], data_offsets: [4, 8] }, x: { dtype: "I32", shape: [1], data_offsets: [0, 4] } });
    const hb = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + hb.length + 8);
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(0, BigInt(hb.length), true);
    bytes.set(hb, 8);
    dv.setInt32(8 + hb.length, -3, true);
    dv.setUint16(8 + hb.length + 4, 0x3c00, true); // 1.0
    dv.setUint16(8 + hb.length + 6, 0xc000, true); // -2.0
    const back = await readSafetensors(bytes);
    expect(Array.from(back.get("x")?.data as Int32Array)).toEqual([-3]);
    expect(back.get("y")?.dtype).toBe("F16");
    expect(Array.from(back.get("y")?.data as Float32Array)).toEqual([1, -2]);
  });

  test("half and bfloat16 conversions round to nearest even", () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(70000)).toBe(0x7c00); // overflow → inf
    expect(floatToHalf(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(halfToFloat(0x3555)).toBeCloseTo(1 / 3, 3);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
    expect(floatToBfloat16(1)).toBe(0x3f80);
    expect(floatToBfloat16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(floatToBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    for (let i = 0; i < 0x7c00; i += 97) expect(floatToHalf(halfToFloat(i))).toBe(i); // exact round trip of every (sampled) half
  });

  test("F16/BF16 writing rounds, reading widens", async () => {
    const bytes = encodeSafetensors({ h: { dtype: "F16", shape: [1], data: Float32Array.from([0.1]) }, b: { dtype: "BF16", shape: [1], data: Float32Array.from([0.1]) } });
    const back = await readSafetensors(bytes);
    expect(back.get("h")?.data[0]).toBeCloseTo(0.1, 3);
    expect(back.get("h")?.data[0]).not.toBe(Math.fround(0.1));
    expect(back.get("b")?.data[0]).toBeCloseTo(0.1, 2);
  });

  test("clear errors", async () => {
    expect(() => encodeSafetensors({ x: { dtype: "F32", shape: [2], data: Float32Array.from([1]) } })).toThrow(/1 elements for shape \[2\]/);
    expect(() => encodeSafetensors({ x: { dtype: "I64", shape: [1], data: Float32Array.from([1]) } })).toThrow(/BigInt64Array/);
    expect(() => encodeSafetensors({ x: { dtype: "Q4" as never, shape: [1], data: Float32Array.from([1]) } })).toThrow(/unsupported dtype/);
    await expect(readSafetensors(new Uint8Array(4))).rejects.toThrow(/too short/);
    const good = encodeSafetensors({ x: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
    await expect(readSafetensors(good.subarray(0, good.length - 1))).rejects.toThrow(/outside/);
    const bad = good.slice();
    new DataView(bad.buffer).setBigUint64(0, 1n << 40n, true);
    await expect(readSafetensors(bad)).rejects.toThrow(/header length/);
    await expect(readSafetensors(join(dir, "missing.safetensors"))).rejects.toThrow(/ENOENT/);
    await writeSafetensors(join(dir, "ok.safetensors"), { x: { dtype: "U8", shape: [2], data: Buffer.from([1, 2]) } });
    expect(Array.from((await readSafetensors(join(dir, "ok.safetensors"))).get("x")?.data as Uint8Array)).toEqual([1, 2]);
    expect((await readFile(join(dir, "ok.safetensors"))).length).toBeGreaterThan(8);
  });

  test("reads the header alone, or one tensor alone, as the whole file reads them", async () => {
    const path = join(dir, "parts.safetensors");
    await writeSafetensors(path, tensors());
    const whole = await readSafetensors(path);
    const header = await readSafetensorsHeader(path);
    expect([...header.keys()]).toEqual([...whole.keys()]);
    for (const [name, tensor] of whole) {
      expect(header.get(name)).toMatchObject({ dtype: tensor.dtype, shape: tensor.shape });
      expect(await readSafetensorsTensor(path, name), name).toEqual(tensor);
    }
    await expect(readSafetensorsTensor(path, "nope")).rejects.toThrow(`safetensors: ${path}: no tensor nope`);
    const broken = join(dir, "broken.safetensors");
    const bytes = encodeSafetensors(tensors());
    new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0, BigInt(bytes.length), true);
    await writeFile(broken, bytes);
    await expect(readSafetensorsHeader(broken)).rejects.toThrow("exceeds the file");
  });
});
