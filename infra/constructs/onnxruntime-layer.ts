import type { AssetStaging } from 'aws-cdk-lib';
import { Annotations, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Architecture, Code, type IFunction, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct, type IConstruct } from 'constructs';
import {
  buildOnnxRuntimeLayer,
  folderBytes,
  LAMBDA_UNZIPPED_LIMIT_BYTES,
  type LayerArchitecture,
  type LayerBuild,
  mb,
  PROCESSING_PACKAGES,
} from '../../layers/onnxruntime/build.ts';

export interface OnnxRuntimeLayerProps {
  /**
   * CPU architecture of the binaries in the layer, and of every function that uses it.
   * @default Architecture.X86_64
   */
  readonly architecture?: Architecture;
  /**
   * Where the layer folder is built.
   * @default layers/onnxruntime/dist
   */
  readonly outDir?: string;
}

/** A function's size, as the layer's budget check measured it. */
export interface FunctionSize {
  readonly path: string;
  readonly bundleBytes: number;
}

/**
 * onnxruntime-node as a Lambda layer: the JS API, onnxruntime-common and one architecture's
 * Linux binaries, nothing else (functions bundle their own AWS SDK and Powertools). Functions
 * that `bind` it keep onnxruntime-node out of their bundle and are checked at synth against
 * Lambda's 250 MB unzipped limit, layer included.
 */
export class OnnxRuntimeLayer extends Construct {
  /** What a function bundle must leave external, to be served from the layer at /opt/nodejs. */
  static readonly EXTERNAL_MODULES: readonly string[] = [
    'onnxruntime-node',
    'onnxruntime-common',
    ...PROCESSING_PACKAGES,
  ];

  readonly layer: LayerVersion;
  readonly architecture: Architecture;
  readonly build: LayerBuild;
  readonly #functions: IFunction[] = [];

  constructor(scope: Construct, id: string, props: OnnxRuntimeLayerProps = {}) {
    super(scope, id);
    this.architecture = props.architecture ?? Architecture.X86_64;
    this.build = buildOnnxRuntimeLayer({
      architecture: this.architecture.name as LayerArchitecture,
      ...(props.outDir ? { outDir: props.outDir } : {}),
    });
    this.layer = new LayerVersion(this, 'Layer', {
      code: Code.fromAsset(this.build.dir),
      compatibleRuntimes: [Runtime.NODEJS_24_X],
      compatibleArchitectures: [this.architecture],
      description: `onnxruntime-node ${this.build.onnxruntimeVersion} (${this.architecture.name}, CPU) and the pre-processing libraries, ${mb(this.build.unzippedBytes)} unzipped`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.node.addValidation({ validate: () => this.#checkSizes() });
  }

  /** Adds the layer to a function and counts the function in the size budget. */
  bind(fn: IFunction & { addLayers(...layers: LayerVersion[]): void }): void {
    fn.addLayers(this.layer);
    this.#functions.push(fn);
  }

  /** Every bound function's bundle size, largest first. */
  sizes(): FunctionSize[] {
    return this.#functions
      .map((fn) => ({ path: fn.node.path, bundleBytes: bundleBytes(fn) }))
      .sort((a, b) => b.bundleBytes - a.bundleBytes);
  }

  #checkSizes(): string[] {
    const [largest] = this.sizes();
    if (!largest) return [];
    const total = this.build.unzippedBytes + largest.bundleBytes;
    const line = `onnxruntime layer ${mb(this.build.unzippedBytes)} + largest function ${largest.path} ${mb(largest.bundleBytes)} = ${mb(total)} of Lambda's ${mb(LAMBDA_UNZIPPED_LIMIT_BYTES)} unzipped limit`;
    if (total > LAMBDA_UNZIPPED_LIMIT_BYTES) {
      return [`${line}. Move the largest models to SageMaker (target "sagemaker") or split the function.`];
    }
    Annotations.of(this).addInfo(line);
    return [];
  }
}

/** Where a function's code asset was staged (its bundle), or undefined when bundling was skipped. */
export function stagedPath(fn: IConstruct): string | undefined {
  // With bundling skipped (cdk deploy of another stack, or tests), the stage is the project root.
  if (!Stack.of(fn).bundlingRequired) return undefined;
  const stage = fn.node.tryFindChild('Code')?.node.tryFindChild('Stage') as AssetStaging | undefined;
  return stage?.absoluteStagedPath;
}

/** Unzipped size of a function's bundle (0 while bundling is skipped). */
export function bundleBytes(fn: IConstruct): number {
  const path = stagedPath(fn);
  if (!path) return 0;
  try {
    return folderBytes(path);
  } catch {
    return 0;
  }
}
