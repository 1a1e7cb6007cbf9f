import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { codeDeployHookReporter } from '#adapters/codedeploy.ts';
import { invokeJson, lambdaClient } from '#adapters/lambda.ts';
import { type GoldenCase, goldenSchema, runGoldenChecks, untilWarm } from '#core/model/golden.ts';
import { readEnv } from '#runtime/config.ts';
import { askFunction } from '#runtime/golden-events.ts';
import { logger, traceInvocations } from '#runtime/observability.ts';

/**
 * CodeDeploy's BeforeAllowTraffic hook for a model function. Before the canary gets any traffic,
 * it sends every bundled golden fixture to the *new* function version as a real API Gateway
 * event, compares the predictions within the fixture's tolerance, and fails the deployment on
 * any mismatch, so CodeDeploy rolls back and no caller ever sees the broken version.
 */
const config = readEnv(
  z.object({
    TARGET_FUNCTION_ARN: z.string().min(1).describe('The new version: fn.currentVersion.functionArn.'),
    FIXTURES_DIR: z.string().min(1).default('fixtures'),
    MODEL_STORE_BUCKET: z
      .string()
      .min(3)
      .optional()
      .describe('With MODEL_STORE_TABLE: fixtures from the model store.'),
    MODEL_STORE_TABLE: z.string().min(3).optional(),
    AWS_ENDPOINT_URL: z.url().optional(),
    GOLDEN_CONCURRENCY: z.coerce
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe('Golden requests in flight at once: a shared model function checks hundreds of models.'),
    AWS_ENDPOINT_URL_LAMBDA: z.url().optional(),
    AWS_ENDPOINT_URL_CODEDEPLOY: z.url().optional(),
  }),
);
const lambda = lambdaClient(
  config.AWS_ENDPOINT_URL_LAMBDA ? { endpoint: config.AWS_ENDPOINT_URL_LAMBDA } : {},
);
const reportHook = codeDeployHookReporter(
  config.AWS_ENDPOINT_URL_CODEDEPLOY ? { endpoint: config.AWS_ENDPOINT_URL_CODEDEPLOY } : {},
);

/** fixtures/<model>/<version>/golden.json, as the CDK packs them into this function. */
export function loadCases(dir: string): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (const model of readdirSync(dir).sort()) {
    for (const version of readdirSync(join(dir, model)).sort((a, b) => Number(a) - Number(b))) {
      const file = join(dir, model, version, 'golden.json');
      const golden = goldenSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
      cases.push({ model, version, golden });
    }
  }
  return cases;
}

/**
 * From the model store, every model's live versions; else the fixtures bundled with the hook.
 * Undefined when the store holds no model yet (a deploy before the first infera publish).
 */
async function casesToCheck(): Promise<GoldenCase[] | undefined> {
  const { MODEL_STORE_BUCKET: bucket, MODEL_STORE_TABLE: table } = config;
  if (!bucket || !table) return loadCases(config.FIXTURES_DIR);
  const [{ AwsModelStore }, { liveGoldenCases }] = await Promise.all([
    import('#adapters/model-store/aws.ts'),
    import('#core/model/store/release.ts'),
  ]);
  const store = new AwsModelStore({
    bucket,
    table,
    ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}),
  });
  if ((await store.listModels()).length === 0) return undefined;
  return liveGoldenCases(store);
}

interface HookEvent {
  readonly DeploymentId: string;
  readonly LifecycleEventHookExecutionId: string;
}

async function preTraffic(event: HookEvent, context: Context): Promise<{ status: 'Succeeded' | 'Failed' }> {
  let status: 'Succeeded' | 'Failed' = 'Failed';
  try {
    const cases = await casesToCheck();
    if (!cases) {
      logger.info('the model store holds no model yet: nothing can answer differently');
      await reportHook(event.DeploymentId, event.LifecycleEventHookExecutionId, 'Succeeded');
      return { status: 'Succeeded' };
    }
    // A SageMaker-routed version's endpoint may cold-start (serverless): ask again until it
    // answers itself, leaving 30 s of the hook's own time to report to CodeDeploy.
    // (A caller without a Lambda context, such as a test harness, gets one minute.)
    const deadline = Date.now() + (context?.getRemainingTimeInMillis?.() ?? 60_000) - 30_000;
    const ask = askFunction((e) => invokeJson(lambda, config.TARGET_FUNCTION_ARN, e), event.DeploymentId);
    const results = await runGoldenChecks(
      cases,
      untilWarm(ask, {
        deadline,
        onWait: (c, reply, waitMs) =>
          logger.info('endpoint not warm yet; asking again', {
            model: c.model,
            version: c.version,
            status: reply.status,
            waitMs,
          }),
      }),
      config.GOLDEN_CONCURRENCY,
    );
    for (const r of results) {
      logger[r.ok ? 'info' : 'error']('golden check', {
        model: r.model,
        version: r.version,
        ok: r.ok,
        problems: r.problems,
        target: config.TARGET_FUNCTION_ARN,
      });
    }
    if (results.length === 0) logger.error('no golden fixtures bundled; failing the deployment');
    if (results.length > 0 && results.every((r) => r.ok)) status = 'Succeeded';
  } catch (err) {
    // Whatever went wrong, CodeDeploy must hear an answer, or the deployment hangs for an hour.
    logger.error('pre-traffic check could not run; failing the deployment', { error: err });
  }
  await reportHook(event.DeploymentId, event.LifecycleEventHookExecutionId, status);
  return { status };
}

export const handler = middy<HookEvent, { status: 'Succeeded' | 'Failed' }, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(traceInvocations())
  .handler(preTraffic);
