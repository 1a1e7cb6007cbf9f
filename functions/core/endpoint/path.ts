/**
 * A model routed to a SageMaker endpoint: the request is checked here first, sent in parts under
 * the synchronous payload limit, and answered by the model's fallback while the endpoint's circuit
 * is open (when one is configured and the caller allows it).
 */
import { NotImplementedError, PayloadTooLargeError } from '../errors.ts';
import type { EndpointRef } from '../model/placement.ts';
import type { ModelRegistry, ModelVersion } from '../model/registry.ts';
import { type InputMoments, inputMoments } from '../monitoring/inputs.ts';
import { type InferenceRequest, scorePredictions } from '../protocol/codec.ts';
import { asJsonRequest } from '../protocol/decode-v2.ts';
import type { InferRequest, InferResponse, Prediction } from '../protocol/schemas.ts';
import { checkInstances, feedsV2 } from '../scoring/feeds.ts';
import { resolveImages } from '../scoring/images.ts';
import type { PreparedVersions } from '../scoring/prepared.ts';
import {
  endpointPayloadLimit,
  endpointPayloadRule,
  type ScoreOptions,
  type ScoreResult,
  type Served,
} from '../scoring/types.ts';
import { parseInferResponse, parsePredictions, splitForPayload } from './codec.ts';
import { EndpointError } from './faults.ts';
import type { RemoteEndpoints } from './remote.ts';

/** Endpoint failures after which a fallback answers: the endpoint could not answer at all. */
const CANNOT_ANSWER: ReadonlySet<string> = new Set(['circuit-open', 'unavailable', 'network']);

/** How the endpoint path answers from a fallback version: in-process scoring. */
export interface FallbackScoring {
  run(mv: ModelVersion, request: InferenceRequest, opts: ScoreOptions): Promise<ScoreResult>;
}

/** What checking a request found: its rows and input statistics, for monitoring. */
interface Checked {
  readonly rows?: readonly unknown[] | undefined;
  readonly inputs?: readonly InputMoments[] | undefined;
}

function sagemaker(
  endpoint: EndpointRef,
  variant: string | undefined,
  attempts: number,
  calls: number,
  provider: string | undefined,
): Served {
  return {
    target: 'sagemaker',
    endpoint: endpoint.name,
    variant,
    attempts,
    calls,
    ...(provider ? { provider } : {}),
  };
}

export interface EndpointPathOptions {
  readonly remote: RemoteEndpoints | undefined;
  /** Rows per endpoint call. */
  readonly maxRows?: number;
  /** Request bytes per endpoint call. @default the endpoint's limit, less 1 KB */
  readonly maxBytes?: number;
}

export class EndpointPath {
  readonly #registry: ModelRegistry;
  readonly #versions: PreparedVersions;
  readonly #fallback: FallbackScoring;
  readonly #remote: RemoteEndpoints | undefined;
  readonly #maxRows: number;
  readonly #maxBytes: number | undefined;

  constructor(
    registry: ModelRegistry,
    versions: PreparedVersions,
    fallback: FallbackScoring,
    opts: EndpointPathOptions,
  ) {
    this.#registry = registry;
    this.#versions = versions;
    this.#fallback = fallback;
    this.#remote = opts.remote;
    this.#maxRows = opts.maxRows ?? 1000;
    this.#maxBytes = opts.maxBytes;
  }

