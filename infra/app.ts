/**
 * The CDK app (cdk.json runs it): reads the deployment settings from context, loads and checks
 * models/ exactly as the functions will, builds the stack, and applies cdk-nag's AWS Solutions
 * checks, so `cdk synth` fails on any unsuppressed finding.
 */
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { ModelRegistry } from '#core/registry.ts';
import { type DeployConfig, readDeployConfig } from './config.ts';
import { AwsSolutionsChecks } from './lib/nag.ts';
import { InferaStack } from './stacks/infera-stack.ts';

/** Builds the app; tests call this with their own context. */
export async function buildApp(
  opts: { context?: Record<string, unknown>; outdir?: string } = {},
): Promise<{ app: App; stack: InferaStack; config: DeployConfig }> {
  const app = new App({
    ...(opts.context ? { context: opts.context } : {}),
    ...(opts.outdir ? { outdir: opts.outdir } : {}),
  });
  const all = app.node.getAllContext();
  const config = readDeployConfig((k) => app.node.tryGetContext(k), Object.keys(all));
  const modelsDir = resolve(config.models);
  const registry = await ModelRegistry.load(modelsDir);
  const stack = new InferaStack(app, config.stackName, {
    registry,
    modelsDir,
    config,
    description:
      'infera: serverless ONNX inference (API, per-model functions with canaries, batch, SageMaker)',
    ...(process.env.CDK_DEFAULT_ACCOUNT
      ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
      : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
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
