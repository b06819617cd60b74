/**
 * Mean squared error and CL-ReLKT's three-term distillation objective.
 */
import { checkCount, checkFloats, checkScalar, type Floats } from "../math.js";
import type { LossOutput } from "./types.js";

/**
 * Mean squared error, PyTorch's `MSELoss` (mean over every entry):
 *
 *     L = (1/N) Σ_k (pred_k − target_k)²,     ∂L/∂pred_k = 2 (pred_k − target_k) / N
 *
 * The target is a constant (e.g. a frozen teacher's output): no gradient is returned for it.
 * N = 0 gives loss 0.
 *
 * @returns loss and grads [∂L/∂pred]
 *
 * Reference: PyTorch `torch.nn.MSELoss`; sentence-transformers `losses.MSELoss` (Reimers &
 * Gurevych, "Making Monolingual Sentence Embeddings Multilingual using Knowledge Distillation",
 * EMNLP 2020).
 */
export function mseLoss(pred: Floats, target: Floats): LossOutput {
  const fn = "mseLoss";
  const n = pred.length;
  checkFloats(pred, n, "pred", fn);
  checkFloats(target, n, "target", fn);
  const { loss, grad } = mse(pred, target, 1);
  return { loss, grads: [Float32Array.from(grad)] };
}

/** The weights of {@link distillLoss}'s three terms and its overall scale. */
export interface DistillWeights {
  /** Weight of MSE(T(q_en), S(q_x)). */
  queryQuery: number;
  /** Weight of MSE(T(d), S(d)). */
  docDoc: number;
  /** Weight of MSE(T(d), S(q_x)). */
  docQuery: number;
  /** Factor on the weighted sum. */
  scale: number;
}

/** CL-ReLKT's XQuAD weights (read from its code): 1000·[0.001·qq + 1.0·dd + 0.01·dq]. */
export const DEFAULT_DISTILL_WEIGHTS: Readonly<DistillWeights> = Object.freeze({ queryQuery: 0.001, docDoc: 1.0, docQuery: 0.01, scale: 1000 });

/** The four embedding sets of {@link distillLoss}, each [n, d] row-major; row i of each belongs to example i. */
export interface DistillTerms {
  /** T(q_en): the frozen teacher on the English question (constant). */
  teacherQueryEn: Floats;
  /** S(q_x): the student on the question in another language. */
  studentQueryX: Floats;
  /** T(d): the frozen teacher on the document (constant). */
  teacherDoc: Floats;
  /** S(d): the student on the document. */
  studentDoc: Floats;
}

/**
 * CL-ReLKT's distillation objective (stage 3): the student is pulled onto the frozen teacher's
 * space from three sides,
 *
 *     L = scale · [ w_qq·MSE(T(q_en), S(q_x)) + w_dd·MSE(T(d), S(d)) + w_dq·MSE(T(d), S(q_x)) ]
 *
 * with MSE the mean over all n·d entries (PyTorch / Keras). Gradients, M = n·d:
 *
 *     ∂L/∂S(q_x) = scale·(2/M)·[ w_qq (S(q_x) − T(q_en)) + w_dq (S(q_x) − T(d)) ]
 *     ∂L/∂S(d)   = scale·(2/M)·  w_dd (S(d) − T(d))
 *
 * Defaults {@link DEFAULT_DISTILL_WEIGHTS} (XQuAD): 1000·[0.001·qq + 1.0·dd + 0.01·dq]; any subset
 * of weights may be given.
 *
 * @param d the embedding width (n = studentQueryX.length / d)
 * @returns loss, grads [∂L/∂studentQueryX, ∂L/∂studentDoc], parts {queryQuery, docDoc, docQuery}
 *   (each term's weighted, scaled contribution, summing to the loss)
 *
 * Reference: Limkonchotiwat et al., "CL-ReLKT: Cross-lingual Language Knowledge Transfer for
 * Multilingual Retrieval Question Answering" (NAACL Findings 2022), and its released code.
 */
export function distillLoss(terms: DistillTerms, d: number, weights: Partial<DistillWeights> = {}): LossOutput {
  const fn = "distillLoss";
  checkCount(d, "d", fn);
  const w: DistillWeights = { ...DEFAULT_DISTILL_WEIGHTS, ...weights };
  for (const key of ["queryQuery", "docDoc", "docQuery", "scale"] as const) checkScalar(w[key], `weights.${key}`, fn);
  const size = terms.studentQueryX.length;
  if (d === 0 ? size !== 0 : size % d !== 0) throw new Error(`${fn}: studentQueryX has ${size} values, not rows of width ${d}`);
  checkFloats(terms.teacherQueryEn, size, "teacherQueryEn", fn);
  checkFloats(terms.studentQueryX, size, "studentQueryX", fn);
  checkFloats(terms.teacherDoc, size, "teacherDoc", fn);
  checkFloats(terms.studentDoc, size, "studentDoc", fn);
  const qq = mse(terms.studentQueryX, terms.teacherQueryEn, w.scale * w.queryQuery);
  const dd = mse(terms.studentDoc, terms.teacherDoc, w.scale * w.docDoc);
  const dq = mse(terms.studentQueryX, terms.teacherDoc, w.scale * w.docQuery);
  const gq = new Float32Array(size);
  for (let k = 0; k < size; k++) gq[k] = qq.grad[k]! + dq.grad[k]!;
  return {
    loss: qq.loss + dd.loss + dq.loss,
    grads: [gq, Float32Array.from(dd.grad)],
    parts: { queryQuery: qq.loss, docDoc: dd.loss, docQuery: dq.loss },
  };
}

/** factor·MSE(pred, target) and its gradient in pred (float64). */
function mse(pred: Floats, target: Floats, factor: number): { loss: number; grad: Float64Array } {
  const n = pred.length;
  const grad = new Float64Array(n);
  if (n === 0) return { loss: 0, grad };
  let sum = 0;
  const g = (2 * factor) / n;
  for (let k = 0; k < n; k++) {
    const diff = pred[k]! - target[k]!;
    sum += diff * diff;
    grad[k] = g * diff;
  }
  return { loss: (factor * sum) / n, grad };
}
