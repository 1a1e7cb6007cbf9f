import onnxProto from 'onnx-proto';
import type { TensorType } from '#core/ports.ts';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

/** ONNX element types, by the names onnxruntime uses (the core's TensorType). */
export type ElemType = TensorType;
const ELEM: Record<ElemType, number> = {
  float32: T.FLOAT,
  float64: T.DOUBLE,
  float16: T.FLOAT16,
  int8: T.INT8,
  uint8: T.UINT8,
  int16: T.INT16,
  uint16: T.UINT16,
  int32: T.INT32,
  uint32: T.UINT32,
  int64: T.INT64,
  uint64: T.UINT64,
  bool: T.BOOL,
  string: T.STRING,
};

type Dim = number | string;
type Attr = number | number[] | string;

/**
 * A small, dependency-light ONNX graph builder over the official protobuf schema (onnx-proto).
 * Enough for the linear models, MLPs and tensor ops the shipped models need; deterministic bytes.
 */
export class GraphBuilder {
  readonly #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #nodes: onnxProto.onnx.INodeProto[] = [];
  readonly #inits: onnxProto.onnx.ITensorProto[] = [];
  #counter = 0;

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.#inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: ElemType, dims: Dim[]): string {
    this.#outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** A constant tensor; float data is stored as float32. */
  constant(
    name: string,
    values: ArrayLike<number> | readonly bigint[],
    dims: number[],
    type: 'float32' | 'int64' = 'float32',
  ): string {
    const data =
      type === 'int64'
        ? BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(v))
        : Float32Array.from(values as ArrayLike<number>);
    this.#inits.push({ name, dims, dataType: ELEM[type], rawData: new Uint8Array(data.buffer.slice(0)) });
    return name;
  }

  /** Adds a node; returns its (first) output name. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.#counter++}`;
    this.#nodes.push({
      opType,
      name: `${opType}_${this.#nodes.length}`,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return out;
  }

  build(opts: { name: string; doc: string; metadata?: Record<string, string> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'infera',
      producerVersion: '1',
      docString: opts.doc,
      opsetImport: [{ domain: '', version: 17 }],
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: opts.name,
        input: this.#inputs,
        output: this.#outputs,
        initializer: this.#inits,
        node: this.#nodes,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: ElemType, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if (Number.isInteger(v)) return { name, type: A.INT, i: v };
  return { name, type: A.FLOAT, f: v };
}

export { ELEM };
