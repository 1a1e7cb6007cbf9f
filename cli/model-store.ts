/**
 * Where a store-backed lifecycle command acts, and `infera publish`. A stack deployed with
 * infera:modelStore keeps its models' packages and traffic policies outside the function's code:
 * the CLI finds the store from the shared function's own environment (MODEL_STORE_BUCKET,
 * MODEL_STORE_TABLE), so it needs nothing but --stack. Locally, --store <dir> names a store
 * folder that npm start --store serves. Both go through the same core (core/model/store).
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { functionEnvironment, invokeJson, lambdaClient } from '#adapters/lambda.ts';
import { FolderModelStore } from '#adapters/model-store/folder.ts';
import { ModelPackageError, messageOf, PreconditionFailedError } from '#core/errors.ts';
import type { GoldenCase, GoldenReply } from '#core/model/golden.ts';
import { MODEL_NAME, VERSION } from '#core/model/manifest/names.ts';
import { relPath } from '#core/model/paths.ts';
import { DEFAULT_PLACEMENT_POLICY } from '#core/model/placement.ts';
import { NotInProcessError, publishModel } from '#core/model/store/publish.ts';
import type { ModelStore } from '#core/ports.ts';
import { askFunction } from '#runtime/golden-events.ts';
import { sharedModelsFunctionName } from '../infra/lib/names.ts';
import { runningPlatforms } from '../infra/local/info-file.ts';
import { parseCommand, usageError } from './args.ts';
import { CliError, DEFAULT_URL } from './common.ts';
import { ProgressBar } from './progress.ts';

/** A model store and how to ask the function that serves it. */
export interface StoreTarget {
  readonly kind: 'aws' | 'folder';
  readonly store: ModelStore;
  /** Sends one golden case to the serving function, asking for its version by number. */
  readonly ask: (c: GoldenCase) => Promise<GoldenReply>;
  /** What serves it: the function alias, or the local URL. */
  readonly servedBy: string;
  /** On AWS: the function, and the metrics' namespace and service, for the canary's alarms. */
  readonly aws?: {
    readonly fn: string;
    readonly namespace: string;
    readonly service: string;
    readonly region?: string;
    /** Where the quality function keeps its reports (QUALITY_DESTINATION), when the stack logs quality. */
    readonly quality?: string;
  };
  /** How long one read of a record serves in the function (MODEL_POLICY_TTL_MS). */
  readonly ttlMs: number;
}

export interface StoreFlags {
  readonly stack?: string;
  readonly function?: string;
  readonly region?: string;
  readonly store?: string;
  readonly url?: string;
}

/**
 * The store a command acts on: --store <dir>, or the stack's shared function when it serves from
 * a store. Undefined when the stack has no store (its models are in the function's code).
 */
export async function locateStore(o: StoreFlags): Promise<StoreTarget | undefined> {
  if (o.store) {
    const url = (o.url ?? process.env.INFERA_URL ?? runningPlatforms()[0]?.url ?? DEFAULT_URL).replace(
      /\/+$/,
      '',
    );
    return {
      kind: 'folder',
      store: new FolderModelStore(o.store),
      ask: askHttp(url),
      servedBy: url,
      ttlMs: 5000,
    };
  }
  if (!o.stack && !o.function) return undefined;
  const fn = o.function ?? sharedModelsFunctionName(o.stack as string);
  if (!fn) return undefined;
  const lambda = lambdaClient(o.region ? { region: o.region } : {});
  let env: Readonly<Record<string, string>> | undefined;
  try {
    env = await functionEnvironment(lambda, fn);
  } catch (err) {
    throw new CliError(`Could not read the configuration of ${fn}: ${messageOf(err)}`, [
      'Check --stack/--function, --region and your AWS credentials.',
    ]);
  }
  const bucket = env?.MODEL_STORE_BUCKET;
  const table = env?.MODEL_STORE_TABLE;
  if (!env || !bucket || !table) return undefined;
  const { AwsModelStore } = await import('#adapters/model-store/aws.ts');
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const alias = `${fn}:live`;
  return {
    kind: 'aws',
    store: new AwsModelStore({
      bucket,
      table,
      ...(endpoint ? { endpoint } : {}),
      ...(o.region ? { region: o.region } : {}),
    }),
    ask: askFunction((e) => invokeJson(lambda, alias, e), `infera-release-${Date.now()}`),
    servedBy: alias,
    aws: {
      fn,
      namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'Infera',
      service: env.POWERTOOLS_SERVICE_NAME ?? fn,
      ...(env.QUALITY_DESTINATION ? { quality: env.QUALITY_DESTINATION } : {}),
      ...(o.region ? { region: o.region } : {}),
    },
    ttlMs: Number(env.MODEL_POLICY_TTL_MS ?? 5000),
  };
}

/** A stack's store, or the error that says the stack has none. */
export async function requireStore(o: StoreFlags, what: string): Promise<StoreTarget> {
  const t = await locateStore(o);
  if (t) return t;
  if (!o.stack && !o.function && !o.store)
    throw new CliError(
      `${what} needs a model store: --stack <name> (deployed with infera:modelStore) or --store <dir>.`,
      [],
      2,
    );
  throw new CliError(
    `${o.function ?? sharedModelsFunctionName(o.stack ?? '') ?? o.stack} does not serve from a model store: its models are in its code.`,
    ['Deploy the stack with -c infera:modelStore=true (docs/many-models.md), or use --store <dir> locally.'],
  );
}

