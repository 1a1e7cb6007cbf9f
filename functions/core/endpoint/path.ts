/**
 * A model routed to a SageMaker endpoint: the request is checked here first, sent in parts under
 * the synchronous payload limit, and answered by the model's fallback while the endpoint's circuit
 * is open (when one is configured and the caller allows it).
 */
import { NotImplementedError, PayloadTooLargeError } from '../errors.ts';
import type { EndpointRef } from '../model/placement.ts';
import type { ModelRegistry, ModelVersion } from '../model/registry.ts';
import { inputMoments } from '../monitoring/inputs.ts';
import { asJsonRequest } from '../protocol/decode-v2.ts';
import type { InferRequest, InferResponse, Prediction } from '../protocol/schemas.ts';
import { checkInstances, feedsV2 } from '../scoring/feeds.ts';
import { resolveImages } from '../scoring/images.ts';
import type { PreparedVersions } from '../scoring/prepared.ts';
import {
  endpointPayloadLimit,
  endpointPayloadRule,
  type Inferred,
  type Scored,
  type ScoreOptions,
  type Served,
} from '../scoring/types.ts';
import { parseInferResponse, parsePredictions, splitForPayload } from './codec.ts';
import { EndpointError, type RemoteEndpoints } from './remote.ts';

/** Endpoint failures after which a fallback answers: the endpoint could not answer at all. */
const CANNOT_ANSWER: ReadonlySet<string> = new Set(['circuit-open', 'unavailable', 'network']);

/** How the endpoint path answers from a fallback version: in-process scoring, v1 and v2. */
export interface FallbackScoring {
  predict(mv: ModelVersion, instances: readonly unknown[]): Promise<Prediction[]>;
  infer(mv: ModelVersion, req: InferRequest): Promise<InferResponse>;
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

  /** v1 on the endpoint, in as many calls as the payload limit needs. */
  async predict(mv: ModelVersion, instances: readonly unknown[], opts: ScoreOptions): Promise<Scored> {
    // Checked here first: a bad request is a 400 naming the field, and never costs an endpoint call.
    // (Not with a processor: the container runs it first, and validates what it returns.)
    const inputs = mv.manifest.processor
      ? undefined
      : await checkInstances(
          mv,
          instances,
          this.#versions.schema(mv),
          await this.#versions.text(mv),
          this.#versions.images,
          opts,
        );
    const { remote, endpoint } = this.#endpoint(mv);
    const parts = splitForPayload(instances, this.#maxRows, this.#maxBytesFor(endpoint));
    const predictions: Prediction[] = [];
    let attempts = 0;
    let variant: string | undefined;
    let provider: string | undefined;
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
        provider = r.provider ?? provider;
      } catch (err) {
        const fb = this.#fallbackFor(mv, err, opts, predictions.length === 0);
        if (!fb) throw err;
        return { predictions: await this.#fallback.predict(fb.mv, instances), served: fb.served };
      }
    }
    return {
      predictions,
      served: {
        target: 'sagemaker',
        endpoint: endpoint.name,
        variant,
        attempts,
        calls: parts.length,
        ...(provider ? { provider } : {}),
      },
      ...(inputs ? { inputs } : {}),
    };
  }

  /** v2 on the endpoint, in one call under the synchronous payload limit. */
  async infer(mv: ModelVersion, req: InferRequest, opts: ScoreOptions): Promise<Inferred> {
    const { rows, feeds } = feedsV2(mv, req, this.#versions.schema(mv), opts, await this.#versions.text(mv));
    await resolveImages(feeds, this.#versions.images, opts);
    const m = mv.manifest;
    const withRows = {
      ...(rows ? { rows } : {}),
      ...(m.inputs.kind === 'tensors' ? { inputs: inputMoments(m, feeds) } : {}),
    };
    const { remote, endpoint } = this.#endpoint(mv);
    const body = JSON.stringify(asJsonRequest(req, mv.manifest));
    if (Buffer.byteLength(body) > this.#maxBytesFor(endpoint)) {
      throw new PayloadTooLargeError(
        `This request is ${Buffer.byteLength(body)} bytes; model '${mv.name}' runs on a SageMaker ${endpoint.serverless ? 'Serverless ' : ''}endpoint, whose synchronous limit is ${endpointPayloadLimit(endpoint)} bytes (AWS rule ${endpointPayloadRule(endpoint)}). Send fewer rows per request, or use batch scoring (POST /v1/batch), which splits large inputs across calls.`,
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
          ...(r.provider ? { provider: r.provider } : {}),
        },
        ...withRows,
      };
    } catch (err) {
      const fb = this.#fallbackFor(mv, err, opts, true);
      if (!fb) throw err;
      const response = await this.#fallback.infer(fb.mv, req);
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
