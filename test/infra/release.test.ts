import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, MODELS } from '../helpers.ts';
import { type LambdaApi, startLambdaApi } from '../support/lambda-api.ts';

const awsEnv = (url: string) => ({
  AWS_ENDPOINT_URL_LAMBDA: url,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
});

describe('infera rollback and deployments on a deployed stack (Lambda API)', () => {
  let lambda: LambdaApi;
  before(async () => {
    lambda = await startLambdaApi({
      functionName: 'Infera-fraud-detector',
      versions: [
        { version: '1', description: 'model fraud-detector live=1 versions=1' },
        { version: '2', description: 'model fraud-detector live=2 versions=1,2' },
        { version: '3', description: 'model fraud-detector live=2 versions=1,2' },
      ],
      live: '3',
    });
  });
  after(() => lambda.close());

  it('lists each function version with the model version it serves and marks live', async () => {
    const r = await cli(['deployments', 'fraud-detector', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\* 3\s+2\s+100%/);
    assert.match(r.stdout, /^\s+1\s+1\s+-/m);
    assert.match(r.stdout, /Infera-fraud-detector:live/);
  });

  it('moves live to the previous function version and clears any canary weight', async () => {
    lambda.alias = { functionVersion: '3', weights: { '2': 0.1 } };
    const r = await cli(['rollback', 'fraud-detector', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lambda.alias, { functionVersion: '2', weights: {} });
    assert.match(
      r.stdout,
      /Infera-fraud-detector:live 3 \(model 2\) -> 2 \(model 2\), canary weight removed/,
    );
  });

  it('rolls back to the newest function version serving the model version given with --to', async () => {
    lambda.alias = { functionVersion: '3', weights: {} };
    const r = await cli(['rollback', 'fraud-detector', '--to', '1', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lambda.alias.functionVersion, '1');
  });

  it('releases a canary by giving the function version serving that model version a weight, then promotes it', async () => {
    lambda.alias = { functionVersion: '1', weights: {} };
    const r = await cli(
      ['release', 'fraud-detector', '2', '--canary', '20', '--stack', 'Infera'],
      awsEnv(lambda.url),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lambda.alias, { functionVersion: '1', weights: { '3': 0.2 } });
    assert.match(r.stdout, /Infera-fraud-detector:live 1 \(80%\) \+ 3 \(model 2, 20%, canary\)/);
    const p = await cli(['promote', 'fraud-detector', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(lambda.alias, { functionVersion: '3', weights: {} });
    const again = await cli(['promote', 'fraud-detector', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /has no canary weight; there is nothing to promote/);
  });

  it('names the model versions on record when --to names one never deployed', async () => {
    const r = await cli(['rollback', 'fraud-detector', '--to', '7', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /No other published version of Infera-fraud-detector serves fraud-detector version 7\. Model versions on record: 1, 2\./,
    );
  });

  it('says which function was not found and how to name it', async () => {
    const r = await cli(['deployments', 'iris', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Lambda function Infera-iris .*not found/);
    assert.match(r.stderr, /--function/);
  });
});

describe('infera on a stack whose models share one function (Lambda API)', () => {
  let lambda: LambdaApi;
  before(async () => {
    lambda = await startLambdaApi({
      functionName: 'Infera-shared-models',
      versions: [
        { version: '1', description: 'shared models=500 livemap=0123456789abcdef' },
        { version: '2', description: 'shared models=500 livemap=fedcba9876543210' },
      ],
      live: '2',
    });
  });
  after(() => lambda.close());

  it('refuses to move one model alone, and says how its release goes', async () => {
    const r = await cli(
      ['release', 'gen-003', '2', '--canary', '10', '--stack', 'Infera'],
      awsEnv(lambda.url),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /gen-003 is served by Infera-shared-models, which all of the stack's models share/,
    );
    assert.match(r.stderr, /commit aliases\.json and cdk deploy: CodeDeploy canaries/);
    assert.deepEqual(lambda.alias, { functionVersion: '2', weights: {} }, 'the alias did not move');
    const to = await cli(['rollback', 'gen-003', '--to', '1', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(to.code, 1);
    assert.match(to.stderr, /infera rollback --to cannot move gen-003 alone/);
  });

  it('rolls the shared function back one version, and says every model moved with it', async () => {
    const r = await cli(['rollback', 'gen-003', '--stack', 'Infera'], awsEnv(lambda.url));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lambda.alias, { functionVersion: '1', weights: {} });
    assert.match(
      r.stdout,
      /Infera-shared-models serves every model of the stack: all of them are back on function version 1/,
    );
  });
});

describe('infera rollback and deployments locally (models/ aliases.json)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infera-rollback-'));
    await cp(join(MODELS, 'fraud-detector'), join(dir, 'fraud-detector'), { recursive: true });
    await writeFile(join(dir, 'fraud-detector', 'aliases.json'), JSON.stringify({ live: '2' }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('points live at the previous version, then refuses to go below the oldest', async () => {
    const first = await cli(['rollback', 'fraud-detector', '--models', dir]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'fraud-detector', 'aliases.json'), 'utf8')), {
      live: '1',
    });
    const second = await cli(['rollback', 'fraud-detector', '--models', dir]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /live is version 1, the oldest/);
  });

  it('shows live after a rollback forward with --to', async () => {
    const r = await cli(['rollback', 'fraud-detector', '--to', '2', '--models', dir]);
    assert.equal(r.code, 0, r.stderr);
    const list = await cli(['deployments', 'fraud-detector', '--models', dir, '--json']);
    const body = JSON.parse(list.stdout) as { versions: { version: string; live: boolean }[] };
    assert.deepEqual(
      body.versions.map((v) => [v.version, v.live]),
      [
        ['1', false],
        ['2', true],
      ],
    );
  });

  it('rejects an unknown version with the known ones and exit code 2', async () => {
    const r = await cli(['rollback', 'fraud-detector', '--to', '9', '--models', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /has no version '9'\. Known versions: 1, 2\./);
  });
});
