import { readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type * as z from 'zod';
import { bytesElements, decodeBinaryTensor } from './binary.ts';
import {
  InferaError,
  ModelPackageError,
  NotImplementedError,
  PayloadTooLargeError,
  ValidationError,
} from './errors.ts';
import { encodeInstances, featureDatatype, instanceSchema, validateInstances } from './features.ts';
import { loadImageCodecs } from './image/codecs.ts';
import { fromBase64, imageValue } from './image/files.ts';
import { imageDims, imagesToTensor } from './image/tensor.ts';
import type { Datatype, Feature, ImageSpec, Manifest, TensorSpec, TextSpec } from './manifest.ts';
import { type InputMoments, inputMoments } from './monitoring/inputs.ts';
import type { EngineOptions, HostTensor, InferenceEngine, LoadedModel } from './ports.ts';
import { postprocess, topK } from './postprocess.ts';
import {
  loadProcessor,
  type Postprocess,
  type Preprocess,
  type Processor,
  type ProcessorContext,
  runStep,
} from './processor.ts';
import {
  type InferInput,
  type InferOutput,
  type InferRequest,
  type InferResponse,
  inferResponseSchema,
  type Prediction,
  predictionSchema,
  type V2ModelMetadata,
} from './protocol.ts';
import type { ModelRegistry, ModelVersion } from './registry.ts';
import { EndpointError, EndpointFault, type RemoteEndpoints } from './remote.ts';
import type { EndpointRef } from './routing.ts';
import {
  checkBounds,
  checkShape,
  DATATYPE_TO_TYPE,
  DEFAULT_SHAPE_LIMITS,
  flattenData,
  nest,
  numbersOf,
  product,
  type ShapeLimits,
  TYPE_TO_DATATYPE,
  tensorToJson,
  toTypedArray,
} from './tensors.ts';
import { TextTokenizer } from './text/tokenizer.ts';

/** A model version made ready to serve: its session plus everything derived once from its manifest. */
interface Prepared {
  readonly mv: ModelVersion;
  readonly model: LoadedModel;
  /** Instance schema of a tabular model; tensor models are checked by shape instead. */
  readonly schema?: z.ZodType<Record<string, unknown>>;
}

type Run = (feeds: Record<string, HostTensor>) => Promise<Record<string, HostTensor>>;

/** Who answered a request: this process, the model's endpoint, or its fallback. */
export type Served =
  | { readonly target: 'lambda' }
  | {
      readonly target: 'sagemaker';
      readonly endpoint: string;
      readonly variant: string | undefined;
      readonly attempts: number;
      readonly calls: number;
    }
  | {
      readonly target: 'fallback';
      readonly endpoint: string;
      readonly model: string;
      readonly version: string;
      readonly reason: string;
    };

export interface ScoreOptions {
  /** Epoch ms by which the answer is needed, e.g. from the Lambda context. */
  readonly deadline?: number;
  /** Answer from the fallback model while the endpoint's circuit is open (API yes, batch no). */
  readonly allowFallback?: boolean;
  /** Rows one v2 request may carry (the API's MAX_INSTANCES); batch chunks set none. */
  readonly maxRows?: number;
}

/** A v2 answer, who served it, and for a tabular model the request's rows as v1 instances. */
export interface Inferred {
  readonly response: InferResponse;
  readonly served: Served;
  readonly rows?: readonly Record<string, unknown>[];
  /** A tensor, image or text model's input statistics for monitoring (inputKeys order). */
  readonly inputs?: readonly InputMoments[];
}

/** v1 predictions, who served them, and a tensor model's input statistics. */
export interface Scored {
  readonly predictions: Prediction[];
  readonly served: Served;
  readonly inputs?: readonly InputMoments[];
}

export interface ScorerOptions {
  /** Calls SageMaker endpoints for models routed there; without it they answer 501. */
  readonly remote?: RemoteEndpoints;
  /** Serve every version in-process whatever its route (the serving container does). */
  readonly serveAll?: boolean;
  /** Wraps each loaded model, e.g. with micro-batching. */
  readonly wrap?: (model: LoadedModel, mv: ModelVersion) => LoadedModel;
  /** Rows per endpoint call; larger inputs (batch chunks) go in several calls. */
  readonly remoteMaxRows?: number;
  /** Request bytes per endpoint call: SageMaker's synchronous limit is 6 MB. */
  readonly remoteMaxBytes?: number;
}

/** SageMaker InvokeEndpoint's payload limit. */
export const SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;

/**
 * The scoring core: one session per model version per process, manifest-driven mapping from
 * JSON instances (v1) and tensors (v2) to feeds, and from outputs to predictions. Knows nothing
 * of HTTP or AWS; handlers adapt it.
 */
export class Scorer {
  readonly registry: ModelRegistry;
  readonly engine: InferenceEngine;
  readonly remote: RemoteEndpoints | undefined;
  readonly #options: EngineOptions;
  readonly #extra: ScorerOptions;
  readonly #prepared = new Map<ModelVersion, Promise<Prepared>>();
  readonly #schemas = new Map<ModelVersion, z.ZodType<Record<string, unknown>>>();
  readonly #tokenizers = new Map<ModelVersion, Promise<TextInput>>();
  readonly #processors = new Map<ModelVersion, Promise<Processor>>();

  constructor(
    registry: ModelRegistry,
    engine: InferenceEngine,
    options: EngineOptions,
    extra: ScorerOptions = {},
  ) {
    this.registry = registry;
    this.engine = engine;
    this.remote = extra.remote;
    this.#options = options;
    this.#extra = extra;
  }

  /** Whether this process runs the version itself, rather than calling its endpoint. */
  local(mv: ModelVersion): boolean {
    return this.#extra.serveAll === true || servedLocally(mv);
  }

  /**
   * Loads every locally served version and checks each graph against its manifest, so a mismatch
   * fails start-up (naming the file and the fix) instead of a request.
   */
  async warmup(): Promise<void> {
    const problems: string[] = [];
    for (const mv of this.registry.allVersions()) {
      if (!this.local(mv)) continue;
      try {
        await this.prepare(mv);
      } catch (err) {
        this.#prepared.delete(mv);
        if (err instanceof ModelPackageError) problems.push(...err.details);
        else problems.push(`${rel(mv.modelPath)}: ONNX Runtime could not load it: ${(err as Error).message}`);
      }
    }
    if (problems.length > 0) throw new ModelPackageError(problems);
  }

  /** True once every locally served version has a session. */
  get ready(): boolean {
    return this.registry.allVersions().every((mv) => !this.local(mv) || this.#prepared.has(mv));
  }

  prepare(mv: ModelVersion): Promise<Prepared> {
    let p = this.#prepared.get(mv);
    if (!p) {
      p = this.#load(mv);
      this.#prepared.set(mv, p);
    }
    return p;
  }

  async #load(mv: ModelVersion): Promise<Prepared> {
    const bytes = await readFile(mv.modelPath);
    const loaded = await this.engine.load(bytes, this.#options);
    const problems = checkSignature(mv, loaded);
    if (problems.length > 0) {
      await loaded.release();
      throw new ModelPackageError(problems);
    }
    try {
      await this.#text(mv);
      await this.#processor(mv);
    } catch (err) {
      await loaded.release();
      throw err;
    }
    const model = this.#extra.wrap ? this.#extra.wrap(loaded, mv) : loaded;
    const schema = this.#schema(mv);
    return schema ? { mv, model, schema } : { mv, model };
  }

  async #session(mv: ModelVersion): Promise<Prepared> {
    if (!this.local(mv)) {
      throw new NotImplementedError(
        `Model '${mv.name}' version ${mv.version} is served by SageMaker endpoint ${mv.route.endpoint?.name}, and this process has no SageMaker client configured.`,
      );
    }
    return this.prepare(mv);
  }

  /** The instance schema of a tabular version, built once. */
  #schema(mv: ModelVersion): z.ZodType<Record<string, unknown>> | undefined {
    const m = mv.manifest;
    if (m.inputs.kind !== 'tabular') return undefined;
    let s = this.#schemas.get(mv);
    if (!s) {
      s = instanceSchema(m.inputs.features);
      this.#schemas.set(mv, s);
    }
    return s;
  }

  /** The tokenizer of a text model, loaded once (also for endpoint models: requests are checked here). */
  #text(mv: ModelVersion): Promise<TextInput | undefined> {
    const m = mv.manifest;
    if (m.inputs.kind !== 'tensors' || !m.inputs.text) return Promise.resolve(undefined);
    let p = this.#tokenizers.get(mv);
    if (!p) {
      p = loadTokenizer(mv, m.inputs.text);
      this.#tokenizers.set(mv, p);
      p.catch(() => this.#tokenizers.delete(mv));
    }
    return p;
  }

  /** v1: JSON instances in, one prediction per instance out, in one `session.run`. */
  async predict(
    mv: ModelVersion,
    instances: readonly unknown[],
    opts: ScoreOptions = {},
  ): Promise<Prediction[]> {
    return (await this.score(mv, instances, opts)).predictions;
  }

  /** v1 with routing: scores here, on the model's endpoint, or on its fallback; says which. */
  async score(mv: ModelVersion, instances: readonly unknown[], opts: ScoreOptions = {}): Promise<Scored> {
    await codecsFor(mv);
    if (!this.local(mv)) return this.#remotePredict(mv, instances, opts);
    // A processor runs where the model runs: here, or in the serving container for an endpoint.
    const proc = await this.#processor(mv);
    const ctx: ProcessorContext = { model: mv.name, version: mv.version, manifest: mv.manifest };
    const input = proc?.preprocess
      ? await Promise.all(
          instances.map((inst, i) =>
            runStep(
              () => (proc.preprocess as Preprocess)(asInstance(inst, i), ctx),
              ctx,
              'processor preprocess',
              `instances[${i}]`,
            ),
          ),
        )
      : instances;
    const { predictions, inputs } = await this.#scoreHere(mv, input);
    const out = proc?.postprocess
      ? await Promise.all(
          predictions.map((p, i) =>
            runStep(
              () => (proc.postprocess as Postprocess)(p, input[i] as Record<string, unknown>, ctx),
              ctx,
              'processor postprocess',
              `predictions[${i}]`,
            ),
          ),
        )
      : predictions;
    return { predictions: out, served: { target: 'lambda' }, ...(inputs ? { inputs } : {}) };
  }

  /** The model's own pipeline in this process: validate, pre-process, one session.run, map. */
  async #scoreHere(
    mv: ModelVersion,
    instances: readonly unknown[],
  ): Promise<{ predictions: Prediction[]; inputs?: InputMoments[] }> {
    const p = await this.#session(mv);
    const m = mv.manifest;
    const run: Run = (feeds) => p.model.run(feeds, outputNames(m));
    if (m.inputs.kind === 'tabular' && p.schema) {
      const rows = validateInstances(p.schema, instances);
      const feeds = tabularFeeds(m.inputs.tensor, m.inputs.features, rows);
      const out = postprocess(m, await run(feeds), feeds);
      return { predictions: toPredictions(m, out, rows.length) };
    }
    if (m.inputs.kind === 'tabular') throw new InferaError(`Model '${mv.name}' has no instance schema.`);
    const feeds = stackTensorInstances(
      m.inputs.tensors,
      instances as readonly Record<string, unknown>[],
      DEFAULT_SHAPE_LIMITS,
      await this.#text(mv),
    );
    const out = postprocess(m, await run(feeds), feeds);
    return { predictions: toPredictions(m, out, instances.length), inputs: inputMoments(m, feeds) };
  }

  /** A version's processor.ts, imported once. */
  #processor(mv: ModelVersion): Promise<Processor | undefined> {
    const spec = mv.manifest.processor;
    if (!spec) return Promise.resolve(undefined);
    let p = this.#processors.get(mv);
    if (!p) {
      const path = join(mv.dir, spec.file);
      p = loadProcessor(path, rel(path));
      this.#processors.set(mv, p);
      p.catch(() => this.#processors.delete(mv));
    }
    return p;
  }

  /** Validates v1 instances exactly as local scoring would, without running anything. */
  async #checkInstances(
    mv: ModelVersion,
    instances: readonly unknown[],
  ): Promise<InputMoments[] | undefined> {
    const m = mv.manifest;
    const schema = this.#schema(mv);
    if (m.inputs.kind === 'tabular' && schema) validateInstances(schema, instances);
    else if (m.inputs.kind === 'tensors') {
      const feeds = stackTensorInstances(
        m.inputs.tensors,
        instances as readonly Record<string, unknown>[],
        DEFAULT_SHAPE_LIMITS,
        await this.#text(mv),
      );
      return inputMoments(m, feeds);
    }
    return undefined;
  }

  #endpoint(mv: ModelVersion): { remote: RemoteEndpoints; endpoint: EndpointRef } {
    const endpoint = mv.route.endpoint;
    if (!this.remote || !endpoint) {
      throw new NotImplementedError(
        `Model '${mv.name}' version ${mv.version} is served by SageMaker endpoint ${endpoint?.name ?? '(none)'}, and this process has no SageMaker client configured.`,
      );
    }
    return { remote: this.remote, endpoint };
  }

  async #remotePredict(mv: ModelVersion, instances: readonly unknown[], opts: ScoreOptions): Promise<Scored> {
    // Checked here first: a bad request is a 400 naming the field, and never costs an endpoint call.
    // (Not with a processor: the container runs it first, and validates what it returns.)
    const inputs = mv.manifest.processor ? undefined : await this.#checkInstances(mv, instances);
    const { remote, endpoint } = this.#endpoint(mv);
    const parts = splitForPayload(
      instances,
      this.#extra.remoteMaxRows ?? 1000,
      this.#extra.remoteMaxBytes ?? SYNC_PAYLOAD_LIMIT - 1024,
    );
    const predictions: Prediction[] = [];
    let attempts = 0;
    let variant: string | undefined;
    for (const part of parts) {
      try {
        const r = await remote.invoke(endpoint, {
          body: part.body,
          contentType: 'application/json',
          accept: 'application/json',
          ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
          parse: (reply) => parsePredictions(reply.body, part.count),
        });
        for (const p of r.value) predictions.push(p);
        attempts += r.attempts;
        variant = r.variant;
      } catch (err) {
        const fb = this.#fallbackFor(mv, err, opts, predictions.length === 0);
        if (!fb) throw err;
        return { predictions: await this.predict(fb.mv, instances), served: fb.served };
      }
    }
    return {
      predictions,
      served: { target: 'sagemaker', endpoint: endpoint.name, variant, attempts, calls: parts.length },
      ...(inputs ? { inputs } : {}),
    };
  }

  /**
   * Whether this process can answer for a version now, and why not: still loading, or its
   * endpoint's circuit is open and no fallback model answers in its place.
   */
  readiness(mv: ModelVersion): { ready: boolean; reason?: string } {
    if (!this.ready) return { ready: false, reason: 'the models are still loading' };
    if (this.local(mv)) return { ready: true };
    const endpoint = mv.route.endpoint;
    if (!this.remote || !endpoint) {
      return {
        ready: false,
        reason: `this process has no SageMaker client for ${endpoint?.name ?? 'its endpoint'}`,
      };
    }
    if (this.remote.breaker(endpoint).state !== 'open') return { ready: true };
    const fb = mv.route.fallback;
    if (fb) {
      return {
        ready: true,
        reason: `endpoint ${endpoint.name}'s circuit is open; ${fb.model} answers in its place`,
      };
    }
    return {
      ready: false,
      reason: `endpoint ${endpoint.name}'s circuit is open and no fallback is configured`,
    };
  }

  /** The fallback version to answer with, when the endpoint's circuit is open and one is configured. */
  #fallbackFor(
    mv: ModelVersion,
    err: unknown,
    opts: ScoreOptions,
    nothingScored: boolean,
  ): { mv: ModelVersion; served: Served } | undefined {
    const fb = mv.route.fallback;
    if (!fb || opts.allowFallback === false || !nothingScored) return undefined;
    if (!(err instanceof EndpointError) || err.kind !== 'circuit-open') return undefined;
    const fbv = this.registry.resolve(fb.model, fb.version);
    return {
      mv: fbv,
      served: {
        target: 'fallback',
        endpoint: err.endpoint,
        model: fbv.name,
        version: fbv.version,
        reason: err.message,
      },
    };
  }

  /** Open Inference Protocol v2 infer. */
  async infer(mv: ModelVersion, req: InferRequest, opts: ScoreOptions = {}): Promise<InferResponse> {
    return (await this.inferRouted(mv, req, opts)).response;
  }

  /**
   * v2 infer with routing, like `score`. For a tabular model it also returns the request's rows as
   * v1 instances, so monitoring and capture see v2 traffic exactly as they see v1.
   */
  async inferRouted(mv: ModelVersion, req: InferRequest, opts: ScoreOptions = {}): Promise<Inferred> {
    await codecsFor(mv);
    if (!this.local(mv)) return this.#remoteInfer(mv, req, opts);
    const p = await this.#session(mv);
    const m = mv.manifest;
    const { feeds, n, rows } = this.#feedsV2(mv, req, p.schema, opts, await this.#text(mv));
    const inputs = m.inputs.kind === 'tensors' ? inputMoments(m, feeds) : undefined;
    const out = postprocess(m, await p.model.run(feeds, outputNames(m)), feeds);
    let outputs = toV2Outputs(m, out, n);
    if (req.outputs) {
      const wanted = new Set(req.outputs.map((o) => o.name));
      outputs = outputs.filter((o) => wanted.has(o.name));
    }
    return {
      response: {
        model_name: mv.name,
        model_version: mv.version,
        ...(req.id !== undefined ? { id: req.id } : {}),
        outputs,
      },
      served: { target: 'lambda' },
      ...(rows ? { rows } : {}),
      ...(inputs ? { inputs } : {}),
    };
  }

  #limitsFor(opts: ScoreOptions): ShapeLimits {
    return opts.maxRows ? { ...DEFAULT_SHAPE_LIMITS, maxBatch: opts.maxRows } : DEFAULT_SHAPE_LIMITS;
  }

  /** Validates a v2 request against the manifest and builds its feeds. */
  #feedsV2(
    mv: ModelVersion,
    req: InferRequest,
    schema: z.ZodType<Record<string, unknown>> | undefined,
    opts: ScoreOptions,
    text: TextInput | undefined,
  ): { feeds: Record<string, HostTensor>; n: number; rows?: Record<string, unknown>[] } {
    const m = mv.manifest;
    const names = new Set<string>();
    req.inputs.forEach((input, i) => {
      if (names.has(input.name)) fail(`inputs[${i}].name: input '${input.name}' is given twice`);
      names.add(input.name);
    });
    let feeds: Record<string, HostTensor>;
    let n: number;
    let rows: Record<string, unknown>[] | undefined;
    if (m.inputs.kind === 'tabular' && schema) {
      rows = columnsToRows(m.inputs.features, req, this.#limitsFor(opts));
      const valid = validateInstances(schema, rows, 'rows');
      feeds = tabularFeeds(m.inputs.tensor, m.inputs.features, valid);
      n = valid.length;
    } else if (m.inputs.kind === 'tensors') {
      feeds = tensorFeeds(m.inputs.tensors, req, this.#limitsFor(opts), text);
      n = (feeds[m.inputs.tensors[0]?.name ?? '']?.dims[0] as number | undefined) ?? 1;
    } else {
      throw new InferaError(`Model '${mv.name}' has no instance schema.`);
    }
    if (req.outputs) {
      const available = v2OutputMetadata(m).map((o) => o.name);
      req.outputs.forEach((o, i) => {
        if (!available.includes(o.name)) {
          fail(`outputs[${i}].name: unknown output '${o.name}'; this model returns: ${available.join(', ')}`);
        }
      });
    }
    return { feeds, n, ...(rows ? { rows } : {}) };
  }

  async #remoteInfer(mv: ModelVersion, req: InferRequest, opts: ScoreOptions): Promise<Inferred> {
    const { rows, feeds } = this.#feedsV2(mv, req, this.#schema(mv), opts, await this.#text(mv));
    const m = mv.manifest;
    const withRows = {
      ...(rows ? { rows } : {}),
      ...(m.inputs.kind === 'tensors' ? { inputs: inputMoments(m, feeds) } : {}),
    };
    const { remote, endpoint } = this.#endpoint(mv);
    const body = JSON.stringify(asJsonRequest(req, mv.manifest));
    const limit = this.#extra.remoteMaxBytes ?? SYNC_PAYLOAD_LIMIT - 1024;
    if (Buffer.byteLength(body) > limit) {
      throw new PayloadTooLargeError(
        `This request is ${Buffer.byteLength(body)} bytes; model '${mv.name}' runs on a SageMaker endpoint, whose synchronous limit is ${SYNC_PAYLOAD_LIMIT} bytes. Send fewer rows per request, or use batch scoring (POST /v1/batch), which splits large inputs across calls.`,
      );
    }
    try {
      const r = await remote.invoke(endpoint, {
        body,
        contentType: 'application/json',
        accept: 'application/json',
        ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
        parse: (reply) => parseInferResponse(reply.body),
      });
      return {
        response: { ...r.value, model_name: mv.name, model_version: mv.version },
        served: {
          target: 'sagemaker',
          endpoint: endpoint.name,
          variant: r.variant,
          attempts: r.attempts,
          calls: 1,
        },
        ...withRows,
      };
    } catch (err) {
      const fb = this.#fallbackFor(mv, err, opts, true);
      if (!fb) throw err;
      const response = await this.infer(fb.mv, req);
      return {
        response: {
          ...response,
          model_name: mv.name,
          model_version: mv.version,
          parameters: { ...response.parameters, fallback_model: fb.mv.name, fallback_version: fb.mv.version },
        },
        served: fb.served,
        ...withRows,
      };
    }
  }

  /**
   * A tabular v2 request's rows as v1 instances, without validating their values: what monitoring
   * counts for a request that was rejected (its out-of-range and missing values are the signal).
   * Undefined when the request is not even shaped as feature columns.
   */
  tabularRows(
    mv: ModelVersion,
    req: InferRequest,
    opts: ScoreOptions = {},
  ): Record<string, unknown>[] | undefined {
    const m = mv.manifest;
    if (m.inputs.kind !== 'tabular') return undefined;
    try {
      return columnsToRows(m.inputs.features, req, this.#limitsFor(opts));
    } catch {
      return undefined;
    }
  }

  /** v2 model metadata: the tensors a client sends and gets back. */
  metadataV2(mv: ModelVersion): V2ModelMetadata {
    const m = mv.manifest;
    const inputs =
      m.inputs.kind === 'tabular'
        ? m.inputs.features.map((f) => ({ name: f.name, datatype: featureDatatype(f), shape: [-1] }))
        : m.inputs.text
          ? [{ name: m.inputs.text.field, datatype: 'BYTES', shape: [-1] }]
          : m.inputs.tensors.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
    return {
      name: mv.name,
      versions: this.registry.get(mv.name).versions.map((v) => v.version),
      platform: 'onnx_onnxv1',
      inputs,
      outputs: v2OutputMetadata(m),
    };
  }
}

/** Whether the version's route keeps it in-process (as opposed to a SageMaker endpoint). */
export function servedLocally(mv: ModelVersion): boolean {
  return mv.route.target === 'lambda';
}

/** Splits instances into request bodies under a row and byte limit, serialising each instance once. */
export function splitForPayload(
  instances: readonly unknown[],
  maxRows: number,
  maxBytes: number,
): { body: string; count: number }[] {
  const parts: { body: string; count: number }[] = [];
  const head = '{"instances":[';
  let items: string[] = [];
  let bytes = head.length + 2;
  const flush = () => {
    if (items.length === 0) return;
    parts.push({ body: `${head}${items.join(',')}]}`, count: items.length });
    items = [];
    bytes = head.length + 2;
  };
  instances.forEach((inst, i) => {
    const json = JSON.stringify(inst);
    const size = Buffer.byteLength(json) + 1;
    if (head.length + 2 + size > maxBytes) {
      throw new PayloadTooLargeError(
        `instances[${i}] alone is ${size} bytes, over the ${maxBytes}-byte limit of one SageMaker call; such inputs need asynchronous inference.`,
      );
    }
    if (items.length >= maxRows || bytes + size > maxBytes) flush();
    items.push(json);
    bytes += size;
  });
  flush();
  return parts;
}

const predictionsReply = predictionSchema.array();

/** An endpoint reply's body as JSON, or a 'malformed' fault quoting how it starts. */
function replyJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new EndpointFault(
      'malformed',
      `the body is not JSON (starts ${JSON.stringify(body.slice(0, 40))})`,
    );
  }
}

