/**
 * B11: how many models one deployment holds. The app is built (constructs only: no bundling, no
 * layer build, the same resources) on the shipped models, then with 10 and 20 generated ones
 * added (scripts/make-models.ts), and its CloudFormation resources and HTTP API routes are
 * counted. Resources per added model and the most models that fit under CloudFormation's 500
 * resources per stack and the HTTP API's 300 routes per API follow.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnResource } from 'aws-cdk-lib';
import { buildApp } from '../infra/app.ts';
import { makeModels } from '../scripts/make-models.ts';
import { MODELS } from './lib/models.ts';
import type { BenchOptions, BenchResult, Figure } from './lib/report.ts';
import { summarize } from './lib/stats.ts';

const STACK_RESOURCES = 500;
const API_ROUTES = 300;
const TARGET_MODELS = 500;
const one = (x: number) => summarize([x]);

interface Count {
  readonly models: number;
  readonly resources: number;
  readonly routes: number;
  readonly byType: Record<string, number>;
  readonly seconds: number;
}

async function count(dir: string, outdir: string): Promise<Count> {
  const started = performance.now();
  const { stack } = await buildApp({
    outdir,
    // The same constructs and resources, without bundling each function or building the layer.
    context: { 'infera:models': dir, 'aws:cdk:bundling-stacks': [] },
  });
  const resources = stack.node
    .findAll()
    .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && c.stack === stack);
  const byType: Record<string, number> = {};
  for (const r of resources) byType[r.cfnResourceType] = (byType[r.cfnResourceType] ?? 0) + 1;
  const models = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).length;
  return {
    models,
    resources: resources.length,
    routes: byType['AWS::ApiGatewayV2::Route'] ?? 0,
    byType,
    seconds: (performance.now() - started) / 1000,
  };
}

export async function b11(opts: BenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const root = await mkdtemp(join(tmpdir(), 'infera-bench-many-'));
  try {
    const counts: Count[] = [];
    for (const added of [0, 10, 20]) {
      const dir = join(root, `models-${added}`);
      await cp(MODELS, dir, { recursive: true });
      if (added > 0) await makeModels(dir, added, { prefix: 'bench' });
      opts.progress(`B11: building the app with the shipped models and ${added} generated ones`);
      counts.push(await count(dir, join(root, `out-${added}`)));
    }
    const [base, ten, twenty] = counts as [Count, Count, Count];
    const perModel = (twenty.resources - ten.resources) / (twenty.models - ten.models);
    const routesPerModel = (twenty.routes - ten.routes) / (twenty.models - ten.models);
    const fitResources = base.models + Math.floor((STACK_RESOURCES - base.resources) / perModel);
    const fitRoutes = base.models + Math.floor((API_ROUTES - base.routes) / routesPerModel);
    const most = Math.min(fitResources, fitRoutes);
    const figures: Figure[] = [
      {
        label: 'CloudFormation resources per added light model',
        unit: '',
        platform: one(perModel),
        compare: 'absolute',
        value: one(perModel),
      },
      {
        label: `resources of the default deployment (${base.models} shipped models)`,
        unit: '',
        platform: one(base.resources),
        compare: 'absolute',
        value: one(base.resources),
      },
      {
        label: `most models in one deployment (${STACK_RESOURCES} resources a stack, ${API_ROUTES} routes an API)`,
        unit: 'models',
        platform: one(most),
        compare: 'absolute',
        value: one(most),
        target: { text: `≥ ${TARGET_MODELS}`, met: most >= TARGET_MODELS },
      },
      {
        label: `most models under ${API_ROUTES} HTTP API routes alone (${routesPerModel} routes a model)`,
        unit: 'models',
        platform: one(fitRoutes),
        compare: 'absolute',
        value: one(fitRoutes),
      },
      {
        label: `building the app's constructs with ${twenty.models} models`,
        unit: 's',
        platform: one(twenty.seconds),
        compare: 'absolute',
        value: one(twenty.seconds),
      },
    ];
    const added = Object.entries(twenty.byType)
      .map(([t, n]) => [t, (n - (ten.byType[t] ?? 0)) / (twenty.models - ten.models)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([t, n]) => `${n} ${t.replace(/^AWS::/, '')}`);
    return {
      id: 'B11',
      title: 'many models: resources and routes per model, and how many fit in one deployment',
      baseline: `CloudFormation's ${STACK_RESOURCES} resources per stack; the HTTP API's default ${API_ROUTES} routes per API`,
      target: `≥ ${TARGET_MODELS} models in one deployment`,
      figures,
      notes: [
        `The default deployment (API, batch, canaries, dashboard) on the shipped models, then with 10 and 20 generated iris models added (npm run models:many); resources counted on the app's construct tree (bundling skipped), which matches cdk synth's count. ${base.resources}, ${ten.resources} and ${twenty.resources} resources; ${base.routes}, ${ten.routes} and ${twenty.routes} routes.`,
        `Each added light model brings: ${added.join(', ')}.`,
      ],
      limits: [
        'Every light model has its own function, live alias and version, CodeDeploy application and group, two alarms, a pre-traffic hook function, roles, policies and log groups, six routes with their permissions, and an integration. Next: light models grouped into shared functions that load model packages from S3 into a memory-bounded session cache, behind one route set with a {model} parameter, with releases as pointer changes in a model index; then resources and routes no longer grow with the number of models.',
      ],
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
