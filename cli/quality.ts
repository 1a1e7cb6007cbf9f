/**
 * `infera feedback submit` and `infera quality`: ground truth in by file, labelled quality out.
 * A file goes to the quality bucket under ground-truth/<model>/, where the quality function reads
 * it (the local emulator's bucket under npm start; the stack's, found from a model function's
 * QUALITY_DESTINATION, with --stack); the command waits for its result object and prints it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { functionEnvironment, lambdaClient } from '#adapters/lambda.ts';
import { S3ObjectStore } from '#adapters/s3.ts';
import { messageOf } from '#core/errors.ts';
import { MODEL_NAME } from '#core/model/manifest/names.ts';
import { parseCaptureTarget } from '#core/monitoring/capture.ts';
import { type IngestResult, resultKey } from '#core/quality/ingest.ts';
import { MAX_WINDOW_HOURS } from '#core/quality/model.ts';
import type { QualityReport } from '#core/quality/report-schema.ts';
import { modelFunctionName, sharedModelsFunctionName } from '../infra/lib/names.ts';
import { runningPlatforms } from '../infra/local/info-file.ts';
import { numberFlag, parseCommand, usageError } from './args.ts';
import { api, CliError, DEFAULT_URL, table } from './common.ts';
import { bytes } from './progress.ts';

export const FEEDBACK_HELP = `Usage: infera feedback submit <file> --model <model> [options]

Uploads ground truth for earlier predictions: JSON Lines of {"id": ..., "label": ...} (or
"value" for a regression model, and an optional ISO 8601 "at"), or CSV with a header naming id,
label (or value) and optionally at. The id is the prediction's x-request-id, <request id>#<row>
for a row of a larger request, a batch row's id, or the row's quality.idField.
Sending the same labels again changes nothing; a later label for an id replaces the earlier one.

Options:
  --model <m>          the model the labels are for (required)
  --stack <name>       a deployed stack: the file goes to its quality bucket (else: npm start's)
  --region <r>         the stack's region
  --no-wait            upload and return; the result appears under ground-truth-results/
  --timeout <s>        how long to wait for the result (default 300)

Labels can also be POSTed: POST /v1/models/<model>/feedback with [{"id": ..., "label": ...}].
Exit codes: 0 every line taken, 1 some lines refused or the upload failed, 2 usage.
`;

export const QUALITY_HELP = `Usage: infera quality <model> [--hours <n>] [--json] [--url <url>]

Labelled quality per version: predictions, labelled, accuracy, F1, AUC, calibration error,
MAE and RMSE, label delay, and the manifest's alarms. Locally computed now; on AWS the quality
function's latest report.

Options:
  --hours <n>   the window (default: the manifest's quality.windowHours)
  --json        print the report as JSON
  --url <url>   API to talk to (default: $INFERA_URL or ${DEFAULT_URL})
`;

export async function feedbackCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    console.log(FEEDBACK_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'submit')
    throw usageError(
      'infera feedback',
      `Unknown subcommand '${sub}'. Use: infera feedback submit <file> --model <model>`,
    );
  const parsed = parseCommand(
    {
      name: 'infera feedback submit',
      help: FEEDBACK_HELP,
      positionals: true,
      allowNegative: true,
      options: {
        model: { type: 'string' },
        stack: { type: 'string' },
        region: { type: 'string' },
        wait: { type: 'boolean', default: true },
        timeout: { type: 'string' },
      },
    },
    rest,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw usageError(
      'infera feedback submit',
      file
        ? `Unexpected argument '${positionals[1]}'.`
        : 'Name the file: infera feedback submit <file> --model <model>',
    );
  const model = values.model;
  if (!model) throw usageError('infera feedback submit', 'Name the model: --model <model>.');
  if (!MODEL_NAME.test(model)) throw usageError('infera feedback submit', `'${model}' is not a model name.`);
  if (!/\.(jsonl|csv)$/i.test(file))
    throw usageError(
      'infera feedback submit',
      `'${basename(file)}' must end in .jsonl or .csv: that names its format.`,
    );
  const timeoutS =
    numberFlag('infera feedback submit', 'timeout', values.timeout, { min: 1, max: 3600, integer: true }) ??
    300;
  const size = await stat(file).then(
    (s) => s.size,
    () => {
      throw new CliError(`Cannot read ${file}.`);
    },
  );
  const where = values.stack ? await stackBucket(values.stack, model, values.region) : localBucket();
  const key = `ground-truth/${model}/${Date.now()}-${basename(file).replace(/[^A-Za-z0-9._-]/g, '_')}`;
  console.error(`Uploading ${bytes(size)} to s3://${where.bucket}/${key}`);
  try {
    await where.s3.send(
      new PutObjectCommand({
        Bucket: where.bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
        ContentType: /\.csv$/i.test(file) ? 'text/csv' : 'application/x-ndjson',
      }),
    );
  } catch (err) {
    throw new CliError(`The upload failed: ${messageOf(err)}`);
  }
  if (!values.wait) {
    console.log(`Uploaded. The result will be at s3://${where.bucket}/${resultKey(key)}`);
    return 0;
  }
  const result = await waitForResult(where, resultKey(key), timeoutS * 1000);
  console.log(
    `${result.accepted} label(s) taken, ${result.rejected} refused, of ${result.lines} line(s) (${result.model || model}).`,
  );
  for (const p of result.problems) console.log(`  ${p}`);
  if (result.rejected > result.problems.length)
    console.log(
      `  ... and ${result.rejected - result.problems.length} more; see s3://${where.bucket}/${resultKey(key)}`,
    );
  return result.rejected > 0 || result.accepted === 0 ? 1 : 0;
}

interface Bucket {
  readonly s3: S3Client;
  readonly bucket: string;
}

/** The running npm start's quality bucket on its S3 emulator. */
function localBucket(): Bucket {
  const p = runningPlatforms().find((x) => x.awsEndpoint && x.qualityBucket);
  if (!p?.awsEndpoint || !p.qualityBucket)
    throw new CliError('No local platform with its S3 emulator is running.', [
      'Start it with: npm start (without --no-batch), or name a deployed stack with --stack.',
    ]);
  return {
    bucket: p.qualityBucket,
    s3: new S3Client({
      endpoint: p.awsEndpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  };
}

/** A stack's quality bucket: the QUALITY_DESTINATION of the function serving the model. */
async function stackBucket(stack: string, model: string, region: string | undefined): Promise<Bucket> {
  const lambda = lambdaClient(region ? { region } : {});
  for (const fn of [modelFunctionName(stack, model), sharedModelsFunctionName(stack)]) {
    if (!fn) continue;
    let env: Readonly<Record<string, string>> | undefined;
    try {
      env = await functionEnvironment(lambda, fn);
    } catch (err) {
      throw new CliError(`Could not read the configuration of ${fn}: ${messageOf(err)}`, [
        'Check --stack, --region and your AWS credentials.',
      ]);
    }
    const dest = env?.QUALITY_DESTINATION;
    if (!dest) continue;
    const t = parseCaptureTarget(dest);
    if (t.kind === 's3') return { bucket: t.bucket, s3: new S3Client(region ? { region } : {}) };
  }
  throw new CliError(`Stack ${stack} has no quality log for ${model}.`, [
    `Deploy it with a "quality" section in models/${model}/<version>/model.json.`,
  ]);
}

async function waitForResult(b: Bucket, key: string, timeoutMs: number): Promise<IngestResult> {
  const store = new S3ObjectStore(b.s3);
  const end = Date.now() + timeoutMs;
  for (let waited = 1; ; waited++) {
    const text = await store.readText(b.bucket, key).catch((err: unknown) => {
      throw new CliError(`Could not read the result: ${messageOf(err)}`);
    });
    if (text !== undefined) return JSON.parse(text) as IngestResult;
    if (Date.now() > end)
      throw new CliError(`No result after ${Math.round(timeoutMs / 1000)} s at s3://${b.bucket}/${key}.`, [
        'The quality function may still be reading the file; check its logs.',
      ]);
    if (waited % 10 === 0) console.error(`waiting for the quality function (${waited / 2} s)...`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function qualityCommand(args: string[], url: string): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'infera quality',
      help: QUALITY_HELP,
      positionals: true,
      options: {
        hours: { type: 'string' },
        json: { type: 'boolean', default: false },
        url: { type: 'string' },
      },
    },
    args,
  );
  if (!parsed) return 0;
  const model = parsed.positionals[0];
  if (!model || parsed.positionals.length > 1)
    throw usageError('infera quality', 'Name one model: infera quality <model>.');
  const hours = numberFlag('infera quality', 'hours', parsed.values.hours, {
    min: 0.1,
    max: MAX_WINDOW_HOURS,
  });
  const base = parsed.values.url ?? url;
  const r = (await api(
    base,
    `/v1/models/${encodeURIComponent(model)}/quality${hours ? `?hours=${hours}` : ''}`,
  )) as QualityReport;
  if (parsed.values.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  const f = (v: number | null) => (v === null ? '-' : v.toFixed(3));
  console.log(
    `${r.model}: ${r.window.hours} h to ${r.window.to} (${r.engine}); labels ${r.labels.ids} (${r.labels.received} received, ${r.labels.replaced} replaced, ${r.labels.unmatched} unmatched)`,
  );
  console.log(
    table([
      [
        'version',
        'traffic',
        'predictions',
        'labelled',
        'accuracy',
        'f1',
        'auc',
        'ece',
        'mae',
        'rmse',
        'delay s',
        'alarms',
      ],
      ...r.versions.map((v) => [
        v.version,
        Object.keys(v.traffic).join('+'),
        String(v.predictions),
        String(v.labelled),
        f(v.accuracy),
        f(v.f1),
        f(v.auc),
        f(v.ece),
        f(v.mae),
        f(v.rmse),
        v.labelDelaySeconds ? v.labelDelaySeconds.mean.toFixed(0) : '-',
        v.alarms.map((a) => `${a.figure}:${a.state}`).join(' ') || '-',
      ]),
    ]),
  );
  return 0;
}
