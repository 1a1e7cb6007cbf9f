import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvField, parseCsvLine } from '#core/batch/csv.ts';
import type { BatchDeps } from '#core/batch/deps.ts';
import { type ChunkMarker, jobIdForUpload, parseMarkerKey, parseUploadKey } from '#core/batch/job.ts';
import { summarise } from '#core/batch/job-record.ts';
import { createUpload, MAX_UPLOAD_BYTES } from '#core/batch/jobs-api.ts';
import { bytesOf, readLines } from '#core/batch/lines.ts';
import { planChunks } from '#core/batch/plan.ts';
import { createRowDecoder } from '#core/batch/rows.ts';
import { sendAll } from '#core/batch/split-step.ts';
import { ValidationError } from '#core/errors.ts';
import { ModelRegistry } from '#core/model/registry.ts';
import type { MessageQueue, ObjectStore, QueueEntry, UrlSigner } from '#core/ports.ts';
import { MODELS } from '../../helpers.ts';

const registry = await ModelRegistry.load(MODELS);
const fraud = registry.resolve('fraud-detector').manifest;
const HEADER =
  'transaction_id,amount,merchant_category,hour,distance_from_home_km,transactions_last_hour,card_present,account_age_days,is_foreign';
const row = (id: string, amount = '12.5') => `${id},${amount},grocery,14,3.2,0,true,400,false`;

async function* byteByByte(text: string): AsyncGenerator<Uint8Array> {
  for (const b of Buffer.from(text)) yield Buffer.from([b]);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('CSV lines', () => {
  it('splits quoted fields, doubled quotes and empty trailing fields', () => {
    assert.deepEqual(parseCsvLine('a,"b, c","say ""hi""",'), {
      ok: true,
      fields: ['a', 'b, c', 'say "hi"', ''],
    });
  });

  it('reports an unclosed quote as broken quoting with its position', () => {
    const r = parseCsvLine('1,"abc,2');
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /broken quoting.*character 3/);
  });

  it('reports a stray quote inside an unquoted field', () => {
    assert.match((parseCsvLine('1,ab"c,2') as { error: string }).error, /quote inside the unquoted field/);
  });

  it('quotes output values only when they need it', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "x"'), '"say ""x"""');
  });
});

describe('readLines', () => {
  it('gives the same lines and byte offsets however the bytes arrive', async () => {
    const text = 'a,b\r\nccc\n\nlast';
    const whole = await collect(readLines(bytesOf(text)));
    const trickle = await collect(readLines(byteByByte(text)));
    assert.deepEqual(trickle, whole);
    assert.deepEqual(
      whole.map((l) => [l.text, l.start, l.end]),
      [
        ['a,b', 0, 5],
        ['ccc', 5, 9],
        ['', 9, 10],
        ['last', 10, 14],
      ],
    );
  });

  it('does not invent a line after a final newline', async () => {
    assert.equal((await collect(readLines(bytesOf('x\n')))).length, 1);
    assert.equal((await collect(readLines(bytesOf('')))).length, 0);
  });

  it('flags invalid UTF-8 and overlong lines without buffering them', async () => {
    const lines = await collect(
      readLines(
        bytesOf(Buffer.concat([Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from(`${'x'.repeat(50)}\nok\n`)])),
        {
          maxLineBytes: 20,
        },
      ),
    );
    assert.deepEqual(
      lines.map((l) => l.problem ?? l.text),
      ['line is not valid UTF-8', 'line is longer than 20 bytes', 'ok'],
    );
  });
});

