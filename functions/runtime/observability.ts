// First (after config.ts, which makes process.env a plain object): it decides the X-Ray SDK's mode before the Tracer loads it.
import './xray-mode.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { platformEnv } from './config.ts';

/**
 * One Logger, Metrics and Tracer per process, shared by every handler. Service and namespace
 * come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE when set (the CDK sets them).
 * The Tracer loads after the cold start's answer (tracing.ts).
 */
const { POWERTOOLS_SERVICE_NAME: serviceName, POWERTOOLS_METRICS_NAMESPACE: namespace } = platformEnv();
export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace, serviceName });
export { traceInvocations, tracer } from './tracing.ts';