function parsePredictions(body: string, expected: number): Prediction[] {
  const json = replyJson(body);
  const list = (json as { predictions?: unknown } | null)?.predictions;
  const parsed = predictionsReply.safeParse(list);
  if (!parsed.success)
    throw new EndpointFault('malformed', 'expected {"predictions": [...]} with one object per instance');
  if (parsed.data.length !== expected) {
    throw new EndpointFault(
      'malformed',
      `it returned ${parsed.data.length} predictions for ${expected} instances`,
    );
  }
  return parsed.data;
}

function parseInferResponse(body: string): InferResponse {
  const parsed = inferResponseSchema.safeParse(replyJson(body));
  if (!parsed.success || parsed.data.outputs.length === 0)
    throw new EndpointFault(
      'malformed',
      'expected an Open Inference Protocol v2 infer response with outputs',
    );
  return parsed.data;
}

function rel(p: string): string {
  return relative(process.cwd(), p) || p;
}

function fail(message: string): never {
  throw new ValidationError(message, [message]);
}

function outputNames(m: Manifest): string[] {
  return m.task === 'tensor' ? (m.outputs.tensors ?? []).map((t) => t.name) : [m.outputs.tensor as string];
}

function tabularFeeds(
  tensor: string,
  features: readonly Feature[],
  rows: readonly Record<string, unknown>[],
): Record<string, HostTensor> {
  return {
    [tensor]: {
      type: 'float32',
      data: encodeInstances(features, rows),
      dims: [rows.length, features.length],
    },
  };
}

