/**
 * Dense row-major Float64 matrices: the one container every other module of this package reads
 * and writes (embeddings, cost matrices, transport plans, gradients).
 *
 * Entry (i, j) of an r×c matrix is `data[i * c + j]`. Float64 throughout: this package is the
 * reference implementation the faster (Float32, batched) backends are checked against.
 */

/** A dense matrix, row-major: entry (i, j) is `data[i * cols + j]`; `data.length === rows * cols`. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/**
 * A `rows`×`cols` matrix. With `data` (row-major, exactly `rows * cols` numbers) the values are
 * copied, so the matrix owns its storage; without it the matrix is all zeros. Values are not
 * checked here (use {@link matrixFromRows} or `costMatrix` for validated input).
 *
 * @throws Error when a dimension is not a non-negative integer or `data` has the wrong length.
 */
export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new Error(`matrix: dimensions must be non-negative integers, got ${rows}×${cols}`);
  }
  if (data === undefined) return { rows, cols, data: new Float64Array(rows * cols) };
  if (data.length !== rows * cols) {
    throw new Error(`matrix: ${rows}×${cols} needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data: Float64Array.from(data) };
}

/**
 * A matrix from an array of rows (e.g. parsed JSON embeddings). Every row must have the length of
 * the first and every value must be finite; errors name `what` and the offending row, so a CLI can
 * pass them on unchanged. No rows gives a 0×0 matrix.
 *
 * @throws Error for a ragged row or a non-finite (NaN, ±Infinity, non-number) value.
 */
export function matrixFromRows(rows: readonly (readonly number[])[], what = "matrix"): Matrix {
  const cols = rows[0]?.length ?? 0;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (row.length !== cols) {
      throw new Error(`${what}: row ${i} has ${row.length} values, expected ${cols} (as row 0)`);
    }
    row.forEach((value, j) => {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new Error(`${what}: row ${i}, column ${j} is ${String(value)}, expected a finite number`);
      }
      data[i * cols + j] = value;
    });
  });
  return { rows: rows.length, cols, data };
}

/** The rows of `m` as plain arrays (e.g. for JSON output). */
export function toRows(m: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

/**
 * Throws unless `m` is well formed (integer dimensions, `data.length === rows * cols`) and, when
 * `finite` is set, every entry is finite. `what` names the matrix in the message.
 */
export function checkMatrix(m: Matrix, what: string, finite: boolean): void {
  if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols) || m.cols < 0) {
    throw new Error(`${what}: dimensions must be non-negative integers, got ${m.rows}×${m.cols}`);
  }
  if (m.data.length !== m.rows * m.cols) {
    throw new Error(`${what}: ${m.rows}×${m.cols} needs ${m.rows * m.cols} values, got ${m.data.length}`);
  }
  if (!finite) return;
  for (let k = 0; k < m.data.length; k++) {
    const value = m.data[k]!;
    if (!Number.isFinite(value)) {
      const i = Math.floor(k / m.cols);
      throw new Error(`${what}: row ${i}, column ${k - i * m.cols} is ${value}, expected a finite number`);
    }
  }
}
