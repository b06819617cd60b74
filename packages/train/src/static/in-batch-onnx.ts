/**
 * The symmetric in-batch softmax (multiple-negatives ranking) loss and its gradient on
 * onnxruntime-node (CPU, MLAS), for the static trainer. For unit rows a_i, b_j (i, j < B) and
 * temperature τ:
 *
 *     S = A·Bᵀ / τ
 *     loss = −(1 / 2B) · Σ_i [ log softmax_row(S)_ii + log softmax_col(S)_ii ]
 *     G = ∂loss/∂S = (softmax_row(S) + softmax_col(S) − 2I) / 2B
 *     ∂loss/∂A = G·B / τ,   ∂loss/∂B = Gᵀ·A / τ
 *
 * The three B×B×dim products were ~75% of a training step in plain JavaScript (0.142 s an
 * update at B = dim = 256, `node --cpu-prof`); MLAS does them on every core in a few
 * milliseconds. One session serves a whole run: B and τ are baked into the graph.
 */
import { availableParallelism } from "node:os";
import { encodeModel, GraphBuilder } from "@crossrank/onnx";
import type * as Ort from "onnxruntime-node";

type OrtModule = typeof Ort;

/** The ONNX model bytes: inputs `a`, `b` float [B, dim]; outputs `loss` [], `grad_a`, `grad_b` [B, dim]. */
export function buildInBatchSoftmaxModel(batchSize: number, temperature: number): Uint8Array {
  const g = new GraphBuilder("in_batch_softmax");
  g.docString = "Symmetric in-batch softmax loss over unit rows a, b and its gradient with respect to a and b.";
  const a = g.input("a", "float32", [batchSize, "dim"]);
  const b = g.input("b", "float32", [batchSize, "dim"]);
  const invTau = g.scalar(1 / temperature);
  const s = g.op("Mul", [g.op("MatMul", [a, g.op("Transpose", [b], { perm: [1, 0] })]), invTau]); // [B, B]
  const logRow = g.op("LogSoftmax", [s], { axis: 1 });
  const logCol = g.op("LogSoftmax", [s], { axis: 0 });
  const eye = g.op("EyeLike", [s]);
  const half = g.scalar(1 / (2 * batchSize));
  g.output(g.op("Mul", [g.op("ReduceSum", [g.op("Mul", [g.op("Add", [logRow, logCol]), eye])], { keepdims: 0 }), g.scalar(-1 / (2 * batchSize))]), "float32", [], "loss");
  const probs = g.op("Add", [g.op("Exp", [logRow]), g.op("Exp", [logCol])]);
  const grad = g.op("Mul", [g.op("Sub", [probs, g.op("Add", [eye, eye])]), g.op("Mul", [half, invTau])]); // G / τ
  g.output(g.op("MatMul", [grad, b]), "float32", [batchSize, "dim"], "grad_a");
  g.output(g.op("MatMul", [g.op("Transpose", [grad], { perm: [1, 0] }), a]), "float32", [batchSize, "dim"], "grad_b");
  return encodeModel(g, { opset: 18, producerName: "@crossrank/train" });
}

/** Loss and gradients of one batch (gradients with respect to the unit rows, [B, dim] row-major). */
export interface InBatchSoftmaxResult {
  loss: number;
  gradA: Float32Array;
  gradB: Float32Array;
}

let ortPromise: Promise<OrtModule> | undefined;
function loadOrt(): Promise<OrtModule> {
  ortPromise ??= import("onnxruntime-node").then((m) => ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule);
  return ortPromise;
}

/** An onnxruntime session computing {@link InBatchSoftmaxResult} for batches of a fixed size. */
export class InBatchSoftmax {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly batchSize: number,
  ) {}

  /** A session on every core (`threads` to override). */
  static async create(batchSize: number, temperature: number, threads = availableParallelism()): Promise<InBatchSoftmax> {
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`InBatchSoftmax: batchSize must be a positive integer, got ${batchSize}`);
    if (!(temperature > 0)) throw new Error(`InBatchSoftmax: temperature must be > 0, got ${temperature}`);
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(buildInBatchSoftmaxModel(batchSize, temperature), {
      intraOpNumThreads: Math.max(1, threads),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      logSeverityLevel: 3,
    });
    return new InBatchSoftmax(ort, session, batchSize);
  }

  /** Loss and gradients for unit rows `a`, `b` ([batchSize, dim] row-major each). */
  async run(a: Float32Array, b: Float32Array, dim: number): Promise<InBatchSoftmaxResult> {
    const n = this.batchSize * dim;
    if (a.length !== n || b.length !== n) throw new Error(`InBatchSoftmax.run: expected ${this.batchSize} × ${dim} rows on each side, got ${a.length} and ${b.length} values`);
    const out = await this.session.run({ a: new this.ort.Tensor("float32", a, [this.batchSize, dim]), b: new this.ort.Tensor("float32", b, [this.batchSize, dim]) });
    const value = (name: string) => {
      const t = out[name];
      if (t === undefined) throw new Error(`InBatchSoftmax.run: no output ${name}`);
      return t.data as Float32Array;
    };
    return { loss: value("loss")[0] as number, gradA: value("grad_a"), gradB: value("grad_b") };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