/** A text model's tokenizer and how its manifest uses it. */
interface TextInput {
  readonly spec: TextSpec;
  readonly tokenizer: TextTokenizer;
}

/** The largest tokenizer.json read. */
const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;

async function loadTokenizer(mv: ModelVersion, spec: TextSpec): Promise<TextInput> {
  const path = join(mv.dir, spec.tokenizer);
  const where = rel(path);
  let json: unknown;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_TOKENIZER_BYTES) throw new Error(`it is ${size} bytes, over ${MAX_TOKENIZER_BYTES}`);
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ModelPackageError([
      `${where}: inputs.text.tokenizer cannot be read: ${(err as Error).message}. Put the model's tokenizer.json beside model.json`,
    ]);
  }
  return { spec, tokenizer: await TextTokenizer.load(json, spec, where) };
}

/** v1 text instances, {"<field>": "..."}, to the token feeds. */
function textInstances(
  specs: readonly TensorSpec[],
  instances: readonly Record<string, unknown>[],
  limits: ShapeLimits,
  text: TextInput,
): Record<string, HostTensor> {
  const field = text.spec.field;
  checkBounds([instances.length, text.spec.maxLength], 'instances', limits);
  const texts = instances.map((inst, i) => {
    if (inst === null || typeof inst !== 'object' || Array.isArray(inst))
      fail(`instances[${i}]: must be an object, {"${field}": "..."}`);
    for (const key of Object.keys(inst))
      if (key !== field)
        fail(`instances[${i}]: unknown field "${key}"; this model takes {"${field}": "..."}`);
    const v = inst[field];
    if (typeof v !== 'string') fail(`instances[${i}].${field}: must be a string of text`);
    return v;
  });
  return text.tokenizer.feeds(texts, specs, (i) => `instances[${i}].${field}`);
}

