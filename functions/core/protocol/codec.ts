/**
 * The codec: every transport's request decoded into one InferenceRequest, and every result
 * encoded back in the caller's protocol (kserve's model server does the same with its
 * InferRequest). The Lambda edge, the serving container and the batch worker call these two and
 * nothing else reads a protocol; the scorer between them sees only the InferenceRequest.
 */
import { ValidationError } from '../errors.ts';
import type { Manifest } from '../model/manifest.ts';
import { tensorToJson } from '../tensor/to-json.ts';
import { attachBinaryInputs, type BinaryData } from './binary.ts';
import { binaryOutputNames, encodeBinaryOutputs } from './binary-outputs.ts';
import { type RawBody, rawInstance } from './raw.ts';
import type { InferRequest, InferResponse, Prediction, PredictRequest } from './schemas.ts';

/** One inference request, whatever way it came in. */
export type InferenceRequest =
  | { readonly protocol: 'v1'; readonly instances: readonly unknown[] }
  | { readonly protocol: 'v2'; readonly request: InferRequest };

/** What a transport has read: a v1 body, a raw file or text, rows (CSV, JSON Lines), or a v2 body. */
export type Incoming =
  | { readonly protocol: 'v1'; readonly body: PredictRequest }
  | { readonly protocol: 'v1'; readonly raw: RawBody }
  | { readonly protocol: 'v1'; readonly rows: readonly unknown[] }
  | { readonly protocol: 'v2'; readonly body: InferRequest; readonly binary?: BinaryData | undefined };

/**
 * Decodes what a transport read into the canonical request: a raw body becomes the one instance
 * it stands for; binary tensor bytes are attached, still bytes, to the inputs that declared them.
 */
export function decode(incoming: Incoming, manifest: Manifest): InferenceRequest {
  if (incoming.protocol === 'v2') {
    if (incoming.binary)
      return { protocol: 'v2', request: attachBinaryInputs(incoming.body, incoming.binary.data) };
    const i = incoming.body.inputs.findIndex((x) => x.parameters?.binary_data_size !== undefined);
    if (i >= 0) {
      throw new ValidationError(
        `inputs[${i}] declares parameters.binary_data_size, but the request has no Inference-Header-Content-Length header (or SageMaker's ;json-header-size= in the Content-Type) saying where its JSON ends`,
      );
    }
    return { protocol: 'v2', request: incoming.body };
  }
  if ('raw' in incoming) return { protocol: 'v1', instances: [rawInstance(manifest, incoming.raw)] };
  if ('rows' in incoming) return { protocol: 'v1', instances: incoming.rows };
  return { protocol: 'v1', instances: incoming.body.instances };
}

/** What scoring produced, as the codec needs it. */
export interface Outcome {
  readonly predictions: readonly Prediction[];
  /** The v2 answer, for a v2 request. */
  readonly response?: InferResponse | undefined;
  /** The model that answered instead, when the endpoint could not. */
  readonly fallback?:
    | { readonly model: string; readonly version: string; readonly reason: string }
    | undefined;
}

export type Encoded =
  | { readonly kind: 'json'; readonly body: unknown }
  /** Binary tensor data: the JSON header, then each binary output's bytes. */
  | { readonly kind: 'binary'; readonly header: unknown; readonly chunks: readonly Uint8Array[] };

/**
 * Encodes a result in the request's protocol: v1's `{model, version, predictions}`, or the v2
 * response with the outputs the client asked for as binary data (typed until these bytes).
 */
export function encode(
  mv: { readonly name: string; readonly version: string },
  request: InferenceRequest,
  outcome: Outcome,
): Encoded {
  if (request.protocol === 'v1' || !outcome.response) {
    const { fallback } = outcome;
    return {
      kind: 'json',
      body: {
        model: mv.name,
        version: mv.version,
        predictions: outcome.predictions,
        ...(fallback ? { fallback } : {}),
      },
    };
  }
  const response = outcome.response;
  const asBinary = binaryOutputNames(
    request.request,
    response.outputs.map((o) => o.name),
  );
  if (asBinary.size === 0) return { kind: 'json', body: response };
  const { header, chunks } = encodeBinaryOutputs(response, asBinary);
  return { kind: 'binary', header, chunks };
}

/** A v2 answer with every output's data as JSON, the typed tensors a binary encode would write included. */
export function jsonResponse(response: InferResponse): InferResponse {
  if (!response.outputs.some((o) => o.tensor)) return response;
  return {
    ...response,
    outputs: response.outputs.map(({ tensor, ...o }) => (tensor ? { ...o, data: tensorToJson(tensor) } : o)),
  };
}

/** The v2 `score` output as predictions, so v2 traffic feeds score drift and shadow deltas too. */
export function scorePredictions(response: InferResponse): Prediction[] {
  const scores = response.outputs.find((o) => o.name === 'score');
  if (!scores) return [];
  return (scores.tensor ? tensorToJson(scores.tensor) : (scores.data ?? [])).map((s) => ({
    score: Number(s),
  }));
}

/** A v1 result as CSV (label,score per line, or the value): SageMaker batch transform's text/csv. */
export function predictionsCsv(preds: readonly Prediction[]): string {
  return `${preds
    .map((p) =>
      p.label !== undefined
        ? `${p.label},${p.score}`
        : Array.isArray(p.value)
          ? p.value.join(',')
          : p.value !== undefined
            ? String(p.value)
            : JSON.stringify(p),
    )
    .join('\n')}\n`;
}
