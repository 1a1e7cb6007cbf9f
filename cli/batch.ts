/**
 * `infera batch`: submit a file for batch scoring, follow it, download the results. Talks to the
 * batch API only (presigned URLs for the bytes), so it needs no AWS credentials.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { formatFromKey } from '#core/batch/job.ts';
import { parseCommand, usageError } from './args.ts';
import { api, CliError, DEFAULT_URL, table } from './common.ts';
import { imagesToJsonl } from './images.ts';
import { bytes, duration, ProgressBar } from './progress.ts';
import { type UploadTicket, uploadToTicket } from './upload.ts';

export const BATCH_HELP: Record<string, string> = {
  batch: `Usage: infera batch <subcommand> [options]

Batch scoring: upload a CSV (with a header row) or JSON Lines file, get results in S3.

Subcommands:
  submit <file> --model <m>   upload a file and start a job (--wait follows it to the end)
  status <jobId>              status, progress and counts of a job
  download <jobId>            the results (or --errors: the rejected rows) as one file
  list                        the newest jobs

Run infera batch <subcommand> --help for its options.
`,
  submit: `Usage: infera batch submit <file> --model <model> [options]

Uploads <file> (CSV with a header row, JSON Lines, or one PNG/JPEG image) and starts a batch
job. <file> may also be a folder of .png/.jpg files, for a model with an image input: they are
sent as one JSON Lines job, a row per file with its name as the id. The model version is pinned
when the job is created. JSON Lines rows may be up to 16 MiB.

Options:
  -m, --model <name>   model to score with (required)
  --version <v>        version number or alias (default: live)
  -w, --wait           follow the job until it finishes, with a progress bar
  --json               print the job as JSON
  --url <url>          API to talk to (default: $INFERA_URL or ${DEFAULT_URL})

Exit codes: 0 submitted (with --wait: succeeded), 1 the job failed or partly failed, 2 usage.
`,
  status: `Usage: infera batch status <jobId> [--wait] [--json] [--url <url>]

Shows a job's status: progress while it runs, rows scored / rejected / failed once finished.

Options:
  -w, --wait    follow the job until it finishes, with a progress bar
  --json        print the job as JSON
`,
  download: `Usage: infera batch download <jobId> [-o <file>] [--errors] [--url <url>]

Writes the job's results, in row order, as one CSV (one header) or JSON Lines file.

Options:
  -o, --out <file>   where to write (default: standard output)
  --errors           the rejected rows instead (JSON Lines: row, line, error, id, raw)
`,
  list: `Usage: infera batch list [--json] [--url <url>]

Lists your newest batch jobs (the 20 latest), newest first. A job is seen only by the principal
that started it, unless the deployment shares every job (infera:batchSharedView).
`,
};

interface Job {
  jobId: string;
  status: 'awaiting-upload' | 'splitting' | 'running' | 'succeeded' | 'partial' | 'failed';
  model: string;
  version?: string;
  createdAt: string;
  rowsTotal?: number;
  chunks?: number;
  ignoredColumns?: string[];
  progress?: {
    chunksDone: number;
    chunksFailed: number;
    rowsRead: number;
    rowsScored: number;
    rowsRejected: number;
  };
  summary?: {
    rowsTotal: number;
    rowsScored: number;
    rowsRejected: number;
    rowsFailed: number;
    durationMs: number;
    reason?: string;
  };
  error?: string;
}

interface Ticket extends UploadTicket {
  readonly model: string;
  readonly version: string;
  readonly bucket: string;
}

const FINAL = new Set(['succeeded', 'partial', 'failed']);

function usage(sub: string, message: string): never {
  throw usageError(`infera batch ${sub}`, message);
}

export async function batchCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '-h' || sub === '--help') {
    console.log(BATCH_HELP.batch);
    return sub ? 0 : 2;
  }
  if (!(sub in BATCH_HELP) || sub === 'batch') {
    throw new CliError(
      `Unknown batch subcommand '${sub}'.`,
      ['Subcommands: submit, status, download, list'],
      2,
    );
  }
  const parsed = parseCommand(
    {
      name: `infera batch ${sub}`,
      help: BATCH_HELP[sub] as string,
      positionals: true,
      options: {
        url: { type: 'string' },
        model: { type: 'string', short: 'm' },
        version: { type: 'string' },
        wait: { type: 'boolean', short: 'w', default: false },
        json: { type: 'boolean', default: false },
        out: { type: 'string', short: 'o' },
        errors: { type: 'boolean', default: false },
      },
    },
    rest,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const base = values.url ?? process.env.INFERA_URL ?? DEFAULT_URL;
  if (sub === 'list') {
    const { jobs } = (await api(base, '/v1/batch')) as { jobs: Job[] };
    if (values.json) console.log(JSON.stringify(jobs, null, 2));
    else if (jobs.length === 0)
      console.log('No batch jobs yet. Start one with: infera batch submit <file> --model <model>');
    else {
      console.log(
        table([
          ['JOB', 'STATUS', 'MODEL', 'ROWS', 'SCORED', 'REJECTED', 'CREATED'],
          ...jobs.map((j) => [
            j.jobId,
            j.status,
            `${j.model}${j.version ? `@${j.version}` : ''}`,
            String(j.rowsTotal ?? '-'),
            String(j.summary?.rowsScored ?? j.progress?.rowsScored ?? '-'),
            String(j.summary?.rowsRejected ?? j.progress?.rowsRejected ?? '-'),
            j.createdAt,
          ]),
        ]),
      );
    }
    return 0;
  }
  const [target, extra] = positionals;
  if (!target)
    usage(
      sub,
      sub === 'submit'
        ? 'Name the file: infera batch submit <file> --model <model>'
        : `Name the job: infera batch ${sub} <jobId>`,
    );
  if (extra) usage(sub, `Unexpected argument '${extra}'.`);

  if (sub === 'submit') {
    if (!values.model)
      usage(sub, 'Name the model with --model, e.g. --model fraud-detector (list them: infera models).');
    const file = (await isDirectory(target)) ? await imagesToJsonl(base, target, values.model) : target;
    const ticket = await submit(base, file, values.model, values.version);
    if (!values.wait) {
      if (values.json) console.log(JSON.stringify(ticket, null, 2));
      else {
        console.log(`job ${ticket.jobId} submitted (${ticket.model} version ${ticket.version}).`);
        console.log(`Follow it:      infera batch status ${ticket.jobId} --wait`);
        console.log(`Results, after: infera batch download ${ticket.jobId} -o results.csv`);
      }
      return 0;
    }
    return follow(base, ticket.jobId, Boolean(values.json));
  }
  const id = encodeURIComponent(target);
  if (sub === 'status') {
    if (values.wait) return follow(base, target, Boolean(values.json));
    const job = (await api(base, `/v1/batch/${id}`)) as Job;
    if (values.json) console.log(JSON.stringify(job, null, 2));
    else printJob(job);
    return 0;
  }
  // download
  return download(base, target, values.out, Boolean(values.errors));
}

/** The upload's media type, from the same suffixes the split step reads the format from. */
function contentType(file: string): string {
  switch (formatFromKey(file)) {
    case 'image':
      return /\.png$/i.test(file) ? 'image/png' : 'image/jpeg';
    case 'jsonl':
      return 'application/x-ndjson';
    default:
      return 'text/csv';
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function submit(base: string, file: string, model: string, version?: string): Promise<Ticket> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new CliError(`${file} is not a file.`, [], 2);
    size = s.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(
      `Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
      [],
      2,
    );
  }
  if (size === 0)
    throw new CliError(
      `${file} is empty; a CSV needs a header row and rows, JSON Lines one object per line.`,
      [],
      2,
    );
  const ticket = (await api(base, '/v1/batch', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, ...(version ? { version } : {}), filename: basename(file), bytes: size }),
  })) as Ticket;

  const bar = new ProgressBar({ label: 'upload', unit: '', format: bytes });
  const parts = await uploadToTicket(ticket, file, size, contentType(file), (sent) => bar.update(sent, size));
  if (ticket.multipart) {
    await api(base, ticket.completeUrl ?? `/v1/batch/${ticket.jobId}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: ticket.key, uploadId: ticket.multipart.uploadId, parts }),
    });
  }
  bar.done();
  return ticket;
}

