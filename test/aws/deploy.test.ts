/**
 * A smoke deploy: the real CDK CLI bootstraps an environment and deploys the app into moto_server
 * (a maintained AWS API emulator), twice (a function per model, then one shared by all), and the
 * real `infera` CLI moves the `live` alias through moto's Lambda API. It proves asset publishing,
 * the bootstrap contract and that the resources moto implements are created, with no Docker engine:
 * the serving image's build is a CodeBuild project and a custom resource, answered here as the
 * build would answer it. It does not prove CodeDeploy, the HTTP API with IAM auth, alarms, real IAM
 * evaluation, quotas, or that the image builds (moto implements none of them; moto runs no build).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, ROOT, run } from '../helpers.ts';
import { type Moto, requireTools, startMoto } from '../support/moto.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const CDK = join(ROOT, 'node_modules', '.bin', 'cdk');
/** What moto can create: no HTTP API, batch (bucket policies, notifications), CodeDeploy or alarms. */
const SMOKE = {
  'infera:api': 'false',
  'infera:batch': 'false',
  'infera:canary': 'false',
  'infera:dashboard': 'false',
};
const contextArgs = Object.entries(SMOKE).flatMap(([k, v]) => ['-c', `${k}=${v}`]);

interface AssetManifest {
  files: Record<
    string,
    {
      displayName?: string;
      source: { path: string; packaging?: string };
      destinations: Record<string, { bucketName: string; objectKey: string }>;
    }
  >;
  dockerImages: Record<
    string,
    { displayName?: string; destinations: Record<string, { repositoryName: string; imageTag: string }> }
  >;
}

let moto: Moto;
let out: string;
let assets: AssetManifest;

