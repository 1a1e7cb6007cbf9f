import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { GraphBuilder } from '../scripts/lib/onnx.ts';
import { ensureHeavyModel } from '../scripts/make-heavy-model.ts';

export const ROOT = new URL('..', import.meta.url).pathname;
/** The working tree's models/: a user's own models sit here beside the shipped ones. */
export const WORKING_MODELS = join(ROOT, 'models');

/**
 * The models the repository ships: their versions, and where `live` points in their committed
 * aliases.json (none: live follows the newest version). A test that counts or lists models loads
 * these alone, so an extra model never breaks npm test.
 */
const SHIPPED = {
  'dominant-color': { versions: ['1'], live: '1' },
  'fraud-detector': { versions: ['1', '2'], live: '1' },
  'fraud-detector-xl': { versions: ['1'], live: undefined },
  iris: { versions: ['1'], live: '1' },
  'text-direction': { versions: ['1'], live: '1' },
  'ticket-router': { versions: ['1'], live: '1' },
} as const;

export const SHIPPED_MODELS = Object.keys(SHIPPED) as (keyof typeof SHIPPED)[];

/** Writes the shipped models into `dir`: their version folders as shipped, their aliases as committed. */
function writeShipped(dir: string): string {
  for (const [name, { versions, live }] of Object.entries(SHIPPED)) {
    for (const v of versions) cpSync(join(WORKING_MODELS, name, v), join(dir, name, v), { recursive: true });
    if (live) writeFileSync(join(dir, name, 'aliases.json'), `${JSON.stringify({ live }, null, 2)}\n`);
  }
  return dir;
}

/**
 * The shipped models as the tests' model repository, written once per test process: whatever a
 * user adds to models/, or changes there with `infera release` or `promote`, no test reads it.
 */
// fraud-detector-xl's model.onnx is not in git: built on first need (npm test's pretest builds it).
await ensureHeavyModel(WORKING_MODELS, { log: (line) => console.error(line) });
export const MODELS = writeShipped(mkdtempSync(join(tmpdir(), 'infera-shipped-')));
process.on('exit', () => rmSync(MODELS, { recursive: true, force: true }));

/**
 * The platforms and CLI runs of this test process share their own info files (which folder each
 * npm start serves): a user's running npm start is neither read nor listed by a test.
 */
process.env.INFERA_INFO_DIR = join(MODELS, '.platforms');

export async function readJson<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

export interface Golden {
  tolerance: number;
  instances: Record<string, unknown>[];
  expected: { label: string; score: number; probabilities: Record<string, number> }[];
}

export function golden(model: string, version: string): Promise<Golden> {
  return readJson<Golden>(join(MODELS, model, version, 'fixtures', 'golden.json'));
}

/** Loads an API Gateway v2 event fixture from test/events/apigw and applies overrides. */
export async function apigwEvent(
  fixture: string,
  over: {
    method?: string;
    path?: string;
    routeKey?: string;
    body?: unknown;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    pathParameters?: Record<string, string>;
  } = {},
): Promise<APIGatewayProxyEventV2> {
  const e = await readJson<APIGatewayProxyEventV2>(join(ROOT, 'test', 'events', 'apigw', fixture));
  if (over.method) e.requestContext.http.method = over.method;
  if (over.path) {
    e.rawPath = over.path;
    e.requestContext.http.path = over.path;
  }
  if (over.routeKey) e.routeKey = over.routeKey;
  if (over.body !== undefined) e.body = typeof over.body === 'string' ? over.body : JSON.stringify(over.body);
  if (over.query) e.queryStringParameters = over.query;
  if (over.headers) e.headers = { ...e.headers, ...over.headers };
  if (over.pathParameters) e.pathParameters = over.pathParameters;
  return e;
}

export function lambdaContext(name = 'infera-test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** A fresh copy of the shipped models in a temp dir, to break or extend without touching the repo. */
/** A fresh temporary copy of the shipped models alone: a user's own models in models/ stay out. */
export async function copyModels(): Promise<string> {
  return writeShipped(await mkdtemp(join(tmpdir(), 'infera-models-')));
}

/** `copyModels`, for synchronous callers. */
export function copyModelsSync(): string {
  return writeShipped(mkdtempSync(join(tmpdir(), 'infera-models-')));
}

type TensorDecl = { name: string; datatype: string; shape: number[] };

/**
 * Writes a real ONNX model and a manifest for it under <root>/<name>/1, as a user would drop a new
 * model into models/: the graph from `graph`, the manifest's inputs and outputs as given.
 */
export async function writeTensorModel(
  root: string,
  name: string,
  spec: {
    description: string;
    inputs: TensorDecl[];
    outputs: TensorDecl[];
    graph: (g: GraphBuilder) => void;
  },
): Promise<string> {
  const g = new GraphBuilder();
  spec.graph(g);
  const bytes = g.build({ name, doc: spec.description });
  const dir = join(root, name, '1');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), bytes);
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      name,
      version: '1',
      description: spec.description,
      task: 'tensor',
      inputs: { kind: 'tensors', tensors: spec.inputs },
      outputs: { tensors: spec.outputs },
      sha256: createHash('sha256').update(bytes).digest('hex'),
    }),
  );
  return dir;
}

