/**
 * Ports: what the core needs from the outside world, as interfaces. Adapters in
 * `functions/adapters/` implement them; core tests can use the real adapters or small fakes.
 */
import type { ImageSpec, TensorSpec } from './model/manifest.ts';

/** Element types the core moves between requests and the inference engine (ONNX's, by ORT name). */
export type TensorType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

/**
 * Element storage per type. `float16` is held as its IEEE 754 half-precision bits in a
 * Uint16Array (what the engine takes), `bool` as 0/1 bytes, `string` as a plain array.
 */
export type TensorData =
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
  | string[];

/** A tensor in host memory, independent of any engine's own tensor class. */
export type HostTensor =
  | TypedTensor<'float32', Float32Array>
  | TypedTensor<'float64', Float64Array>
  | TypedTensor<'float16', Uint16Array>
  | TypedTensor<'int8', Int8Array>
  | TypedTensor<'uint8', Uint8Array>
  | TypedTensor<'int16', Int16Array>
  | TypedTensor<'uint16', Uint16Array>
  | TypedTensor<'int32', Int32Array>
  | TypedTensor<'uint32', Uint32Array>
  | TypedTensor<'int64', BigInt64Array>
  | TypedTensor<'uint64', BigUint64Array>
  | TypedTensor<'bool', Uint8Array>
  | TypedTensor<'string', string[]>;

/** A tensor whose element type says how its data is stored: checking `type` narrows `data`. */
export interface TypedTensor<T extends TensorType, D extends TensorData> {
  readonly type: T;
  readonly data: D;
  readonly dims: readonly number[];
  /**
   * Image files still to decode into this feed (protocol/images.ts): checked and bounded, decoded by
   * the scorer's ImageWork before the run. `data` is empty until then.
   */
  readonly pending?: PendingImages;
}

/** Image files for one image input, checked against every bound, not yet decoded. */
export interface PendingImages {
  readonly spec: TensorSpec & { readonly image: ImageSpec };
  readonly files: readonly Uint8Array[];
  /** Each file's name in errors, e.g. `instances[2].x`. */
  readonly at: readonly string[];
}

/** 8-bit pixels, `channels` per pixel, row-major: one file decoded, coloured and resized. */
export interface PreparedPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/**
 * Where image files are decoded and resized (core/image/tensor.ts's preparePixels): in the
 * calling thread (Lambda: one request at a time), or in a pool of worker threads, so one large
 * image never blocks a process that answers many callers (npm start, the serving container).
 * A file that cannot be decoded rejects with a ValidationError naming it; an aborted `signal`
 * (the request's deadline, or its client gone) stops the work.
 */
