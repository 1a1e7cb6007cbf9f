import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import {
  LogLevel,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge } from '../lib/nag.ts';
import { OnnxRuntimeLayer } from './onnxruntime-layer.ts';

/** The repository root: entries, package-lock.json and models/ are found from here. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What to copy from models/ into the bundle (see infra/lib/package-models.ts). */
export interface BundledModels {
  /** The models folder. @default <project>/models */
  readonly from?: string;
  readonly names: readonly string[];
  /** name@version whose model.onnx stays out (served by SageMaker). @default none */
  readonly withoutWeights?: readonly string[];
  /** Only fixtures/golden.json, into <bundle>/fixtures. @default false: whole packages into <bundle>/models */
  readonly fixturesOnly?: boolean;
}

export interface InferaFunctionProps
  extends Omit<NodejsFunctionProps, 'runtime' | 'bundling' | 'role' | 'logGroup' | 'tracing' | 'entry'> {
  /** Handler source file, relative to the project root, e.g. functions/api/predict.ts. */
  readonly entry: string;
  /** Powertools service name: the `service` of every log line and metric. */
  readonly serviceName: string;
  /**
   * CloudWatch namespace of the EMF metrics.
   * @default 'infera'
   */
  readonly metricsNamespace?: string;
  /**
   * Serve onnxruntime-node from this layer (and use its architecture).
   * @default no onnxruntime: the function does not score in-process
   */
  readonly onnxRuntime?: OnnxRuntimeLayer;
  /**
   * Model packages to ship inside the function's code, so a version pins code and model together.
   * @default none
   */
  readonly models?: BundledModels;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * The function reads a model store: its AWS adapter (S3 and DynamoDB clients) is bundled.
   * Without one, the adapter is left out (up to 0.3 MB, `npm run bench` B5): only a function
   * whose environment names a store (MODEL_STORE_BUCKET, set by the stack) ever imports it.
   * @default false
   */
  readonly modelStore?: boolean;
}

/**
 * The one module only a store-backed function imports, dynamically (runtime/model-store.ts,
 * deploy/pre-traffic.ts); it alone imports the DynamoDB client.
 */
const STORE_ONLY_MODULES = ['#adapters/model-store/aws.ts'];

/**
 * Modules only `npm start` runs: the quality log's local engine (DuckDB, a native package of its
 * own), imported dynamically when QUALITY_DESTINATION is a folder, which it never is on AWS.
 */
const LOCAL_ONLY_MODULES = ['#adapters/quality/duckdb.ts', '@duckdb/node-api'];

/** node:http and node:https through require(): see infra/lib/cjs-builtins/http.cjs. */
const CJS_BUILTINS = Object.fromEntries(
  ['http', 'https'].flatMap((m) => {
    const shim = join(PROJECT_ROOT, 'infra', 'lib', 'cjs-builtins', `${m}.cjs`);
    return [
      [`--alias:node:${m}`, shim],
      [`--alias:${m}`, shim],
    ];
  }),
);

/**
 * The team's Lambda defaults in one place: Node.js 24, ESM bundle (minified with names kept, AWS SDK
 * bundled at the tested version), active tracing, an explicit log group with retention, a role
 * with no managed policies, and the Powertools service and namespace.
 */
export class InferaFunction extends NodejsFunction {
  readonly logs: LogGroup;
  readonly serviceName: string;
  readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: InferaFunctionProps) {
    const { entry, serviceName, metricsNamespace, onnxRuntime, models, logRetention, modelStore, ...rest } =
      props;
    const external = [
      ...(onnxRuntime ? OnnxRuntimeLayer.EXTERNAL_MODULES : []),
      ...(modelStore ? [] : STORE_ONLY_MODULES),
      ...LOCAL_ONLY_MODULES,
    ];
    const logs = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${serviceName}: its own log group, plus the grants its construct adds.`,
    });
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logs.logGroupArn],
      }),
    );
    const namespace = metricsNamespace ?? 'infera';
    super(scope, id, {
      memorySize: 1024,
      timeout: Duration.seconds(10),
      ...rest,
      entry: join(PROJECT_ROOT, entry),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_24_X,
      architecture: onnxRuntime?.architecture ?? rest.architecture ?? Architecture.X86_64,
      tracing: Tracing.ACTIVE,
      logGroup: logs,
      role,
      environment: {
        POWERTOOLS_SERVICE_NAME: serviceName,
        POWERTOOLS_METRICS_NAMESPACE: namespace,
        ...rest.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        // Function and class names survive minification, so stack traces stay readable without a
        // source map. A map would double the bundle (`npm run bench`, B5) and Lambda only reads it
        // with --enable-source-maps, which slows every error.
        keepNames: true,
        sourceMap: false,
        mainFields: ['module', 'main'],
        // Some bundled CommonJS dependencies call require(); ESM has none of its own.
        banner:
          "import { createRequire as __inferaRequire } from 'node:module'; const require = __inferaRequire(import.meta.url);",
        externalModules: external,
        esbuildArgs: CJS_BUILTINS,
        logLevel: LogLevel.WARNING,
        bundleAwsSDK: true,
        // NodejsFunction writes one file; the functions' own step replaces it with a split build.
        commandHooks: buildHooks(entry, external, models),
      },
    });
    this.logs = logs;
    this.serviceName = serviceName;
    this.metricsNamespace = namespace;
    if (onnxRuntime) onnxRuntime.bind(this);
    acknowledge(
      role,
      'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; both actions are named, neither is a wildcard.',
      'AwsSolutions-IAM5[Resource::*]',
    );
  }
}

/**
 * After NodejsFunction's bundling: the code-split ESM build of the entry (infra/lib/split-bundle.ts),
 * then the model packages the function ships.
 */
function buildHooks(entry: string, external: readonly string[], models: BundledModels | undefined) {
  const split = join(PROJECT_ROOT, 'infra', 'lib', 'split-bundle.ts');
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_input: string, output: string) => [
      [
        JSON.stringify(process.execPath),
        JSON.stringify(split),
        '--entry',
        JSON.stringify(entry),
        '--out',
        JSON.stringify(output),
        // Quoted: a subpath import starts with '#', which the shell would read as a comment.
        ...(external.length > 0 ? ['--external', JSON.stringify(external.join(','))] : []),
      ].join(' '),
      ...(models ? [packageCommand(models, output)] : []),
    ],
  };
}

function packageCommand(models: BundledModels, output: string): string {
  const script = join(PROJECT_ROOT, 'infra', 'lib', 'package-models.ts');
  const from = models.from ?? join(PROJECT_ROOT, 'models');
  return [
    JSON.stringify(process.execPath),
    JSON.stringify(script),
    '--from',
    JSON.stringify(from),
    '--to',
    JSON.stringify(join(output, models.fixturesOnly ? 'fixtures' : 'models')),
    '--models',
    models.names.join(','),
    ...(models.withoutWeights?.length ? ['--without-weights', models.withoutWeights.join(',')] : []),
    ...(models.fixturesOnly ? ['--fixtures'] : []),
  ].join(' ');
}
