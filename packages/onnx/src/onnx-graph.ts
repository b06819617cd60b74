/**
 * A small, dependency-free writer for ONNX models (the `onnx.proto` ModelProto wire format),
 * for building computation graphs programmatically and handing the bytes straight to
 * `InferenceSession.create(bytes)` of onnxruntime.
 *
 * It covers what graph building needs: typed inputs/outputs with fixed or symbolic dimensions,
 * nodes with every attribute kind (int, float, string, tensor, graph and their lists — graph
 * attributes give `Loop`/`If`/`Scan` bodies), initializers (weights, stored as `raw_data`),
 * value_info, opset imports of several domains and model metadata. It does not parse models.
 *
 * ```ts
 * const g = new GraphBuilder("scale");
 * const x = g.input("x", "float32", ["N", 4]);
 * const two = g.constant(tensor("float32", [], [2]));
 * g.output(g.op("Mul", [x, two]), "float32", ["N", 4]);
 * const bytes = encodeModel(g, { opset: 18 });
 * ```
 *
 * Wire format: protobuf (proto2 for ONNX); field numbers follow onnx/onnx.proto (IR version 8+).
 */

// ---- element types --------------------------------------------------------------------------

/** ONNX `TensorProto.DataType` codes for the element types this writer knows by name. */
export const ONNX_DATA_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
} as const;

export type OnnxElementType = keyof typeof ONNX_DATA_TYPE;

/** A dimension: a fixed size, a symbolic name (e.g. "batch"), or null for unknown. */
export type OnnxDim = number | string | null;

/** Data of a tensor; numbers are converted to the element type (int64 accepts bigint too). */
export type OnnxTensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[];

/** A constant tensor (an initializer, a `Constant` node's value or a tensor attribute). */
export interface OnnxTensor {
  type: OnnxElementType;
  dims: readonly number[];
  /** Little-endian bytes of the elements, row-major. */
  raw: Uint8Array;
  /** String elements, for type "string" only (stored as string_data). */
  strings?: readonly string[];
  name?: string;
}

/** Builds an {@link OnnxTensor}; checks that the element count matches `dims`. */
export function tensor(type: OnnxElementType, dims: readonly number[], data: OnnxTensorData | readonly string[]): OnnxTensor {
  const count = dims.reduce((p, d) => p * d, 1);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`tensor: bad dims [${dims.join(", ")}]`);
  if (data.length !== count) throw new Error(`tensor: ${data.length} elements for dims [${dims.join(", ")}] (${count} expected)`);
  if (type === "string") {
    if (!(data as readonly unknown[]).every((s) => typeof s === "string")) throw new Error("tensor: string tensors take string[]");
    return { type, dims: [...dims], raw: new Uint8Array(0), strings: [...(data as readonly string[])] };
  }
  return { type, dims: [...dims], raw: toRaw(type, data as OnnxTensorData, count) };
}

function toRaw(type: Exclude<OnnxElementType, "string">, data: OnnxTensorData, count: number): Uint8Array {
  const buf = new ArrayBuffer(count * elementSize(type));
  const view = new DataView(buf);
  for (let i = 0; i < count; i++) {
    const v = (data as ArrayLike<number | bigint | boolean>)[i] as number | bigint | boolean;
    switch (type) {
      case "float32":
        view.setFloat32(i * 4, Number(v), true);
        break;
      case "float64":
        view.setFloat64(i * 8, Number(v), true);
        break;
      case "float16":
        view.setUint16(i * 2, float16Bits(Number(v)), true);
        break;
      case "int8":
        view.setInt8(i, Number(v));
        break;
      case "uint8":
        view.setUint8(i, Number(v));
        break;
      case "bool":
        view.setUint8(i, v ? 1 : 0);
        break;
      case "int16":
        view.setInt16(i * 2, Number(v), true);
        break;
      case "uint16":
        view.setUint16(i * 2, Number(v), true);
        break;
      case "int32":
        view.setInt32(i * 4, Number(v), true);
        break;
      case "uint32":
        view.setUint32(i * 4, Number(v), true);
        break;
      case "int64":
        view.setBigInt64(i * 8, typeof v === "bigint" ? v : BigInt(Math.trunc(Number(v))), true);
        break;
      case "uint64":
        view.setBigUint64(i * 8, typeof v === "bigint" ? v : BigInt(Math.trunc(Number(v))), true);
        break;
    }
  }
  return new Uint8Array(buf);
}

function elementSize(type: Exclude<OnnxElementType, "string">): number {
  switch (type) {
    case "int8":
    case "uint8":
    case "bool":
      return 1;
    case "int16":
    case "uint16":
    case "float16":
      return 2;
    case "float32":
    case "int32":
    case "uint32":
      return 4;
    case "float64":
    case "int64":
    case "uint64":
      return 8;
  }
}

