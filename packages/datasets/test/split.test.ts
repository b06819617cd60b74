import { describe, expect, it } from "vitest";
import { loadDdtpTask } from "../src/ddtp-task.js";
import { DEFAULT_DEV_FRACTION, hashKey, keySplitFilter, splitOf } from "../src/index.js";
import { fixture } from "./helpers.js";

/** 10,000 synthetic md5-like keys (32 hex digits). */
const keys = Array.from({ length: 10_000 }, (_, i) => (i * 2654435761).toString(16).padStart(32, "0").slice(-32));

describe("hashKey / splitOf", () => {
  it("is a deterministic 32-bit hash of key and seed", () => {
    expect(DEFAULT_DEV_FRACTION).toBe(0.1);
    const h = hashKey("a1b2c3d4e5f60718293a4b5c6d7e8f90", 0);
    expect(Number.isInteger(h)).toBe(true);
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(2 ** 32);
    expect(hashKey("a1b2c3d4e5f60718293a4b5c6d7e8f90", 0)).toBe(h);
    expect(hashKey("a1b2c3d4e5f60718293a4b5c6d7e8f90", 1)).not.toBe(h);
    expect(hashKey("a1b2c3d4e5f60718293a4b5c6d7e8f91", 0)).not.toBe(h);
    expect(new Set(keys.map((k) => hashKey(k, 0))).size).toBeGreaterThan(9990);
  });

  it("puts about devFraction of many keys into dev; 0 and 1 are all-train and all-dev", () => {
    const dev = keys.filter((k) => splitOf(k, DEFAULT_DEV_FRACTION, 0) === "dev").length / keys.length;
    expect(dev).toBeGreaterThan(0.08);
    expect(dev).toBeLessThan(0.12);
    const half = keys.filter((k) => splitOf(k, 0.5, 7) === "dev").length / keys.length;
    expect(half).toBeGreaterThan(0.47);
    expect(half).toBeLessThan(0.53);
    expect(keys.every((k) => splitOf(k, 0, 0) === "train")).toBe(true);
    expect(keys.every((k) => splitOf(k, 1, 0) === "dev")).toBe(true);
  });

  it("is nested: a key in dev at a fraction stays in dev at a larger one (same seed)", () => {
    for (const k of keys.slice(0, 2000)) if (splitOf(k, 0.1, 3) === "dev") expect(splitOf(k, 0.3, 3)).toBe("dev");
  });

  it("a different seed gives a different split", () => {
    const dev0 = keys.filter((k) => splitOf(k, 0.1, 0) === "dev");
    const dev1 = keys.filter((k) => splitOf(k, 0.1, 1) === "dev");
    expect(dev1).not.toEqual(dev0);
    const shared = dev1.filter((k) => dev0.includes(k)).length;
    // Independent splits share about 0.1 × 0.1 of the keys, not most of them.
    expect(shared).toBeLessThan(dev0.length / 2);
  });
});

describe("keySplitFilter", () => {
  it("dev ∪ train = all keys, and they are disjoint", () => {
    for (const options of [{}, { devFraction: 0.3 }, { devFraction: 0.3, seed: 5 }]) {
      const dev = keySplitFilter({ part: "dev", ...options });
      const train = keySplitFilter({ part: "train", ...options });
      const d = keys.filter(dev);
      const t = keys.filter(train);
      expect(d.length + t.length).toBe(keys.length);
      expect(keys.every((k) => dev(k) !== train(k))).toBe(true);
      expect(new Set([...d, ...t]).size).toBe(keys.length);
    }
  });

  it("defaults to devFraction 0.1 and seed 0, as splitOf", () => {
    const dev = keySplitFilter({ part: "dev" });
    expect(keys.filter(dev)).toEqual(keys.filter((k) => splitOf(k, 0.1, 0) === "dev"));
    const seeded = keySplitFilter({ part: "train", devFraction: 0.4, seed: 9 });
    expect(keys.filter(seeded)).toEqual(keys.filter((k) => splitOf(k, 0.4, 9) === "train"));
  });

  it.each([-0.1, 1.5, Number.NaN])("throws for devFraction %s outside [0, 1]", (devFraction) => {
    expect(() => keySplitFilter({ part: "dev", devFraction })).toThrow(/devFraction must be in \[0, 1\]/);
  });

  it("accepts the bounds 0 and 1", () => {
    expect(keys.filter(keySplitFilter({ part: "dev", devFraction: 0 }))).toEqual([]);
    expect(keys.filter(keySplitFilter({ part: "dev", devFraction: 1 }))).toHaveLength(keys.length);
  });
});

describe("loadDdtpTask with split", () => {
  const dir = fixture("ddtp");
  const base = { dir, queryLang: "de", queryField: "short", docField: "description" } as const;
  const A1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
  const FOO = "0123456789abcdef0123456789abcdef";

  it("keeps exactly the queries on the asked side; documents stay all English descriptions; the name gets /dev or /train", async () => {
    const all = await loadDdtpTask(base);
    const dev = await loadDdtpTask({ ...base, split: { part: "dev", devFraction: 0.5 } });
    expect(dev.name).toBe("ddtp/short-description/de-en/dev");
    expect(dev.queries).toEqual(all.queries.filter((q) => splitOf(q.id, 0.5, 0) === "dev"));
    expect(dev.documents).toEqual(all.documents);
    expect(dev.documents).toHaveLength(4);
    expect([...dev.qrels.keys()].sort()).toEqual(dev.queries.map((q) => q.id).sort());

    // At 0.3 the two German queries fall on different sides (concrete values of the hash).
    const dev3 = await loadDdtpTask({ ...base, split: { part: "dev", devFraction: 0.3 } });
    const train3 = await loadDdtpTask({ ...base, split: { part: "train", devFraction: 0.3 } });
    expect(dev3.queries.map((q) => q.id)).toEqual([A1]);
    expect(train3.queries.map((q) => q.id)).toEqual([FOO]);
    expect(train3.name).toBe("ddtp/short-description/de-en/train");
    expect(train3.documents).toEqual(all.documents);
    expect([...dev3.queries, ...train3.queries].map((q) => q.id).sort()).toEqual(all.queries.map((q) => q.id).sort());
  });

  it("is combined with md5Filter, and an explicit name wins", async () => {
    const both = await loadDdtpTask({ ...base, split: { part: "dev", devFraction: 0.5 }, md5Filter: (m) => m.startsWith("0"), name: "mine" });
    expect(both.name).toBe("mine");
    expect(both.queries.map((q) => q.id)).toEqual([FOO]);
    const none = await loadDdtpTask({ ...base, split: { part: "train", devFraction: 0.3 }, md5Filter: (m) => m.startsWith("a") });
    expect(none.queries).toEqual([]);
    expect(none.documents).toHaveLength(4);
  });

  it("rejects a devFraction outside [0, 1]", async () => {
    await expect(loadDdtpTask({ ...base, split: { part: "dev", devFraction: 2 } })).rejects.toThrow(/devFraction/);
  });
});
