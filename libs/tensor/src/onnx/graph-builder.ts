/*
 * OnnxGraphBuilder: builds an ONNX ModelProto in code (inputs and outputs with symbolic dims,
 * initializers from typed arrays stored as little-endian raw_data, nodes with attributes, opset
 * imports for the default domain and com.microsoft) and serialises it to bytes for ONNX Runtime.
 *
 * It is deliberately not a tensor library or a shape inferencer: it records what it is told and
 * leaves type/shape checking to ONNX Runtime at session creation. Names are the caller's (or
 * generated with a unique counter); no graph transformations happen here.
 *
 * Follows the ONNX IR spec (onnx/onnx docs/IR.md, onnx.proto, IR version 8) and the operator
 * specs in docs/Operators.md; contrib ops per onnxruntime docs/ContribOperators.md.
 */
import { endianness } from 'node:os';
import { onnx } from 'onnx-proto';

/** Element types the builder can declare for graph inputs, outputs and initializers. */
export type OnnxElemType = 'float32' | 'int32' | 'int64' | 'bool' | 'uint8' | 'int8';

/** A dimension: a fixed size, or a symbolic name such as 'N' or 'context' (dynamic at run time). */
export type OnnxDim = number | string;

/** Forces a float attribute (a plain integral number such as 1 would otherwise be written as INT). */
export interface OnnxFloatAttr {
  kind: 'float';
  value: number;
}
/** Forces a list of floats. */
export interface OnnxFloatsAttr {
  kind: 'floats';
  value: number[];
}
/**
 * An attribute value. NOTE: a plain number is written as INT when it is an integer and as FLOAT
 * otherwise; arrays likewise (INTS if all integers). Use `floatAttr` / `floatsAttr` where the op
 * wants a float that happens to be integral (e.g. Gemm alpha = 1).
 */
export type OnnxAttrValue = number | number[] | string | OnnxFloatAttr | OnnxFloatsAttr | onnx.ITensorProto;

export const floatAttr = (value: number): OnnxFloatAttr => ({ kind: 'float', value });
export const floatsAttr = (value: number[]): OnnxFloatsAttr => ({ kind: 'floats', value });

/**
 * Initializer data: the typed array decides the ONNX element type (Int8Array: INT8; a
 * Uint8Array is BOOL unless the initializer is declared 'uint8', as quantized weights are).
 */
export type OnnxInitData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

export interface OnnxGraphBuilderOptions {
  /** Graph name (shows in ORT errors). */
  name?: string;
  /** Default-domain opset version; 17 is the first with LayerNormalization. */
  opset?: number;
  /** Import com.microsoft (contrib ops such as GroupQueryAttention) at version 1. */
  microsoftDomain?: boolean;
}

const ELEM_TYPE: Record<OnnxElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
};

const IR_VERSION = 8;
const LITTLE_ENDIAN = endianness() === 'LE';

/** Bytes of a typed array in little-endian order; a view (no copy) on little-endian hosts. */
export function littleEndianBytes(data: OnnxInitData): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return view;
  const out = new Uint8Array(view.length);
  const w = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i += w) {
    for (let j = 0; j < w; j++) out[i + j] = view[i + w - 1 - j];
  }
  return out;
}

function initDataType(data: OnnxInitData, declared?: 'uint8'): number {
  if (data instanceof Float32Array) return onnx.TensorProto.DataType.FLOAT;
  if (data instanceof Int32Array) return onnx.TensorProto.DataType.INT32;
  if (data instanceof BigInt64Array) return onnx.TensorProto.DataType.INT64;
  if (data instanceof Int8Array) return onnx.TensorProto.DataType.INT8;
  return declared === 'uint8' ? onnx.TensorProto.DataType.UINT8 : onnx.TensorProto.DataType.BOOL;
}

