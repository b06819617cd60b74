/**
 * A small reader for ONNX models (the `onnx.proto` ModelProto wire format): the top graph's nodes
 * (op type, inputs, outputs, int / float / tensor attributes), its float initializers and its
 * output names, plus {@link withGraphOutputs}, which exposes intermediate values as extra graph
 * outputs. That is what a caller needs to find a layer in an exported model (e.g. a
 * cross-encoder's classifier) and run the model up to its input: onnxruntime only returns graph
 * outputs.
 *
 * Wire format: protobuf (proto2); field numbers from onnx/onnx.proto — ModelProto.graph = 7;
 * GraphProto node = 1, initializer = 5, output = 12; NodeProto input = 1, output = 2, name = 3,
 * op_type = 4, attribute = 5; AttributeProto name = 1, f = 2, i = 3, t = 5; TensorProto dims = 1,
 * data_type = 2, float_data = 4, name = 8, raw_data = 9, data_location = 14.
 */

/** A node of the graph, as far as this reader decodes it. */
export interface OnnxNodeInfo {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Int attributes (e.g. Gemm's transB) and float attributes (alpha, beta). */
  numbers: Record<string, number>;
  /** Tensor attributes (a Constant node's `value`). */
  tensors: Record<string, OnnxTensorInfo>;
}

/** A tensor of the model: its shape and, for float32 tensors stored in the file, its values. */
export interface OnnxTensorInfo {
  name: string;
  dims: number[];
  /** TensorProto.DataType (1 = float32). */
  dataType: number;
  /** The values, for float32 tensors held in the file (undefined for other types or external data). */
  floats?: Float32Array;
  /** True when the values live in an external file (data_location EXTERNAL). */
  external: boolean;
}

/** The top graph of a model. */
export interface OnnxGraphInfo {
  nodes: OnnxNodeInfo[];
  initializers: Map<string, OnnxTensorInfo>;
  outputs: string[];
}

/** Reads the top graph of ModelProto `bytes` (see the module comment for what is decoded). */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraphInfo {
  const graph = graphField(bytes);
  if (graph === undefined) throw new Error("readOnnxGraph: the model has no graph (ModelProto field 7)");
  const info: OnnxGraphInfo = { nodes: [], initializers: new Map(), outputs: [] };
  for (const f of fields(bytes.subarray(graph.start, graph.end))) {
    if (f.wire !== 2) continue;
    if (f.field === 1) info.nodes.push(readNode(f.data!));
    else if (f.field === 5) {
      const t = readTensor(f.data!);
      info.initializers.set(t.name, t);
    } else if (f.field === 12) info.outputs.push(stringField(f.data!, 1) ?? "");
  }
  return info;
}

/**
 * The model with `names` (values computed inside the graph) appended to the top graph's outputs,
 * as `onnx.helper.make_empty_tensor_value_info(name)` does: name only, the type left to
 * onnxruntime's shape inference. Every other byte of the model is kept as it was.
 */
export function withGraphOutputs(bytes: Uint8Array, names: readonly string[]): Uint8Array {
  const graph = graphField(bytes);
  if (graph === undefined) throw new Error("withGraphOutputs: the model has no graph (ModelProto field 7)");
  const extra: number[] = [];
  for (const name of names) {
    const valueInfo = [...tagBytes(1, 2), ...varintBytes(utf8.encode(name).length), ...utf8.encode(name)];
    extra.push(...tagBytes(12, 2), ...varintBytes(valueInfo.length), ...valueInfo);
  }
  const body = bytes.subarray(graph.start, graph.end);
  const header = [...tagBytes(7, 2), ...varintBytes(body.length + extra.length)];
  const out = new Uint8Array(graph.fieldStart + header.length + body.length + extra.length + (bytes.length - graph.end));
  out.set(bytes.subarray(0, graph.fieldStart), 0);
  let at = graph.fieldStart;
  out.set(header, at);
  at += header.length;
  out.set(body, at);
  at += body.length;
  out.set(extra, at);
  at += extra.length;
  out.set(bytes.subarray(graph.end), at);
  return out;
}

// ---- messages -------------------------------------------------------------------------------

const utf8 = new TextEncoder();
const text = new TextDecoder();

function graphField(bytes: Uint8Array): { fieldStart: number; start: number; end: number } | undefined {
  for (const f of fields(bytes)) if (f.field === 7 && f.wire === 2) return { fieldStart: f.fieldStart, start: f.start, end: f.end };
  return undefined;
}

function readNode(bytes: Uint8Array): OnnxNodeInfo {
  const node: OnnxNodeInfo = { opType: "", name: "", inputs: [], outputs: [], numbers: {}, tensors: {} };
  for (const f of fields(bytes)) {
    if (f.wire !== 2) continue;
    if (f.field === 1) node.inputs.push(text.decode(f.data!));
    else if (f.field === 2) node.outputs.push(text.decode(f.data!));
    else if (f.field === 3) node.name = text.decode(f.data!);
    else if (f.field === 4) node.opType = text.decode(f.data!);
    else if (f.field === 5) {
      let name = "";
      let number: number | undefined;
      let tensor: OnnxTensorInfo | undefined;
      for (const a of fields(f.data!)) {
        if (a.field === 1 && a.wire === 2) name = text.decode(a.data!);
        else if (a.field === 2 && a.wire === 5) number = a.float;
        else if (a.field === 3 && a.wire === 0) number = Number(BigInt.asIntN(64, a.varint!));
        else if (a.field === 5 && a.wire === 2) tensor = readTensor(a.data!);
      }
      if (number !== undefined) node.numbers[name] = number;
      if (tensor !== undefined) node.tensors[name] = tensor;
    }
  }
  return node;
}

const FLOAT32 = 1;

function readTensor(bytes: Uint8Array): OnnxTensorInfo {
  const dims: number[] = [];
  let dataType = 0;
  let name = "";
  let raw: Uint8Array | undefined;
  const floatData: number[] = [];
  let external = false;
  for (const f of fields(bytes)) {
    if (f.field === 1) {
      if (f.wire === 0) dims.push(Number(f.varint!));
      else if (f.wire === 2) for (const v of packedVarints(f.data!)) dims.push(Number(v));
    } else if (f.field === 2 && f.wire === 0) dataType = Number(f.varint!);
    else if (f.field === 4) {
      if (f.wire === 5) floatData.push(f.float!);
      else if (f.wire === 2) {
        const view = new DataView(f.data!.buffer, f.data!.byteOffset, f.data!.byteLength);
        for (let i = 0; i + 4 <= f.data!.byteLength; i += 4) floatData.push(view.getFloat32(i, true));
      }
    } else if (f.field === 8 && f.wire === 2) name = text.decode(f.data!);
    else if (f.field === 9 && f.wire === 2) raw = f.data!;
    else if (f.field === 14 && f.wire === 0) external = f.varint === 1n;
  }
  const info: OnnxTensorInfo = { name, dims, dataType, external };
  if (dataType === FLOAT32 && !external) {
    if (raw !== undefined) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      info.floats = Float32Array.from({ length: raw.byteLength >> 2 }, (_, i) => view.getFloat32(i * 4, true));
    } else info.floats = Float32Array.from(floatData);
  }
  return info;
}

