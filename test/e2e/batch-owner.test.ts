/**
 * Batch jobs belong to the principal that started them: through the API (the
 * IAM authorizer's userId) or by a direct upload (the S3 event's principalId). List, status,
 * results and complete answer only that principal, unless the deployment shares every job.
 * Real handlers on the fauxqs S3 emulator; only the authorizer context is written by hand, as
 * API Gateway would fill it for each caller.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';
import { handlerEnv, type LocalAws, startLocalAws } from '../../infra/local/aws.ts';
import { type Handler, s3EventFor } from '../../infra/local/event-sources.ts';
import { lambdaContext } from '../../infra/local/gateway.ts';
import { MODELS } from '../helpers.ts';

type ApiHandler = (event: unknown, context: Context) => Promise<{ statusCode: number; body: string }>;

let aws: LocalAws;
let api: ApiHandler;
let shared: ApiHandler;
let split: Handler;

const ALICE = { userId: 'AIDAALICEEXAMPLE', userArn: 'arn:aws:iam::111122223333:user/alice' };
const BOB_MONDAY = {
  userId: 'AROABOBEXAMPLE:monday',
  userArn: 'arn:aws:sts::111122223333:assumed-role/analyst/monday',
};
const BOB_TUESDAY = {
  userId: 'AROABOBEXAMPLE:tuesday',
  userArn: 'arn:aws:sts::111122223333:assumed-role/analyst/tuesday',
};
const CAROL = { userId: 'AIDACAROLEXAMPLE', userArn: 'arn:aws:iam::111122223333:user/carol' };

const HEADER =
  'transaction_id,amount,merchant_category,hour,distance_from_home_km,transactions_last_hour,card_present,account_age_days,is_foreign';

function event(
  method: 'GET' | 'POST',
  path: string,
  routeKey: string,
  who: { userId: string; userArn: string } | undefined,
  body?: unknown,
): APIGatewayProxyEventV2WithIAMAuthorizer {
  const now = new Date();
  const requestContext = {
    accountId: '111122223333',
    apiId: 'test',
    domainName: 'test.invalid',
    domainPrefix: 'test',
    http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
    requestId: `${now.getTime()}-${Math.random()}`,
    routeKey,
    stage: '$default',
    time: now.toISOString(),
    timeEpoch: now.getTime(),
    ...(who
      ? {
          authorizer: {
            iam: {
              accessKey: 'AKIAEXAMPLE',
              accountId: '111122223333',
              callerId: who.userId,
              cognitoIdentity: null,
              principalOrgId: '',
              ...who,
            },
          },
        }
      : {}),
  } as APIGatewayProxyEventV2WithIAMAuthorizer['requestContext'];
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  };
}

async function call(
  h: ApiHandler,
  who: { userId: string; userArn: string } | undefined,
  method: 'GET' | 'POST',
  path: string,
  routeKey: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await h(event(method, path, routeKey, who, body), lambdaContext('batch', 10_000));
  return { status: r.statusCode, json: JSON.parse(r.body) as Record<string, unknown> };
}

const start = (h: ApiHandler, who: typeof ALICE) =>
  call(h, who, 'POST', '/v1/batch', 'ANY /v1/batch', { model: 'fraud-detector' });
const list = async (h: ApiHandler, who: typeof ALICE) =>
  (
    (await call(h, who, 'GET', '/v1/batch', 'ANY /v1/batch')).json.jobs as { jobId: string; owner?: string }[]
  ).map((j) => j.jobId);
const status = (h: ApiHandler, who: typeof ALICE | undefined, id: string) =>
  call(h, who, 'GET', `/v1/batch/${id}`, 'ANY /v1/batch/{jobId}');
const results = (h: ApiHandler, who: typeof ALICE, id: string) =>
  call(h, who, 'GET', `/v1/batch/${id}/results`, 'ANY /v1/batch/{jobId}/results');

before(async () => {
  aws = await startLocalAws({ port: 0 });
  Object.assign(process.env, {
    ...handlerEnv(aws),
    // The shipped models as committed, never the working tree's models/ or its aliases.json.
    MODELS_DIR: MODELS,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  const { createBatchApiHandler } = await import('#api/batch.ts');
  const { batchDeps } = await import('#runtime/batch.ts');
  const { loadConfig } = await import('#runtime/config.ts');
  const deps = await batchDeps(loadConfig(), { scoring: false });
  const opts = { ttl: 600, maxBodyBytes: 1_000_000 };
  api = createBatchApiHandler(deps, { ...opts, sharedView: false }) as unknown as ApiHandler;
  // The same handler in a deployment that shares every job (BATCH_SHARED_VIEW=true).
  shared = createBatchApiHandler(deps, { ...opts, sharedView: true }) as unknown as ApiHandler;
  split = (await import('#batch/split.ts')).handler as unknown as Handler;
});

after(async () => {
  await aws?.close();
});

describe('batch job ownership', () => {
  let alices = '';
  let bobs = '';

  it('shows a job started through the API only to the principal that started it', async () => {
    const created = await start(api, ALICE);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    alices = created.json.jobId as string;
    assert.deepEqual(await list(api, ALICE), [alices]);
    const mine = await status(api, ALICE, alices);
    assert.equal(mine.status, 200);
    assert.equal(mine.json.owner, ALICE.userArn);
    assert.deepEqual(await list(api, CAROL), []);
  });

  it("answers someone else's job exactly as a job that does not exist", async () => {
    const theirs = await status(api, CAROL, alices);
    const missing = await status(api, CAROL, '20260101-000000-00000000');
    assert.equal(theirs.status, 404);
    assert.equal(
      theirs.json.error,
      (missing.json.error as string).replace('20260101-000000-00000000', alices),
    );
    assert.equal((await results(api, CAROL, alices)).status, 404);
    const complete = await call(
      api,
      CAROL,
      'POST',
      `/v1/batch/${alices}/complete`,
      'ANY /v1/batch/{jobId}/complete',
      { key: `fraud-detector@1/${alices}/input.csv`, uploadId: 'x', parts: [{ partNumber: 1, etag: 'e' }] },
    );
    assert.equal(complete.status, 404, JSON.stringify(complete.json));
  });

  it("gives a direct S3 upload to its uploader, and a role's next session still sees it", async () => {
    const key = 'fraud-detector/bob.csv';
    const body = `${HEADER}\ns1,12.5,grocery,14,3.2,0,true,400,false\n`;
    const put = await aws.s3.send(
      new PutObjectCommand({ Bucket: aws.names.inputBucket, Key: key, Body: body }),
    );
    const e = s3EventFor(
      {
        bucket: aws.names.inputBucket,
        key,
        size: body.length,
        eTag: put.ETag ?? '',
        sequencer: '01',
        eventName: 'ObjectCreated:Put',
        eventTime: new Date().toISOString(),
        sourceIp: '127.0.0.1',
      },
      'us-east-1',
    );
    // As S3 names a role session's upload: AWS:<role id>:<session>.
    (e.Records[0] as { userIdentity: { principalId: string } }).userIdentity.principalId =
      'AWS:AROABOBEXAMPLE:monday';
    await split(e, lambdaContext('split', 60_000));
    const ids = await list(api, BOB_TUESDAY);
    assert.equal(ids.length, 1, 'the analyst role sees its upload from another session');
    bobs = ids[0] as string;
    assert.deepEqual(await list(api, BOB_MONDAY), [bobs]);
    assert.equal((await status(api, BOB_TUESDAY, bobs)).status, 200);
    assert.equal((await status(api, ALICE, bobs)).status, 404);
    assert.deepEqual(await list(api, ALICE), [alices]);
  });

  it('shows every job to every caller when the view is shared, with each owner', async () => {
    const ids = await list(shared, CAROL);
    assert.deepEqual([...ids].sort(), [alices, bobs].sort());
    assert.equal((await status(shared, CAROL, alices)).json.owner, ALICE.userArn);
    assert.equal((await status(shared, CAROL, bobs)).json.owner, 'AROABOBEXAMPLE');
  });

  it('refuses a caller nobody authenticated with a 403 naming the fix, unless the view is shared', async () => {
    const anonymous = await status(api, undefined, alices);
    assert.equal(anonymous.status, 403);
    assert.equal(anonymous.json.code, 'forbidden');
    assert.match(anonymous.json.error as string, /SigV4.*BATCH_SHARED_VIEW=true/);
    assert.equal((await status(shared, undefined, alices)).status, 200);
  });
});
