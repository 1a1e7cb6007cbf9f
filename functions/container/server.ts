import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRowDecoder } from '#core/batch/rows.ts';
import { InferaError, PayloadTooLargeError, ValidationError } from '#core/errors.ts';
import type { ModelVersion } from '#core/model/registry.ts';
import {
  attachBinaryInputs,
  binaryHeaderLength,
  binaryOutputNames,
  encodeBinaryOutputs,
  frameBinary,
} from '#core/protocol/binary.ts';
import { formatIssues } from '#core/protocol/issues.ts';
import { checkJsonDepth, jsonErrorWhere } from '#core/protocol/json.ts';
import { rawInstance } from '#core/protocol/raw.ts';
import { inferRequestSchema, type Prediction, predictRequestSchema } from '#core/protocol/schemas.ts';
import type { Scorer } from '#core/scoring/scorer.ts';
import { answerClientErrors } from '#http/client-errors.ts';
import { foreignRequest, GUARDED_SERVER, type GuardOptions } from '#http/guard.ts';
import type { BatchingModel } from './microbatch.ts';

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
  readonly fault?: Fault;
  readonly provider: string;
  /** Nodes per execution provider in the first request, once one has run (ONNX Runtime's profile). */
  readonly placement?: Readonly<Record<string, number>> | undefined;
  readonly batching?: BatchingModel;
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

