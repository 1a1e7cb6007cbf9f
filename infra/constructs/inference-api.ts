import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type FunctionName, routePaths } from '#http/routes.ts';
import { acknowledge } from '../lib/nag.ts';

/** Who may call the API. */
export type ApiAuth =
  | { readonly type: 'iam' }
  | { readonly type: 'jwt'; readonly issuer: string; readonly audience: readonly string[] };

/** Routes that answer without authorization unless `publicHealth` is false: load balancers and probes. */
export const HEALTH_PATHS = ['/v2/health/live', '/v2/health/ready'] as const;

export interface InferenceApiProps {
  /** Per model: the function alias that serves its predict/infer routes. */
  readonly models: ReadonlyArray<{ readonly name: string; readonly handler: IFunction }>;
  /**
   * One function serving every model: the predict and infer routes go to it with their `{model}`
   * parameter, a route set whatever the number of models; `models` is then ignored.
   * @default none: each model's routes go to its own function
   */
  readonly sharedHandler?: IFunction;
  /** Serves model listing, metadata, health, OpenAPI, and answers for unknown models. */
  readonly modelsHandler: IFunction;
  /** Serves /v1/batch routes. @default no batch routes */
  readonly batchHandler?: IFunction;
  /**
   * @default { type: 'iam' }: callers sign requests with SigV4 and need execute-api:Invoke
   */
  readonly auth?: ApiAuth;
  /**
   * Leave the two health routes open, the only routes ever open by default.
   * @default true
   */
  readonly publicHealth?: boolean;
  /**
   * Further routes (API paths) to open without authorization, explicitly.
   * @default none
   */
  readonly publicPaths?: readonly string[];
  /** @default 100 requests per second steady */
  readonly throttleRateLimit?: number;
  /** @default 200 requests */
  readonly throttleBurstLimit?: number;
  /**
   * Browser origins allowed to call the API. CORS is off unless you list them.
   * @default none: CORS off
   */
  readonly corsOrigins?: readonly string[];
  /** @default RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: RetentionDays;
}

/**
 * The public face: an HTTP API (payload 2.0, the event the handlers and the local gateway use)
 * with every v1/v2 route integrated with the `live` alias of the function that serves it, IAM
 * auth by default, stage throttling, JSON access logs, and CORS off unless configured.
 *
 * HTTP API rather than REST API: the handlers speak payload 2.0, it costs about 70% less per
 * request, adds less latency, and has native JWT authorizers; what it lacks (API keys, usage
 * plans, WAF) is listed in docs/deploy.md with the way to add it.
 */
export class InferenceApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** Every route key registered, and whether it is open. */
  readonly routes: Array<{ readonly key: string; readonly open: boolean }> = [];

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    const auth = props.auth ?? { type: 'iam' };
    const authorizer: IHttpRouteAuthorizer =
      auth.type === 'iam'
        ? new HttpIamAuthorizer()
        : new HttpJwtAuthorizer('Jwt', auth.issuer, { jwtAudience: [...auth.audience] });
    this.api = new HttpApi(this, 'Api', {
      description: 'infera inference API (v1 predict, Open Inference Protocol v2, batch)',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
      ...(props.corsOrigins?.length
        ? {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST],
              allowHeaders: ['content-type', 'authorization', 'x-amz-date', 'x-amz-security-token'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH,
    });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 100, burstLimit: props.throttleBurstLimit ?? 200 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        // Who, what, how it ended, and how long; never bodies or query strings.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            caller: '$context.identity.caller',
            user: '$context.identity.user',
            time: '$context.requestTime',
            method: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });

    const open = new Set<string>([
      ...(props.publicHealth === false ? [] : HEALTH_PATHS),
      ...(props.publicPaths ?? []),
    ]);
    const integrations = new Map<IFunction, HttpLambdaIntegration>();
    const integrate = (fn: IFunction) => {
      let i = integrations.get(fn);
      if (!i) {
        i = new HttpLambdaIntegration(`Integration${integrations.size}`, fn);
        integrations.set(fn, i);
      }
      return i;
    };
    const add = (path: string, fn: IFunction) => {
      const isOpen = open.has(path);
      const [route] = this.api.addRoutes({
        path,
        methods: [HttpMethod.ANY],
        integration: integrate(fn),
        ...(isOpen ? { authorizer: new HttpNoneAuthorizer() } : {}),
      });
      this.routes.push({ key: `ANY ${path}`, open: isOpen });
      if (isOpen && route) {
        // Suppressed route by route, so a route left open by mistake still fails cdk-nag.
        acknowledge(
          route,
          `ANY ${path} is open on purpose: ${
            (HEALTH_PATHS as readonly string[]).includes(path)
              ? 'a health probe, which reveals nothing but liveness'
              : 'listed in publicPaths'
          }. Every other route requires ${auth.type.toUpperCase()} authorization.`,
          'AwsSolutions-APIG4',
        );
      }
    };

    const byFunction = new Map<FunctionName, IFunction | undefined>([
      ['models', props.modelsHandler],
      ['batch', props.batchHandler],
    ]);
    for (const { path, function: fn } of routePaths()) {
      if (fn === 'predict' && props.sharedHandler) {
        add(path, props.sharedHandler);
      } else if (fn === 'predict') {
        // One route per model, to that model's own function.
        for (const m of props.models) add(path.replace('{model}', m.name), m.handler);
      } else {
        const handler = byFunction.get(fn);
        if (handler) add(path, handler);
      }
    }
    // Anything else under a model (an unknown model's predict) gets the models function's 404 naming the models.
    add('/v1/models/{model}/{proxy+}', props.modelsHandler);
    add('/v2/models/{model}/{proxy+}', props.modelsHandler);
  }

  /** The base URL clients call. */
  get url(): string {
    return this.stage.url;
  }

  /** execute-api:Invoke on this API's routes: what an IAM-auth caller needs. */
  grantInvoke(grantee: IGrantable) {
    return grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['execute-api:Invoke'], resources: [this.api.arnForExecuteApi()] }),
    );
  }
}
