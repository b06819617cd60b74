/** An append-only Int32Array that doubles its capacity when full (for building postings in one pass). */
export class GrowableInt32Array {
  private data: Int32Array;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.data = new Int32Array(Math.max(1, initialCapacity));
  }

  get length(): number {
    return this.count;
  }

  push(value: number): void {
    if (this.count === this.data.length) this.grow(this.count + 1);
    this.data[this.count++] = value;
  }

  /** The value at `index`, or 0 past the end (so a counter indexed by id starts at 0). */
  get(index: number): number {
    return index < this.count ? (this.data[index] ?? 0) : 0;
  }

  /** Makes indices `0 … length - 1` valid, new ones holding 0. */
  ensureLength(length: number): void {
    if (length > this.data.length) this.grow(length);
    if (length > this.count) this.count = length;
  }

  /** The backing array (valid up to `length`; invalidated by the next growth). */
  raw(): Int32Array {
    return this.data;
  }

  /** A copy trimmed to `length`. */
  toArray(): Int32Array {
    return this.data.slice(0, this.count);
  }

  private grow(minCapacity: number): void {
    let capacity = this.data.length * 2;
    while (capacity < minCapacity) capacity *= 2;
    const next = new Int32Array(capacity);
    next.set(this.data.subarray(0, this.count));
    this.data = next;
  }
}
