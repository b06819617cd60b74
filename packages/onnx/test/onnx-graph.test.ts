import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { attr, encodeModel, GraphBuilder, tensor } from "../src/index.js";

async function run(g: GraphBuilder, feeds: Record<string, ort.Tensor>, opset = 18): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(encodeModel(g, { opset, metadata: { purpose: "test" }, docString: "test model" }), { logSeverityLevel: 3 });
  return session.run(feeds);
}

describe("onnx-graph writer", () => {
  it("writes a graph with int, float, ints and tensor attributes, initializers and negative axes", async () => {
    const g = new GraphBuilder("attrs");
    const x = g.input("x", "float32", ["N", 3]);
    const w = g.initializer(tensor("float32", [3, 2], [1, 2, 3, 4, 5, 6]), "w");
    // Gemm: alpha (float attribute, written with attr.float although it is integral), transB (int).
    const wt = g.op("Transpose", [w], { perm: [1, 0] }); // ints attribute
    const y = g.op("Gemm", [x, wt], { alpha: attr.float(2), transB: 1 });
    const s = g.op("ReduceSum", [y, g.ints64([-1])], { keepdims: 0 }); // negative int64 in a tensor
    const c = g.op("Cast", [s], { to: 7 }); // → int64
    g.output(y, "float32", ["N", 2], "y");
    g.output(c, "int64", ["N"], "s");
    const out = await run(g, { x: new ort.Tensor("float32", Float32Array.from([1, 0, 0, 0, 1, 1]), [2, 3]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 4, 16, 20]);
    expect(Array.from(out.s!.data as BigInt64Array)).toEqual([6n, 36n]);
  });

  it("writes a Loop with a graph attribute, using outer-scope values in the body", async () => {
    const g = new GraphBuilder("loop");
    const x = g.input("x", "float32", [2]);
    const trips = g.input("trips", "int64", []);
    const factor = g.scalar(1.5);
    const body = g.subgraph("body");
    body.input(body.fresh("i"), "int64", []);
    const cond = body.input(body.fresh("cond"), "bool", []);
    const acc = body.input(body.fresh("acc"), "float32", [2]);
    body.output(body.op("Identity", [cond]), "bool", []);
    body.output(body.op("Mul", [acc, factor]), "float32", [2]);
    const result = g.op("Loop", [trips, "", x], { body: attr.graph(body) });
    g.output(result, "float32", [2], "out");
    const out = await run(g, { x: new ort.Tensor("float32", Float32Array.from([1, -2]), [2]), trips: new ort.Tensor("int64", BigInt64Array.from([3n]), []) });
    expect(Array.from(out.out!.data as Float32Array)).toEqual([3.375, -6.75]);
  });

  it("writes string and float-list attributes and typed constants", async () => {
    const g = new GraphBuilder("misc");
    const x = g.input("x", "float32", [4]);
    const clipped = g.op("Clip", [x, g.scalar(-1), g.scalar(1)]);
    const halves = g.constant(tensor("float16", [4], [0.5, 0.25, -2, 65504]));
    const asFloat = g.op("Cast", [halves], { to: 1 });
    const doubles = g.op("Cast", [g.constant(tensor("float64", [4], [1, 2, 3, 4]))], { to: 1 });
    const ints = g.op("Cast", [g.constant(tensor("int32", [4], [-1, 0, 1, 2]))], { to: 1 });
    const bools = g.op("Cast", [g.constant(tensor("bool", [4], [true, false, true, false]))], { to: 1 });
    const sum = g.op("Sum", [clipped, asFloat, doubles, ints, bools]);
    const padded = g.op("Pad", [sum, g.ints64([1, 0])], { mode: "constant" }); // string attribute
    g.output(padded, "float32", [5], "y");
    const out = await run(g, { x: new ort.Tensor("float32", Float32Array.from([-3, 0.5, 0, 9]), [4]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([0, -1 + 0.5 + 1 - 1 + 1, 0.5 + 0.25 + 2 + 0, 0 - 2 + 3 + 1 + 1, 1 + 65504 + 4 + 2]);
  });

  it("checks tensor shapes and names", () => {
    expect(() => tensor("float32", [2, 2], [1, 2, 3])).toThrow(/3 elements for dims \[2, 2\]/);
    expect(() => tensor("float32", [-1], [])).toThrow(/bad dims/);
    const g = new GraphBuilder();
    g.input("x", "float32", [1]);
    expect(() => g.input("x", "float32", [1])).toThrow(/already used/);
    expect(attr.floats([1, 2]).kind).toBe("floats");
  });
});
