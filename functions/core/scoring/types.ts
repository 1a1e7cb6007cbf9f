/** The scorer's public shapes: who served an answer, the options a caller passes, what it gets back. */

import type * as z from 'zod';
import { limitOf } from '../aws/rules.ts';
import type { RemoteEndpoints } from '../endpoint/remote.ts';
import type { ModelVersion } from '../model/registry.ts';
import type { InputMoments } from '../monitoring/inputs.ts';
import type { ImageWork, LoadedModel } from '../ports.ts';
import type { Processor } from '../processor.ts';
import type { InferResponse, Prediction } from '../protocol/schemas.ts';
import type { TextInput } from '../text/load.ts';

/** A model version made ready to serve: its session plus everything derived once from its manifest. */
export interface Prepared {
  readonly mv: ModelVersion;
  readonly model: LoadedModel;
  /** Instance schema of a tabular model; tensor models are checked by shape instead. */
  readonly schema?: z.ZodType<Record<string, unknown>> | undefined;
  /** Size of the model file the session was made from: what the session cache's budget counts. */
  readonly modelBytes: number;
  /** A text model's tokenizer. */
  readonly text?: TextInput | undefined;
  /** The version's processor.ts, when its manifest names one. */
  readonly processor?: Processor | undefined;
}

/** How many sessions a process keeps, and when it loads them. */
export interface SessionCacheOptions {
  /**
   * Estimated memory the loaded sessions may hold (2x the model file plus a fixed part each); the
   * least recently used idle ones are released beyond it. The most recent one always stays.
   * @default unbounded
   */
  readonly maxBytes?: number;
  /** Load each session on its first request instead of at start. @default false */
  readonly lazy?: boolean;
}

/**
 * Who answered a request, in the placement's words: `lambda` when this process ran the graph, as a
 * model placed on Lambda runs (the serving container, a batch worker and npm start say so too),
 * the model's SageMaker endpoint, or its fallback.
 */
export type Served =
  | { readonly target: 'lambda' }
  | {
      readonly target: 'sagemaker';
      readonly endpoint: string;
      readonly variant: string | undefined;
      readonly attempts: number;
      readonly calls: number;
      /** The execution provider the endpoint's container reported (cuda on a GPU endpoint). */
      readonly provider?: string;
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
  /** Aborted when the answer is no longer wanted (the client went away): stops image decoding. */
  readonly signal?: AbortSignal;
}

/** What one request's scoring produced, whatever its protocol: the after-step reads this. */
export interface ScoreResult {
  readonly served: Served;
  /** v1 predictions, or a v2 answer's `score` output as predictions. */
  readonly predictions: readonly Prediction[];
  /** The v2 answer, for a v2 request. */
  readonly response?: InferResponse | undefined;
  /** The request's rows as v1 instances (a v1 request's, or a tabular v2 request's). */
  readonly rows?: readonly unknown[] | undefined;
  /** A tensor, image or text model's input statistics for monitoring (inputKeys order). */
  readonly inputs?: readonly InputMoments[] | undefined;
  /** Rows answered. */
  readonly count: number;
}

export interface ScorerOptions {
  /** Calls SageMaker endpoints for models routed there; without it they answer 501. */
  readonly remote?: RemoteEndpoints;
  /** Serve every version in-process whatever its route (the serving container does). */
  readonly serveAll?: boolean;
  /** The session cache's budget and loading. @default every session loaded at start, none released */
  readonly sessions?: SessionCacheOptions;
  /** Wraps each loaded model, e.g. with micro-batching. */
  readonly wrap?: (model: LoadedModel, mv: ModelVersion) => LoadedModel;
  /** Rows per endpoint call; larger inputs (batch chunks) go in several calls. */
  readonly remoteMaxRows?: number;
  /** Request bytes per endpoint call: SageMaker's synchronous limit is 6 MB. */
  readonly remoteMaxBytes?: number;
  /** Where image files are decoded. @default in the calling thread (core/image/work.ts) */
  readonly images?: ImageWork;
}

/** The AWS rule that bounds an InvokeEndpoint request: serverless endpoints take less. */
export function endpointPayloadRule(endpoint: {
  readonly serverless?: unknown;
}): 'sagemaker-serverless-payload' | 'sagemaker-realtime-payload' {
  return endpoint.serverless ? 'sagemaker-serverless-payload' : 'sagemaker-realtime-payload';
}

/** SageMaker InvokeEndpoint's request limit for an endpoint: 4 MB serverless, 6 MB on instances. */
export function endpointPayloadLimit(endpoint: { readonly serverless?: unknown }): number {
  return limitOf(endpointPayloadRule(endpoint));
}