/**
 * Writes a real ONNX model that echoes one tensor per datatype (FP32 image-shaped, FP64, INT32,
 * INT64, BOOL) plus a manifest, under <root>/<name>/1. Used to prove a new model is served with
 * no code change.
 */
export function writeEchoModel(root: string, name = 'echo-tensors'): Promise<string> {
  const t = (n: string, datatype: string, shape: number[]) => ({ name: n, datatype, shape });
  return writeTensorModel(root, name, {
    description: 'Echoes its inputs; BOOL is negated.',
    graph: (g) => {
      g.op('Identity', [g.input('image', 'float32', ['N', 3, 'H', 'W'])], {}, 'image_out');
      g.op('Identity', [g.input('f64', 'float64', ['N', 2])], {}, 'f64_out');
      g.op('Identity', [g.input('i32', 'int32', ['N'])], {}, 'i32_out');
      g.op('Identity', [g.input('i64', 'int64', ['N'])], {}, 'i64_out');
      g.op('Not', [g.input('flag', 'bool', ['N'])], {}, 'flag_not');
      g.output('image_out', 'float32', ['N', 3, 'H', 'W']);
      g.output('f64_out', 'float64', ['N', 2]);
      g.output('i32_out', 'int32', ['N']);
      g.output('i64_out', 'int64', ['N']);
      g.output('flag_not', 'bool', ['N']);
    },
    inputs: [
      t('image', 'FP32', [-1, 3, -1, -1]),
      t('f64', 'FP64', [-1, 2]),
      t('i32', 'INT32', [-1]),
      t('i64', 'INT64', [-1]),
      t('flag', 'BOOL', [-1]),
    ],
    outputs: [
      t('image_out', 'FP32', [-1, 3, -1, -1]),
      t('f64_out', 'FP64', [-1, 2]),
      t('i32_out', 'INT32', [-1]),
      t('i64_out', 'INT64', [-1]),
      t('flag_not', 'BOOL', [-1]),
    ],
  });
}

export async function editJson(path: string, edit: (o: Record<string, unknown>) => void): Promise<void> {
  const o = await readJson<Record<string, unknown>>(path);
  edit(o);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(o, null, 2));
}

export interface RunningPlatform {
  url: string;
  /** The S3 + SQS emulator's endpoint, unless started with --no-batch. */
  awsEndpoint?: string;
  /** The local SageMaker runtime, unless started with --no-sagemaker. */
  sagemakerEndpoint?: string;
  /** Serving-container process ids from the banner, by endpoint name. */
  containers: Record<string, number>;
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** Starts `infra/local/start.ts` (what npm start runs) on a free port and waits for its URL. */
export async function startPlatform(
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<RunningPlatform> {
  const proc = spawn(
    process.execPath,
    [
      'infra/local/start.ts',
      '--port',
      '0',
      '--aws-port',
      '0',
      '--sagemaker-port',
      '0',
      // Each test platform starts empty unless the test names its own --state.
      ...(args.includes('--state') ? [] : ['--ephemeral']),
      // The shipped models, unless the test names its own: never the user's models/.
      ...(args.includes('--models') || env.MODELS_DIR ? [] : ['--models', MODELS]),
      ...args,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform did not start in 30 s:\n${out}`)), 30_000);
    const check = () => {
      const m = /infera is running at (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout?.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`platform exited with ${code}:\n${out}`));
    });
  });
  const aws = /S3 \+ SQS emulator, fauxqs\): (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
  const sm = /local runtime (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
  const containers: Record<string, number> = {};
  for (const m of out.matchAll(/^\s+(\S+)\s+\S+@\d+\s+container pid (\d+)/gm))
    containers[m[1] as string] = Number(m[2]);
  return {
    url,
    ...(aws ? { awsEndpoint: aws } : {}),
    ...(sm ? { sagemakerEndpoint: sm } : {}),
    containers,
    proc,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      }),
  };
}

/** Runs the `infera` CLI (cli/infera.ts) on the pinned Node, capturing its output. */
export function cli(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, ['cli/infera.ts', ...args], env);
}

/** Runs a command to completion, capturing its output. */
export function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  cwd: string = ROOT,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** v2 columns for tabular instances, typed as a client would send them (one input per feature). */
export function toV2Columns(instance: Record<string, unknown>): {
  inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
} {
  return {
    inputs: Object.entries(instance).map(([name, v]) => ({
      name,
      shape: [1],
      datatype:
        typeof v === 'string'
          ? 'BYTES'
          : typeof v === 'boolean'
            ? 'BOOL'
            : Number.isInteger(v)
              ? 'INT64'
              : 'FP64',
      data: [v],
    })),
  };
}
