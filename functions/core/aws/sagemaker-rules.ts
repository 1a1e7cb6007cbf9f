/**
 * SageMaker's rules (and CodeBuild's, which builds its images), part of AWS_RULES (rules.ts): the
 * payload, timeout and serverless limits, and what an endpoint's image and model data must be.
 */
import { type AwsRule, MIB, READ, READ_ACCELERATORS } from './rule.ts';

const SERVERLESS = {
  title: 'Amazon SageMaker AI Developer Guide: Deploy models with Amazon SageMaker Serverless Inference',
  url: 'https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html',
};
const SAGEMAKER_QUOTAS = {
  title: 'Amazon SageMaker AI endpoints and quotas (AWS General Reference)',
  url: 'https://docs.aws.amazon.com/general/latest/gr/sagemaker.html',
};
const CREATE_MODEL = {
  title: 'Amazon SageMaker API Reference: ContainerDefinition',
  url: 'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html',
};
const PRODUCTION_VARIANT = {
  title: 'Amazon SageMaker API Reference: ProductionVariant (InferenceAmiVersion)',
  url: 'https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html',
};

export const SAGEMAKER_RULES = {
  'sagemaker-realtime-payload': {
    rule: 'A real-time InvokeEndpoint request is at most 6 MB.',
    limit: 6 * MIB,
    unit: 'bytes',
    infera: 'Larger v1 inputs are sent in parts; a larger v2 request is a 413 naming the limit.',
    source: SAGEMAKER_QUOTAS,
    read: READ,
  },
  'sagemaker-realtime-timeout': {
    rule: 'A real-time endpoint must answer within 60 seconds.',
    limit: 60,
    unit: 'seconds',
    infera: 'The model function gives an endpoint at most 29 s, inside the API’s 30.',
    source: SAGEMAKER_QUOTAS,
    read: READ,
  },
  'sagemaker-serverless-payload': {
    rule: 'A Serverless Inference request is at most 4 MB.',
    limit: 4 * MIB,
    unit: 'bytes',
    infera: 'Requests to a serverless endpoint are split (v1) or refused with 413 (v2) at 4 MB.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-timeout': {
    rule: 'A Serverless Inference request must finish within 60 seconds.',
    limit: 60,
    unit: 'seconds',
    infera: 'As for real-time endpoints.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-memory': {
    rule: 'Serverless memory is 1024-6144 MB in 1 GB steps.',
    limit: 6144,
    unit: 'MB',
    infera: 'The manifest schema refuses any other size.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-concurrency': {
    rule: 'Serverless MaxConcurrency is 1-200 per endpoint; calls beyond it are throttled.',
    limit: 200,
    unit: 'count',
    infera:
      'Batch scoring runs at most maxConcurrency / 2 workers (each has two chunks in flight) when a model it serves is on a serverless endpoint.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-features': {
    rule: 'Serverless Inference does not support GPUs, AWS Marketplace model packages, private Docker registries, multi-model endpoints, VPC configuration, network isolation, data capture, multiple production variants, Model Monitor or inference pipelines.',
    infera:
      'A serverless endpoint’s model runs without network isolation; cdk synth fails any of these on a serverless config.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-conversion': {
    rule: 'An instance endpoint cannot be converted to serverless in place: it needs a new endpoint config.',
    infera:
      'Every change of capacity makes a new endpoint config (CloudFormation replaces it) and a blue/green update of the endpoint.',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-serverless-regions': {
    rule: 'Serverless Inference is not offered in the China regions (aws-cn partition).',
    infera:
      'cdk synth for cn-north-1 or cn-northwest-1 fails on a serverless endpoint, naming infera:sagemaker=off (or an instance target in the manifest).',
    source: SERVERLESS,
    read: READ,
  },
  'sagemaker-inference-ami': {
    rule: 'A variant’s InferenceAmiVersion fixes its driver: al2-ami-sagemaker-inference-gpu-3-1 is NVIDIA driver 550 with CUDA 12.4, for GPU instances (ml.g4dn, g5, g6, p3, p4d, p5); al2-ami-sagemaker-inference-neuron-2 is for Inferentia2 and Trainium. A GPU AMI on another family, or a Neuron AMI on a GPU, is refused.',
    infera:
      'GPU variants that run infera’s cuda image (CUDA 12.4, cuDNN 9) pin al2-ami-sagemaker-inference-gpu-3-1, so the driver is never older than the image’s CUDA; cdk synth fails an AMI on the wrong family.',
    source: PRODUCTION_VARIANT,
    read: READ_ACCELERATORS,
  },
  'sagemaker-model-data': {
    rule: 'A container’s ModelDataUrl is the S3 path of a single gzip-compressed tar archive (the page names the .tar.gz suffix), in the region of the model; a folder (an S3 prefix) needs ModelDataSource instead.',
    infera:
      'infera packs each version folder into model.tar.gz itself (uploaded as a CDK file asset, whose key keeps only the last extension, .gz, as the CDK’s own SageMaker model construct does); a manifest’s target.modelDataUrl must be an s3://…/….tar.gz URL, checked when the manifest loads; cdk synth refuses a ModelDataUrl that is not a .gz object.',
    source: CREATE_MODEL,
    read: READ_ACCELERATORS,
  },
  'sagemaker-image-registry': {
    rule: 'A container’s Image is pulled from Amazon ECR, in the same region as the model, or from a private Docker registry reachable from the VPC the model is configured with (ImageConfig RepositoryAccessMode Vpc); Docker Hub and other public registries are not reachable otherwise.',
    infera:
      'infera’s images are built into the stack’s ECR repository; a manifest’s target.image must be an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>), checked when the manifest loads, and in the stack’s region, checked at synth.',
    source: CREATE_MODEL,
    read: READ_ACCELERATORS,
  },
  'sagemaker-neuron': {
    rule: 'Inferentia (ml.inf1, ml.inf2) and Trainium (ml.trn1) instances run models compiled with the AWS Neuron SDK, served from a Neuron image (the AWS Deep Learning Containers’ *-inference-neuronx images); they run no ONNX model and no CUDA.',
    infera:
      'infera’s ONNX image is refused on those instances when the manifest loads and at synth; a model there names its Neuron image (target.image) and compiled artifact (target.modelDataUrl). See docs/heavy-models.md.',
    source: {
      title: 'AWS Deep Learning Containers: available images (Neuron inference containers)',
      url: 'https://github.com/aws/deep-learning-containers/blob/master/available_images.md',
    },
    read: READ_ACCELERATORS,
  },
  'codebuild-concurrent-builds': {
    rule: 'An account runs at most its quota of concurrent CodeBuild builds per compute type; a new account’s can be 1, or 0 until the account is verified, and StartBuild beyond it fails with AccountLimitExceededException ("Cannot have more than 0 builds in queue for the account").',
    infera:
      'The stack’s image builds (infera:imageBuild=codebuild) run one after another, each waiting for the last; cdk synth fails two builds that could start together. If a deploy fails with that message, ask AWS Support or Service Quotas to raise "Concurrently running builds for Linux/Small environment", or deploy with -c infera:imageBuild=docker.',
    source: {
      title:
        'aws-ia/terraform-aws-control_tower_account_factory#54 and awslabs/landing-zone-accelerator-on-aws#1013: StartBuild refused in new accounts (the quotas are in the AWS CodeBuild User Guide, Quotas for AWS CodeBuild)',
      url: 'https://github.com/aws-ia/terraform-aws-control_tower_account_factory/issues/54',
    },
    read: READ_ACCELERATORS,
  },
} as const satisfies Record<string, AwsRule>;