export interface ImageWork {
  prepare(work: PendingImages, signal?: AbortSignal): Promise<PreparedPixels[]>;
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

/** What an object store reports about one object. */
export interface ObjectInfo {
  /** The entity tag, quotes included, as S3 returns it. */
  readonly etag: string;
  readonly bytes: number;
  /** User metadata (`x-amz-meta-*`), keys lower-cased. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ReadOptions {
  /** First byte, inclusive. */
  readonly start?: number;
  /** Last byte, exclusive. */
  readonly end?: number;
  /** Fail with PreconditionFailedError unless the object still has this entity tag. */
  readonly ifMatch?: string;
}

/** Blob storage (S3). Keys and buckets as S3 names them. */
export interface ObjectStore {
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** Streams an object or a byte range of it, never buffering the whole body. */
  read(bucket: string, key: string, opts?: ReadOptions): Promise<AsyncIterable<Uint8Array>>;
  /** A small object as text, or undefined when it does not exist. */
  readText(bucket: string, key: string): Promise<string | undefined>;
  /**
   * Writes an object. With `ifNoneMatch`, only when the key is new (S3 conditional write); returns
   * 'exists' instead of overwriting.
   */
  write(
    bucket: string,
    key: string,
    /** Text is written as UTF-8. */
    body: string | Uint8Array,
    opts?: { contentType?: string; ifNoneMatch?: boolean },
  ): Promise<'written' | 'exists'>;
  /** Keys under a prefix, in key order, all pages. */
  list(bucket: string, prefix: string): AsyncIterable<{ key: string; bytes: number }>;
  /** The first-level "folders" under a prefix (ListObjectsV2 with a `/` delimiter). */
  listPrefixes(bucket: string, prefix: string): Promise<string[]>;
}

export interface QueueEntry {
  readonly id: string;
  readonly body: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A message queue (SQS). */
export interface MessageQueue {
  /** Sends up to 10 messages in one call; returns the entries that failed, with the reason. */
  sendBatch(queueUrl: string, entries: readonly QueueEntry[]): Promise<{ id: string; reason: string }[]>;
  send(queueUrl: string, body: string, attributes?: Readonly<Record<string, string>>): Promise<void>;
}

/** Presigned URLs, so clients move data to and from the buckets without AWS credentials. */
export interface UrlSigner {
  putUrl(bucket: string, key: string, expiresInSeconds: number): Promise<string>;
  getUrl(bucket: string, key: string, expiresInSeconds: number): Promise<string>;
  createMultipartUpload(bucket: string, key: string): Promise<string>;
  partUrl(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    expiresInSeconds: number,
  ): Promise<string>;
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: readonly { partNumber: number; etag: string }[],
  ): Promise<void>;
}

/** One synchronous call to a model endpoint (SageMaker InvokeEndpoint). */
export interface EndpointCall {
  readonly endpoint: string;
  readonly variant?: string;
  readonly body: string;
  readonly contentType: string;
  readonly accept: string;
  /** The socket must give up after this long; the call fails with an EndpointFault of kind 'timeout'. */
  readonly timeoutMs: number;
}

export interface EndpointReply {
  readonly body: string;
  readonly contentType?: string;
  readonly invokedVariant?: string;
  /** What the container put in X-Amzn-SageMaker-Custom-Attributes (SageMaker passes it back verbatim). */
  readonly customAttributes?: string;
}

/**
 * Invokes model endpoints. Implementations throw `EndpointFault` (core/endpoint/remote.ts) with the kind
 * of failure, so the core's retry, breaker and error mapping never see a vendor's error types.
 */
export interface EndpointInvoker {
  invoke(call: EndpointCall): Promise<EndpointReply>;
}

/**
 * Where model packages and traffic policies live when they are outside the function's code
 * (core/model/store): content-addressed objects and one record per model. On AWS, S3 and DynamoDB
 * (adapters/model-store/aws.ts); on a laptop, a folder (adapters/model-store/folder.ts).
 */
export interface ModelStore {
  /** Where this store is, for messages: `s3://bucket + dynamodb:table` or a folder. */
  readonly where: string;
  /** A model's current record, or undefined when the model was never published. */
  readRecord(model: string): Promise<unknown>;
  /**
   * Writes `record` only if the stored revision is still `expectedRevision` (0: no record yet),
   * keeping the old one in the model's history; else throws PreconditionFailedError.
   */
  writeRecord(record: { model: string; revision: number }, expectedRevision: number): Promise<void>;
  /** The model's earlier records, newest first. */
  history(model: string, limit: number): Promise<unknown[]>;
  /** Every model with a record. */
  listModels(): Promise<string[]>;
  /** The object named `digest`, refused over `maxBytes` before its body is read. Undefined when absent. */
  readObject(digest: string, maxBytes: number): Promise<Uint8Array | undefined>;
  hasObject(digest: string): Promise<boolean>;
  /** Stores bytes under their digest; storing the same bytes again changes nothing. */
  putObject(digest: string, bytes: Uint8Array): Promise<void>;
}

/** Where the quality join's prediction and label lines go: a folder locally, S3 on AWS. */
export interface QualityLog {
  /**
   * Writes JSON Lines under `folder`. A folder log appends them to `<stream>.jsonl` (one file per
   * process and version); S3 writes the object `<unique>.jsonl`, so a retry with the same `unique`
   * replaces what the first attempt wrote.
   */
  write(folder: string, stream: string, unique: string, lines: string): Promise<void>;
}

/** Runs the quality SQL where the data is: DuckDB locally, Athena on AWS. */
export interface QualityEngine {
  readonly name: 'duckdb' | 'athena';
  query(
    sql: string,
    params: readonly (string | number)[],
  ): Promise<readonly import('./quality/sql.ts').QualityRow[]>;
}
