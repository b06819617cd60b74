/**
 * The LM-EMD study's baselines (BERT-CLS, BERT-MAX, BERT-MEAN; its Table 1 trains them with the
 * same losses as LM-EMD) as a group scorer for `groupLoss`: the head on every token row, the rows
 * pooled, the score the cosine of the query's and the candidate's pooled vectors — what the
 * `bert-cls` / `bert-max` / `bert-mean` rankers compute over a head folder (encode's `poolBatch`
 * with the real tokens only, then L2 normalisation and a dot product). Distance = 1 − cosine, so
 * the shared losses over s = 1 − distance see s = cosine.
 *
 * Gradient (exact, no surrogate): with u, v the pooled query and candidate vectors and
 * c = u·v / (‖u‖ ‖v‖),
 *
 *     ∂c/∂u = v / (‖u‖ ‖v‖) − c u / ‖u‖²        (and symmetrically for v),
 *
 * then through the pooling to the rows: cls, all of it to row 0; mean over n rows, 1/n of it to
 * every row; max, per dimension all of it to the row holding the maximum (the first such row, as
 * `poolBatch` keeps the first on ties). A zero pooled vector has no direction: its cosine is 0 (as
 * the ranker scores it, normalisation leaving zero rows zero) and its gradient 0.
 *
 * Training pools the real tokens only (encode's default); the faithful preset's padded pooling
 * depends on the other texts of a batch and is not trained here.
 */
import { type GroupBatchLoss, type GroupLoss, groupLoss, type SolvedGroup } from "./group-loss.js";
import type { TrainableHead } from "./head-trainer.js";
import type { LmEmdGroup } from "./lm-emd-trainer.js";

/** How the baselines pool token rows (the `bert-cls`, `bert-max`, `bert-mean` rankers). */
export type TrainPooling = "cls" | "max" | "mean";

/** The pooling of each baseline ranker. */
export const POOLING_OF_RANKER = { "bert-cls": "cls", "bert-max": "max", "bert-mean": "mean" } as const satisfies Record<string, TrainPooling>;

/** Options of {@link pooledBatchLoss}. */
export interface PooledLossOptions {
  pooling: TrainPooling;
  /** Default "pairwise". */
  loss?: GroupLoss;
  /** Pairwise margin (default 0, the study's). */
  margin?: number;
}

/** A pooled vector and, for max pooling, the row each dimension was taken from. */
export interface Pooled {
  vector: Float64Array;
  argmax?: Int32Array;
}

/** Pools `n` rows of width `d` (n ≥ 1): cls → row 0, max → element-wise maximum (first row on ties), mean → the average. */
export function poolRows(rows: ArrayLike<number>, n: number, d: number, pooling: TrainPooling): Pooled {
  if (!Number.isInteger(n) || n < 1) throw new Error(`poolRows: need at least one row, got ${String(n)}`);
  if (rows.length !== n * d) throw new Error(`poolRows: ${rows.length} values are not ${n} rows of width ${d}`);
  const vector = new Float64Array(d);
  if (pooling === "cls") {
    for (let k = 0; k < d; k++) vector[k] = rows[k]!;
    return { vector };
  }
  if (pooling === "mean") {
    for (let r = 0; r < n; r++) for (let k = 0; k < d; k++) vector[k] = vector[k]! + rows[r * d + k]!;
    for (let k = 0; k < d; k++) vector[k] = vector[k]! / n;
    return { vector };
  }
  if (pooling !== "max") throw new Error(`poolRows: pooling must be "cls", "max" or "mean", got ${JSON.stringify(pooling)}`);
  const argmax = new Int32Array(d);
  vector.fill(-Infinity);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < d; k++) {
      const x = rows[r * d + k]!;
      if (x > vector[k]!) {
        vector[k] = x;
        argmax[k] = r;
      }
    }
  }
  return { vector, argmax };
}

