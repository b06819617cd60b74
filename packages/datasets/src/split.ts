/**
 * Train/dev splits by key (a DDTP `Description-md5`, a dictionary headword): a seeded hash of the
 * key alone decides the side, so every reader of the same data — the trainer, the benchmark's dev
 * tasks — agrees on it without sharing a list, and a description is never on both sides.
 */

/** Share of keys that go to dev unless told otherwise. */
export const DEFAULT_DEV_FRACTION = 0.1;

/** A 32-bit FNV-1a hash of `seed` and `key`, finished with murmur3's fmix32 (so nearby keys spread). */
export function hashKey(key: string, seed: number): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** "dev" for a `devFraction` share of keys (decided by a seeded hash of the key alone), else "train". */
export function splitOf(key: string, devFraction: number, seed: number): "train" | "dev" {
  return hashKey(key, seed) / 4294967296 < devFraction ? "dev" : "train";
}

/** One side of a key split. */
export interface KeySplit {
  part: "train" | "dev";
  /** Default {@link DEFAULT_DEV_FRACTION}. */
  devFraction?: number;
  /** Seed of the hash; default 0. */
  seed?: number;
}

/** A predicate keeping the keys on `split.part`'s side. */
export function keySplitFilter(split: KeySplit): (key: string) => boolean {
  const fraction = split.devFraction ?? DEFAULT_DEV_FRACTION;
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`split: devFraction must be in [0, 1], got ${String(split.devFraction)}`);
  const seed = split.seed ?? 0;
  return (key) => splitOf(key, fraction, seed) === split.part;
}
