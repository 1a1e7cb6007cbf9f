import { ContainerImageBuild } from '@cdklabs/deploy-time-build';
import { ArnFormat, Aspects, IgnoreMode, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Project } from 'aws-cdk-lib/aws-codebuild';
import { Repository, TagStatus } from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { CfnPolicy, type IGrantable, ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct, type IConstruct } from 'constructs';
import { endpointPrefixOf } from '#core/model/placement.ts';
import { acknowledge, finding } from '../lib/nag.ts';
import { PROJECT_ROOT } from './infera-function.ts';

/**
 * How `cdk deploy` gets the serving images: built in AWS CodeBuild during the deployment (no
 * Docker engine on the deploying machine), or by the local Docker engine as CDK image assets.
 */
export type ImageBuild = 'codebuild' | 'docker';

/** The Dockerfile's targets: Node on Debian with the CPU provider, or on CUDA 12.4 + cuDNN 9. */
export type ImageFlavour = 'cpu' | 'cuda';

/** One serving image: where SageMaker pulls it from, and how a role may. */
export interface ServingImage {
  readonly flavour: ImageFlavour;
  readonly build: ImageBuild;
  readonly imageUri: string;
  grantPull(grantee: IGrantable): void;
}

export const DOCKERFILE = 'functions/container/Dockerfile';
/** The build context: what the Dockerfile copies, nothing else (no models, no node_modules). */
const CONTEXT = ['*', '!package.json', '!package-lock.json', '!.npmrc', '!functions', '!functions/**'];
/** Builds kept per flavour in the CodeBuild path's repository; older ones expire. */
const KEEP_IMAGES = 3;

/**
 * The infera serving images of a stack, one per flavour and built once however many endpoints use
 * it. With `codebuild` (the default), each image is built by `@cdklabs/deploy-time-build`'s
 * ContainerImageBuild: the build context is uploaded as a file asset, a CodeBuild project builds
 * the Dockerfile target and pushes it to one ECR repository of this stack, and a custom resource
 * waits for it. The builds run one after another, because a new account may run only one
 * CodeBuild build at a time (AWS rule codebuild-concurrent-builds). With `docker`, the images
 * are CDK image assets, built by the local Docker engine at `cdk deploy`.
 */
export class ServingImages extends Construct {
  /** The stack's images, made on first use. */
  static of(scope: IConstruct, build: ImageBuild): ServingImages {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild('ServingImages') as ServingImages | undefined;
    if (existing && existing.build !== build) {
      throw new Error(
        `${stack.stackName}: the serving images are built with ${existing.build}; one stack builds them one way (infera:imageBuild).`,
      );
    }
    return existing ?? new ServingImages(stack, 'ServingImages', build);
  }

  readonly build: ImageBuild;
  readonly #images = new Map<ImageFlavour, ServingImage>();
  #repository: Repository | undefined;
  #lastBuild: Construct | undefined;
  /** The build sources, CDK file assets the project reads. */
  readonly #sources: Asset[] = [];

  private constructor(scope: Construct, id: string, build: ImageBuild) {
    super(scope, id);
    this.build = build;
  }

  /** The image of one flavour, built (or declared) on first use. */
  image(flavour: ImageFlavour): ServingImage {
    const known = this.#images.get(flavour);
    if (known) return known;
    const image = this.build === 'docker' ? this.#asset(flavour) : this.#codeBuild(flavour);
    this.#images.set(flavour, image);
    return image;
  }

