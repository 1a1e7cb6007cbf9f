import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { fieldOf } from '#core/errors.ts';

/** A deployed function version: what `infera deployments` lists and `infera rollback` moves to. */
export interface FunctionVersion {
  readonly version: string;
  readonly description: string;
  readonly lastModified: string;
  readonly codeSha256: string;
}

export interface AliasState {
  readonly name: string;
  readonly functionVersion: string;
  /** Canary split while CodeDeploy shifts traffic: extra version -> weight. */
  readonly additionalWeights: Readonly<Record<string, number>>;
}

export function lambdaClient(opts: { endpoint?: string; region?: string } = {}): LambdaClient {
  return new LambdaClient({
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.region ? { region: opts.region } : {}),
  });
}

/** Invokes a function (version or alias ARN) synchronously and returns its parsed JSON result. */
export async function invokeJson(
  client: LambdaClient,
  functionName: string,
  event: unknown,
): Promise<unknown> {
  const out = await client.send(
    new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event)) }),
  );
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  if (out.FunctionError) {
    throw new Error(`${functionName} failed (${out.FunctionError}): ${text.slice(0, 500)}`);
  }
  return text === '' ? undefined : JSON.parse(text);
}

/** Every published version (not $LATEST), oldest first. */
export async function listVersions(client: LambdaClient, functionName: string): Promise<FunctionVersion[]> {
  const versions: FunctionVersion[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new ListVersionsByFunctionCommand({
        FunctionName: functionName,
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    for (const v of page.Versions ?? []) {
      if (!v.Version || v.Version === '$LATEST') continue;
      versions.push({
        version: v.Version,
        description: v.Description ?? '',
        lastModified: v.LastModified ?? '',
        codeSha256: v.CodeSha256 ?? '',
      });
    }
    marker = page.NextMarker;
  } while (marker);
  return versions.sort((a, b) => Number(a.version) - Number(b.version));
}

export async function getAlias(
  client: LambdaClient,
  functionName: string,
  alias: string,
): Promise<AliasState> {
  const out = await client.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }));
  return {
    name: out.Name ?? alias,
    functionVersion: out.FunctionVersion ?? '',
    additionalWeights: out.RoutingConfig?.AdditionalVersionWeights ?? {},
  };
}

/**
 * Points the alias at one version; `weights` (version -> share) sends part of the traffic to
 * others, as a CodeDeploy canary does. Without weights no canary split is left over.
 */
export async function pointAlias(
  client: LambdaClient,
  functionName: string,
  alias: string,
  version: string,
  description: string,
  weights: Record<string, number> = {},
): Promise<AliasState> {
  const out = await client.send(
    new UpdateAliasCommand({
      FunctionName: functionName,
      Name: alias,
      FunctionVersion: version,
      Description: description,
      RoutingConfig: { AdditionalVersionWeights: weights },
    }),
  );
  return {
    name: out.Name ?? alias,
    functionVersion: out.FunctionVersion ?? version,
    additionalWeights: out.RoutingConfig?.AdditionalVersionWeights ?? {},
  };
}

/**
 * A function's environment variables, or undefined when there is no such function. Tells the CLI
 * where a deployed function's model store is.
 */
export async function functionEnvironment(
  client: LambdaClient,
  functionName: string,
): Promise<Readonly<Record<string, string>> | undefined> {
  try {
    const out = await client.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    return out.Environment?.Variables ?? {};
  } catch (err) {
    if (fieldOf(err, 'name') === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}
