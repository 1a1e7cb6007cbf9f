import type { InstancePrice, PriceTable } from './price-table.ts';
import type { Assumptions, CostLine, RouteCost, Timing } from './types.ts';

/**
 * What a million predictions cost on each route a model version could take, from measured
 * handler times and a price table. Pure arithmetic: every assumption is an argument, and each
 * route carries the lines its total is made of, so a reader can redo the sum by hand.
 */

/** Lambda gives a function one vCPU at 1,769 MB, and CPU in proportion to memory. */
export const LAMBDA_MB_PER_VCPU = 1769;
export const HOURS_PER_MONTH = 730;
const GB = 1024 ** 3;

/**
 * A local time as it would be on a Lambda (or Serverless) function of `memoryMb`: below 1,769 MB
 * the function has a fraction of a vCPU, so single-threaded work takes longer in proportion;
 * above, one request's work does not get faster (infera runs one onnxruntime thread per vCPU it
 * measures with, here one).
 */
export function scaleToMemory(localMs: number, memoryMb: number, a: Assumptions): number {
  return a.observed ? localMs : onAwsCpu(localMs, a) * Math.max(1, LAMBDA_MB_PER_VCPU / memoryMb);
}

/** A time on one of AWS's vCPUs: a local time × the machine factor; an observed time as it is. */
function onAwsCpu(ms: number, a: Assumptions): number {
  return a.observed ? ms : ms * a.cpuFactor;
}

/** What `count` always-on instances cost a month; undefined when the table has no price for the type. */
export function alwaysOnMonthly(prices: PriceTable, instanceType: string, count: number): number | undefined {
  const hourly = prices.sagemaker.instances[instanceType]?.usd;
  return hourly === undefined ? undefined : hourly * count * HOURS_PER_MONTH;
}

const perRow = (usdPerRequest: number, rows: number) => (usdPerRequest * 1e6) / rows;

/** Duration as billed: rounded up to the ms (a scaled time of 6.0000000001 ms is still 6 ms). */
export const billedMs = (ms: number) => Math.max(1, Math.ceil(ms - 1e-9));

/** A Lambda function behind the HTTP API: duration (billed per ms, rounded up), requests, API requests. */
function lambdaLines(
  durationMs: number,
  memoryMb: number,
  arch: 'x86_64' | 'arm64',
  rows: number,
  prices: PriceTable,
): CostLine[] {
  const gbSecond = arch === 'arm64' ? prices.lambda.gbSecondArm.usd : prices.lambda.gbSecondX86.usd;
  const duration = (billedMs(durationMs) / 1000) * (memoryMb / 1024) * gbSecond;
  return [
    { what: `Lambda duration ${billedMs(durationMs)} ms × ${memoryMb} MB`, usd: perRow(duration, rows) },
    { what: 'Lambda requests', usd: perRow(prices.lambda.request.usd, rows) },
    { what: 'HTTP API requests', usd: perRow(prices.apiGateway.httpRequest.usd, rows) },
  ];
}

/** The predict function in front of an endpoint: billed for the time it waits, not for compute. */
function predictFunctionLines(
  waitMs: number,
  memoryMb: number,
  rows: number,
  prices: PriceTable,
): CostLine[] {
  return lambdaLines(waitMs, memoryMb, 'x86_64', rows, prices).map((l) => ({
    what: `predict function: ${l.what}`,
    usd: l.usd,
  }));
}

/** The model scored inside the predict function. */
export function lambdaRoute(
  t: Timing,
  memoryMb: number,
  arch: 'x86_64' | 'arm64',
  prices: PriceTable,
  a: Assumptions,
): RouteCost {
  const p50 = scaleToMemory(t.p50Ms, memoryMb, a);
  const p99 = scaleToMemory(t.p99Ms, memoryMb, a);
  const lines = lambdaLines(p50, memoryMb, arch, t.rows, prices);
  return {
    route: `Lambda ${arch} ${memoryMb} MB`,
    kind: 'lambda',
    perMillion: sum(lines),
    lines,
    p50Ms: p50,
    p99Ms: p99,
    idleMonthly: 0,
    coldStarts: true,
  };
}

/**
 * A SageMaker real-time endpoint: instance-hours at the stated utilization, where one instance
 * serves one request per vCPU at a time, each taking the measured time. The predict function in
 * front of it waits for the answer, so its duration and requests are paid too.
 */
/**
 * A time taken on an endpoint's accelerator (npm run test:gpu, or CloudWatch for a deployed GPU
 * route), with where it comes from. The accelerator runs one batch at a time.
 */
export interface AcceleratorTiming {
  readonly rows: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Where the time comes from, printed with the route: "test:gpu on NVIDIA A10G, 2026-12-07". */
  readonly source: string;
}

/**
 * A real-time SageMaker endpoint. On CPU instances each vCPU serves one request at a time, at the
 * measured CPU time. On a GPU or Inferentia instance, a time taken on that accelerator prices it
 * (one request at a time on the accelerator); without one, the CPU time does, and the route says so.
 */
