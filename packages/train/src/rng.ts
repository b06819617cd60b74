/**
 * A seeded random number generator whose whole state is one uint32, so that a training run can save
 * it in a checkpoint and a resumed run draws exactly the numbers the uninterrupted run would have.
 *
 * The generator is mulberry32 (the same sequence as `mulberry32(seed)` of `@crossrank/ot`): fast and
 * good enough for shuffling and sampling; not for cryptography.
 */

/** The serialisable state of an {@link Rng}: mulberry32's 32-bit counter. */
export type RngState = number;

export class Rng {
  private s: number;

  /** A generator started from `seed` (any number; taken modulo 2^32). */
  constructor(seed: number) {
    if (typeof seed !== "number" || !Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${String(seed)}`);
    this.s = seed >>> 0;
  }

  /** A generator continuing from a saved {@link state}. */
  static fromState(state: RngState): Rng {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) throw new RangeError(`Rng state must be a uint32, got ${String(state)}`);
    return new Rng(state);
  }

  /** The current state (a uint32); `Rng.fromState(rng.state())` continues the same sequence. */
  state(): RngState {
    return this.s;
  }

  /** Sets the state (as returned by {@link state}). */
  setState(state: RngState): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) throw new RangeError(`Rng state must be a uint32, got ${String(state)}`);
    this.s = state >>> 0;
  }

  /** A uniform number in [0, 1) (multiples of 2^-32). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n) (n a positive integer below 2^32). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new RangeError(`Rng.int bound must be an integer in [1, 2^32], got ${String(n)}`);
    return Math.floor(this.next() * n);
  }

  /**
   * A standard normal number (Box–Muller). Each call draws two uniforms and uses one (no cached
   * second value), so the state stays one uint32.
   */
  normal(mean = 0, std = 1): number {
    // 1 − u is in (0, 1], so the logarithm is finite.
    const u1 = 1 - this.next();
    const u2 = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/** Shuffles `array` in place (Fisher–Yates, from the end) and returns it. */
export function shuffle<T>(array: T[], rng: Rng): T[];
export function shuffle<A extends Int32Array | Uint32Array | Float32Array | Float64Array>(array: A, rng: Rng): A;
export function shuffle<T>(array: T[] | Int32Array | Uint32Array | Float32Array | Float64Array, rng: Rng): typeof array {
  const a = array as unknown as Record<number, T>;
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = a[i] as T;
    a[i] = a[j] as T;
    a[j] = t;
  }
  return array;
}

/** The integers 0 … n−1 in a random order. */
export function permutation(n: number, rng: Rng): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  return shuffle(out, rng);
}

/**
 * `k` distinct integers drawn uniformly from [0, n), in draw order (a partial Fisher–Yates over a
 * sparse map, so O(k) time and memory whatever n is). Throws when k > n.
 */
export function sampleWithoutReplacement(n: number, k: number, rng: Rng): number[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sampleWithoutReplacement: n must be an integer >= 0, got ${String(n)}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`sampleWithoutReplacement: k must be an integer in [0, ${n}], got ${String(k)}`);
  const moved = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const vj = moved.get(j) ?? j;
    const vi = moved.get(i) ?? i;
    moved.set(j, vi);
    out.push(vj);
  }
  return out;
}