describe('planChunks', () => {
  it('cuts row-aligned byte ranges that together cover every data row exactly once', async () => {
    const rows = Array.from({ length: 23 }, (_, i) => row(`t${i + 1}`));
    const text = `\uFEFF${HEADER}\r\n${rows.join('\r\n')}\r\n`;
    const plan = await planChunks(byteByByte(text), fraud, { chunkRows: 5, chunkBytes: 1 << 20 });
    assert.equal(plan.format, 'csv');
    assert.equal(plan.rowsTotal, 23);
    assert.deepEqual(
      plan.chunks.map((c) => c.rows),
      [5, 5, 5, 5, 3],
    );
    assert.equal(plan.idColumn, 'transaction_id');
    assert.deepEqual(plan.ignoredColumns, []);
    const bytes = Buffer.from(text);
    const pieces = plan.chunks.map((c) => bytes.subarray(c.start, c.end).toString());
    assert.equal(pieces.join(''), `${rows.join('\r\n')}\r\n`);
    for (const [i, c] of plan.chunks.entries()) {
      assert.equal(c.firstRow, i * 5 + 1);
      assert.ok(pieces[i]?.startsWith(`t${c.firstRow},`), `chunk ${i} starts at a row boundary`);
    }
  });

  it('also closes a chunk at the byte limit', async () => {
    const text = `${HEADER}\n${Array.from({ length: 10 }, (_, i) => row(`t${i}`)).join('\n')}\n`;
    const plan = await planChunks(bytesOf(text), fraud, { chunkRows: 1000, chunkBytes: 100 });
    assert.ok(plan.chunks.length >= 4);
    assert.equal(
      plan.chunks.reduce((s, c) => s + c.rows, 0),
      10,
    );
  });

  it('rejects a header without a required feature, naming the column', async () => {
    await assert.rejects(
      planChunks(bytesOf('amount,hour\n1,2\n'), fraud, { chunkRows: 10, chunkBytes: 1 << 20 }),
      (err: Error) =>
        err instanceof ValidationError && /missing column\(s\) 'merchant_category'/.test(err.message),
    );
  });

  it('rejects an empty file and a compressed one with the fix', async () => {
    await assert.rejects(
      planChunks(bytesOf(''), fraud, { chunkRows: 10, chunkBytes: 1 << 20 }),
      /the file is empty/,
    );
    await assert.rejects(
      planChunks(bytesOf(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0x0a])), fraud, {
        chunkRows: 10,
        chunkBytes: 1 << 20,
      }),
      /not valid UTF-8.*compressed/,
    );
  });

  it('detects JSON Lines by content when the key has no extension', async () => {
    const plan = await planChunks(bytesOf('{"amount":1}\n{"amount":2}\n'), fraud, {
      chunkRows: 10,
      chunkBytes: 1 << 20,
    });
    assert.equal(plan.format, 'jsonl');
    assert.equal(plan.headerLines, 0);
    assert.equal(plan.rowsTotal, 2);
  });
});

describe('row decoding', () => {
  const columns = HEADER.split(',');
  const csv = createRowDecoder(fraud, 'csv', { columns, idColumn: 'transaction_id' });

  it('turns a CSV row into a typed instance and keeps its id', () => {
    const d = csv.decode(row('t1'));
    assert.ok(d.ok);
    assert.equal(d.id, 't1');
    assert.equal(d.instance.amount, 12.5);
    assert.equal(d.instance.card_present, true);
  });

  it('explains each kind of bad row', () => {
    const reason = (line: string) => {
      const d = csv.decode(line);
      assert.equal(d.ok, false, line);
      return (d as { error: string }).error;
    };
    assert.match(reason(row('t', '12x')), /amount: '12x' is not a number/);
    assert.match(reason(row('t', '-5')), /amount/);
    assert.match(reason('t,1,grocery'), /wrong column count: 3 value\(s\), but the header has 9/);
    assert.match(reason('t,1,"grocery,14,3,0,true,400,false'), /broken quoting/);
    assert.match(reason('   '), /blank line/);
    assert.match(reason('t,,grocery,14,3.2,0,true,400,false'), /amount/);
    assert.match(reason('t,1,casino,14,3.2,0,true,400,false'), /merchant_category/);
    assert.match(reason('t,1,grocery,14,3.2,0,maybe,400,false'), /card_present: 'maybe' is not a boolean/);
  });

  it('reads JSON Lines objects, ignoring fields that are not features', () => {
    const jl = createRowDecoder(fraud, 'jsonl', { idColumn: 'transaction_id' });
    const d = jl.decode(
      JSON.stringify({
        transaction_id: 'a',
        note: 'x',
        ...Object.fromEntries(
          columns
            .slice(1)
            .map((c) => [
              c,
              c === 'merchant_category' ? 'grocery' : c.startsWith('is_') || c === 'card_present' ? false : 1,
            ]),
        ),
      }),
    );
    assert.ok(d.ok, JSON.stringify(d));
    assert.equal(d.id, 'a');
    assert.match(
      (jl.decode('[1,2]') as { error: string }).error,
      /expected a JSON object per line, got an array/,
    );
    assert.match((jl.decode('{"amount":') as { error: string }).error, /not valid JSON/);
  });
});

