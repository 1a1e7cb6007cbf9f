/**
 * Ports: what the core needs from the outside world, as interfaces. Adapters in
 * `functions/adapters/` implement them; core tests can use the real adapters or small fakes.
 */

/** Element types the core moves between JSON and the inference engine. */
export type TensorType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool';

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A tensor in host memory, independent of any engine's own tensor class. */
export interface HostTensor {
  readonly type: TensorType;
  readonly data: TensorData;
  readonly dims: readonly number[];
}

/** What the engine reports about one graph input or output. */
export interface ValueInfo {
  readonly name: string;
  /** Element type, or undefined for non-tensor values (sequences, maps). */
  readonly type?: string;
  /** Dimensions; a string is a symbolic (dynamic) dimension. */
  readonly shape?: readonly (number | string)[];
}

/** A loaded model, ready to run. One per model version per process. */
export interface LoadedModel {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export interface EngineOptions {
  /** Threads for one operator; sized to the vCPUs Lambda gives the function. */
  readonly intraOpThreads: number;
  /** Threads across independent operators; 1 suits the small graphs served here. */
  readonly interOpThreads: number;
}

/** Loads ONNX bytes into a runnable model. */
export interface InferenceEngine {
  readonly name: string;
  readonly version: string;
  load(model: Uint8Array, options: EngineOptions): Promise<LoadedModel>;
}
