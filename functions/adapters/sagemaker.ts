import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EndpointFault, type FaultKind } from '#core/endpoint/faults.ts';
import { fieldOf } from '#core/errors.ts';
import { DEFAULT_VARIANT } from '#core/model/placement.ts';
import type { EndpointCall, EndpointInvoker, EndpointReply } from '#core/ports.ts';

/**
 * SageMaker runtime behind the EndpointInvoker port. Locally the same client points at the
 * runtime `npm start` serves (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME); nothing else differs.
 * The SDK's own retries are off: the core retries within the request's time budget.
 */
export function sagemakerClient(opts: { endpoint?: string; timeoutMs: number }): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(3000, opts.timeoutMs),
      requestTimeout: opts.timeoutMs,
    }),
  });
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** Translates what the SDK throws into the core's vendor-neutral fault kinds. */
export function toFault(err: unknown): EndpointFault {
  const text = (key: string, from: unknown = err) => {
    const v = fieldOf(from, key);
    return typeof v === 'string' ? v : undefined;
  };
  const name = text('name') ?? '';
  const message = text('message') ?? String(err);
  const httpStatus = fieldOf(fieldOf(err, '$metadata'), 'httpStatusCode');
  const status = typeof httpStatus === 'number' ? httpStatus : undefined;
  const code = text('code') ?? text('code', fieldOf(err, 'cause')) ?? '';
  const originalStatus = fieldOf(err, 'OriginalStatusCode');
  let kind: FaultKind;
  if (name === 'ModelError') {
    return new EndpointFault('model', text('OriginalMessage') || message, {
      ...(typeof originalStatus === 'number' ? { originalStatus } : {}),
      cause: err,
    });
  }
  if (name === 'ValidationError') kind = /endpoint .* not found/i.test(message) ? 'missing' : 'invalid';
  else if (name === 'ModelNotReadyException' || name === 'ServiceUnavailable') kind = 'unavailable';
  else if (name === 'InternalFailure' || name === 'InternalDependencyException') kind = 'unavailable';
  else if (/throttl/i.test(name) || /TooManyRequests/i.test(name)) kind = 'throttled';
  else if (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    code === 'ETIMEDOUT' ||
    /timed? ?out/i.test(message)
  )
    kind = 'timeout';
  else if (NETWORK.has(code) || /socket hang up|ECONNREFUSED|ECONNRESET/i.test(message)) kind = 'network';
  else if (status !== undefined && status >= 500) kind = 'unavailable';
  else if (status === 429) kind = 'throttled';
  else if (status !== undefined && status < 500) kind = 'invalid';
  else kind = 'network';
  return new EndpointFault(kind, `${name ? `${name}: ` : ''}${message}`, { cause: err });
}

export class SageMakerInvoker implements EndpointInvoker {
  readonly client: SageMakerRuntimeClient;

  constructor(client: SageMakerRuntimeClient) {
    this.client = client;
  }

  async invoke(call: EndpointCall): Promise<EndpointReply> {
    try {
      const r = await this.client.send(
        new InvokeEndpointCommand({
          EndpointName: call.endpoint,
          // Pinned only when the manifest names a variant, so traffic shifting between variants still works.
          ...(call.variant && call.variant !== DEFAULT_VARIANT ? { TargetVariant: call.variant } : {}),
          Body: new TextEncoder().encode(call.body),
          ContentType: call.contentType,
          Accept: call.accept,
        }),
        { abortSignal: AbortSignal.timeout(Math.max(1, Math.floor(call.timeoutMs))) },
      );
      return {
        body: r.Body ? new TextDecoder().decode(r.Body) : '',
        ...(r.ContentType ? { contentType: r.ContentType } : {}),
        ...(r.InvokedProductionVariant ? { invokedVariant: r.InvokedProductionVariant } : {}),
        ...(r.CustomAttributes ? { customAttributes: r.CustomAttributes } : {}),
      };
    } catch (err) {
      throw toFault(err);
    }
  }
}
