#!/usr/bin/env node
/**
 * The infera CLI. Most commands talk to the platform's API (--url or INFERA_URL), so they work
 * against `npm start` and a deployed API alike. The model-lifecycle commands (release, promote,
 * shadow, deployments, rollback) act on the local models/ folder or, with --stack/--function, on
 * the Lambda alias `live` through the AWS SDK.
 */
import { readFile } from 'node:fs/promises';
import { localModelsDir, runningPlatforms } from '../infra/local/info-file.ts';
import { parseCommand, runMain, usageError } from './args.ts';
import { batchCommand } from './batch.ts';
import { api, CliError, DEFAULT_URL, table } from './common.ts';
import { deploymentsCommand, rollbackCommand } from './deployments.ts';
import { compareCommand, promoteCommand, releaseCommand, shadowCommand } from './release.ts';

const HELP: Record<string, string> = {
  main: `infera: serverless ONNX inference, locally and on AWS.

Usage: infera <command> [options]

Commands:
  start                     run the platform locally (same as npm start)
  init <model.onnx>         draft models/<name>/<version>/ from an ONNX graph, and check it serves
  models                    list models, versions and aliases
  predict <model>           score instances with a model
  batch <subcommand>        batch scoring: submit, status, download, list
  feedback submit <file>    ground truth for earlier predictions, from a .jsonl or .csv file
  quality <model>           labelled quality per version: accuracy, F1, AUC, MAE, alarms
  publish <model> [<v>]     upload versions to a model store (--stack or --store), no traffic moved
  deployments <model>       versions and where "live" points (local, or --stack on AWS)
  release <model> <v>       send live traffic to a version, all or --canary <percent>
  promote <model>           the canary (or shadow) version takes all live traffic
  rollback <model>          all live traffic back to one version, at once
  shadow <model> <v>        also score live requests with a version, unseen (--off to stop)
  compare <model> <a> <b>   two versions side by side: traffic, latency, scores, agreement
  cost [model]              what a million predictions cost on each route, and where to run
  preflight                 before a deploy: will the stack deploy on this account and region?

Global options:
  --url <url>               API to talk to (default: $INFERA_URL or ${DEFAULT_URL})
  -h, --help                help for a command, e.g. infera batch --help
  -v, --version             print the CLI version
`,
  models: `Usage: infera models [--url <url>] [--json]

Lists every model with its task, versions, live version and target.

Options:
  --json        print the raw JSON response
  --url <url>   API to talk to (default: $INFERA_URL or ${DEFAULT_URL})
`,
  predict: `Usage: infera predict <model> (--data '<json>' | --file <path> | --file - | --image <path> | --text '<text>') [options]

Scores instances. The input may be one instance object, an array of instances,
{"instances": [...]}, or an Open Inference Protocol v2 body {"inputs": [...]}; or, for a
model with an image input, a PNG or JPEG file; or, for a text model, the text.

Options:
  -d, --data <json>     input as a JSON string
  -f, --file <path>     input from a JSON file ("-" reads standard input)
  --image <path>        a PNG or JPEG file, sent as the body (image models)
  --text <text>         text, sent as a text/plain body (text models)
  --version <v>         version number or alias (default: live)
  --url <url>           API to talk to (default: $INFERA_URL or ${DEFAULT_URL})

Examples:
  infera predict iris --data '{"sepal_length_cm":5.1,"sepal_width_cm":3.5,"petal_length_cm":1.4,"petal_width_cm":0.2}'
  infera predict fraud-detector --file models/fraud-detector/2/fixtures/golden.json --version 1
  infera predict text-direction --image models/text-direction/1/fixtures/street-180.png
  infera predict ticket-router --text 'my parcel is late'
`,
};

