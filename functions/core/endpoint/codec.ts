import { isRecord } from '../checked.ts';
import { PayloadTooLargeError } from '../errors.ts';
import { filesAsBase64 } from '../protocol/json.ts';
import {
  type InferResponse,
  inferResponseSchema,
  type Prediction,
  predictionSchema,
} from '../protocol/schemas.ts';
import { EndpointFault } from './faults.ts';

/**
 * The wire format between the scorer and a SageMaker endpoint running infera's container: request
 * bodies cut under the synchronous payload limit, and replies read back as predictions or a v2
 * infer response, or refused as a 'malformed' fault that says what was wrong.
 */

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
    const json = JSON.stringify(inst, filesAsBase64);
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

export function parsePredictions(body: string, expected: number): Prediction[] {
  const json = replyJson(body);
  const list = isRecord(json) ? json.predictions : undefined;
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

export function parseInferResponse(body: string): InferResponse {
  const parsed = inferResponseSchema.safeParse(replyJson(body));
  if (!parsed.success || parsed.data.outputs.length === 0)
    throw new EndpointFault(
      'malformed',
      'expected an Open Inference Protocol v2 infer response with outputs',
    );
  return parsed.data;
}
