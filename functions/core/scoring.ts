import { join } from 'node:path';
import type * as z from 'zod';
import { parseInferResponse, parsePredictions, splitForPayload } from './endpoint-codec.ts';
import {
  invalid as fail,
  InferaError,
  ModelPackageError,
  NotImplementedError,
  PayloadTooLargeError,
} from './errors.ts';
import { featureDatatype, instanceSchema, validateInstances } from './features.ts';
import { loadImageCodecs } from './image/codecs.ts';
import { type InputMoments, inputMoments } from './monitoring/inputs.ts';
import { relPath as rel } from './paths.ts';
import type { EngineOptions, HostTensor, InferenceEngine, LoadedModel } from './ports.ts';
import { postprocess } from './postprocess.ts';
import {
  loadProcessor,
  type Postprocess,
  type Preprocess,
  type Processor,
  type ProcessorContext,
  runStep,
} from './processor.ts';
import type { InferRequest, InferResponse, Prediction, V2ModelMetadata } from './protocol.ts';
import type { ModelRegistry, ModelVersion } from './registry.ts';
import { EndpointError, type RemoteEndpoints } from './remote.ts';
import { readModelBytes } from './repository.ts';
import type { EndpointRef } from './routing.ts';
import { asInstance, stackTensorInstances, tabularFeeds } from './seam/decode-v1.ts';
import { asJsonRequest, columnsToRows, tensorFeeds } from './seam/decode-v2.ts';
import { outputNames, toPredictions, toV2Outputs, v2OutputMetadata } from './seam/encode.ts';
import { checkSignature } from './seam/signature.ts';
import { DEFAULT_SHAPE_LIMITS, type ShapeLimits } from './tensors.ts';
import { loadTokenizer, type TextInput } from './text/load.ts';

/** A model version made ready to serve: its session plus everything derived once from its manifest. */
interface Prepared {
  readonly mv: ModelVersion;
  readonly model: LoadedModel;
  /** Instance schema of a tabular model; tensor models are checked by shape instead. */
  readonly schema?: z.ZodType<Record<string, unknown>>;
}

type Run = (feeds: Record<string, HostTensor>) => Promise<Record<string, HostTensor>>;

/**
 * Who answered a request: this process (a Lambda function, the serving container, a batch worker
 * or npm start), the model's endpoint, or its fallback.
 */
export type Served =
  | { readonly target: 'in-process' }
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
 * The scoring core: one session per model version per process, and one pipeline for every way in.
 * decode (seam/decode-v1.ts: v1 instances, a raw body's instance, batch rows; seam/decode-v2.ts:
 * v2 JSON and binary) → validate and pre-process (features, image/, text/, processor.ts) → one
 * session.run → post-process (postprocess.ts, processor.ts) → encode (seam/encode.ts) in the
 * caller's protocol. Routing to a SageMaker endpoint and its fallback happen here too. Knows
 * nothing of HTTP or AWS; handlers adapt it.
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
  inProcess(mv: ModelVersion): boolean {
    return this.#extra.serveAll === true || routedInProcess(mv);
  }

  /**
   * Loads every locally served version and checks each graph against its manifest, so a mismatch
   * fails start-up (naming the file and the fix) instead of a request.
   */
  async warmup(): Promise<void> {
    const problems: string[] = [];
    for (const mv of this.registry.allVersions()) {
      if (!this.inProcess(mv)) continue;
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
    return this.registry.allVersions().every((mv) => !this.inProcess(mv) || this.#prepared.has(mv));
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
    const bytes = await readModelBytes(mv);
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
    if (!this.inProcess(mv)) {
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
    if (!this.inProcess(mv)) return this.#remotePredict(mv, instances, opts);
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
    return { predictions: out, served: { target: 'in-process' }, ...(inputs ? { inputs } : {}) };
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
   * endpoint's circuit is open (with or without a fallback answering in its place).
   */
  readiness(mv: ModelVersion): { ready: boolean; reason?: string } {
    if (!this.ready) return { ready: false, reason: 'the models are still loading' };
    if (this.inProcess(mv)) return { ready: true };
    const endpoint = mv.route.endpoint;
    if (!this.remote || !endpoint) {
      return {
        ready: false,
        reason: `this process has no SageMaker client for ${endpoint?.name ?? 'its endpoint'}`,
      };
    }
    if (this.remote.breaker(endpoint).state !== 'open') return { ready: true };
    // Not ready even with a fallback: the model itself cannot answer. Its predictions are still
    // answered, by the fallback, and the reason says so (issue 17, item 12).
    const fb = mv.route.fallback;
    if (fb) {
      return {
        ready: false,
        reason: `endpoint ${endpoint.name}'s circuit is open; ${fb.model} answers its predictions in its place`,
      };
    }
    return {
      ready: false,
      reason: `endpoint ${endpoint.name}'s circuit is open and no fallback is configured`,
    };
  }

  /**
   * Server readiness, strict as Triton's: every session is loaded and every live version (both
   * sides of a canary) can answer in this process. Lists the versions that cannot, and why.
   */
  serverReadiness(): {
    ready: boolean;
    reason?: string;
    models: { name: string; version: string; ready: boolean; reason: string }[];
  } {
    if (!this.ready) return { ready: false, reason: 'the models are still loading', models: [] };
    const models = this.registry.list().flatMap((entry) =>
      entry.policy.live.flatMap(({ version }) => {
        const mv = entry.versions.find((v) => v.version === version);
        if (!mv) return [];
        const { ready, reason } = this.readiness(mv);
        return reason ? [{ name: mv.name, version: mv.version, ready, reason }] : [];
      }),
    );
    return { ready: models.every((m) => m.ready), models };
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
    if (!this.inProcess(mv)) return this.#remoteInfer(mv, req, opts);
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
      served: { target: 'in-process' },
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
export function routedInProcess(mv: ModelVersion): boolean {
  return mv.route.target === 'lambda';
}

/** Loads the image decoders before a request to a model with an image input (once per process). */
function codecsFor(mv: ModelVersion): Promise<unknown> | undefined {
  const m = mv.manifest;
  return m.inputs.kind === 'tensors' && m.inputs.tensors.some((t) => t.image) ? loadImageCodecs() : undefined;
}