async function readInput(data?: string, file?: string): Promise<unknown> {
  if ((data === undefined) === (file === undefined)) {
    throw new CliError(
      'Give the input with exactly one of --data or --file.',
      ['See: infera predict --help'],
      2,
    );
  }
  let text: string;
  let source: string;
  if (data !== undefined) {
    text = data;
    source = '--data';
  } else if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
    source = 'standard input';
  } else {
    source = file as string;
    try {
      text = await readFile(source, 'utf8');
    } catch (err) {
      throw new CliError(
        `Cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
        [],
        2,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`The input from ${source} is not valid JSON: ${(err as Error).message}`, [], 2);
  }
}

/** The live column: one version, or a canary split as "1 80% / 2 20%", and a shadow. */
export function liveOf(m: {
  aliases: Record<string, string>;
  traffic?: { live: { version: string; weight: number }[]; shadow?: string };
}): string {
  const live = m.traffic?.live ?? [];
  const split =
    live.length > 1
      ? live.map((w) => `${w.version} ${Math.round(w.weight * 100)}%`).join(' / ')
      : (live[0]?.version ?? m.aliases.live ?? '-');
  return m.traffic?.shadow ? `${split} (shadow ${m.traffic.shadow})` : split;
}

/**
 * The lifecycle commands edit a models folder's aliases.json (or a deployed stack). Pointed at a
 * running platform (--url or INFERA_URL) with no --models, they edit the folder that platform
 * serves, which it names at /local/info.json; a URL that is no local platform is refused with
 * the reason, instead of silently editing ./models. With no URL either, they edit the folder the
 * platform running from this working folder serves (its info file, infra/local/info-file.ts).
 */
export async function onPlatform(args: readonly string[]): Promise<string[]> {
  // A store folder names its own place; --url stays, for the golden check against npm start --store.
  if (args.includes('--store')) return [...args];
  const out = [...args];
  const at = out.indexOf('--url');
  const url = at >= 0 ? out[at + 1] : process.env.INFERA_URL;
  if (at >= 0) out.splice(at, 2);
  if (
    out.includes('--models') ||
    out.includes('--stack') ||
    out.includes('--function') ||
    out.includes('-h') ||
    out.includes('--help')
  )
    return out;
  if (!url) {
    // No platform named: the one npm start runs from this folder, if any (its info file).
    const served = localModelsDir(undefined);
    if (served.servedBy)
      console.error(`Acting on ${served.dir}, the models folder npm start serves at ${served.servedBy}.`);
    return served.servedBy ? [...out, '--models', served.dir] : out;
  }
  let info: { modelsDir?: string };
  try {
    info = (await api(url, '/local/info.json')) as { modelsDir?: string };
  } catch (err) {
    throw new CliError(
      `${url} is not a local infera platform (${(err as Error).message.split('\n')[0]}). These commands edit a local models folder (--models <dir>) or a deployed stack (--stack <name>); say which.`,
      [],
      2,
    );
  }
  if (!info.modelsDir)
    throw new CliError(`${url} did not say which models folder it serves; pass --models <dir>.`, [], 2);
  return [...out, '--models', info.modelsDir];
}

/** Accepts the shapes people naturally have at hand and returns the request path suffix and body. */
export function toRequest(input: unknown): { kind: 'v1' | 'v2'; body: unknown } {
  if (Array.isArray(input)) return { kind: 'v1', body: { instances: input } };
  if (input && typeof input === 'object') {
    const o = input as Record<string, unknown>;
    if (Array.isArray(o.inputs)) return { kind: 'v2', body: input };
    if (Array.isArray(o.instances)) return { kind: 'v1', body: { instances: o.instances } };
    return { kind: 'v1', body: { instances: [input] } };
  }
  throw new CliError('The input must be a JSON object or array of instances.', [], 2);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    console.log(HELP.main);
    return command ? 0 : 2;
  }
  if (command === '-v' || command === '--version') {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    console.log(pkg.version);
    return 0;
  }
  if (command === 'start') {
    const { tuneProcessMemory } = await import('../infra/local/memory.ts');
    tuneProcessMemory();
    const { start } = await import('../infra/local/start.ts');
    await start(rest);
    return -1; // keeps running until a signal
  }
  if (command === 'batch') return batchCommand(rest);
  if (command === 'deployments') return deploymentsCommand(await onPlatform(rest));
  if (command === 'rollback') return rollbackCommand(await onPlatform(rest));
  if (command === 'release') return releaseCommand(await onPlatform(rest));
  if (command === 'promote') return promoteCommand(await onPlatform(rest));
  if (command === 'shadow') return shadowCommand(await onPlatform(rest));
  if (command === 'compare') return compareCommand(rest);
  if (command === 'cost') return (await import('./cost.ts')).costCommand(rest);
  if (command === 'publish') return (await import('./model-store.ts')).publishCommand(rest);
  if (command === 'init') return (await import('./init.ts')).initCommand(rest);
  if (command === 'preflight') return (await import('./preflight.ts')).preflightCommand(rest);
  if (command === 'feedback') return (await import('./quality.ts')).feedbackCommand(rest);
  if (command === 'quality')
    return (await import('./quality.ts')).qualityCommand(
      rest,
      process.env.INFERA_URL ?? runningPlatforms()[0]?.url ?? DEFAULT_URL,
    );
  if (!(command in HELP) || command === 'main') {
    throw new CliError(
      `Unknown command '${command}'.`,
      [
        'Commands: start, init, models, predict, batch, feedback, quality, publish, deployments, release, promote, rollback, shadow, compare, cost, preflight. See: infera --help',
      ],
      2,
    );
  }
  const parsed = parseCommand(
    {
      name: `infera ${command}`,
      help: HELP[command] as string,
      positionals: true,
      options: {
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
        data: { type: 'string', short: 'd' },
        file: { type: 'string', short: 'f' },
        image: { type: 'string' },
        text: { type: 'string' },
        version: { type: 'string' },
      },
    },
    rest,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const base = values.url ?? process.env.INFERA_URL ?? DEFAULT_URL;

  if (command === 'models') {
    const body = (await api(base, '/v1/models')) as {
      models: {
        name: string;
        task: string;
        versions: string[];
        aliases: Record<string, string>;
        traffic?: { live: { version: string; weight: number }[]; shadow?: string };
        target: string;
      }[];
    };
    if (values.json) {
      console.log(JSON.stringify(body, null, 2));
      return 0;
    }
    console.log(
      table([
        ['NAME', 'TASK', 'VERSIONS', 'LIVE', 'TARGET'],
        ...body.models.map((m) => [m.name, m.task, m.versions.join(','), liveOf(m), m.target]),
      ]),
    );
    return 0;
  }

  // predict
  const model = positionals[0];
  if (!model)
    throw new CliError(
      'Name the model: infera predict <model> --data ...',
      ['List models with: infera models'],
      2,
    );
  if (positionals.length > 1) throw usageError('infera predict', `Unexpected argument '${positionals[1]}'.`);
  const m = encodeURIComponent(model);
  if (values.image !== undefined || values.text !== undefined) {
    if ([values.data, values.file, values.image, values.text].filter((v) => v !== undefined).length > 1)
      throw new CliError('Give the input with exactly one of --data, --file, --image or --text.', [], 2);
    let raw: Buffer;
    let type = 'text/plain; charset=utf-8';
    if (values.image !== undefined) {
      raw = await readFile(values.image).catch((err: NodeJS.ErrnoException) => {
        throw new CliError(`Cannot read ${values.image}: ${err.code ?? err.message}.`, [], 2);
      });
      type = /\.png$/i.test(values.image)
        ? 'image/png'
        : /\.jpe?g$/i.test(values.image)
          ? 'image/jpeg'
          : 'application/octet-stream';
    } else raw = Buffer.from(values.text as string, 'utf8');
    const version = values.version ? `?version=${encodeURIComponent(values.version)}` : '';
    const result = await api(base, `/v1/models/${m}/predict${version}`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: new Uint8Array(raw),
    });
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  const { kind, body } = toRequest(await readInput(values.data, values.file));
  const path =
    kind === 'v1'
      ? `/v1/models/${m}/predict${values.version ? `?version=${encodeURIComponent(values.version)}` : ''}`
      : values.version
        ? `/v2/models/${m}/versions/${encodeURIComponent(values.version)}/infer`
        : `/v2/models/${m}/infer`;
  const result = await api(base, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  console.log(JSON.stringify(result, null, 2));
  return 0;
}

/** Runs the CLI, reporting errors as `error: ...` lines with a non-zero exit code. */
export function runCli(argv: string[]): Promise<void> {
  return runMain(() => main(argv));
}

if (import.meta.main) await runCli(process.argv.slice(2));
