/**
 * One error hierarchy for the whole platform. Each class carries the HTTP status it maps to,
 * so the mapping to a response lives in exactly one place (the http middleware), and the
 * core never needs to know about HTTP.
 */
export class InferaError extends Error {
  /** HTTP status this error becomes at the edge. */
  readonly status: number;
  /** Stable machine-readable code, e.g. `invalid_request`. */
  readonly code: string;
  /** Whether the message is safe to show a caller. Non-exposed errors become a generic 500. */
  readonly expose: boolean;
  /** Individual problems, e.g. one per offending field. */
  readonly details: readonly string[];
  /** Response headers the edge adds, e.g. Retry-After. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    message: string,
    opts: {
      status?: number;
      code?: string;
      expose?: boolean;
      details?: readonly string[];
      cause?: unknown;
      headers?: Readonly<Record<string, string>>;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = opts.status ?? 500;
    this.code = opts.code ?? 'internal_error';
    this.expose = opts.expose ?? this.status < 500;
    this.details = opts.details ?? [];
    this.headers = opts.headers ?? {};
  }
}

/** The request is malformed or breaks the model's input schema (400). */
export class ValidationError extends InferaError {
  constructor(message: string, details: readonly string[] = [], cause?: unknown) {
    super(message, { status: 400, code: 'invalid_request', details, cause });
  }
}

/** A model, version, alias or route does not exist (404). */
export class NotFoundError extends InferaError {
  constructor(message: string) {
    super(message, { status: 404, code: 'not_found' });
  }
}

/** The route exists, but not for this method (405). */
export class MethodNotAllowedError extends InferaError {
  readonly allow: readonly string[];
  constructor(method: string, path: string, allow: readonly string[]) {
    super(`Method ${method} is not allowed on ${path}. Use ${allow.join(' or ')}.`, {
      status: 405,
      code: 'method_not_allowed',
    });
    this.allow = allow;
  }
}

/** The body or the instance count is over the configured limit (413). */
export class PayloadTooLargeError extends InferaError {
  constructor(message: string) {
    super(message, { status: 413, code: 'payload_too_large' });
  }
}

/** The request needs a capability this deployment does not have (501). */
export class NotImplementedError extends InferaError {
  constructor(message: string) {
    super(message, { status: 501, code: 'not_implemented', expose: true });
  }
}

/**
 * A model package under `models/` is broken. Raised at start-up, never mid-request.
 * Each detail names the file, the field and the fix.
 */
export class ModelPackageError extends InferaError {
  constructor(problems: readonly string[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the model packages:\n  - ${problems.join('\n  - ')}`,
      { status: 500, code: 'model_package_invalid', expose: false, details: problems },
    );
  }
}

/** Configuration from the environment is missing or malformed. Raised at cold start. */
export class ConfigError extends InferaError {
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      status: 500,
      code: 'config_invalid',
      expose: false,
      details: problems,
    });
  }
}

/** The caller is known not to be allowed, or cannot be known (403). */
export class ForbiddenError extends InferaError {
  constructor(message: string) {
    super(message, { status: 403, code: 'forbidden' });
  }
}

/** A conditional storage operation failed: the object changed, or already exists (412). */
export class PreconditionFailedError extends InferaError {
  constructor(message: string) {
    super(message, { status: 412, code: 'precondition_failed' });
  }
}

/** Throws the 400 for one problem, the message also its only detail. */
export function invalid(message: string): never {
  throw new ValidationError(message, [message]);
}

/** What a thrown value says: its message when it is an Error, else its text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A thrown value's `code` (Node's errno codes, AWS SDK error codes), when it has one. */
export function codeOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** A field of a thrown value (SDK errors carry `name`, `Code`, `$metadata`...), read without trusting its shape. */
export function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}