  /** Bytes one call may carry: the setting, or the endpoint's limit less room for framing. */
  #maxBytesFor(endpoint: EndpointRef): number {
    return this.#maxBytes ?? endpointPayloadLimit(endpoint) - 1024;
  }

  /**
   * A request on the endpoint; answered by the fallback when one is configured, the caller allows
   * it, nothing was scored yet and the endpoint could not answer (see #fallbackFor).
   */
  async run(mv: ModelVersion, request: InferenceRequest, opts: ScoreOptions): Promise<ScoreResult> {
    const progress = { scored: 0 };
    // Checked here first: a bad request is a 400 naming the field, and never costs an endpoint call.
    const checked =
      request.protocol === 'v1'
        ? { rows: request.instances, inputs: await this.#checkV1(mv, request.instances, opts) }
        : await this.#checkV2(mv, request.request, opts);
    try {
      return request.protocol === 'v1'
        ? await this.#predict(mv, request.instances, checked, opts, progress)
        : await this.#infer(mv, request.request, checked, opts);
    } catch (err) {
      const fb = this.#fallbackFor(mv, err, opts, progress.scored === 0);
      if (!fb) throw err;
      const r = await this.#fallback.run(fb.mv, request, {});
      if (!r.response)
        return { predictions: r.predictions, served: fb.served, rows: checked.rows, count: r.count };
      const response: InferResponse = {
        ...r.response,
        model_name: mv.name,
        model_version: mv.version,
        parameters: { ...r.response.parameters, fallback_model: fb.mv.name, fallback_version: fb.mv.version },
      };
      return { ...checked, response, predictions: r.predictions, served: fb.served, count: r.count };
    }
  }

  /** v1 instances checked as in-process scoring would (not with a processor: the container runs it first). */
  async #checkV1(mv: ModelVersion, instances: readonly unknown[], opts: ScoreOptions) {
    if (mv.manifest.processor) return undefined;
    const v = this.#versions;
    return checkInstances(mv, instances, v.schema(mv), await v.text(mv), v.images, opts);
  }

  /** A v2 request checked, with its rows (tabular) and input statistics (tensors) for monitoring. */
  async #checkV2(mv: ModelVersion, req: InferRequest, opts: ScoreOptions): Promise<Checked> {
    const { rows, feeds } = feedsV2(mv, req, this.#versions.schema(mv), opts, await this.#versions.text(mv));
    await resolveImages(feeds, this.#versions.images, opts);
    const m = mv.manifest;
    return { rows, inputs: m.inputs.kind === 'tensors' ? inputMoments(m, feeds) : undefined };
  }

  /** v1 on the endpoint, in as many calls as the payload limit needs. */
  async #predict(
    mv: ModelVersion,
    instances: readonly unknown[],
    checked: Checked,
    opts: ScoreOptions,
    progress: { scored: number },
  ): Promise<ScoreResult> {
    const { remote, endpoint } = this.#endpoint(mv);
    const parts = splitForPayload(instances, this.#maxRows, this.#maxBytesFor(endpoint));
    const predictions: Prediction[] = [];
    let attempts = 0;
    let variant: string | undefined;
    let provider: string | undefined;
    for (const part of parts) {
      const r = await remote.invoke(endpoint, {
        body: part.body,
        contentType: 'application/json',
        accept: 'application/json',
        ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
        parse: (reply) => parsePredictions(reply.body, part.count),
      });
      for (const p of r.value) predictions.push(p);
      progress.scored = predictions.length;
      attempts += r.attempts;
      variant = r.variant;
      provider = r.provider ?? provider;
    }
    const served = sagemaker(endpoint, variant, attempts, parts.length, provider);
    return { ...checked, predictions, served, count: predictions.length };
  }

  /** v2 on the endpoint, in one call under the synchronous payload limit. */
  async #infer(
    mv: ModelVersion,
    req: InferRequest,
    checked: Checked,
    opts: ScoreOptions,
  ): Promise<ScoreResult> {
    const { remote, endpoint } = this.#endpoint(mv);
    const body = JSON.stringify(asJsonRequest(req, mv.manifest));
    if (Buffer.byteLength(body) > this.#maxBytesFor(endpoint)) {
      throw new PayloadTooLargeError(
        `This request is ${Buffer.byteLength(body)} bytes; model '${mv.name}' runs on a SageMaker ${endpoint.serverless ? 'Serverless ' : ''}endpoint, whose synchronous limit is ${endpointPayloadLimit(endpoint)} bytes (AWS rule ${endpointPayloadRule(endpoint)}). Send fewer rows per request, or use batch scoring (POST /v1/batch), which splits large inputs across calls.`,
      );
    }
    const r = await remote.invoke(endpoint, {
      body,
      contentType: 'application/json',
      accept: 'application/json',
      ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
      parse: (reply) => parseInferResponse(reply.body),
    });
    const response = { ...r.value, model_name: mv.name, model_version: mv.version };
    return {
      ...checked,
      response,
      predictions: scorePredictions(response),
      served: sagemaker(endpoint, r.variant, r.attempts, 1, r.provider),
      count: response.outputs[0]?.shape[0] ?? 0,
    };
  }

  #endpoint(mv: ModelVersion): { remote: RemoteEndpoints; endpoint: EndpointRef } {
    const endpoint = mv.placement.endpoint;
    if (!this.#remote || !endpoint) {
      throw new NotImplementedError(
        `Model '${mv.name}' version ${mv.version} is served by SageMaker endpoint ${endpoint?.name ?? '(none)'}, and this process has no SageMaker client configured.`,
      );
    }
    return { remote: this.#remote, endpoint };
  }

  /**
   * The fallback version to answer with, when one is configured and the endpoint cannot answer:
   * its circuit is open, or this request's own attempts found it unavailable or unreachable. Not
   * when it answered (its container refused the input or failed on it, or answered nonsense), is
   * busy (429 tells the caller when to retry), used the request's whole budget (no time is left
   * to answer from anything), or does not exist (a deployment to fix, not to hide).
   */
  #fallbackFor(
    mv: ModelVersion,
    err: unknown,
    opts: ScoreOptions,
    nothingScored: boolean,
  ): { mv: ModelVersion; served: Served } | undefined {
    const fb = mv.placement.fallback;
    if (!fb || opts.allowFallback === false || !nothingScored) return undefined;
    if (!(err instanceof EndpointError) || !CANNOT_ANSWER.has(err.kind)) return undefined;
    const fbv = this.#registry.resolve(fb.model, fb.version);
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
}
