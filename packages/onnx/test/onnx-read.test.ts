import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { attr, encodeModel, GraphBuilder, readOnnxGraph, tensor, withGraphOutputs } from "../src/index.js";

/** y = tanh(x W1) W2ᵀ + b (a Gemm with transB, as PyTorch Linear exports), hidden value h = tanh(x W1). */
function model(): { bytes: Uint8Array; hidden: string } {
  const g = new GraphBuilder("m");
  const x = g.input("x", "float32", ["N", 2]);
  const hidden = g.op("Tanh", [g.op("MatMul", [x, g.initializer(tensor("float32", [2, 2], [1, 0.5, -1, 2]), "w1")])]);
  const y = g.op("Gemm", [hidden, g.initializer(tensor("float32", [1, 2], [3, -4]), "classifier.weight"), g.initializer(tensor("float32", [1], [0.25]), "classifier.bias")], { transB: 1, alpha: attr.float(1) });
  g.output(y, "float32", ["N", 1], "logits");
  return { bytes: encodeModel(g, { opset: 17 }), hidden };
}

describe("readOnnxGraph", () => {
  it("reads nodes with their attributes, float initializers and outputs", () => {
    const { bytes, hidden } = model();
    const graph = readOnnxGraph(bytes);
    expect(graph.outputs).toEqual(["logits"]);
    // The builder names the output through an Identity node.
    expect(graph.nodes.map((n) => n.opType)).toEqual(["MatMul", "Tanh", "Gemm", "Identity"]);
    const gemm = graph.nodes[2]!;
    expect(gemm.inputs).toEqual([hidden, "classifier.weight", "classifier.bias"]);
    expect(graph.nodes[3]!.inputs).toEqual(gemm.outputs);
    expect(graph.nodes[3]!.outputs).toEqual(["logits"]);
    expect(gemm.numbers).toEqual({ transB: 1, alpha: 1 });
    const w = graph.initializers.get("classifier.weight")!;
    expect(w.dims).toEqual([1, 2]);
    expect(Array.from(w.floats!)).toEqual([3, -4]);
    expect(Array.from(graph.initializers.get("w1")!.floats!)).toEqual([1, 0.5, -1, 2]);
  });

  it("reads a Constant node's tensor attribute", () => {
    const g = new GraphBuilder("c");
    const x = g.input("x", "float32", [2]);
    g.output(g.op("Add", [x, g.constant(tensor("float32", [2], [1.5, -2]))]), "float32", [2], "y");
    const constant = readOnnxGraph(encodeModel(g)).nodes.find((n) => n.opType === "Constant")!;
    expect(Array.from(constant.tensors.value!.floats!)).toEqual([1.5, -2]);
  });

  it("refuses bytes that are not a model", () => {
    expect(() => readOnnxGraph(Uint8Array.of(0x3a, 0x05, 1))).toThrow(/runs past the end/);
  });
});

describe("withGraphOutputs", () => {
  it("exposes an intermediate value to onnxruntime, the model otherwise unchanged", async () => {
    const { bytes, hidden } = model();
    const session = await ort.InferenceSession.create(withGraphOutputs(bytes, [hidden]), { logSeverityLevel: 3 });
    expect(session.outputNames).toEqual(["logits", hidden]);
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, 2]), [1, 2]) });
    const h = [Math.tanh(1 - 2), Math.tanh(0.5 + 4)];
    expect(Array.from(out[hidden]!.data as Float32Array)).toEqual(h.map(Math.fround).map((v) => expect.closeTo(v, 6)));
    expect((out.logits!.data as Float32Array)[0]).toBeCloseTo(3 * h[0]! - 4 * h[1]! + 0.25, 5);
    expect(readOnnxGraph(withGraphOutputs(bytes, [hidden])).nodes).toEqual(readOnnxGraph(bytes).nodes);
  });
});