  /**
   * ContainerImageBuild shares one CodeBuild project and one trigger function per stack, made at
   * the stack's root; these are the cdk-nag findings on them, each reviewed.
   */
  #acknowledgeSingletons(): void {
    const stack = Stack.of(this);
    Aspects.of(stack).add({
      visit: (node: IConstruct) => {
        if (node.node.scope !== stack) return;
        if (node.node.id.startsWith('ContainerImageBuild') && node instanceof Project) {
          const logs = stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            resourceName: `/aws/codebuild/${node.projectName}:*`,
          });
          const reports = stack.formatArn({
            service: 'codebuild',
            resource: 'report-group',
            resourceName: `${node.projectName}-*`,
          });
          narrowSourceRead(node);
          acknowledge(
            node,
            "CodeBuild's default role policy: its own log group and report groups (their names end in a wildcard), reading the build source from the CDK asset bucket (s3:GetObject on its objects), and ecr:GetAuthorizationToken, which has no resource-level permissions.",
            'AwsSolutions-IAM5[Resource::*]',
            finding(node, 'AwsSolutions-IAM5', 'Resource', logs),
            finding(node, 'AwsSolutions-IAM5', 'Resource', reports),
            ...this.#sources.map((a) =>
              finding(node, 'AwsSolutions-IAM5', 'Resource', a.bucket.arnForObjects('*')),
            ),
          );
          acknowledge(
            node,
            'AmazonElasticContainerRegistryPublicReadOnly lets the build pull its base image from Amazon ECR Public signed in, so the pull is not rate-limited as an anonymous one would be; it grants only reads of public images.',
            finding(
              node,
              'AwsSolutions-IAM4',
              'Policy',
              ManagedPolicy.fromAwsManagedPolicyName('AmazonElasticContainerRegistryPublicReadOnly')
                .managedPolicyArn,
            ),
          );
          acknowledge(
            node,
            'The project has no build artifacts to encrypt: its output is an image pushed to ECR (encrypted at rest) and its logs; the build source is a CDK asset in the bootstrap bucket.',
            'AwsSolutions-CB4',
          );
          acknowledge(
            node,
            "The build runs Docker, which needs CodeBuild's privileged mode; the project builds only this stack's serving images from its uploaded source.",
            'AwsSolutions-CB3',
          );
        }
        if (node.node.id.startsWith('DeployTimeBuildCustomResourceHandler')) {
          acknowledge(
            node,
            'The trigger function of @cdklabs/deploy-time-build (it starts a CodeBuild build and returns) is written for nodejs22.x, supported by Lambda until 2027; upgrading it is for that library.',
            'AwsSolutions-L1',
          );
          acknowledge(
            node,
            'AWSLambdaBasicExecutionRole lets the trigger function write its own logs; its only other permission is codebuild:StartBuild on the one project.',
            finding(
              node,
              'AwsSolutions-IAM4',
              'Policy',
              ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')
                .managedPolicyArn,
            ),
          );
        }
      },
    });
  }

  #asset(flavour: ImageFlavour): ServingImage {
    const asset = new DockerImageAsset(this, flavour === 'cuda' ? 'Cuda' : 'Cpu', {
      directory: PROJECT_ROOT,
      file: DOCKERFILE,
      target: flavour,
      platform: Platform.LINUX_AMD64,
      exclude: CONTEXT,
    });
    return {
      flavour,
      build: 'docker',
      imageUri: asset.imageUri,
      grantPull: (grantee) => asset.repository.grantPull(grantee),
    };
  }

  #codeBuild(flavour: ImageFlavour): ServingImage {
    this.#repository ??= new Repository(this, 'Repository', {
      // Named, lower case as ECR requires: "<stack>-serving", found next to the stack's endpoints.
      repositoryName: `${endpointPrefixOf(Stack.of(this).stackName)}-serving`,
      removalPolicy: RemovalPolicy.DESTROY,
      emptyOnDelete: true,
      imageScanOnPush: true,
      lifecycleRules: (['cpu', 'cuda'] as const).map((f, i) => ({
        rulePriority: i + 1,
        description: `Keep the ${KEEP_IMAGES} newest ${f} images; older builds expire.`,
        tagStatus: TagStatus.TAGGED,
        tagPrefixList: [`${f}-`],
        maxImageCount: KEEP_IMAGES,
      })),
    });
    const repository = this.#repository;
    const build = new ContainerImageBuild(this, flavour === 'cuda' ? 'Cuda' : 'Cpu', {
      directory: PROJECT_ROOT,
      file: DOCKERFILE,
      target: flavour,
      platform: Platform.LINUX_AMD64,
      exclude: CONTEXT,
      ignoreMode: IgnoreMode.DOCKER,
      repository,
      tagPrefix: `${flavour}-`,
    });
    // One build at a time: a new account's CodeBuild may run one (AWS rule codebuild-concurrent-builds).
    if (this.#lastBuild) build.node.addDependency(this.#lastBuild);
    else this.#acknowledgeSingletons();
    // The trigger function's log group is a resource of its own, made after the function. Were the
    // build's custom resource to invoke the function first, Lambda would create the group, and
    // CloudFormation's create of it would then fail ("already exists") and roll the stack back.
    const handler = Stack.of(this).node.children.find((c) =>
      c.node.id.startsWith('DeployTimeBuildCustomResourceHandler'),
    );
    const handlerLogs = handler?.node.tryFindChild('LogGroup');
    if (handlerLogs) build.node.addDependency(handlerLogs);
    this.#lastBuild = build;
    this.#sources.push(build.node.findChild('Source') as Asset);
    return {
      flavour,
      build: 'codebuild',
      imageUri: build.imageUri,
      grantPull: (grantee) => repository.grantPull(grantee),
    };
  }
}

/**
 * The build reads one object, its source zip (`aws s3 cp`), but the library grants the asset
 * read with wildcard actions (s3:GetObject*, s3:GetBucket*, s3:List*): narrowed to s3:GetObject,
 * in the policy document itself, so cdk-nag and CloudFormation see the same narrow statement.
 */
function narrowSourceRead(project: Project): void {
  const policy = project.role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
  if (!(policy instanceof CfnPolicy)) return;
  const doc = Stack.of(project).resolve(policy.policyDocument) as {
    Statement: { Action: string | string[] }[];
  };
  for (const statement of doc.Statement) {
    if ([statement.Action].flat().includes('s3:GetObject*')) statement.Action = 's3:GetObject';
  }
  policy.policyDocument = doc;
}
