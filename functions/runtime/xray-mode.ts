import { platformEnv } from './config.ts';

/**
 * Imported before the Powertools Tracer (observability.ts). The X-Ray SDK it loads starts in
 * automatic mode, which installs an async hook on every promise of the process, traced or not. The
 * Tracer traces only inside Lambda (AWS_EXECUTION_ENV set, not SAM or Amplify mocks) and when
 * POWERTOOLS_TRACE_ENABLED is not false. Anywhere else (npm start, the serving container, the
 * batch worker locally, tests and benchmarks) the SDK is put in manual mode, so no hook is
 * installed and nothing is traced, as before. In Lambda with tracing on, nothing changes. A value
 * already set wins.
 */
export function tracingWillBeActive(env: {
  readonly AWS_EXECUTION_ENV?: string | undefined;
  readonly POWERTOOLS_TRACE_ENABLED?: string | undefined;
  readonly AWS_SAM_LOCAL?: string | undefined;
}): boolean {
  const executionEnv = env.AWS_EXECUTION_ENV ?? '';
  if (env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() === 'false') return false;
  return executionEnv !== '' && executionEnv !== 'AWS_Lambda_amplify-mock' && !env.AWS_SAM_LOCAL;
}

if (!tracingWillBeActive(platformEnv())) process.env.AWS_XRAY_MANUAL_MODE ??= 'true';