function float16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    if ((mant >> (shift - 1)) & 1) half += 1; // round half up
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  if (mant & 0x1000) half += 1; // round to nearest (ties away)
  return half;
}

// ---- attributes -----------------------------------------------------------------------------

/** An attribute value with its ONNX kind made explicit (numbers alone can't tell int from float). */
export type OnnxAttribute =
  | { kind: "int"; value: number | bigint }
  | { kind: "float"; value: number }
  | { kind: "string"; value: string }
  | { kind: "tensor"; value: OnnxTensor }
  | { kind: "graph"; value: GraphBuilder }
  | { kind: "ints"; value: readonly (number | bigint)[] }
  | { kind: "floats"; value: readonly number[] }
  | { kind: "strings"; value: readonly string[] };

/** Attribute constructors: `{ axis: attr.int(-1), alpha: attr.float(0.5), body: attr.graph(g) }`. */
export const attr = {
  int: (value: number | bigint): OnnxAttribute => ({ kind: "int", value }),
  float: (value: number): OnnxAttribute => ({ kind: "float", value }),
  string: (value: string): OnnxAttribute => ({ kind: "string", value }),
  tensor: (value: OnnxTensor): OnnxAttribute => ({ kind: "tensor", value }),
  graph: (value: GraphBuilder): OnnxAttribute => ({ kind: "graph", value }),
  ints: (value: readonly (number | bigint)[]): OnnxAttribute => ({ kind: "ints", value }),
  floats: (value: readonly number[]): OnnxAttribute => ({ kind: "floats", value }),
  strings: (value: readonly string[]): OnnxAttribute => ({ kind: "strings", value }),
};

/**
 * Attributes of a node. Plain values are accepted as shorthand: an integer `number` or a
 * `bigint` → int, a non-integer number → float, string → string, `number[]` of integers → ints,
 * `GraphBuilder` → graph. Use {@link attr} to force a kind (e.g. `attr.float(1)`).
 */
export type OnnxAttributes = Record<string, OnnxAttribute | number | bigint | string | readonly number[] | GraphBuilder | undefined>;

// ---- graph builder --------------------------------------------------------------------------

interface ValueInfo {
  name: string;
  type: OnnxElementType;
  shape: readonly OnnxDim[] | undefined;
}

interface NodeDef {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  domain: string;
  attributes: [string, OnnxAttribute][];
}

/** Shared name allocator so that names stay unique across a graph and its subgraphs. */
class NameScope {
  private readonly used = new Set<string>();
  /** Names handed out by fresh() and not yet given to a value. */
  private readonly reserved = new Set<string>();
  private counter = 0;
  fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    this.reserved.add(name);
    return name;
  }
  /** Binds `name` to a value: a new name, or one from fresh() not bound yet. */
  claim(name: string): string {
    if (this.reserved.delete(name)) return name;
    if (this.used.has(name)) throw new Error(`onnx-graph: the name ${JSON.stringify(name)} is already used`);
    this.used.add(name);
    return name;
  }
  /** A fresh name bound at once. */
  bound(hint: string): string {
    const name = this.fresh(hint);
    this.reserved.delete(name);
    return name;
  }
}

/**
 * Builds one ONNX graph. Values are referred to by name (strings); {@link op} returns the name of
 * its (first) output. Subgraphs ({@link subgraph}) share the name scope, and may use values of
 * the enclosing graphs by name, as ONNX allows.
 */
export class GraphBuilder {
  readonly name: string;
  private readonly scope: NameScope;
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly valueInfos: ValueInfo[] = [];
  private readonly nodes: NodeDef[] = [];
  private readonly initializers: { name: string; tensor: OnnxTensor }[] = [];
  docString = "";

  constructor(name = "graph", scope?: NameScope) {
    this.name = name;
    this.scope = scope ?? new NameScope();
  }