export function sagemakerRoute(
  t: Timing,
  instanceType: string,
  instanceCount: number,
  functionMemoryMb: number,
  prices: PriceTable,
  a: Assumptions,
  accelerated?: AcceleratorTiming,
): RouteCost {
  const inst: InstancePrice | undefined = prices.sagemaker.instances[instanceType];
  const route = `SageMaker ${instanceType} ×${instanceCount}`;
  if (!inst) {
    return {
      route,
      kind: 'sagemaker',
      perMillion: Number.NaN,
      lines: [],
      idleMonthly: Number.NaN,
      coldStarts: false,
      unpriced: `no price for ${instanceType}; add sagemaker.instances["${instanceType}"] to a --prices file`,
    };
  }
  const onAccelerator = inst.accelerator !== 'none' && accelerated !== undefined;
  const rows = onAccelerator ? accelerated.rows : t.rows;
  const p50 = onAccelerator ? accelerated.p50Ms : onAwsCpu(t.p50Ms, a);
  const p99 = onAccelerator ? accelerated.p99Ms : onAwsCpu(t.p99Ms, a);
  const servers = onAccelerator ? 1 : inst.vcpus;
  const requestsPerHour = servers * (3_600_000 / p50) * a.utilization;
  const busy = `${Math.round(a.utilization * 100)}%`;
  const what = onAccelerator
    ? `${instanceType} at ${busy} of its ${inst.accelerator === 'gpu' ? 'GPU' : 'accelerator'} × ${fmt(p50)} ms per ${rows}-row call (${accelerated.source})`
    : `${instanceType} at ${busy} of ${inst.vcpus} vCPU × ${fmt(p50)} ms${inst.accelerator !== 'none' ? ' (CPU time: no time on its accelerator yet; npm run test:gpu measures one)' : ''}`;
  const lines = [
    { what, usd: perRow(inst.usd / requestsPerHour, rows) },
    ...predictFunctionLines(p50, functionMemoryMb, rows, prices),
  ];
  return {
    route,
    kind: 'sagemaker',
    perMillion: sum(lines),
    lines,
    p50Ms: p50,
    p99Ms: p99,
    idleMonthly: alwaysOnMonthly(prices, instanceType, instanceCount) ?? Number.NaN,
    coldStarts: false,
    timedOn: onAccelerator
      ? accelerated.source
      : inst.accelerator !== 'none'
        ? 'CPU (no accelerator time)'
        : 'CPU',
  };
}

/** SageMaker Serverless Inference: memory-seconds (per ms) and data in and out, behind the predict function. */
export function serverlessRoute(
  t: Timing,
  memoryMb: number,
  functionMemoryMb: number,
  prices: PriceTable,
  a: Assumptions,
): RouteCost {
  const p50 = scaleToMemory(t.p50Ms, memoryMb, a);
  const p99 = scaleToMemory(t.p99Ms, memoryMb, a);
  const compute = (billedMs(p50) / 1000) * (memoryMb / 1024) * prices.sagemaker.serverlessGbSecond.usd;
  const data = ((t.requestBytes + t.responseBytes) / GB) * prices.sagemaker.serverlessDataGb.usd;
  const lines = [
    { what: `Serverless compute ${billedMs(p50)} ms × ${memoryMb} MB`, usd: perRow(compute, t.rows) },
    { what: 'Serverless data in and out', usd: perRow(data, t.rows) },
    ...predictFunctionLines(p50, functionMemoryMb, t.rows, prices),
  ];
  return {
    route: `SageMaker Serverless ${memoryMb} MB`,
    kind: 'serverless',
    perMillion: sum(lines),
    lines,
    p50Ms: p50,
    p99Ms: p99,
    idleMonthly: 0,
    coldStarts: true,
  };
}

/** The batch pipeline's request counts per chunk (see docs/batch.md). */
export const BATCH_REQUESTS = {
  /** Ranged GET of the chunk. */
  s3GetsPerChunk: 1,
  /** Part and marker PUTs, the "already done?" LIST and the "finished?" LIST. */
  s3PutsPerChunk: 4,
  /** SendMessageBatch, ReceiveMessage and DeleteMessageBatch, each for up to 10 chunks. */
  sqsPerChunk: 3 / 10,
} as const;

/**
 * A million rows through the batch pipeline: the score function's duration (rows × the measured
 * time per row, at its memory), the split function reading the file, and S3 and SQS requests
 * per chunk.
 */
export function batchRoute(
  rowMs: number,
  splitRowMs: number,
  chunkRows: number,
  scoreMemoryMb: number,
  splitMemoryMb: number,
  prices: PriceTable,
  a: Assumptions,
): RouteCost {
  const rows = 1e6;
  const chunks = Math.ceil(rows / chunkRows);
  const gbs = prices.lambda.gbSecondX86.usd;
  const scoreMs = scaleToMemory(rowMs, scoreMemoryMb, a) * rows;
  const splitMs = scaleToMemory(splitRowMs, splitMemoryMb, a) * rows;
  const lines = [
    {
      what: `score function ${fmt(scoreMs / 1000)} s × ${scoreMemoryMb} MB`,
      usd: (scoreMs / 1000) * (scoreMemoryMb / 1024) * gbs,
    },
    {
      what: `split function ${fmt(splitMs / 1000)} s × ${splitMemoryMb} MB`,
      usd: (splitMs / 1000) * (splitMemoryMb / 1024) * gbs,
    },
    {
      what: `Lambda requests (${chunks / 10} score invocations of 10 chunks)`,
      usd: (chunks / 10) * prices.lambda.request.usd,
    },
    {
      what: `S3 requests (${chunks} chunks: ${BATCH_REQUESTS.s3GetsPerChunk} GET, ${BATCH_REQUESTS.s3PutsPerChunk} PUT or LIST each)`,
      usd:
        chunks *
        (BATCH_REQUESTS.s3GetsPerChunk * prices.s3.getRequest.usd +
          BATCH_REQUESTS.s3PutsPerChunk * prices.s3.putRequest.usd),
    },
    { what: 'SQS requests', usd: chunks * BATCH_REQUESTS.sqsPerChunk * prices.sqs.request.usd },
  ];
  return {
    route: `batch, ${chunkRows.toLocaleString('en-US')}-row chunks`,
    kind: 'batch',
    perMillion: sum(lines),
    lines,
    idleMonthly: 0,
    coldStarts: true,
  };
}

function sum(lines: readonly CostLine[]): number {
  return lines.reduce((s, l) => s + l.usd, 0);
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
