import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { PayloadTooLargeError, ValidationError } from '#core/errors.ts';
import type { ModelVersion } from '#core/model/registry.ts';
import { frameBinary } from '#core/protocol/binary.ts';
import { readBody } from '#core/protocol/body.ts';
import { decode, encode, type Incoming, predictionsCsv } from '#core/protocol/codec.ts';

import { mediaType } from '#core/protocol/raw.ts';
import { inferRequestSchema, predictRequestSchema } from '#core/protocol/schemas.ts';
import type { Scorer } from '#core/scoring/scorer.ts';
import { answerClientErrors } from '#http/client-errors.ts';
import { errorAnswer } from '#http/errors.ts';
import { foreignRequest, GUARDED_SERVER, type GuardOptions } from '#http/guard.ts';
import { checkBody } from '#http/middleware/validate.ts';
import type { BatchingModel } from './microbatch.ts';
import { csvInstances, JSON_LINES, jsonLines } from './rows.ts';

/**
 * The SageMaker hosting contract over the scoring core: GET /ping, POST /invocations (JSON v1
 * instances, v2 infer bodies, or headerless/headed CSV), on the port SageMaker expects. The same
 * Scorer the Lambda functions use does the work, so a model answers the same in both places.
 */
export interface ContainerOptions {
  /**
   * Refuse foreign Host and Origin headers (functions/http/guard.ts): set when the container is
   * bound to loopback, as npm start runs it; on SageMaker it binds 0.0.0.0 and takes its calls.
   */
  readonly guard?: { readonly host: string } & GuardOptions;
  readonly scorer: Scorer;
  readonly mv: ModelVersion;
  readonly maxBodyBytes: number;
  /** Chaos testing: make every invocation fail this way. Never set in production. */
  readonly fault?: Fault | undefined;
  readonly provider: string;
  /** Nodes per execution provider in the first request, once one has run (ONNX Runtime's profile). */
  readonly placement?: Readonly<Record<string, number>> | undefined;
  readonly batching?: BatchingModel | undefined;
  readonly log: (record: Record<string, unknown>) => void;
  readonly accessLog?: boolean;
}

export type Fault =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'slow'; readonly ms: number };

