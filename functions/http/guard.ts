import type { IncomingMessage } from 'node:http';

/**
 * What keeps web pages away from the local listeners (npm start's gateway, S3/SQS emulator and
 * SageMaker runtime, and a serving container bound to loopback), which have no authentication:
 * - a request must name its Host, and a loopback one (or the host the platform was started on),
 *   so DNS rebinding gets nowhere;
 * - a browser request (it carries an Origin header) must come from this very listener: the same
 *   scheme, host and port, a page of the platform itself, or an origin allowed on purpose
 *   (`npm start --allow-origin <url>`). A page on another local port is another site.
 * curl and the SDKs send no Origin: unchanged.
 */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
/** Whether a host name is this machine's own (RFC 6761: *.localhost is loopback by definition). */
export const isLoopback = (hostname: string) => LOOPBACK.has(hostname) || hostname.endsWith('.localhost');

export interface GuardOptions {
  /** Origins (scheme://host:port) admitted on purpose, e.g. a local web app under development. */
  readonly allowOrigins?: readonly string[];
}

/**
 * Server options for a guarded listener: Node answers a request without Host with a bare 400 of
 * its own before any handler runs; with this, foreignRequest answers it, in JSON, naming the fix.
 */
export const GUARDED_SERVER = { requireHostHeader: false } as const;

/** Why a request is refused, with the status to answer; undefined when it may proceed. */
export interface Refusal {
  readonly status: 400 | 403;
  readonly error: string;
}

/** The problem with a request's Host or Origin, or undefined when it may proceed. */
export function foreignRequest(
  req: IncomingMessage,
  boundHost: string,
  opts: GuardOptions = {},
): Refusal | undefined {
  // *.localhost is loopback by definition (RFC 6761); fauxqs names its queues sqs.<region>.localhost.
  const allowed = (hostname: string) =>
    isLoopback(hostname) || hostname === boundHost || (boundHost === '0.0.0.0' && hostname !== '');
  const host = req.headers.host;
  if (host === undefined || host.trim() === '') {
    return {
      status: 400,
      error: 'The request has no Host header; send one (HTTP/1.1 requires it), e.g. Host: 127.0.0.1:3000.',
    };
  }
  const self = urlOf(`http://${host}`);
  if (self === undefined || !allowed(self.hostname)) {
    return {
      status: 403,
      error: `Host '${host}' is not this local platform's; it answers only requests for localhost, 127.0.0.1 or the --host it was started with.`,
    };
  }
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (origin === 'null') {
    return {
      status: 403,
      error:
        "Origin 'null' (a sandboxed page or a file) is refused; the local platform takes requests from curl, SDKs and its own pages.",
    };
  }
  const o = urlOf(origin);
  const sameListener =
    o !== undefined &&
    o.protocol === self.protocol &&
    portOf(o) === portOf(self) &&
    (o.hostname === self.hostname || (isLoopback(o.hostname) && isLoopback(self.hostname)));
  const admitted = o !== undefined && (opts.allowOrigins ?? []).some((a) => urlOf(a)?.origin === o.origin);
  if (sameListener || admitted) return undefined;
  return {
    status: 403,
    error: `Origin '${origin}' is another site (scheme, host and port must be this listener's, ${self.origin}); the local platform has no authentication. If that page is your own local web app, start the platform with --allow-origin ${o?.origin ?? '<origin>'}.`,
  };
}

function urlOf(url: string): URL | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

function portOf(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}