describe('job bookkeeping', () => {
  it('reads the model and version from the key', () => {
    assert.deepEqual(parseUploadKey('fraud-detector/day1.csv'), {
      model: 'fraud-detector',
      filename: 'day1.csv',
    });
    assert.deepEqual(parseUploadKey('fraud-detector@1/20261122-101010-abcdef01/x.csv'), {
      model: 'fraud-detector',
      version: '1',
      jobId: '20261122-101010-abcdef01',
      filename: 'x.csv',
    });
    assert.match((parseUploadKey('loose.csv') as { error: string }).error, /not under a model folder/);
  });

  it('gives a duplicate notification the same job id, and a new upload of the key a new one', () => {
    const u = {
      bucket: 'in',
      key: 'm/a.csv',
      sequencer: '0A1',
      etag: 'e',
      eventTime: '2026-11-22T10:00:00Z',
    };
    assert.equal(jobIdForUpload(u), jobIdForUpload({ ...u }));
    assert.notEqual(jobIdForUpload(u), jobIdForUpload({ ...u, sequencer: '0A2' }));
  });

  it('accounts for every row: scored + rejected + rows in failed chunks = rows in', () => {
    const job = {
      jobId: 'j',
      state: 'queued' as const,
      model: 'm',
      createdAt: '2026-11-22T10:00:00.000Z',
      rowsTotal: 25,
      chunks: 3,
    };
    const markers: ChunkMarker[] = [
      parseMarkerKey('j/_chunks/000000.ok.10.9.1.json') as ChunkMarker,
      parseMarkerKey('j/_chunks/000001.failed.json') as ChunkMarker,
      parseMarkerKey('j/_chunks/000002.ok.5.5.0.json') as ChunkMarker,
    ];
    assert.equal(summarise(job, markers.slice(0, 2), [], '2026-11-22T10:00:05.000Z'), undefined);
    const s = summarise(
      job,
      markers,
      [{ chunk: 1, firstRow: 11, rows: 10, reason: 'boom', attempts: 3, at: '' }],
      '2026-11-22T10:00:05.000Z',
    );
    assert.equal(s?.status, 'partial');
    assert.equal((s?.rowsScored ?? 0) + (s?.rowsRejected ?? 0) + (s?.rowsFailed ?? 0), 25);
    assert.match(s?.reason ?? '', /1 of 3 chunk\(s\) failed.*chunk 1: boom/);
    assert.equal(s?.durationMs, 5000);
  });

  it('a chunk redriven after failing counts once, as done', () => {
    const job = {
      jobId: 'j',
      state: 'queued' as const,
      model: 'm',
      createdAt: '2026-11-22T10:00:00.000Z',
      rowsTotal: 10,
      chunks: 1,
    };
    const s = summarise(
      job,
      [
        parseMarkerKey('j/_chunks/000000.failed.json') as ChunkMarker,
        parseMarkerKey('j/_chunks/000000.ok.10.10.0.json') as ChunkMarker,
      ],
      [{ chunk: 0, firstRow: 1, rows: 10, reason: 'x', attempts: 3, at: '' }],
      '2026-11-22T10:00:01.000Z',
    );
    assert.equal(s?.status, 'succeeded');
    assert.equal(s?.rowsScored, 10);
  });
});

describe('sendAll', () => {
  it('sends 10 per call and retries only the entries SQS refused', async () => {
    const calls: string[][] = [];
    let refused = false;
    const queue: MessageQueue = {
      async sendBatch(_url, entries: readonly QueueEntry[]) {
        calls.push(entries.map((e) => e.id));
        if (!refused) {
          refused = true;
          return [{ id: entries[3]?.id ?? '', reason: 'ServiceUnavailable' }];
        }
        return [];
      },
      async send() {},
    };
    const entries = Array.from({ length: 23 }, (_, i) => ({ id: String(i), body: `m${i}` }));
    await sendAll(queue, 'q', entries, { backoffMs: 1, concurrency: 1 });
    assert.deepEqual(
      calls.map((c) => c.length),
      [10, 1, 10, 3],
    );
    assert.deepEqual(calls[1], ['3']);
    assert.equal(new Set(calls.flat()).size, 23);
  });

  it('names the entries that still fail after the last attempt', async () => {
    const queue: MessageQueue = {
      sendBatch: async (_u, e) => e.map((x) => ({ id: x.id, reason: 'KMS.Throttled' })),
      send: async () => {},
    };
    await assert.rejects(
      sendAll(queue, 'q', [{ id: '7', body: 'x' }], { attempts: 2, backoffMs: 1 }),
      /refused 1 chunk message\(s\) after 2 attempts: chunk 7: KMS.Throttled/,
    );
  });
});

describe('upload tickets', () => {
  it('signs at most 1,000 part URLs for the largest object, and lets other work run between slices', async () => {
    const store = {
      write: async () => 'written' as const,
      readText: async () => undefined,
    } as unknown as ObjectStore;
    let signed = 0;
    const signer = {
      createMultipartUpload: async () => 'upload-1',
      partUrl: async (_b: string, _k: string, _u: string, n: number) => {
        signed++;
        return `https://signed/${n}`;
      },
    } as unknown as UrlSigner;
    const deps = {
      store,
      registry,
      settings: { inputBucket: 'in', outputBucket: 'out' },
      log: { info() {}, warn() {}, error() {} },
    } as unknown as BatchDeps;
    // Counts how often the event loop got a turn while the ticket was being built.
    let turns = 0;
    let running = true;
    const tick = () => {
      if (!running) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const ticket = await createUpload(
      deps,
      signer,
      { model: 'fraud-detector', bytes: MAX_UPLOAD_BYTES },
      { id: 'me' },
      60,
    );
    running = false;
    assert.ok(ticket.multipart);
    assert.equal(ticket.multipart?.parts.length, 1000);
    assert.equal(signed, 1000);
    assert.ok(turns >= 30, `the event loop turned ${turns} times while 1,000 URLs were signed`);
  });
});