function stringField(bytes: Uint8Array, field: number): string | undefined {
  for (const f of fields(bytes)) if (f.field === field && f.wire === 2) return text.decode(f.data!);
  return undefined;
}

// ---- protobuf wire reader -------------------------------------------------------------------

interface Field {
  field: number;
  wire: number;
  /** Offset of the tag (the field starts there). */
  fieldStart: number;
  /** Length-delimited: the payload's span and bytes. */
  start: number;
  end: number;
  data?: Uint8Array;
  varint?: bigint;
  float?: number;
}

/** The fields of one message, in order. */
function* fields(bytes: Uint8Array): Generator<Field> {
  let at = 0;
  while (at < bytes.length) {
    const fieldStart = at;
    const [tag, afterTag] = readVarint(bytes, at);
    at = afterTag;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    switch (wire) {
      case 0: {
        const [v, next] = readVarint(bytes, at);
        yield { field, wire, fieldStart, start: at, end: next, varint: v };
        at = next;
        break;
      }
      case 1:
        at += 8;
        break;
      case 2: {
        const [len, start] = readVarint(bytes, at);
        const end = start + Number(len);
        if (end > bytes.length) throw new Error(`ONNX model: field ${field} runs past the end of its message (truncated file?)`);
        yield { field, wire, fieldStart, start, end, data: bytes.subarray(start, end) };
        at = end;
        break;
      }
      case 5:
        yield { field, wire, fieldStart, start: at, end: at + 4, float: new DataView(bytes.buffer, bytes.byteOffset + at, 4).getFloat32(0, true) };
        at += 4;
        break;
      default:
        throw new Error(`ONNX model: unsupported protobuf wire type ${wire} (field ${field}); not an ONNX file?`);
    }
  }
}

function readVarint(bytes: Uint8Array, at: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (at >= bytes.length) throw new Error("ONNX model: a varint runs past the end (truncated file?)");
    const b = bytes[at++]!;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7n;
  }
}

function* packedVarints(bytes: Uint8Array): Generator<bigint> {
  let at = 0;
  while (at < bytes.length) {
    const [v, next] = readVarint(bytes, at);
    yield v;
    at = next;
  }
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function tagBytes(field: number, wire: number): number[] {
  return varintBytes(field * 8 + wire);
}