/** ∂L/∂rows from ∂L/∂(pooled vector) `grad` (see the module comment). */
export function poolRowsBackward(grad: ArrayLike<number>, n: number, d: number, pooling: TrainPooling, pooled: Pooled): Float64Array {
  const out = new Float64Array(n * d);
  if (pooling === "cls") {
    for (let k = 0; k < d; k++) out[k] = grad[k]!;
  } else if (pooling === "mean") {
    for (let r = 0; r < n; r++) for (let k = 0; k < d; k++) out[r * d + k] = grad[k]! / n;
  } else {
    const argmax = pooled.argmax!;
    for (let k = 0; k < d; k++) out[argmax[k]! * d + k] = grad[k]!;
  }
  return out;
}

/** cos(u, v) and its gradients in u and v; 0 and zero gradients when either vector is zero. */
export function cosineAndGrad(u: Float64Array, v: Float64Array): { cosine: number; du: Float64Array; dv: Float64Array } {
  const d = u.length;
  let uu = 0;
  let vv = 0;
  let uv = 0;
  for (let k = 0; k < d; k++) {
    uu += u[k]! * u[k]!;
    vv += v[k]! * v[k]!;
    uv += u[k]! * v[k]!;
  }
  const du = new Float64Array(d);
  const dv = new Float64Array(d);
  if (uu === 0 || vv === 0) return { cosine: 0, du, dv };
  const nu = Math.sqrt(uu);
  const nv = Math.sqrt(vv);
  const cosine = uv / (nu * nv);
  for (let k = 0; k < d; k++) {
    du[k] = v[k]! / (nu * nv) - (cosine * u[k]!) / uu;
    dv[k] = u[k]! / (nu * nv) - (cosine * v[k]!) / vv;
  }
  return { cosine, du, dv };
}

/** One group through the head, pooled and scored: distance_j = 1 − cos(pool(q), pool(d_j)), with its backward to the rows. */
export function pooledGroup(head: TrainableHead, group: LmEmdGroup, pooling: TrainPooling): SolvedGroup {
  const O = head.output;
  const q = head.forward(group.query.rows, group.query.length);
  const docs = group.docs.map((d) => head.forward(d.rows, d.length));
  const qPooled = poolRows(q.y, group.query.length, O, pooling);
  const dPooled = docs.map((f, j) => poolRows(f.y, group.docs[j]!.length, O, pooling));
  const cosines = dPooled.map((p) => cosineAndGrad(qPooled.vector, p.vector));
  const distances = Float64Array.from(cosines, (c) => 1 - c.cosine);
  return {
    q,
    docs,
    distances,
    backward(dDistances) {
      // ∂L/∂cos = −∂L/∂distance.
      const gu = new Float64Array(O);
      const gradDocs = cosines.map((c, j) => {
        const w = -dDistances[j]!;
        for (let k = 0; k < O; k++) gu[k] = gu[k]! + w * c.du[k]!;
        const gv = Float64Array.from(c.dv, (x) => w * x);
        return Float32Array.from(poolRowsBackward(gv, group.docs[j]!.length, O, pooling, dPooled[j]!));
      });
      return { gradQuery: Float32Array.from(poolRowsBackward(gu, group.query.length, O, pooling, qPooled)), gradDocs };
    },
  };
}

/**
 * The baselines' training loss of a batch of groups through `head` (the LM-EMD study's losses over
 * s = cosine of pooled vectors) and its gradient in the head's parameters. Does not change the head.
 */
export function pooledBatchLoss(head: TrainableHead, groups: readonly LmEmdGroup[], options: PooledLossOptions): GroupBatchLoss {
  const fn = "pooledBatchLoss";
  const pooling = options?.pooling;
  if (pooling !== "cls" && pooling !== "max" && pooling !== "mean") throw new Error(`${fn}: pooling must be "cls", "max" or "mean", got ${JSON.stringify(pooling)}`);
  const loss = options.loss ?? "pairwise";
  if (loss !== "pairwise" && loss !== "cross-entropy") throw new Error(`${fn}: loss must be "pairwise" or "cross-entropy", got ${JSON.stringify(loss)}`);
  if (groups.length === 0) throw new Error(`${fn}: no groups`);
  groups.forEach((g, gi) => {
    if (g.docs.length < 2) throw new Error(`${fn}: group ${gi} has ${g.docs.length} documents, expected the relevant one and at least one negative`);
  });
  return groupLoss(
    head,
    groups.map((g) => pooledGroup(head, g, pooling)),
    loss,
    options.margin ?? 0,
  );
}