/** The error's answer; an internal one names only `errorId`, under which its message was logged. */
function sendError(res: ServerResponse, err: unknown, errorId: string = randomUUID()): number {
  if (err instanceof InferaError && err.expose) {
    send(
      res,
      err.status,
      JSON.stringify({
        error: err.message,
        code: err.code,
        ...(err.details.length > 0 ? { details: err.details } : {}),
      }),
    );
    return err.status;
  }
  send(
    res,
    500,
    JSON.stringify({
      error: `Internal error in the model container; its log holds the details under error id ${errorId}.`,
      code: 'internal_error',
      errorId,
    }),
  );
  return 500;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new PayloadTooLargeError(
        `Body is over ${limit} bytes (INFERA_MAX_BODY_BYTES); send fewer rows per invocation.`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** CSV in: one row per line, feature order, with or without a header naming the features. */
function csvInstances(mv: ModelVersion, text: string): Record<string, unknown>[] {
  const m = mv.manifest;
  if (m.inputs.kind !== 'tabular')
    throw new ValidationError(`Model '${mv.name}' takes tensors; send application/json.`);
  const names = m.inputs.features.map((f) => f.name);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new ValidationError('Body is empty; send one CSV row per line.');
  const first = (lines[0] as string).replace(/^\uFEFF/, '');
  const headed = first.split(',')[0]?.trim() === names[0];
  const columns = headed ? first.split(',').map((c) => c.trim()) : names;
  const decoder = createRowDecoder(m, 'csv', { columns });
  const rows: Record<string, unknown>[] = [];
  const problems: string[] = [];
  lines.slice(headed ? 1 : 0).forEach((line, i) => {
    const d = decoder.decode(line);
    if (d.ok) rows.push(d.instance);
    else problems.push(`line ${i + 1 + (headed ? 1 : 0)}: ${d.error}`);
  });
  if (problems.length > 0) {
    throw new ValidationError(
      `${problems.length} CSV row(s) are invalid; first: ${problems[0]}`,
      problems.slice(0, 100),
    );
  }
  return rows;
}

function predictionsCsv(preds: readonly Prediction[]): string {
  return `${preds
    .map((p) =>
      p.label !== undefined
        ? `${p.label},${p.score}`
        : Array.isArray(p.value)
          ? p.value.join(',')
          : p.value !== undefined
            ? String(p.value)
            : JSON.stringify(p),
    )
    .join('\n')}\n`;
}

async function invocations(o: ContainerOptions, req: IncomingMessage, res: ServerResponse): Promise<number> {
  const body = await readBody(req, o.maxBodyBytes);
  // A caller that hangs up stops the image decoding its request started.
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const opts = { signal: gone.signal };
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase();
  const accept = (req.headers.accept ?? 'application/json').toLowerCase();
  const { scorer, mv } = o;
  const binary = binaryHeaderLength(req.headers as Record<string, string | undefined>, body.length);
  if (binary) {
    // The binary tensor data extension: SageMaker's framing (json-header-size), or Triton's header.
    const { length: headerLength, framing } = binary;
    let header: unknown;
    try {
      header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
    } catch (err) {
      throw new ValidationError(
        `The JSON header is not valid JSON (${jsonErrorWhere(err as Error, body.subarray(0, headerLength).toString('latin1'))}).`,
      );
    }
    const parsed = inferRequestSchema.safeParse(header, { reportInput: true });
    if (!parsed.success) throw invalid(parsed.error);
    const request = attachBinaryInputs(parsed.data, body.subarray(headerLength));
    const response = await scorer.infer(mv, request, opts);
    const asBinary = binaryOutputNames(
      request,
      response.outputs.map((x) => x.name),
    );
    const { header: out, chunks } = encodeBinaryOutputs(response, asBinary);
    const framed = frameBinary(out, chunks, framing);
    res.writeHead(200, { ...framed.headers, 'content-length': framed.body.length });
    res.end(framed.body);
    return 200;
  }
  if (type === 'text/csv') {
    const preds = await scorer.predict(mv, csvInstances(mv, body.toString('utf8')), opts);
    if (accept.includes('text/csv')) send(res, 200, predictionsCsv(preds), 'text/csv');
    else send(res, 200, JSON.stringify({ model: mv.name, version: mv.version, predictions: preds }));
    return 200;
  }
  // One image file or plain text as the body, as the API's predict route takes it.
  const rawText = type === 'text/plain' && !/^\s*[{[]/.test(body.subarray(0, 64).toString('latin1'));
  if (type?.startsWith('image/') || type === 'application/octet-stream' || rawText) {
    const predictions = await scorer.predict(
      mv,
      [rawInstance(mv.manifest, { contentType: type as string, bytes: body })],
      opts,
    );
    send(res, 200, JSON.stringify({ model: mv.name, version: mv.version, predictions }));
    return 200;
  }
  if (type && JSON_LINES.has(type)) {
    const rows = jsonLines(body);
    if (rows) {
      const predictions = await scorer.predict(mv, rows, opts);
      if (/jsonlines|ndjson|json-lines/.test(accept)) {
        send(res, 200, `${predictions.map((p) => JSON.stringify(p)).join('\n')}\n`, type);
      } else send(res, 200, JSON.stringify({ model: mv.name, version: mv.version, predictions }));
      return 200;
    }
  }
  if (type !== 'application/json' && !(type && JSON_LINES.has(type)) && type !== 'text/plain') {
    throw new InferaError(
      `Content-Type '${type}' is not supported; send application/json or text/csv (or an image or text/plain for a model that takes one).`,
      {
        status: 415,
        code: 'unsupported_media_type',
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new ValidationError(
      `Body is not valid JSON (${jsonErrorWhere(err as Error, body.toString('latin1'))}).`,
    );
  }
  checkJsonDepth(json);
  const obj =
    json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as object) : undefined;
  if (obj && 'inputs' in obj) {
    const parsed = inferRequestSchema.safeParse(json, { reportInput: true });
    if (!parsed.success) throw invalid(parsed.error);
    send(res, 200, JSON.stringify(await scorer.infer(mv, parsed.data, opts)));
    return 200;
  }
  if (obj && 'instances' in obj) {
    const parsed = predictRequestSchema.safeParse(json, { reportInput: true });
    if (!parsed.success) throw invalid(parsed.error);
    const predictions = await scorer.predict(mv, parsed.data.instances, opts);
    if (accept.includes('text/csv')) send(res, 200, predictionsCsv(predictions), 'text/csv');
    else send(res, 200, JSON.stringify({ model: mv.name, version: mv.version, predictions }));
    return 200;
  }
  throw new ValidationError(
    'Body must be {"instances": [...]} (v1) or an Open Inference Protocol v2 infer request {"inputs": [...]}.',
  );
}

/** The JSON Lines media types: SageMaker batch transform sends records this way (MULTI_RECORD). */
const JSON_LINES = new Set(['application/jsonlines', 'application/x-ndjson', 'application/json-lines']);

/**
 * A JSON Lines body as its rows, one instance object a line; undefined for a body that is one
 * JSON request ({"instances"} or {"inputs"}) sent with a JSON Lines type, which is read as JSON.
 */
function jsonLines(body: Buffer): Record<string, unknown>[] | undefined {
  const lines = body
    .toString('utf8')
    .split(/\r?\n/)
    .map((l, i) => [l, i + 1] as const)
    .filter(([l]) => l.trim() !== '');
  if (lines.length === 0) throw new ValidationError('Body is empty; send one JSON object a line.');
  const rows = lines.map(([line, n]) => {
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new ValidationError(`Line ${n} is not valid JSON (${jsonErrorWhere(err as Error, line)}).`);
    }
    checkJsonDepth(row);
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new ValidationError(`Line ${n} is not a JSON object; send one instance object a line.`);
    return row as Record<string, unknown>;
  });
  const only = rows.length === 1 ? rows[0] : undefined;
  if (only && ('instances' in only || 'inputs' in only)) return undefined;
  return rows;
}

function invalid(error: Parameters<typeof formatIssues>[0]): ValidationError {
  const details = formatIssues(error, 'body');
  return new ValidationError(`Invalid request: ${details[0]}`, details);
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
        // An internal failure's message goes to the log under an id, and only the id to the caller.
        const errorId = randomUUID();
        if (!(err instanceof InferaError && err.expose))
          o.log({ level: 'ERROR', message: 'invocation failed', errorId, error: String(err) });
        return res.headersSent ? 500 : sendError(res, err, errorId);
      })
      .then(done);
  });
  answerClientErrors(server);
  return server;
}