function valueInfo(name: string, type: OnnxElemType, dims: OnnxDim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function isIntegral(xs: number[]): boolean {
  return xs.every((x) => Number.isInteger(x));
}

function attribute(name: string, v: OnnxAttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (Array.isArray(v)) {
    return isIntegral(v) ? { name, type: T.INTS, ints: v } : { name, type: T.FLOATS, floats: v };
  }
  if ('kind' in v && v.kind === 'float') return { name, type: T.FLOAT, f: v.value };
  if ('kind' in v && v.kind === 'floats') return { name, type: T.FLOATS, floats: v.value };
  return { name, type: T.TENSOR, t: v as onnx.ITensorProto };
}

/**
 * Records one graph. Typical use:
 *   const g = new OnnxGraphBuilder({ opset: 17 });
 *   const x = g.input('x', 'float32', ['N', 64]);
 *   const w = g.initializer('w', weights, [64, 32]);
 *   g.output(g.op('MatMul', [x, w]), 'y', 'float32', ['N', 32]);
 *   const bytes = g.toBytes();
 */
export class OnnxGraphBuilder {
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly inits: onnx.ITensorProto[] = [];
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  readonly name: string;
  readonly opset: number;
  readonly microsoftDomain: boolean;

  constructor(opts: OnnxGraphBuilderOptions = {}) {
    this.name = opts.name ?? 'graph';
    this.opset = opts.opset ?? 17;
    this.microsoftDomain = opts.microsoftDomain ?? false;
  }

  /** Number of nodes recorded so far. */
  get numNodes(): number {
    return this.nodes.length;
  }

  /** Whether a value (input, initializer or node output) of this name exists. */
  hasValue(name: string): boolean {
    return this.names.has(name);
  }

  /** An unused value name with the given prefix (unique among generated names; not yet reserved). */
  fresh(prefix = 'v'): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.names.has(name)) name = `${prefix}_${this.counter++}`;
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph '${this.name}': value name '${name}' is already defined`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input; returns its name. */
  input(name: string, type: OnnxElemType, dims: OnnxDim[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, dims));
    return name;
  }

  /**
   * Declares a graph output. If `value` differs from `name`, an Identity node renames it.
   * Returns the output name.
   */
  output(value: string, name: string, type: OnnxElemType, dims: OnnxDim[]): string {
    if (value !== name) this.node('Identity', [value], [name]);
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /**
   * Adds a constant tensor stored as raw little-endian bytes; returns its name. A Uint8Array is
   * a BOOL tensor unless `type` is 'uint8' (packed quantized weights, zero points).
   */
  initializer(name: string, data: OnnxInitData, dims: number[], type?: 'uint8'): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new Error(
        `ONNX initializer '${name}': dims [${dims.join(', ')}] hold ${count} elements but the data has ${data.length}`,
      );
    }
    this.inits.push({ name: this.claim(name), dims, dataType: initDataType(data, type), rawData: littleEndianBytes(data) });
    return name;
  }

  /** An int64 constant (shapes, axes, indices) under a fresh name. */
  constInt64(values: number[], dims: number[] = [values.length]): string {
    return this.initializer(this.fresh('i64'), BigInt64Array.from(values.map((v) => BigInt(v))), dims);
  }

  /** A float32 constant under a fresh name (scalar when dims = []). */
  constFloat(values: number[], dims: number[] = [values.length]): string {
    return this.initializer(this.fresh('f32'), Float32Array.from(values), dims);
  }

  /** Adds a node with explicit output names (or a count of fresh ones); returns the output names. */
  node(
    opType: string,
    inputs: string[],
    outputs: string[] | number = 1,
    attrs: Record<string, OnnxAttrValue> = {},
    domain = '',
  ): string[] {
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => this.claim(this.fresh(opType)))
        : outputs.map((o) => (o === '' ? o : this.claim(o)));
    if (domain === 'com.microsoft' && !this.microsoftDomain) {
      throw new Error(`ONNX graph '${this.name}': op ${opType} is in com.microsoft; create the builder with microsoftDomain: true`);
    }
    this.nodes.push({
      opType,
      domain,
      input: inputs,
      output: outs,
      name: `${opType}_${this.nodes.length}`,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Adds a single-output node; returns the output's fresh name. */
  op(opType: string, inputs: string[], attrs: Record<string, OnnxAttrValue> = {}, domain = ''): string {
    return this.node(opType, inputs, 1, attrs, domain)[0];
  }

  /** The ModelProto (IR version 8) holding this graph. */
  toModelProto(): onnx.ModelProto {
    const opsetImport: onnx.IOperatorSetIdProto[] = [{ domain: '', version: this.opset }];
    if (this.microsoftDomain) opsetImport.push({ domain: 'com.microsoft', version: 1 });
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'llm-platform',
      opsetImport,
      graph: {
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.inits,
      },
    });
  }

  /** Serialised ModelProto bytes, ready for `createOrtSession`. */
  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toModelProto()).finish();
  }
}
