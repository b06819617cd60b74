/**
 * Finite-difference gradient checks shared by the loss, head and EMD tests.
 */
import { mulberry32 } from "@crossrank/ot";
import { expect } from "vitest";
import type { LmEmdGroup } from "../src/lm-emd-trainer.js";

/** Uniform numbers in [lo, hi) from a seeded generator, as float64. */
export function uniformArray(rng: () => number, length: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length }, () => lo + (hi - lo) * rng());
}

/** A seeded uniform [0, 1) source. */
export function seeded(seed: number): () => number {
  return mulberry32(seed);
}

/** Random groups of base token rows (width I): a query and `size` candidates, each of 2–4 rows. */
export function randomGroups(rng: () => number, I: number, count: number, size: number): LmEmdGroup[] {
  const text = () => {
    const n = 2 + Math.floor(rng() * 3);
    return { rows: Float32Array.from(uniformArray(rng, n * I)), length: n };
  };
  return Array.from({ length: count }, () => ({ query: text(), docs: Array.from({ length: size }, text) }));
}

/**
 * Central differences (f(x + h e_k) − f(x − h e_k)) / 2h for every k, in float64: `x` is perturbed
 * in place and restored.
 */
export function finiteDifference(f: () => number, x: Float64Array, h = 1e-5): Float64Array {
  const out = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const v = x[k]!;
    x[k] = v + h;
    const plus = f();
    x[k] = v - h;
    const minus = f();
    x[k] = v;
    out[k] = (plus - minus) / (2 * h);
  }
  return out;
}

/**
 * Central differences over a float32 array (a head's weights): the steps actually taken after
 * rounding to float32 are measured and divided by, so only float32 rounding of the function's
 * own outputs limits the accuracy.
 */
export function finiteDifferenceF32(f: () => number, x: Float32Array, h: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const v = x[k]!;
    x[k] = v + h;
    const up = x[k]! - v;
    const plus = f();
    x[k] = v - h;
    const down = v - x[k]!;
    const minus = f();
    x[k] = v;
    out[k] = (plus - minus) / (up + down);
  }
  return out;
}

/** ‖a − b‖₂ / max(‖a‖₂, ‖b‖₂, floor): the relative error of a gradient as a whole. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < a.length; k++) {
    diff += (a[k]! - b[k]!) ** 2;
    na += a[k]! ** 2;
    nb += b[k]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(na), Math.sqrt(nb), floor);
}

/** Asserts the analytic gradient matches finite differences within `tol` relative error and is not trivially zero. */
export function expectGradient(analytic: ArrayLike<number>, numeric: ArrayLike<number>, what: string, tol = 1e-3): void {
  const err = relativeError(analytic, numeric);
  // GRAD_CHECK_VERBOSE=1 prints every check's error, to see how far below the tolerance it lies.
  if (process.env.GRAD_CHECK_VERBOSE) console.log(`${what}: relative error ${err.toExponential(2)}`);
  expect(err, `${what}: relative error ${err.toExponential(2)}`).toBeLessThan(tol);
  let norm = 0;
  for (let k = 0; k < numeric.length; k++) norm += numeric[k]! ** 2;
  expect(norm, `${what}: the finite-difference gradient is zero, so the check proves nothing`).toBeGreaterThan(0);
}

/** Entry-wise closeness (absolute). */
export function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6, what = "value"): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tol);
  }
}
