import type { Manifest, ServerlessConfig } from './manifest.ts';

/**
 * Where a model version runs, and why. Decided once per version when the registry loads, from
 * the manifest's `target`, the size of model.onnx and the deployment's policy, so the decision
 * is visible (GET /v1/models/{model}, start-up logs) before any request depends on it.
 */
export type PlacementTarget = 'lambda' | 'sagemaker';

export interface EndpointRef {
  readonly name: string;
  readonly variant: string;
  /** Always-on instances; unset for a serverless endpoint. */
  readonly instanceType?: string | undefined;
  readonly instanceCount?: number | undefined;
  /** SageMaker Serverless Inference: no instances, no idle cost. */
  readonly serverless?: ServerlessConfig | undefined;
  /** A user-supplied serving image (e.g. Neuron on Inferentia); unset means the infera ONNX container. */
  readonly image?: string | undefined;
  readonly modelDataUrl?: string | undefined;
  /** As the manifest says; unset means on for instances, off for serverless. */
  readonly networkIsolation?: boolean | undefined;
}

export interface Placement {
  readonly target: PlacementTarget;
  /** What the manifest asked for. */
  readonly declared: Manifest['target']['type'];
  /** One sentence a user can act on: which rule decided, with the numbers it used. */
  readonly reason: string;
  readonly overridden: boolean;
  readonly endpoint?: EndpointRef;
  readonly fallback?: { readonly model: string; readonly version: string };
}

export interface PlacementPolicy {
  /** `auto` sends models whose model.onnx is larger than this to SageMaker (Lambda's package cap is 250 MB). */
  readonly sizeThresholdMb: number;
  /**
   * `auto` sends models whose declared latency budget is below this to SageMaker: an endpoint is
   * always warm, a Lambda function may cold start.
   */
  readonly lambdaColdStartMs: number;
  /** `model` or `model@version` -> target; wins over the manifest. */
  readonly overrides: Readonly<Record<string, PlacementTarget>>;
  /**
   * What endpoint names start with: the stack's name (lower case) on AWS, so two stacks in one
   * account and region never share an endpoint; `infera` locally.
   */
  readonly endpointPrefix?: string;
}

export const DEFAULT_PLACEMENT_POLICY: PlacementPolicy = {
  sizeThresholdMb: 200,
  lambdaColdStartMs: 1000,
  overrides: {},
};

export const DEFAULT_VARIANT = 'AllTraffic';

/** The endpoint name prefix outside a stack (npm start, tests). */
export const DEFAULT_ENDPOINT_PREFIX = 'infera';

/** A stack's endpoint prefix: its name in lower case, SageMaker-safe (ENDPOINT_PREFIX). */
export function endpointPrefixOf(stackName: string): string {
  return stackName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
}

const INSTANCE_FOR: Record<'none' | 'gpu' | 'inferentia', string> = {
  none: 'ml.c6i.xlarge',
  gpu: 'ml.g5.xlarge',
  inferentia: 'ml.inf2.xlarge',
};

/**
 * The accelerator a SageMaker instance type carries, by family: NVIDIA GPUs (ml.g4dn, g5, g6,
 * p3, p4d, p5...), AWS Neuron chips (ml.inf1, inf2, trn1...), or none (CPU).
 */
export function hardwareOf(instanceType: string): 'gpu' | 'neuron' | 'cpu' {
  const family = /^ml\.([a-z]+)\d/.exec(instanceType)?.[1] ?? '';
  if (family === 'g' || family === 'p') return 'gpu';
  if (family === 'inf' || family === 'trn') return 'neuron';
  return 'cpu';
}

/** The instance type an endpoint gets when its manifest names none. */
export function defaultInstanceType(accelerator: 'none' | 'gpu' | 'inferentia' = 'none'): string {
  return INSTANCE_FOR[accelerator];
}