function stackTensorInstances(
  specs: readonly TensorSpec[],
  instances: readonly Record<string, unknown>[],
  limits: ShapeLimits,
  text?: TextInput,
): Record<string, HostTensor> {
  if (text) return textInstances(specs, instances, limits, text);
  const feeds: Record<string, HostTensor> = {};
  const known = specs.map((s) => s.name);
  instances.forEach((inst, i) => {
    if (inst === null || typeof inst !== 'object' || Array.isArray(inst))
      fail(`instances[${i}]: must be an object`);
    for (const key of Object.keys(inst)) {
      if (!known.includes(key))
        fail(`instances[${i}]: unknown field "${key}"; this model's inputs are: ${known.join(', ')}`);
    }
  });
  for (const spec of specs) {
    if (spec.shape[0] !== -1) {
      fail(
        `input '${spec.name}' has no batch dimension (shape [${spec.shape.join(', ')}]); send it with POST /v2/models/{model}/infer`,
      );
    }
    if (isImage(spec)) {
      feeds[spec.name] = imageFeed(
        spec,
        instances.map((inst, i) => imageValue(inst[spec.name], `instances[${i}].${spec.name}`)),
        (i) => `instances[${i}].${spec.name}`,
        limits,
      );
      continue;
    }
    const inner = spec.shape.slice(1);
    const first = instances[0]?.[spec.name];
    if (first === undefined) fail(`instances[0].${spec.name}: is required`);
    const dims = inner.map((d, depth) => (d === -1 ? lengthAtDepth(first, depth) : d));
    checkBounds([instances.length, ...dims], `instances[0].${spec.name}`, limits);
    const per = product(dims);
    const values: unknown[] = [];
    instances.forEach((inst, i) => {
      const v = inst[spec.name];
      if (v === undefined) fail(`instances[${i}].${spec.name}: is required`);
      const flat = dims.length === 0 ? [v] : flattenData(v, dims, `instances[${i}].${spec.name}`);
      for (let k = 0; k < per; k++) values.push(flat[k]);
    });
    const data = toTypedArray(values, spec.datatype, `instances[*].${spec.name} (flattened)`);
    feeds[spec.name] = { type: DATATYPE_TO_TYPE[spec.datatype], data, dims: [instances.length, ...dims] };
  }
  return feeds;
}

