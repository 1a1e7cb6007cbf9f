import type * as z from 'zod';

/** Which deployed function serves an operation. The local gateway and the CDK API both read this. */
export type FunctionName = 'predict' | 'models' | 'batch';

export interface Operation {
  readonly id: string;
  readonly method: 'GET' | 'POST';
  /** API Gateway path template, e.g. /v1/models/{model}/predict. */
  readonly path: string;
  readonly function: FunctionName;
  readonly summary: string;
  readonly tag: 'v1' | 'v2' | 'meta' | 'batch';
  readonly request?: z.ZodType;
  readonly response: z.ZodType;
  readonly query?: Readonly<Record<string, string>>;
  /** Accepts the binary tensor data extension (a JSON header, then raw tensor bytes). */
  readonly binary?: boolean;
  /** Accepts a raw body, one input's file or text (image/png, image/jpeg, text/plain...). */
  readonly raw?: boolean;
}

/** Keeps each operation's literal id and schemas, so handlers get typed bodies. */
export const op = <const O extends Operation>(o: O): O => o;