/** The endpoint name the CDK stack gives a version: `<prefix>-<model>-<version>`, SageMaker-safe. */
export function defaultEndpointName(
  model: string,
  version: string,
  prefix = DEFAULT_ENDPOINT_PREFIX,
): string {
  const safe = `${prefix}-${model}-${version}`
    .replace(/[^a-zA-Z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/-$/, '');
  return safe.slice(0, 63).replace(/-$/, '');
}

function mb(bytes: number): string {
  const v = bytes / (1024 * 1024);
  return v >= 10 ? `${Math.round(v)} MB` : v >= 0.1 ? `${v.toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`;
}

/** Decides where one model version runs. Pure: same inputs, same route. */
export function decidePlacement(
  mv: { readonly name: string; readonly version: string; readonly sizeBytes: number | undefined },
  manifest: Manifest,
  policy: PlacementPolicy = DEFAULT_PLACEMENT_POLICY,
): Placement {
  const t = manifest.target;
  const declared = t.type;
  const fallback = manifest.fallback ? { ...manifest.fallback } : undefined;
  const endpointFor = (accelerator: 'none' | 'gpu' | 'inferentia'): EndpointRef => {
    const e: {
      endpointName?: string | undefined;
      variant?: string | undefined;
      instanceType?: string | undefined;
      instanceCount?: number | undefined;
      serverless?: ServerlessConfig | undefined;
      image?: string | undefined;
      modelDataUrl?: string | undefined;
      networkIsolation?: boolean | undefined;
    } = t.type === 'lambda' ? {} : t;
    return {
      name: e.endpointName ?? defaultEndpointName(mv.name, mv.version, policy.endpointPrefix),
      variant: e.variant ?? DEFAULT_VARIANT,
      ...(e.serverless
        ? { serverless: e.serverless }
        : { instanceType: e.instanceType ?? INSTANCE_FOR[accelerator], instanceCount: e.instanceCount ?? 1 }),
      ...(e.image ? { image: e.image } : {}),
      ...(e.modelDataUrl ? { modelDataUrl: e.modelDataUrl } : {}),
      ...(e.networkIsolation !== undefined ? { networkIsolation: e.networkIsolation } : {}),
    };
  };
  const accel =
    t.type === 'lambda' || t.serverless
      ? 'none'
      : (t.accelerator ?? (t.type === 'sagemaker' ? 'gpu' : 'none'));

  let target: PlacementTarget;
  let reason: string;
  if (t.type === 'lambda') {
    target = 'lambda';
    reason = 'the manifest sets target "lambda"';
  } else if (t.type === 'sagemaker') {
    target = 'sagemaker';
    reason = 'the manifest sets target "sagemaker"';
  } else {
    const threshold = t.sizeThresholdMb ?? policy.sizeThresholdMb;
    const size = mv.sizeBytes;
    if (accel !== 'none') {
      target = 'sagemaker';
      reason = `auto: the model declares accelerator "${accel}", and Lambda is CPU only`;
    } else if (size !== undefined && size > threshold * 1024 * 1024) {
      target = 'sagemaker';
      reason = `auto: model.onnx is ${mb(size)}, over the ${threshold} MB threshold (Lambda packages are capped at 250 MB unzipped and init at 10 s)`;
    } else if (t.latencyBudgetMs !== undefined && t.latencyBudgetMs < policy.lambdaColdStartMs) {
      target = 'sagemaker';
      reason = `auto: the latency budget of ${t.latencyBudgetMs} ms is below a Lambda cold start (${policy.lambdaColdStartMs} ms, ROUTE_LAMBDA_COLD_START_MS); an endpoint is always warm`;
    } else {
      target = 'lambda';
      reason = `auto: model.onnx is ${size === undefined ? 'not present' : mb(size)}, within the ${threshold} MB threshold, needs no accelerator${
        t.latencyBudgetMs !== undefined
          ? `, and its ${t.latencyBudgetMs} ms latency budget allows a cold start`
          : ''
      }`;
    }
  }

  const override = policy.overrides[`${mv.name}@${mv.version}`] ?? policy.overrides[mv.name];
  let overridden = false;
  if (override && override !== target) {
    reason = `ROUTE_OVERRIDES sets "${override}" (without it: ${target}, because ${reason})`;
    target = override;
    overridden = true;
  }
  return {
    target,
    declared,
    reason,
    overridden,
    ...(target === 'sagemaker' ? { endpoint: endpointFor(accel) } : {}),
    ...(fallback && target === 'sagemaker' ? { fallback } : {}),
  };
}

/**
 * Parses `ROUTE_OVERRIDES`: `name[@version]=lambda|sagemaker`, comma-separated. Returns the map,
 * or the problems, each naming the entry and the fix.
 */
export function parseRouteOverrides(text: string | undefined): {
  overrides: Record<string, PlacementTarget>;
  problems: string[];
} {
  const overrides: Record<string, PlacementTarget> = {};
  const problems: string[] = [];
  for (const raw of (text ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const m = /^([a-z0-9][a-z0-9._-]{0,62}(?:@[1-9][0-9]{0,5})?)=(lambda|sagemaker)$/.exec(entry);
    if (!m) {
      problems.push(
        `ROUTE_OVERRIDES: "${entry}" is not name[@version]=lambda|sagemaker, e.g. "fraud-detector-xl=lambda"`,
      );
      continue;
    }
    overrides[m[1] ?? ''] = m[2] as PlacementTarget;
  }
  return { overrides, problems };
}