function printJob(j: Job): void {
  console.log(`job      ${j.jobId}`);
  console.log(`status   ${j.status}`);
  console.log(`model    ${j.model}${j.version ? ` version ${j.version}` : ''}`);
  if (j.rowsTotal !== undefined)
    console.log(`rows     ${j.rowsTotal.toLocaleString('en-US')} in ${j.chunks} chunk(s)`);
  if (j.ignoredColumns?.length)
    console.log(`ignored  columns that are not features: ${j.ignoredColumns.join(', ')}`);
  const s = j.summary;
  if (s) {
    console.log(
      `result   ${s.rowsScored.toLocaleString('en-US')} scored, ${s.rowsRejected.toLocaleString('en-US')} rejected, ${s.rowsFailed.toLocaleString('en-US')} in failed chunks, in ${duration(s.durationMs / 1000)}`,
    );
  } else if (j.progress) {
    console.log(
      `progress ${j.progress.rowsRead.toLocaleString('en-US')} rows read (${j.progress.rowsScored} scored, ${j.progress.rowsRejected} rejected), ${j.progress.chunksDone}/${j.chunks} chunks`,
    );
  }
  if (j.error) console.log(`error    ${j.error}`);
}

async function follow(base: string, jobId: string, json: boolean): Promise<number> {
  const bar = new ProgressBar({ label: 'scoring', unit: 'rows' });
  const started = Date.now();
  for (;;) {
    const job = (await api(base, `/v1/batch/${encodeURIComponent(jobId)}`)) as Job;
    if (FINAL.has(job.status)) {
      if (job.summary) bar.update(job.summary.rowsTotal - job.summary.rowsFailed, job.summary.rowsTotal);
      bar.done();
      if (json) console.log(JSON.stringify(job, null, 2));
      else {
        printJob(job);
        if ((job.summary?.rowsRejected ?? 0) > 0) {
          console.log(`Rejected rows, with reasons: infera batch download ${jobId} --errors`);
        }
        if (job.status !== 'failed') console.log(`Results: infera batch download ${jobId} -o results.csv`);
      }
      return job.status === 'succeeded' ? 0 : 1;
    }
    if (job.status === 'awaiting-upload' && Date.now() - started > 120_000) {
      bar.done();
      throw new CliError(`Job ${jobId} is still waiting for its upload after 2 minutes.`, [
        'Was the upload interrupted? Submit the file again.',
      ]);
    }
    const p = job.progress;
    const note =
      job.status === 'awaiting-upload'
        ? 'waiting for the upload event'
        : job.status === 'splitting'
          ? 'splitting'
          : '';
    bar.update(p?.rowsRead ?? 0, job.rowsTotal ?? 0, note);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function download(
  base: string,
  jobId: string,
  out: string | undefined,
  errors: boolean,
): Promise<number> {
  const res = (await api(base, `/v1/batch/${encodeURIComponent(jobId)}/results`)) as {
    status: string;
    parts: { chunk: number; url: string; key: string }[];
    errors: { chunk: number; url: string; key: string }[];
  };
  if (!FINAL.has(res.status)) {
    console.error(`note: job ${jobId} is ${res.status}; this is what has finished so far.`);
  }
  const files = (errors ? res.errors : res.parts).sort((a, b) => a.chunk - b.chunk);
  if (files.length === 0) {
    console.error(errors ? `Job ${jobId} rejected no rows.` : `Job ${jobId} has no results.`);
    return errors ? 0 : 1;
  }
  const sink = out ? createWriteStream(out) : process.stdout;
  let first = true;
  for (const f of files) {
    const r = await fetch(f.url);
    if (!r.ok || !r.body) throw new CliError(`Download of ${f.key} failed: ${r.status} ${r.statusText}`);
    let skipping = f.key.endsWith('.csv') && !first; // one header for the whole file
    for await (const chunk of Readable.fromWeb(r.body as never) as AsyncIterable<Buffer>) {
      let data = chunk;
      if (skipping) {
        const nl = data.indexOf(0x0a);
        if (nl === -1) continue;
        skipping = false;
        data = data.subarray(nl + 1);
      }
      if (!sink.write(data)) await once(sink, 'drain');
    }
    first = false;
  }
  if (out) {
    sink.end();
    await once(sink, 'finish');
    console.error(`wrote ${files.length} file(s) of job ${jobId} to ${out}`);
  }
  return 0;
}
