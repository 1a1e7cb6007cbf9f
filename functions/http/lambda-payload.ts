/**
 * Lambda's synchronous payload limits, applied where the bytes are made: the edge refuses an
 * answer Lambda could not return (AWS rule lambda-sync-response) with a 413 that says what to do,
 * instead of the bare 500 API Gateway gives when the invocation fails; npm start's gateway
 * measures events and results as Lambda would. The numbers come from functions/core/aws/rules.ts.
 */
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { limitOf, megabytes } from '#core/aws/rules.ts';
import { PayloadTooLargeError } from '#core/errors.ts';

/** Bodies below this cannot reach the limit with the envelope and headers: no need to measure. */
const SURELY_FITS = 4 * 1024 * 1024;

/** The bytes Lambda counts for a result: its JSON, as the runtime serializes it. */
export function resultBytes(result: APIGatewayProxyResultV2): number {
  if (typeof result === 'object' && result !== null && 'body' in result) {
    const body = result.body ?? '';
    if (body.length < SURELY_FITS) return body.length;
  }
  return Buffer.byteLength(JSON.stringify(result));
}

/** Throws a 413 naming the limit and the ways around it when Lambda could not return `result`. */
export function assertResultFits<R extends APIGatewayProxyResultV2>(result: R): R {
  const bytes = resultBytes(result);
  const limit = limitOf('lambda-sync-response');
  if (bytes > limit) {
    throw new PayloadTooLargeError(
      `The answer is ${megabytes(bytes)} (${bytes} bytes); Lambda returns at most ${megabytes(limit)} (${limit} bytes, AWS rule lambda-sync-response). Ask for binary outputs (v2: "parameters": {"binary_data_output": true}), send fewer instances per request, or use batch scoring (POST /v1/batch), which writes results to S3.`,
    );
  }
  return result;
}