/** The AWS CLI against moto, parsing its JSON answer. */
async function aws(...args: string[]): Promise<Record<string, unknown>> {
  const r = await run('aws', [...args, '--output', 'json'], moto.env);
  assert.equal(r.code, 0, `aws ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {};
}

/**
 * Publishes a version of a function with a description, as a deploy of the stack leaves one:
 * moto's CloudFormation gives AWS::Lambda::Version the function's description, so it is set first.
 */
async function publishVersion(fn: string, description: string): Promise<string> {
  await aws('lambda', 'update-function-configuration', '--function-name', fn, '--description', description);
  const v = (await aws('lambda', 'publish-version', '--function-name', fn, '--description', description)) as {
    Version: string;
  };
  return v.Version;
}

/** The real CDK CLI; cdk.json's `node infra/app.ts` runs on the project's pinned Node. */
async function cdk(...args: string[]) {
  const PATH = `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`;
  const r = await run(CDK, args, { ...moto.env, PATH });
  assert.equal(r.code, 0, `cdk ${args.join(' ')}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-6000)}`);
  return r;
}

/**
 * `cdk deploy` of one stack, playing CodeBuild's part in each serving-image build: moto runs no
 * CodeBuild project and cannot invoke the trigger function (it needs Docker), so, as the build's
 * post_build step does on AWS, this PUTs the custom resource's SUCCESS response to the URL
 * CloudFormation gave it (moto's /cloudformation_<region>/cfnresponse). Returns the builds'
 * properties as synthesized. What this proves: the stack deploys with no Docker engine and its
 * build resources take CloudFormation's answer. It does not run a build, and it does not prove the
 * deployment waits for one: moto marks a change set's stack complete without waiting for custom
 * resources, and resolves the image tag before the answer (the SageMaker model's image reads
 * "<repository>:None" there).
 */
async function deployAnsweringBuilds(app: string, stack: string): Promise<{ buildCommand: string }[]> {
  const template = JSON.parse(readFileSync(join(app, `${stack}.template.json`), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: { buildCommand: string } }>;
  };
  const builds = Object.entries(template.Resources).filter(
    ([, r]) => r.Type === 'Custom::CDKContainerImageBuild',
  );
  const deploy = cdk('deploy', '--app', app, '--require-approval', 'never', '--progress', 'events', stack);
  let failed = false;
  void deploy.catch(() => {
    failed = true;
  });
  const answered = new Set<string>();
  const deadline = Date.now() + 120_000;
  while (!failed && answered.size < builds.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    // moto creates a change set's resources in the ExecuteChangeSet call, lazily and without a
    // lock, and a build's answer makes it walk the same resources: answered mid-creation, it
    // creates some twice. So answer once the stack reads *_COMPLETE (creation has returned).
    // list-stacks, not describe-stacks, which renders outputs from that same lazy map.
    const r = await run('aws', ['cloudformation', 'list-stacks', '--output', 'json'], moto.env);
    const summary =
      r.code === 0
        ? (
            JSON.parse(r.stdout) as {
              StackSummaries: { StackId: string; StackName: string; StackStatus: string }[];
            }
          ).StackSummaries.find((s) => s.StackName === stack && s.StackStatus !== 'DELETE_COMPLETE')
        : undefined;
    if (!summary?.StackStatus.endsWith('_COMPLETE')) continue;
    const stackId = summary.StackId;
    for (const [logicalId] of builds) {
      if (answered.has(logicalId)) continue;
      const res = await fetch(
        `${moto.url}/cloudformation_${REGION}/cfnresponse?stack=${encodeURIComponent(stackId)}`,
        {
          method: 'PUT',
          body: JSON.stringify({
            StackId: stackId,
            RequestId: 'codebuild',
            LogicalResourceId: logicalId,
            PhysicalResourceId: 'cpu-smoke',
            Status: 'SUCCESS',
            Data: { ImageTag: 'cpu-smoke' },
          }),
        },
      );
      if (res.ok) answered.add(logicalId);
    }
  }
  await deploy;
  assert.equal(
    answered.size,
    builds.length,
    `answered ${[...answered].join(', ')} of ${builds.length} builds`,
  );
  return builds.map(([, r]) => r.Properties);
}

before(async () => {
  requireTools('moto_server', 'aws');
  moto = await startMoto(REGION);
  out = mkdtempSync(join(tmpdir(), 'infera-smoke-'));
});
after(async () => {
  await moto?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('cdk bootstrap and cdk deploy against moto_server (smoke deploy)', { timeout: 600_000 }, () => {
  it('bootstraps the account with the real CDK CLI', async () => {
    await cdk('bootstrap', `aws://${ACCOUNT}/${REGION}`);
    const { Stacks } = (await aws('cloudformation', 'describe-stacks', '--stack-name', 'CDKToolkit')) as {
      Stacks: { StackStatus: string }[];
    };
    assert.equal(Stacks[0]?.StackStatus, 'CREATE_COMPLETE');
    // The bootstrap contract the deploy checks: the version parameter and the asset bucket.
    const { Parameter } = (await aws(
      'ssm',
      'get-parameter',
      '--name',
      '/cdk-bootstrap/hnb659fds/version',
    )) as {
      Parameter: { Value: string };
    };
    assert.ok(Number(Parameter.Value) >= 6, `bootstrap version ${Parameter.Value}`);
    await aws('s3api', 'head-bucket', '--bucket', `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`);
  });

  it('publishes every file asset to the bootstrap bucket and creates the stack', async () => {
    await cdk('synth', '--quiet', '--output', out, ...contextArgs);
    assets = JSON.parse(readFileSync(join(out, 'Infera.assets.json'), 'utf8')) as AssetManifest;
    // No Docker engine: the serving image is built in CodeBuild during the deployment, not here.
    assert.deepEqual(assets.dockerImages ?? {}, {}, 'no image for the local Docker engine to build');
    const builds = await deployAnsweringBuilds(out, 'Infera');
    assert.equal(builds.length, 1, 'one image build: the CPU image of the serverless endpoint');
    assert.match(builds[0]?.buildCommand ?? '', /--target cpu --file functions\/container\/Dockerfile/);

    const names = Object.values(assets.files).map((f) => f.displayName ?? f.source.path);
    for (const needle of [
      'OnnxRuntime/Layer/Code',
      'Model-iris/Function/Code',
      'Model-fraud-detector/Function/Code',
      'Model-fraud-detector-xl/Function/Code',
      'ModelsApi/Code',
      'Endpoint-fraud-detector-xl-1/ModelData',
      'ServingImages/Cpu/Source',
    ]) {
      assert.ok(
        names.some((n) => n.includes(needle)),
        `${needle} is an asset of this selection: ${names.join(', ')}`,
      );
    }
    const bucket = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
    const { Contents } = (await aws('s3api', 'list-objects-v2', '--bucket', bucket)) as {
      Contents: { Key: string; Size: number }[];
    };
    const published = new Map(Contents.map((o) => [o.Key, o.Size]));
    for (const f of Object.values(assets.files)) {
      for (const d of Object.values(f.destinations)) {
        // The app is synthesized for the account the CLI found (moto's), so the names are literal.
        assert.equal(d.bucketName, bucket);
        assert.ok((published.get(d.objectKey) ?? 0) > 0, `${f.displayName} was published as ${d.objectKey}`);
      }
    }
    const layer = Object.values(assets.files).find((f) => f.displayName?.includes('OnnxRuntime'));
    const key = Object.values(layer?.destinations ?? {})[0]?.objectKey ?? '';
    assert.ok((published.get(key) ?? 0) > 10_000_000, 'the layer zip holds the native onnxruntime library');

    const { Stacks } = (await aws('cloudformation', 'describe-stacks', '--stack-name', 'Infera')) as {
      Stacks: { StackStatus: string }[];
    };
    assert.equal(Stacks[0]?.StackStatus, 'CREATE_COMPLETE');
  });

  it('creates the functions without reserved concurrency (a new account has none to give), the layer, the versions and the serverless endpoint', async (t) => {
    const { StackResources } = (await aws(
      'cloudformation',
      'describe-stack-resources',
      '--stack-name',
      'Infera',
    )) as {
      StackResources: { ResourceType: string | null; LogicalResourceId: string; ResourceStatus: string }[];
    };
    const template = JSON.parse(readFileSync(join(out, 'Infera.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const created = new Set(StackResources.map((r) => r.LogicalResourceId));
    const skipped = Object.entries(template.Resources)
      .filter(([id]) => !created.has(id))
      .map(([id, r]) => `${id} (${r.Type})`);
    t.diagnostic(`moto does not implement, and skipped: ${skipped.join(', ') || 'nothing'}`);
    assert.ok(StackResources.every((r) => r.ResourceStatus === 'CREATE_COMPLETE'));
    for (const model of ['iris', 'fraud-detector', 'dominant-color', 'fraud-detector-xl']) {
      const c = (await aws('lambda', 'get-function-concurrency', '--function-name', `Infera-${model}`)) as {
        ReservedConcurrentExecutions?: number;
      };
      assert.equal(c.ReservedConcurrentExecutions, undefined, model);
    }
    const fn = (await aws('lambda', 'get-function-configuration', '--function-name', 'Infera-iris')) as {
      Runtime: string;
    };
    assert.equal(fn.Runtime, 'nodejs24.x');
    // moto creates the layer version, but its CloudFormation does not attach Layers to functions.
    const { Layers } = (await aws('lambda', 'list-layers')) as { Layers: { LayerName: string }[] };
    assert.equal(Layers.length, 1);
    const { Endpoints } = (await aws('sagemaker', 'list-endpoints')) as {
      Endpoints: { EndpointStatus: string; EndpointName: string }[];
    };
    assert.equal(Endpoints.length, 1);
    const config = (await aws(
      'sagemaker',
      'describe-endpoint',
      '--endpoint-name',
      Endpoints[0]?.EndpointName ?? '',
    )) as {
      EndpointConfigName: string;
    };
    const variants = (await aws(
      'sagemaker',
      'describe-endpoint-config',
      '--endpoint-config-name',
      config.EndpointConfigName,
    )) as {
      ProductionVariants: { ServerlessConfig?: { MemorySizeInMB: number }; InstanceType?: string }[];
    };
    assert.equal(variants.ProductionVariants[0]?.ServerlessConfig?.MemorySizeInMB, 2048);
    assert.equal(variants.ProductionVariants[0]?.InstanceType, undefined);

    // Where the serving image comes from: built by CodeBuild into the stack's ECR repository.
    const { repositories } = (await aws('ecr', 'describe-repositories')) as {
      repositories: { repositoryName: string; repositoryUri: string }[];
    };
    const repo = repositories.find((r) => r.repositoryName === 'infera-serving');
    assert.ok(
      repo,
      `the stack's serving-image repository: ${repositories.map((r) => r.repositoryName).join(', ')}`,
    );
    const { Models } = (await aws('sagemaker', 'list-models')) as { Models: { ModelName: string }[] };
    const model = (await aws('sagemaker', 'describe-model', '--model-name', Models[0]?.ModelName ?? '')) as {
      PrimaryContainer: { Image: string; Environment: Record<string, string> };
    };
    assert.ok(
      model.PrimaryContainer.Image.startsWith(`${repo.repositoryUri}:`),
      model.PrimaryContainer.Image,
    );
    assert.equal(model.PrimaryContainer.Environment.INFERA_EXECUTION_PROVIDER, 'cpu');
    const { projects } = (await aws('codebuild', 'list-projects')) as { projects: string[] };
    const built = (await aws('codebuild', 'batch-get-projects', '--names', ...projects)) as {
      projects: { environment: { image: string; privilegedMode: boolean } }[];
    };
    assert.equal(built.projects.length, 1, 'one build project, shared by the images');
    assert.equal(built.projects[0]?.environment.privilegedMode, true);
  });

  it('moves the live alias with infera deployments, release, promote and rollback --stack', async () => {
    const fn = 'Infera-fraud-detector';
    // moto's CloudFormation gives AWS::Lambda::Version the function's description and skips
    // AWS::Lambda::Alias, so the versions and the alias two deploys would leave are made here,
    // through moto's Lambda API, with the descriptions the stack gives them.
    const v1 = await publishVersion(fn, 'model fraud-detector live=1 versions=1,2');
    const v2 = await publishVersion(fn, 'model fraud-detector live=2 versions=1,2');
    await aws('lambda', 'create-alias', '--function-name', fn, '--name', 'live', '--function-version', v1);
    const alias = async () =>
      (await aws('lambda', 'get-alias', '--function-name', fn, '--name', 'live')) as {
        FunctionVersion: string;
        RoutingConfig?: { AdditionalVersionWeights?: Record<string, number> };
      };
    const env = moto.env;

    const list = await cli(['deployments', 'fraud-detector', '--stack', 'Infera'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`\\* ${v1}\\s+1\\s+100%`));
    assert.match(list.stdout, new RegExp(`^\\s+${v2}\\s+2\\s+-`, 'm'));

    const release = await cli(['release', 'fraud-detector', '2', '--canary', '20', '--stack', 'Infera'], env);
    assert.equal(release.code, 0, release.stderr);
    let a = await alias();
    assert.equal(a.FunctionVersion, v1);
    assert.deepEqual(a.RoutingConfig?.AdditionalVersionWeights, { [v2]: 0.2 });

    const promote = await cli(['promote', 'fraud-detector', '--stack', 'Infera'], env);
    assert.equal(promote.code, 0, promote.stderr);
    a = await alias();
    assert.equal(a.FunctionVersion, v2);
    assert.deepEqual(a.RoutingConfig?.AdditionalVersionWeights ?? {}, {});

    const rollback = await cli(['rollback', 'fraud-detector', '--stack', 'Infera'], env);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(
      rollback.stdout,
      new RegExp(`Infera-fraud-detector:live ${v2} \\(model 2\\) -> ${v1} \\(model 1\\)`),
    );
    assert.equal((await alias()).FunctionVersion, v1);

    const missing = await cli(['deployments', 'no-such-model', '--stack', 'Infera'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Lambda function Infera-no-such-model .*not found/);
  });

  it('deploys the models sharing one function, which infera finds and rolls back whole', async () => {
    const stack = 'InferaShared';
    const sharedOut = join(out, 'shared');
    await cdk(
      'synth',
      '--quiet',
      '--output',
      sharedOut,
      ...contextArgs,
      '-c',
      `infera:stackName=${stack}`,
      '-c',
      'infera:modelFunctions=shared',
      // Reserved where the account has room: the shared function takes infera:sharedConcurrency.
      '-c',
      'infera:reservedConcurrency=true',
      '-c',
      'infera:accountConcurrency=1000',
    );
    await deployAnsweringBuilds(sharedOut, stack);
    const fn = `${stack}-shared-models`;
    const config = (await aws('lambda', 'get-function-configuration', '--function-name', fn)) as {
      Environment: { Variables: Record<string, string> };
    };
    assert.equal(config.Environment.Variables.MODEL_WARMUP, 'lazy');
    assert.equal(config.Environment.Variables.MODEL_NAMES, undefined);
    const c = (await aws('lambda', 'get-function-concurrency', '--function-name', fn)) as {
      ReservedConcurrentExecutions: number;
    };
    assert.equal(c.ReservedConcurrentExecutions, 100);
    const { Functions } = (await aws('lambda', 'list-functions')) as {
      Functions: { FunctionName: string }[];
    };
    assert.ok(!Functions.some((f) => f.FunctionName === `${stack}-iris`), 'no function of its own per model');

    // Two deploys' versions, with the descriptions the stack gives a shared function, and its alias.
    const v1 = await publishVersion(fn, 'shared models=6 livemap=0000000000000001');
    const v2 = await publishVersion(fn, 'shared models=6 livemap=0000000000000002');
    await aws('lambda', 'create-alias', '--function-name', fn, '--name', 'live', '--function-version', v2);
    const env = moto.env;

    const list = await cli(['deployments', 'iris', '--stack', stack], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${fn}:live`));
    const release = await cli(['release', 'iris', '1', '--stack', stack], env);
    assert.equal(release.code, 1);
    assert.match(
      release.stderr,
      new RegExp(`iris is served by ${fn}, which all of the stack's models share`),
    );
    const rollback = await cli(['rollback', 'iris', '--stack', stack], env);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(
      rollback.stdout,
      new RegExp(`${fn} serves every model of the stack: all of them are back on function version ${v1}`),
    );
    const alias = (await aws('lambda', 'get-alias', '--function-name', fn, '--name', 'live')) as {
      FunctionVersion: string;
    };
    assert.equal(alias.FunctionVersion, v1);
  });
});
