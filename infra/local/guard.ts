import type { IncomingMessage } from 'node:http';

/**
 * What keeps web pages away from the local listeners, which have no authentication: a request
 * must name a loopback host (or the host the platform was started on), so DNS rebinding gets
 * nowhere, and a browser request from another origin (it carries an Origin header) is refused,
 * so a page cannot send "simple" cross-origin POSTs. curl and the SDKs send no Origin: unchanged.
 */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The problem with a request's Host or Origin, or undefined when it may proceed. */
export function foreignRequest(req: IncomingMessage, boundHost: string): string | undefined {
  // *.localhost is loopback by definition (RFC 6761); fauxqs names its queues sqs.<region>.localhost.
  const allowed = (hostname: string) =>
    LOOPBACK.has(hostname) ||
    hostname.endsWith('.localhost') ||
    hostname === boundHost ||
    (boundHost === '0.0.0.0' && hostname !== '');
  const host = req.headers.host;
  if (host !== undefined) {
    const hostname = hostnameOf(`http://${host}`);
    if (hostname === undefined || !allowed(hostname))
      return `Host '${host}' is not this local platform's; it answers only requests for localhost, 127.0.0.1 or the --host it was started with.`;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    const o = hostnameOf(origin);
    const h = host === undefined ? undefined : hostnameOf(`http://${host}`);
    if (
      o === undefined ||
      !allowed(o) ||
      (h !== undefined && o !== h && !(LOOPBACK.has(o) && LOOPBACK.has(h)))
    )
      return `Origin '${origin}' is another site; the local platform refuses browser requests from other origins (it has no authentication).`;
  } else if (origin === 'null') {
    return "Origin 'null' (a sandboxed page or a file) is refused; the local platform takes requests from curl, SDKs and its own pages.";
  }
  return undefined;
}

function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