  /** A new graph (e.g. a `Loop` body) sharing this graph's name scope. */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.scope);
  }

  /** A fresh unique name starting with `hint`, to pass to input()/op() outputs later. */
  fresh(hint = "t"): string {
    return this.scope.fresh(hint);
  }

  /** Declares a graph input; returns its name. `shape` undefined = unknown rank. */
  input(name: string, type: OnnxElementType, shape?: readonly OnnxDim[]): string {
    this.inputs.push({ name: this.scope.claim(name), type, shape });
    return name;
  }

  /** Declares an existing value as a graph output (optionally renaming it through Identity). */
  output(value: string, type: OnnxElementType, shape?: readonly OnnxDim[], as?: string): string {
    let name = value;
    if (as !== undefined && as !== value) {
      name = this.scope.claim(as);
      this.nodes.push({ opType: "Identity", inputs: [value], outputs: [name], name: this.scope.bound("Identity"), domain: "", attributes: [] });
    }
    this.outputs.push({ name, type, shape });
    return name;
  }

  /** Optional shape/type annotation of an intermediate value. */
  valueInfo(name: string, type: OnnxElementType, shape?: readonly OnnxDim[]): void {
    this.valueInfos.push({ name, type, shape });
  }

  /** Adds an initializer (a named constant, e.g. a weight); returns its name. */
  initializer(t: OnnxTensor, name?: string): string {
    const n = name !== undefined ? this.scope.claim(name) : this.scope.bound("init");
    this.initializers.push({ name: n, tensor: t });
    return n;
  }

  /** Adds a `Constant` node holding `t`; returns its output name. */
  constant(t: OnnxTensor, name?: string): string {
    return this.op("Constant", [], { value: attr.tensor(t) }, { name });
  }

  /** Float32 scalar constant. */
  scalar(value: number, type: OnnxElementType = "float32"): string {
    return this.constant(tensor(type, [], [value]));
  }

  /** int64 1-D constant (axes, shapes). */
  ints64(values: readonly number[]): string {
    return this.constant(tensor("int64", [values.length], values));
  }

  /**
   * Adds a node; returns the name of its first output. `outputs` (a count or explicit names)
   * defaults to 1. Use "" in `inputs` for an omitted optional input.
   */
  op(opType: string, inputs: readonly string[], attributes: OnnxAttributes = {}, options: { outputs?: number | readonly string[]; domain?: string; name?: string | undefined } = {}): string {
    return this.opMulti(opType, inputs, attributes, options)[0] as string;
  }

  /** Like {@link op}, returning all output names. */
  opMulti(opType: string, inputs: readonly string[], attributes: OnnxAttributes = {}, options: { outputs?: number | readonly string[]; domain?: string; name?: string | undefined } = {}): string[] {
    const spec = options.outputs ?? 1;
    const outputs = typeof spec === "number" ? Array.from({ length: spec }, () => this.scope.bound(opType)) : spec.map((n) => this.scope.claim(n));
    const attrs: [string, OnnxAttribute][] = [];
    for (const [key, raw] of Object.entries(attributes)) {
      if (raw === undefined) continue;
      attrs.push([key, normalizeAttribute(key, raw)]);
    }
    this.nodes.push({
      opType,
      inputs: [...inputs],
      outputs,
      name: options.name ?? this.scope.bound(`${opType}_node`),
      domain: options.domain ?? "",
      attributes: attrs,
    });
    return outputs;
  }

  /** Number of nodes so far (diagnostics). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Serialises this graph as a GraphProto message body. */
  encode(): Uint8Array {
    const w = new ProtoWriter();
    for (const n of this.nodes) w.message(1, encodeNode(n));
    w.string(2, this.name);
    for (const init of this.initializers) w.message(5, encodeTensor(init.tensor, init.name));
    if (this.docString) w.string(10, this.docString);
    for (const v of this.inputs) w.message(11, encodeValueInfo(v));
    for (const v of this.outputs) w.message(12, encodeValueInfo(v));
    for (const v of this.valueInfos) w.message(13, encodeValueInfo(v));
    return w.finish();
  }
}

function normalizeAttribute(key: string, raw: OnnxAttribute | number | bigint | string | readonly number[] | GraphBuilder): OnnxAttribute {
  if (raw instanceof GraphBuilder) return { kind: "graph", value: raw };
  if (typeof raw === "bigint") return { kind: "int", value: raw };
  if (typeof raw === "number") return Number.isInteger(raw) ? { kind: "int", value: raw } : { kind: "float", value: raw };
  if (typeof raw === "string") return { kind: "string", value: raw };
  if (Array.isArray(raw)) {
    const arr = raw as readonly number[];
    return arr.every((v) => Number.isInteger(v)) ? { kind: "ints", value: arr } : { kind: "floats", value: arr };
  }
  if (typeof raw === "object" && raw !== null && "kind" in raw) return raw as OnnxAttribute;
  throw new Error(`onnx-graph: attribute ${key}: unsupported value`);
}

// ---- model ----------------------------------------------------------------------------------

export interface EncodeModelOptions {
  /** Default-domain ("ai.onnx") opset version. Default 18. */
  opset?: number;
  /** Further opset imports, e.g. `{ "com.microsoft": 1 }`. */
  extraOpsets?: Record<string, number>;
  /** IR version. Default 8 (ONNX 1.13+, enough for default-domain opsets up to 18). */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** metadata_props entries. */
  metadata?: Record<string, string>;
}