/** Golden cases sent to a running npm start, as a client would send them. */
function askHttp(url: string) {
  return async (c: GoldenCase): Promise<GoldenReply> => {
    let res: Response;
    try {
      res = await fetch(
        `${url}/v1/models/${encodeURIComponent(c.model)}/predict?version=${encodeURIComponent(c.version)}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'infera-release' },
          body: JSON.stringify({ instances: c.golden.instances }),
          signal: AbortSignal.timeout(60_000),
        },
      );
    } catch (err) {
      throw new CliError(`Cannot reach ${url} to check the golden fixtures (${messageOf(err)}).`, [
        'Start the platform on the store first: npm start -- --store <dir>, or pass --url.',
      ]);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  };
}

// ---------------------------------------------------------------- infera publish

export const PUBLISH_HELP = `Usage: infera publish <model> [<version> ...] (--stack <name> | --store <dir>) [--models <dir>]
       infera publish --all (--stack <name> | --store <dir>) [--models <dir>]

Uploads model versions from models/<model>/<version>/ to the model store, where the deployed
function (or npm start --store) fetches them on first use. Each version is checked as a
deployment checks it (manifest, sha256 of every file, processor), stored by content (a file
already there is not sent again) and added to the model's record. Publishing moves no traffic:
use infera release. A model's first publish takes its policy from its aliases.json (else live
is its newest version). A published version is immutable: other bytes under the same number
are refused.

Options:
  --all               every model and version under --models
  --models <dir>      models folder (default: models)
  --stack <name>      deployed stack whose shared function serves from a model store
  --function <name>   the shared function's name, when it is not <stack>-shared-models
  --store <dir>       a local model store folder (what npm start -- --store <dir> serves)
  --region <region>   AWS region

Examples:
  infera publish fraud-detector 3 --stack Infera
  infera publish --all --store .infera/store
`;

export async function publishCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'infera publish',
      help: PUBLISH_HELP,
      positionals: true,
      options: {
        all: { type: 'boolean', default: false },
        models: { type: 'string', default: 'models' },
        stack: { type: 'string' },
        function: { type: 'string' },
        store: { type: 'string' },
        region: { type: 'string' },
      },
    },
    args,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const root = values.models as string;
  const [model, ...versions] = positionals;
  if (values.all && model)
    throw usageError('infera publish', `--all publishes every model; drop '${model}'.`);
  if (!values.all && !model) throw usageError('infera publish', 'Name a model, or pass --all.');
  if (model && !MODEL_NAME.test(model)) throw usageError('infera publish', `'${model}' is not a model name.`);
  for (const v of versions)
    if (!VERSION.test(v)) throw usageError('infera publish', `'${v}' is not a version number such as 2.`);
  const target = await requireStore(values, 'infera publish');
  const names = model ? [model] : await subfolders(root);
  if (names.length === 0) throw new CliError(`${relPath(root)} holds no models.`, [], 2);
  const plan: { name: string; versions: string[] }[] = [];
  for (const name of names) {
    const found = (await subfolders(join(root, name))).filter((v) => VERSION.test(v));
    const wanted = versions.length > 0 ? versions : found.sort((a, b) => Number(a) - Number(b));
    for (const v of wanted)
      if (!found.includes(v)) throw new CliError(`${relPath(join(root, name, v))} does not exist.`, [], 2);
    if (wanted.length === 0)
      throw new CliError(`${relPath(join(root, name))} has no version folders.`, [], 2);
    plan.push({ name, versions: wanted });
  }
  const total = plan.reduce((n, p) => n + p.versions.length, 0);
  const bar = new ProgressBar({ label: 'publish', unit: 'versions' });
  let done = 0;
  let sent = 0;
  bar.update(0, total);
  const lines: string[] = [];
  const skipped: string[] = [];
  for (const p of plan) {
    try {
      const { record, published } = await publishModel(target.store, join(root, p.name), p.name, p.versions, {
        routing: DEFAULT_PLACEMENT_POLICY,
        reason: `infera publish ${p.name} ${p.versions.join(' ')} at ${new Date().toISOString()}`,
      });
      for (const v of published) {
        done++;
        sent += v.uploaded;
        lines.push(
          `${p.name} ${v.version}: ${v.already ? 'already published' : 'published'} (package ${v.digest.slice(0, 12)}, ${v.files} files, ${v.uploaded} objects sent); record revision ${record.revision}`,
        );
      }
    } catch (err) {
      // --all leaves out what the store cannot serve, and says so; a model named is an error.
      if (values.all && err instanceof NotInProcessError) {
        skipped.push(`${p.name}: ${err.details.join('; ')}`);
        done += p.versions.length;
        bar.update(done, total, p.name);
        continue;
      }
      bar.done();
      if (err instanceof ModelPackageError || err instanceof PreconditionFailedError)
        throw new CliError(`${p.name}: ${err.message}`);
      throw err;
    }
    bar.update(done, total, p.name);
  }
  bar.done();
  for (const l of lines) console.log(l);
  for (const s of skipped) console.log(`skipped ${s}`);
  const published = lines.length;
  const models = plan.length - skipped.length;
  console.log(
    `${published} version${published === 1 ? '' : 's'} of ${models} model${models === 1 ? '' : 's'} in ${target.store.where} (${sent} objects sent). Traffic did not move: infera release <model> <version> --canary 10 ${target.kind === 'aws' ? '--stack ...' : `--store ${values.store}`}`,
  );
  return 0;
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !d.name.startsWith('_'))
      .map((d) => d.name)
      .sort();
  } catch {
    throw new CliError(
      `Cannot read ${relPath(dir)}.`,
      ['Point --models at the folder that holds <model>/<version>/.'],
      2,
    );
  }
}
