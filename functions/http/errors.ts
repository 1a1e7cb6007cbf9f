/**
 * One mapping from errors to answers, for the Lambda edge and the serving container alike (kserve
 * maps exceptions to statuses in one handler). An exposed InferaError answers with its status,
 * message, code and details; anything else is a 500 that names only an id to quote.
 */
import { InferaError, MethodNotAllowedError } from '#core/errors.ts';

export interface ErrorAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  /** Whether the error was the caller's to see (an exposed InferaError). */
  readonly exposed: boolean;
}

/**
 * The answer for an error. `id` is what an internal error's answer names: the request id on the
 * API, an error id in the container (whose log holds the message under it).
 */
export function errorAnswer(
  error: unknown,
  id: { readonly name: 'requestId' | 'errorId'; readonly value: string; readonly where: string },
): ErrorAnswer {
  if (error instanceof InferaError && error.expose) {
    return {
      status: error.status,
      exposed: true,
      body: {
        error: error.message,
        code: error.code,
        ...(error.details.length > 0 ? { details: error.details } : {}),
        ...(id.name === 'requestId' ? { requestId: id.value } : {}),
      },
      headers: {
        ...error.headers,
        ...(error instanceof MethodNotAllowedError ? { allow: error.allow.join(', ') } : {}),
      },
    };
  }
  return {
    status: 500,
    exposed: false,
    body: {
      error:
        id.name === 'requestId'
          ? `Internal error. Quote request id ${id.value} when reporting it.`
          : `Internal error in ${id.where}; its log holds the details under error id ${id.value}.`,
      code: 'internal_error',
      [id.name]: id.value,
    },
    headers: {},
  };
}