/** Serialises a ModelProto holding `graph`; the bytes load with `InferenceSession.create(bytes)`. */
export function encodeModel(graph: GraphBuilder, options: EncodeModelOptions = {}): Uint8Array {
  const w = new ProtoWriter();
  w.int64(1, options.irVersion ?? 8);
  w.string(2, options.producerName ?? "@crossrank/ot");
  if (options.producerVersion !== undefined) w.string(3, options.producerVersion);
  if (options.docString !== undefined) w.string(6, options.docString);
  w.message(7, graph.encode());
  const opsets: [string, number][] = [["", options.opset ?? 18], ...Object.entries(options.extraOpsets ?? {})];
  for (const [domain, version] of opsets) {
    const o = new ProtoWriter();
    if (domain) o.string(1, domain);
    o.int64(2, version);
    w.message(8, o.finish());
  }
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    const m = new ProtoWriter();
    m.string(1, key);
    m.string(2, value);
    w.message(14, m.finish());
  }
  return w.finish();
}

function encodeNode(n: NodeDef): Uint8Array {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, a] of n.attributes) w.message(5, encodeAttribute(name, a));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

// AttributeProto.AttributeType
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8 } as const;

function encodeAttribute(name: string, a: OnnxAttribute): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, name);
  switch (a.kind) {
    case "float":
      w.float32(2, a.value);
      break;
    case "int":
      w.int64(3, a.value);
      break;
    case "string":
      w.bytes(4, utf8(a.value));
      break;
    case "tensor":
      w.message(5, encodeTensor(a.value, a.value.name));
      break;
    case "graph":
      w.message(6, a.value.encode());
      break;
    case "floats": {
      const p = new ProtoWriter();
      for (const v of a.value) p.rawFloat32(v);
      w.bytes(7, p.finish());
      break;
    }
    case "ints": {
      const p = new ProtoWriter();
      for (const v of a.value) p.varint(v);
      w.bytes(8, p.finish());
      break;
    }
    case "strings":
      for (const s of a.value) w.bytes(9, utf8(s));
      break;
  }
  w.int64(20, ATTR_TYPE[a.kind]);
  return w.finish();
}

function encodeTensor(t: OnnxTensor, name: string | undefined): Uint8Array {
  const w = new ProtoWriter();
  if (t.dims.length > 0) {
    const p = new ProtoWriter();
    for (const d of t.dims) p.varint(d);
    w.bytes(1, p.finish());
  }
  w.int64(2, ONNX_DATA_TYPE[t.type]);
  if (t.type === "string") for (const s of t.strings ?? []) w.bytes(6, utf8(s));
  if (name !== undefined) w.string(8, name);
  if (t.type !== "string") w.bytes(9, t.raw);
  return w.finish();
}

function encodeValueInfo(v: ValueInfo): Uint8Array {
  const tensorType = new ProtoWriter();
  tensorType.int64(1, ONNX_DATA_TYPE[v.type]);
  if (v.shape !== undefined) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      const dim = new ProtoWriter();
      if (typeof d === "number") dim.int64(1, d);
      else if (typeof d === "string") dim.string(2, d);
      shape.message(1, dim.finish());
    }
    tensorType.message(2, shape.finish());
  }
  const type = new ProtoWriter();
  type.message(1, tensorType.finish());
  const w = new ProtoWriter();
  w.string(1, v.name);
  w.message(2, type.finish());
  return w.finish();
}

// ---- protobuf wire writer -------------------------------------------------------------------

const encoder = new TextEncoder();
function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Minimal protobuf writer: varints, fixed32 floats and length-delimited fields. */
class ProtoWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned or int64 (negative values as 10-byte two's complement, as protobuf int64 does). */
  varint(value: number | bigint): void {
    let v = typeof value === "bigint" ? value : BigInt(Math.trunc(value));
    if (v < 0n) v = BigInt.asUintN(64, v);
    this.ensure(10);
    if (v < 0x80000000n) {
      let n = Number(v);
      while (n >= 0x80) {
        this.buf[this.len++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      this.buf[this.len++] = n;
      return;
    }
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int64(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float32(field: number, value: number): void {
    this.tag(field, 5);
    this.rawFloat32(value);
  }

  rawFloat32(value: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat32(this.len, value, true);
    this.len += 4;
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, value: string): void {
    this.bytes(field, utf8(value));
  }

  message(field: number, body: Uint8Array): void {
    this.bytes(field, body);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