/** Loads the image decoders before a request to a model with an image input (once per process). */
function codecsFor(mv: ModelVersion): Promise<unknown> | undefined {
  const m = mv.manifest;
  return m.inputs.kind === 'tensors' && m.inputs.tensors.some((t) => t.image) ? loadImageCodecs() : undefined;
}

/** A v1 instance as the object a processor receives. */
function asInstance(inst: unknown, i: number): Record<string, unknown> {
  if (inst === null || typeof inst !== 'object' || Array.isArray(inst))
    fail(`instances[${i}]: must be an object`);
  return inst as Record<string, unknown>;
}

function isImage(spec: TensorSpec): spec is TensorSpec & { image: ImageSpec } {
  return spec.image !== undefined;
}

/** Image files to an image input's feed, bounded by count and tensor size before any decoding. */
function imageFeed(
  spec: TensorSpec & { image: ImageSpec },
  files: readonly Uint8Array[],
  at: (i: number) => string,
  limits: ShapeLimits,
): HostTensor {
  const { c, h, w } = imageDims(spec);
  checkBounds([files.length, c, h, w > 0 ? w : 1], at(0), limits);
  return imagesToTensor(spec, files, at);
}

/** A v2 BYTES input of image files: raw bytes (binary) or base64 strings (JSON), shape [N] or [N, 1]. */
function imageFiles(input: InferInput, at: string): Uint8Array[] {
  const [n, one, ...rest] = input.shape;
  if (n === undefined || rest.length > 0 || (one !== undefined && one !== 1))
    fail(`${at}.shape: [${input.shape.join(', ')}] must be [N] or [N, 1]: one image file per element`);
  if (input.raw) return bytesElements(input.raw, n, `${at}.data`);
  const data = flattenData(input.data, input.shape, `${at}.data`);
  return data.map((v, i) => {
    if (typeof v !== 'string')
      fail(`${at}.data[${i}]: must be a base64 string of a PNG or JPEG file, or send binary tensor data`);
    return fromBase64(v, `${at}.data[${i}]`);
  });
}

