/**
 * The CDK app (cdk.json runs it): reads the deployment settings from context, loads and checks
 * models/ exactly as the functions will, builds the stack, and applies cdk-nag's AWS Solutions
 * checks, so `cdk synth` fails on any unsuppressed finding.
 */
import { resolve } from 'node:path';
import { App, type Environment, Validations } from 'aws-cdk-lib';
import { DEFAULT_PLACEMENT_POLICY, endpointPrefixOf } from '#core/model/placement.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import { ensureHeavyModel } from '../scripts/make-heavy-model.ts';
import { type DeployConfig, readDeployConfig } from './config.ts';
import { AwsRulesPlugin } from './lib/aws-rules-plugin.ts';
import { cdkJsonContext } from './lib/cdk-json.ts';
import { AwsSolutionsChecks } from './lib/nag.ts';
import { InferaStack } from './stacks/infera-stack.ts';

/** The environment `cdk deploy` gives the app: the account and region of the credentials in use. */
function cliEnvironment(): Environment | undefined {
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  return account ? { account, region: process.env.CDK_DEFAULT_REGION } : undefined;
}

/**
 * Builds the app. Tests call this with their own context and environment; both start from
 * cdk.json's context, as under the CLI, so a test synthesizes what `cdk deploy` would.
 * @param opts.env the stack's account and region; default: CDK_DEFAULT_ACCOUNT/REGION when set
 *   (the CLI sets them from the credentials), else environment-agnostic.
 */
export async function buildApp(
  opts: { context?: Record<string, unknown>; outdir?: string; env?: Environment } = {},
): Promise<{ app: App; stack: InferaStack; config: DeployConfig }> {
  const env = opts.env ?? cliEnvironment();
  const app = new App({
    context: { ...cdkJsonContext(), ...opts.context },
    ...(opts.outdir ? { outdir: opts.outdir } : {}),
  });
  const all = app.node.getAllContext();
  const config = readDeployConfig((k) => app.node.tryGetContext(k), Object.keys(all));
  const modelsDir = resolve(config.models);
  // The heavy demo model's model.onnx is not in git: built here on first need (about 15 s, once).
  await ensureHeavyModel(modelsDir, { log: (line) => console.error(line) });
  // Endpoints are named after the stack, so two stacks in one account and region never collide.
  const registry = await ModelRegistry.load(modelsDir, {
    routing: { ...DEFAULT_PLACEMENT_POLICY, endpointPrefix: endpointPrefixOf(config.stackName) },
  });
  const stack = new InferaStack(app, config.stackName, {
    registry,
    modelsDir,
    config,
    description:
      'infera: serverless ONNX inference (API, per-model functions with canaries, batch, SageMaker)',
    ...(env ? { env } : {}),
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true }),
    new AwsRulesPlugin({
      memoryCapMb: config.lambdaMemoryCapMb,
      accountConcurrency: config.accountConcurrency,
    }),
  );
  return { app, stack, config };
}

if (import.meta.main) {
  try {
    const { app } = await buildApp();
    app.synth();
  } catch (err) {
    console.error(`infera: ${(err as Error).message}`);
    process.exit(1);
  }
}