/** Parses INFERA_FAULT: `500`, `429`, `503`, `malformed` or `slow:<ms>`. */
export function parseFault(text: string | undefined): Fault | undefined {
  if (!text) return undefined;
  if (text === 'malformed') return { kind: 'malformed' };
  const slow = /^slow:(\d+)$/.exec(text);
  if (slow) return { kind: 'slow', ms: Number(slow[1]) };
  if (/^[45]\d\d$/.test(text)) return { kind: 'status', status: Number(text) };
  throw new Error(`INFERA_FAULT must be a 4xx/5xx status, "malformed" or "slow:<ms>", got "${text}"`);
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readRequest(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += bytes.length;
    if (size > limit) {
      req.resume();
      throw new PayloadTooLargeError(
        `Body is over ${limit} bytes (INFERA_MAX_BODY_BYTES); send fewer rows per invocation.`,
      );
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** Node's headers as the body reader takes them: one string per name. */
function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * The body as the codec takes it. CSV and JSON Lines rows are the container's own (SageMaker batch
 * transform sends them); everything else is read as the API reads it (core/protocol/body.ts), and
 * JSON is v2 when it has `inputs`, v1 when it has `instances`.
 */
function incomingOf(mv: ModelVersion, headers: Record<string, string | undefined>, body: Buffer): Incoming {
  const type = mediaType(headers['content-type']) ?? 'application/json';
  if (type === 'text/csv') return { protocol: 'v1', rows: csvInstances(mv, body.toString('utf8')) };
  const rows = JSON_LINES.has(type) ? jsonLines(body) : undefined;
  if (rows) return { protocol: 'v1', rows };
  const read = readBody({
    headers: {
      ...headers,
      'content-type': JSON_LINES.has(type) ? 'application/json' : headers['content-type'],
    },
    body,
    raw: true,
    binary: true,
    accepts: 'application/json or text/csv (or an image or text/plain for a model that takes one)',
  });
  if (read.kind === 'raw') return { protocol: 'v1', raw: read.raw };
  const json = read.json;
  const has = (key: string) =>
    json !== null && typeof json === 'object' && !Array.isArray(json) && key in json;
  if (read.binary || has('inputs'))
    return { protocol: 'v2', body: checkBody(inferRequestSchema, json), binary: read.binary };
  if (has('instances')) return { protocol: 'v1', body: checkBody(predictRequestSchema, json) };
  throw new ValidationError(
    'Body must be {"instances": [...]} (v1) or an Open Inference Protocol v2 infer request {"inputs": [...]}.',
  );
}

async function invocations(o: ContainerOptions, req: IncomingMessage, res: ServerResponse): Promise<number> {
  const body = await readRequest(req, o.maxBodyBytes);
  // A caller that hangs up stops the image decoding its request started.
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const headers = headersOf(req);
  const accept = (headers.accept ?? 'application/json').toLowerCase();
  const { scorer, mv } = o;
  const incoming = incomingOf(mv, headers, body);
  const request = decode(incoming, mv.manifest);
  const result = await scorer.run(mv, request, { signal: gone.signal });
  const encoded = encode(mv, request, result);
  const type = mediaType(headers['content-type']);
  if (encoded.kind === 'binary') {
    const framing = incoming.protocol === 'v2' ? incoming.binary?.framing : undefined;
    const framed = frameBinary(encoded.header, encoded.chunks, framing ?? 'header');
    res.writeHead(200, { ...framed.headers, 'content-length': framed.body.length });
    res.end(framed.body);
  } else if (type && JSON_LINES.has(type) && 'rows' in incoming) {
    // JSON Lines rows answer as JSON Lines when asked to, one prediction a line.
    if (/jsonlines|ndjson|json-lines/.test(accept))
      send(res, 200, `${result.predictions.map((p) => JSON.stringify(p)).join('\n')}\n`, type);
    else send(res, 200, JSON.stringify(encoded.body));
  } else if (request.protocol === 'v1' && !('raw' in incoming) && accept.includes('text/csv')) {
    send(res, 200, predictionsCsv(result.predictions), 'text/csv');
  } else send(res, 200, JSON.stringify(encoded.body));
  return 200;
}

export function createContainerServer(o: ContainerOptions): Server {
  const server = createServer(o.guard ? GUARDED_SERVER : {}, (req, res) => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const done = (status: number) => {
      if (o.accessLog)
        o.log({
          message: 'request',
          method: req.method,
          path,
          status,
          ms: +(performance.now() - started).toFixed(2),
        });
    };
    const foreign = o.guard ? foreignRequest(req, o.guard.host, o.guard) : undefined;
    if (foreign) {
      req.resume();
      send(
        res,
        foreign.status,
        JSON.stringify({ error: foreign.error, code: foreign.status === 400 ? 'bad_request' : 'forbidden' }),
      );
      return done(foreign.status);
    }
    if (req.method === 'GET' && path === '/ping') {
      const ready = o.scorer.ready;
      send(
        res,
        ready ? 200 : 503,
        JSON.stringify({
          status: ready ? 'healthy' : 'loading',
          model: o.mv.name,
          version: o.mv.version,
          provider: o.provider,
          ...(o.placement ? { placement: o.placement } : {}),
        }),
      );
      return done(ready ? 200 : 503);
    }
    if (req.method === 'GET' && path === '/execution-parameters') {
      // SageMaker batch transform asks this once: one request at a time per instance, many rows each.
      send(
        res,
        200,
        JSON.stringify({ MaxConcurrentTransforms: 1, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 6 }),
      );
      return done(200);
    }
    if (req.method === 'GET' && path === '/stats') {
      send(
        res,
        200,
        JSON.stringify({
          microbatch: o.batching?.stats ?? null,
          provider: o.provider,
          placement: o.placement ?? null,
        }),
      );
      return done(200);
    }
    if (path !== '/invocations') {
      send(
        res,
        404,
        JSON.stringify({
          error: `No route ${req.method} ${path}; this container serves GET /ping and POST /invocations.`,
          code: 'not_found',
        }),
      );
      return done(404);
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      send(res, 405, JSON.stringify({ error: 'Use POST /invocations.', code: 'method_not_allowed' }));
      return done(405);
    }
    // SageMaker passes this header back to the caller verbatim (InvokeEndpoint's CustomAttributes):
    // the predict function reports it as x-infera-provider.
    res.setHeader('x-amzn-sagemaker-custom-attributes', `infera-provider=${o.provider}`);
    const fault = o.fault;
    const run = async (): Promise<number> => {
      if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.ms));
      if (fault?.kind === 'status') {
        req.resume();
        send(
          res,
          fault.status,
          JSON.stringify({ error: `injected fault: status ${fault.status} (INFERA_FAULT)` }),
        );
        return fault.status;
      }
      if (fault?.kind === 'malformed') {
        req.resume();
        send(res, 200, '{"predictions": [tru');
        return 200;
      }
      return invocations(o, req, res);
    };
    run()
      .catch((err: unknown) => {
        const errorId = randomUUID();
        const answer = errorAnswer(err, { name: 'errorId', value: errorId, where: 'the model container' });
        // An internal failure's message goes to the log under an id, and only the id to the caller.
        if (!answer.exposed)
          o.log({ level: 'ERROR', message: 'invocation failed', errorId, error: String(err) });
        if (res.headersSent) return 500;
        send(res, answer.status, JSON.stringify(answer.body));
        return answer.status;
      })
      .then(done);
  });
  answerClientErrors(server);
  return server;
}