function lengthAtDepth(value: unknown, depth: number): number {
  let node = value;
  for (let d = 0; d < depth; d++) node = Array.isArray(node) ? node[0] : undefined;
  return Array.isArray(node) ? node.length : 0;
}

const FEATURE_DATATYPES: Record<Feature['type'], readonly string[]> = {
  number: ['FP32', 'FP64', 'INT32', 'INT64'],
  integer: ['INT32', 'INT64'],
  boolean: ['BOOL'],
  categorical: ['BYTES'],
};

/**
 * The request with binary inputs turned into JSON `data`, for a hop that speaks JSON (the endpoint
 * call); binary outputs are framed by whoever answers the caller.
 */
function asJsonRequest(req: InferRequest, m: Manifest): InferRequest {
  if (!req.inputs.some((i) => i.raw)) return req;
  const images = new Set(
    m.inputs.kind === 'tensors' ? m.inputs.tensors.filter(isImage).map((t) => t.name) : [],
  );
  return {
    ...req,
    inputs: req.inputs.map((input, i) => {
      if (!input.raw) return input;
      const { raw: _raw, parameters, ...rest } = input;
      const { binary_data_size: _size, ...keep } = parameters ?? {};
      return {
        ...rest,
        ...(Object.keys(keep).length > 0 ? { parameters: keep } : {}),
        // Image files travel as base64 strings in JSON, as a JSON client would send them.
        data:
          images.has(input.name) && input.datatype === 'BYTES' && input.raw
            ? bytesElements(input.raw, product(input.shape), `inputs[${i}].data`).map((b) =>
                Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'),
              )
            : valuesOf(input, input.datatype as Datatype, `inputs[${i}]`),
      };
    }),
  };
}

/** An input's elements as JSON values: its `data`, or its binary bytes decoded. */
function valuesOf(input: InferInput, datatype: Datatype, at: string): unknown[] {
  if (!input.raw) return flattenData(input.data, input.shape, `${at}.data`);
  const data = decodeBinaryTensor(input.raw, datatype, input.shape, `${at}.data`);
  return tensorToJson({ type: DATATYPE_TO_TYPE[datatype], data, dims: input.shape });
}

/** v2 for tabular models: one input per feature column, shape [N] or [N, 1]. */
function columnsToRows(
  features: readonly Feature[],
  req: InferRequest,
  limits: ShapeLimits,
): Record<string, unknown>[] {
  const byName = new Map(features.map((f) => [f.name, f]));
  let n: number | undefined;
  const columns = new Map<string, unknown[]>();
  req.inputs.forEach((input, i) => {
    const at = `inputs[${i}]`;
    const f = byName.get(input.name);
    if (!f) {
      fail(
        `${at}.name: unknown input '${input.name}'; send one input per feature: ${features.map((x) => x.name).join(', ')}`,
      );
    }
    const allowed = FEATURE_DATATYPES[f.type];
    if (!allowed.includes(input.datatype)) {
      fail(
        `${at}.datatype: is ${input.datatype}, but feature '${f.name}' (${f.type}) takes ${allowed.join(' or ')}`,
      );
    }
    const [rows, width, ...rest] = input.shape;
    if (rows === undefined || rest.length > 0 || (width !== undefined && width !== 1)) {
      fail(`${at}.shape: [${input.shape.join(', ')}] must be [N] or [N, 1] for feature column '${f.name}'`);
    }
    if (n === undefined) n = rows;
    else if (rows !== n)
      fail(`${at}.shape: has ${rows} rows but earlier inputs have ${n}; all columns need the same N`);
    checkBounds(input.shape, `${at}.shape`, limits);
    columns.set(f.name, valuesOf(input, input.datatype as Datatype, at));
  });
  const missing = features.filter((f) => f.required && !columns.has(f.name)).map((f) => f.name);
  if (missing.length > 0)
    fail(
      `missing input(s) ${missing.map((x) => `'${x}'`).join(', ')}; every required feature needs a column`,
    );
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < (n ?? 0); r++) {
    const row: Record<string, unknown> = {};
    for (const [name, col] of columns) row[name] = col[r];
    rows.push(row);
  }
  if (rows.length === 0) fail('inputs: N is 0; send at least one row');
  return rows;
}

