/**
 * X-Ray tracing through the Powertools Tracer, loaded after the cold start's answer. Importing the
 * Tracer loads the X-Ray SDK with cls-hooked and semver: 32 ms of a 140 ms cold start here (B4,
 * docs/performance.md). So:
 *
 * - where the Tracer would not trace (outside Lambda, or POWERTOOLS_TRACE_ENABLED=false; see
 *   xray-mode.ts) the SDK is never loaded, and the middleware and annotations do nothing, as the
 *   Tracer itself did there;
 * - in Lambda with tracing on, the first invocation is answered untraced by Powertools (Lambda's
 *   own segment, with its Initialization subsegment, still records it), the Tracer loads right
 *   after it, and every later invocation is traced as before: the handler subsegment, the
 *   ColdStart (false) and Service annotations, and the handler's own annotations.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
// The middleware alone imports only Powertools' commons, not the X-Ray SDK.
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import { platformEnv } from './config.ts';
import { tracingWillBeActive } from './xray-mode.ts';

const active = tracingWillBeActive(platformEnv());
let loaded: Tracer | undefined;
let loading: Promise<Tracer> | undefined;

/** Loads the Powertools Tracer once; its cold start is over by then, so it annotates ColdStart false. */
export function loadTracer(): Promise<Tracer> {
  loading ??= import('@aws-lambda-powertools/tracer').then(({ Tracer }) => {
    class AfterColdStart extends Tracer {
      constructor(options: ConstructorParameters<typeof Tracer>[0]) {
        super(options);
        this.coldStart = false;
      }
    }
    loaded = new AfterColdStart({ serviceName: platformEnv().POWERTOOLS_SERVICE_NAME });
    return loaded;
  });
  return loading;
}

/** The annotations handlers add: kept on the invocation's segment once the Tracer is loaded. */
export const tracer = {
  putAnnotation(key: string, value: string | number | boolean): void {
    loaded?.putAnnotation(key, value);
  },
};

type Request = Parameters<NonNullable<MiddlewareObj['before']>>[0];

/**
 * Powertools' captureLambdaHandler, from the second invocation on. The cold start starts loading
 * the Tracer once it has answered (after its own after/onError step), so its answer never waits.
 */
export function traceInvocations(opts: { captureResponse?: boolean } = {}): MiddlewareObj {
  let inner: MiddlewareObj | undefined;
  let invocations = 0;
  const traced = new WeakSet<Request>();
  const afterColdStart = () => {
    if (!loading) setImmediate(() => void loadTracer());
  };
  return {
    before: async (request) => {
      if (!active || invocations++ === 0) return;
      inner ??= captureLambdaHandler(await loadTracer(), opts);
      traced.add(request);
      await inner.before?.(request);
    },
    after: async (request) => {
      if (traced.has(request)) await inner?.after?.(request);
      else if (active) afterColdStart();
    },
    onError: async (request) => {
      if (traced.has(request)) await inner?.onError?.(request);
      else if (active) afterColdStart();
    },
  };
}