function tensorFeeds(
  specs: readonly TensorSpec[],
  req: InferRequest,
  limits: ShapeLimits,
  text?: TextInput,
): Record<string, HostTensor> {
  const field = text?.spec.field;
  const textAt = field === undefined ? -1 : req.inputs.findIndex((x) => x.name === field);
  if (text && textAt >= 0) {
    const input = req.inputs[textAt] as InferInput;
    const at = `inputs[${textAt}]`;
    if (req.inputs.length > 1)
      fail(
        `inputs: send only '${field}'; the tokenizer makes ${specs.map((s) => s.name).join(', ')} from it`,
      );
    if (input.datatype !== 'BYTES') fail(`${at}.datatype: is ${input.datatype}; text is BYTES`);
    const [n, one, ...rest] = input.shape;
    if (n === undefined || rest.length > 0 || (one !== undefined && one !== 1))
      fail(`${at}.shape: [${input.shape.join(', ')}] must be [N] or [N, 1]: one text per element`);
    checkBounds([n, text.spec.maxLength], `${at}.shape`, limits);
    const values = input.raw
      ? (decodeBinaryTensor(input.raw, 'BYTES', input.shape, `${at}.data`) as string[])
      : flattenData(input.data, input.shape, `${at}.data`);
    const texts = values.map((v, i) => {
      if (typeof v !== 'string') fail(`${at}.data[${i}]: must be a string of text`);
      return v;
    });
    return text.tokenizer.feeds(texts, specs, (i) => `${at}.data[${i}]`);
  }
  const byName = new Map(specs.map((s) => [s.name, s]));
  const feeds: Record<string, HostTensor> = {};
  req.inputs.forEach((input, i) => {
    const at = `inputs[${i}]`;
    const spec = byName.get(input.name);
    if (!spec)
      fail(
        `${at}.name: unknown input '${input.name}'; this model's inputs are: ${specs.map((s) => s.name).join(', ')}`,
      );
    if (isImage(spec) && input.datatype === 'BYTES') {
      const [n = 0] = input.shape;
      checkBounds([n, 1], `${at}.shape`, limits);
      feeds[spec.name] = imageFeed(spec, imageFiles(input, at), (k) => `${at}.data[${k}]`, limits);
      return;
    }
    if (input.datatype !== spec.datatype) {
      const also = isImage(spec) ? ', or BYTES with PNG or JPEG files' : '';
      fail(`${at}.datatype: is ${input.datatype}, but input '${spec.name}' expects ${spec.datatype}${also}`);
    }
    checkShape(input.shape, spec, `${at}.shape`, limits);
    feeds[spec.name] = {
      type: DATATYPE_TO_TYPE[spec.datatype],
      data: input.raw
        ? decodeBinaryTensor(input.raw, spec.datatype, input.shape, `${at}.data`)
        : toTypedArray(flattenData(input.data, input.shape, `${at}.data`), spec.datatype, `${at}.data`),
      dims: input.shape,
    };
  });
  const missing = specs.filter((s) => !feeds[s.name]).map((s) => s.name);
  if (missing.length > 0) fail(`missing input(s) ${missing.map((x) => `'${x}'`).join(', ')}`);
  return feeds;
}

function requireOutput(out: Record<string, HostTensor>, name: string): HostTensor {
  const t = out[name];
  if (!t) throw new InferaError(`Model produced no output '${name}'.`);
  return t;
}

/** Column count per row of a [N, K] (or [N]) score tensor, checked against the labels. */
function columns(m: Manifest, t: HostTensor, n: number): number {
  const k = n === 0 ? 0 : t.data.length / n;
  const labels = m.outputs.labels;
  if (m.task === 'multiclass-classification' && labels && k !== labels.length) {
    throw new InferaError(
      `Model output '${m.outputs.tensor}' has ${k} columns but the manifest lists ${labels.length} labels.`,
    );
  }
  if (m.task === 'binary-classification' && k !== 1 && k !== 2) {
    throw new InferaError(`Binary model output '${m.outputs.tensor}' must have 1 or 2 columns, has ${k}.`);
  }
  return k;
}

/** Maps raw outputs to v1 predictions: label, score and probabilities, or a value, or raw tensors. */
export function toPredictions(m: Manifest, out: Record<string, HostTensor>, n: number): Prediction[] {
  const preds: Prediction[] = new Array(n);
  if (m.task === 'tensor') {
    const specs = m.outputs.tensors ?? [];
    const flat = specs.map((s) => {
      const t = requireOutput(out, s.name);
      return { name: s.name, t, json: tensorToJson(t) };
    });
    for (let i = 0; i < n; i++) {
      const p: Prediction = {};
      for (const { name, t, json } of flat) {
        const per = json.length / n;
        p[name] = nest(json.slice(i * per, (i + 1) * per), t.dims.slice(1));
      }
      preds[i] = p;
    }
    return preds;
  }
  const t = requireOutput(out, m.outputs.tensor as string);
  const d = numbersOf(t);
  if (m.task === 'embedding') {
    const dim = t.dims[1] ?? 0;
    for (let i = 0; i < n; i++) preds[i] = { embedding: Array.from(d.subarray(i * dim, (i + 1) * dim)) };
    return preds;
  }
  const k = columns(m, t, n);
  const labels = m.outputs.labels ?? [];
  for (let i = 0; i < n; i++) {
    if (m.task === 'regression') {
      preds[i] = { value: k === 1 ? (d[i] as number) : Array.from(d.subarray(i * k, (i + 1) * k)) };
    } else if (m.task === 'binary-classification') {
      const pos = k === 2 ? (d[i * 2 + 1] as number) : (d[i] as number);
      const neg = k === 2 ? (d[i * 2] as number) : 1 - pos;
      const [negLabel, posLabel] = labels as [string, string];
      preds[i] = {
        label: pos >= (m.outputs.threshold ?? 0.5) ? posLabel : negLabel,
        score: pos,
        probabilities: { [negLabel]: neg, [posLabel]: pos },
      };
    } else {
      let best = 0;
      const probabilities: Record<string, number> = {};
      for (let c = 0; c < k; c++) {
        const v = d[i * k + c] as number;
        probabilities[labels[c] as string] = v;
        if (v > (d[i * k + best] as number)) best = c;
      }
      preds[i] = { label: labels[best] as string, score: d[i * k + best] as number, probabilities };
      if (m.outputs.topK)
        (preds[i] as Prediction).top = topK(d.subarray(i * k, (i + 1) * k), labels, m.outputs.topK);
    }
  }
  return preds;
}

function toV2Outputs(m: Manifest, out: Record<string, HostTensor>, n: number): InferOutput[] {
  if (m.task === 'tensor') {
    return (m.outputs.tensors ?? []).map((s) => {
      const t = requireOutput(out, s.name);
      return { name: s.name, datatype: TYPE_TO_DATATYPE[t.type], shape: [...t.dims], data: tensorToJson(t) };
    });
  }
  const t = requireOutput(out, m.outputs.tensor as string);
  if (m.task === 'embedding') {
    return [{ name: 'embedding', datatype: 'FP32', shape: [...t.dims], data: tensorToJson(t) }];
  }
  const k = columns(m, t, n);
  const values = tensorToJson(t) as number[];
  if (m.task === 'regression') {
    return [{ name: 'value', datatype: 'FP32', shape: k === 1 ? [n] : [n, k], data: values }];
  }
  const preds = toPredictions(m, out, n);
  const labels = m.outputs.labels ?? [];
  const probabilities =
    m.task === 'binary-classification' && k === 1 ? values.flatMap((p) => [1 - p, p]) : values;
  return [
    {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [n, labels.length],
      parameters: { labels },
      data: probabilities,
    },
    { name: 'label', datatype: 'BYTES', shape: [n], data: preds.map((p) => p.label) },
    { name: 'score', datatype: 'FP32', shape: [n], data: preds.map((p) => p.score) },
  ];
}

function v2OutputMetadata(m: Manifest): { name: string; datatype: string; shape: number[] }[] {
  if (m.task === 'tensor')
    return (m.outputs.tensors ?? []).map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
  if (m.task === 'regression') return [{ name: 'value', datatype: 'FP32', shape: [-1] }];
  if (m.task === 'embedding') return [{ name: 'embedding', datatype: 'FP32', shape: [-1, -1] }];
  return [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, m.outputs.labels?.length ?? -1] },
    { name: 'label', datatype: 'BYTES', shape: [-1] },
    { name: 'score', datatype: 'FP32', shape: [-1] },
  ];
}

/** Compares the ONNX graph's inputs and outputs with the manifest; each problem names the fix. */
function checkSignature(mv: ModelVersion, model: LoadedModel): string[] {
  const m = mv.manifest;
  const where = `${rel(mv.dir)}/model.json`;
  const problems: string[] = [];
  const graphInputs = new Map(model.inputs.map((v) => [v.name, v]));
  const graphOutputs = new Map(model.outputs.map((v) => [v.name, v]));
  const list = (names: Iterable<string>) => [...names].join(', ');
  if (m.inputs.kind === 'tabular') {
    const input = graphInputs.get(m.inputs.tensor);
    if (!input) {
      problems.push(
        `${where}: inputs.tensor is "${m.inputs.tensor}" but model.onnx has inputs: ${list(graphInputs.keys())}; set "tensor" to the one that takes the feature matrix`,
      );
    } else {
      if (input.type !== 'float32')
        problems.push(
          `${where}: tabular input "${input.name}" must be float32 in the graph, is ${input.type}`,
        );
      const width = input.shape?.[1];
      if (input.shape?.length !== 2) {
        problems.push(
          `${where}: tabular input "${input.name}" must have shape [N, features], has [${input.shape?.join(', ')}]`,
        );
      } else if (typeof width === 'number' && width !== m.inputs.features.length) {
        problems.push(
          `${where}: model.onnx takes ${width} features but inputs.features lists ${m.inputs.features.length}; list them in the graph's column order`,
        );
      }
    }
    for (const name of graphInputs.keys()) {
      if (name !== m.inputs.tensor)
        problems.push(`${where}: graph input "${name}" is not described in the manifest`);
    }
  } else {
    for (const spec of m.inputs.tensors) {
      const g = graphInputs.get(spec.name);
      if (!g) {
        problems.push(
          `${where}: input "${spec.name}" is not in model.onnx (graph inputs: ${list(graphInputs.keys())})`,
        );
        continue;
      }
      const want = DATATYPE_TO_TYPE[spec.datatype];
      if (g.type !== want)
        problems.push(
          `${where}: input "${spec.name}" is ${spec.datatype} in the manifest but ${g.type} in model.onnx`,
        );
      if (g.shape && g.shape.length > 0 && g.shape.length !== spec.shape.length) {
        problems.push(
          `${where}: input "${spec.name}" has rank ${spec.shape.length} in the manifest but ${g.shape.length} in model.onnx`,
        );
      } else if (g.shape) {
        // A fixed size in both that differs would fail every request; a -1 or a symbolic one is free.
        spec.shape.forEach((d, i) => {
          const gd = g.shape?.[i];
          if (d !== -1 && typeof gd === 'number' && gd > 0 && gd !== d) {
            problems.push(
              `${where}: input "${spec.name}" dimension ${i} is ${d} in the manifest but ${gd} in model.onnx (graph shape [${g.shape?.join(', ')}]); make them the same, or use -1`,
            );
          }
        });
      }
    }
    for (const name of graphInputs.keys()) {
      if (!m.inputs.tensors.some((t) => t.name === name))
        problems.push(`${where}: graph input "${name}" is not described in the manifest`);
    }
  }
  for (const name of outputNames(m)) {
    const g = graphOutputs.get(name);
    if (!g) {
      problems.push(
        `${where}: output "${name}" is not in model.onnx (graph outputs: ${list(graphOutputs.keys())})`,
      );
    } else if (m.task !== 'tensor' && g.type !== 'float32') {
      problems.push(`${where}: output "${name}" must be float32 for task ${m.task}, is ${g.type}`);
    }
  }
  const scores = m.outputs.tensor ? graphOutputs.get(m.outputs.tensor) : undefined;
  const width = scores?.shape?.[scores.shape.length - 1];
  const labels = m.outputs.labels;
  if (
    m.task === 'multiclass-classification' &&
    labels &&
    typeof width === 'number' &&
    width !== labels.length
  ) {
    problems.push(
      `${where}: output "${m.outputs.tensor}" has ${width} classes in model.onnx but the manifest has ${labels.length} labels${m.outputs.labelsFile ? ` (${m.outputs.labelsFile})` : ''}; give one label per class`,
    );
  }
  for (const spec of m.task === 'tensor' ? (m.outputs.tensors ?? []) : []) {
    const g = graphOutputs.get(spec.name);
    if (g && g.type !== DATATYPE_TO_TYPE[spec.datatype]) {
      problems.push(
        `${where}: output "${spec.name}" is ${spec.datatype} in the manifest but ${g.type} in model.onnx`,
      );
    }
  }
  return problems;
}
