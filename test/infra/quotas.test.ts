/**
 * The AWS quotas a deployment must stay under, checked on the default app, on the most models
 * `infera:modelFunctions=auto` gives a function each, and on 500 generated models (which share
 * one), each synthesized as `cdk synth` does (cdk-nag included) with bundling skipped (the same
 * resources): CloudFormation's resources, outputs and template size, the HTTP API's routes per
 * API, IAM's policy sizes, Lambda's environment size and each function's resource-based policy.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { limitOf } from '#core/aws/rules.ts';
import { PER_MODEL_MAX } from '../../infra/config.ts';
import { makeModels } from '../../scripts/make-models.ts';
import { MODELS } from '../helpers.ts';
import { findingsOf, removeSynthOutput, synthApp } from '../support/synth.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Default quotas (the resource and route ones can be raised; IAM's and Lambda's cannot). */
const QUOTAS = {
  resourcesPerStack: limitOf('cloudformation-resources'),
  routesPerApi: limitOf('http-api-routes'),
  /** Inline policies of one role, all together, in characters (whitespace not counted). */
  inlinePolicyCharsPerRole: limitOf('iam-inline-policies'),
  managedPolicyChars: limitOf('iam-managed-policy'),
  /** A function's resource-based policy, in bytes. */
  functionPolicyBytes: limitOf('lambda-resource-policy'),
  outputsPerStack: limitOf('cloudformation-outputs'),
  /** A template CloudFormation reads from S3, in bytes. */
  templateBytes: limitOf('cloudformation-template-size'),
  /** A Lambda function's environment variables, names and values, in bytes. */
  environmentBytes: limitOf('lambda-environment'),
};

const generated = mkdtempSync(join(tmpdir(), 'infera-quota-models-'));
after(() => {
  rmSync(generated, { recursive: true, force: true });
  removeSynthOutput();
});

/** The shipped models, plus `extra` generated ones. */
async function modelsDir(name: string, extra: number): Promise<string> {
  const dir = join(generated, name);
  await makeModels(dir, extra, { prefix: 'gen' });
  await cp(MODELS, dir, { recursive: true });
  return dir;
}

const shipped = readdirSync(MODELS, { withFileTypes: true }).filter((d) => d.isDirectory()).length;
const CASES = [
  { title: 'the default deployment (models/)', models: async () => MODELS, layout: 'per-model' },
  {
    title: `the most models auto gives a function each (${PER_MODEL_MAX})`,
    models: () => modelsDir('most-per-model', PER_MODEL_MAX - shipped),
    layout: 'per-model',
  },
  {
    title: '500 models, which share one function',
    models: () => modelsDir('five-hundred', 500 - shipped),
    layout: 'shared',
  },
] as const;

for (const c of CASES) {
  describe(`${c.title} stays under the AWS quotas`, () => {
    let resources: Record<string, Resource>;
    let template: { Resources: Record<string, Resource>; Outputs?: Record<string, unknown> };
    before(async () => {
      const s = await synthApp(undefined, { 'infera:models': await c.models() });
      template = JSON.parse(readFileSync(s.templatePath, 'utf8')) as typeof template;
      assert.deepEqual(findingsOf(s.report), [], 'cdk-nag and template validation are clean');
      resources = template.Resources;
      const sharedFunctions = Object.keys(resources).filter(
        (id) => id.startsWith('SharedModelsFunction') && resources[id]?.Type === 'AWS::Lambda::Function',
      );
      assert.equal(sharedFunctions.length, c.layout === 'shared' ? 1 : 0, `layout ${c.layout}`);
    });
    const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
    /** A policy document's length as IAM counts it: JSON without whitespace; an unresolved ARN counts as 200. */
    const chars = (doc: unknown) =>
      JSON.stringify(doc, (_, v) =>
        v && typeof v === 'object' && ('Fn::GetAtt' in v || 'Fn::Join' in v || 'Ref' in v || 'Fn::Sub' in v)
          ? 'x'.repeat(200)
          : v,
      ).length;

    it(`has at most ${QUOTAS.resourcesPerStack} CloudFormation resources`, () => {
      const n = Object.keys(resources).length;
      assert.ok(n <= QUOTAS.resourcesPerStack, `${n} resources`);
    });

    it(`has at most ${QUOTAS.routesPerApi} routes on each HTTP API`, () => {
      const perApi = new Map<string, number>();
      for (const [, r] of ofType('AWS::ApiGatewayV2::Route')) {
        const api = JSON.stringify(r.Properties?.ApiId);
        perApi.set(api, (perApi.get(api) ?? 0) + 1);
      }
      assert.ok(perApi.size >= 1, 'the default deployment has an HTTP API');
      for (const [api, n] of perApi) assert.ok(n <= QUOTAS.routesPerApi, `${api}: ${n} routes`);
    });

    it("keeps every role's inline policies and every managed policy under IAM's size limits", () => {
      const perRole = new Map<string, number>();
      for (const [id, r] of ofType('AWS::IAM::Policy')) {
        const size = chars(r.Properties?.PolicyDocument);
        for (const role of (r.Properties?.Roles ?? []) as unknown[]) {
          const key = JSON.stringify(role);
          perRole.set(key, (perRole.get(key) ?? 0) + size);
        }
        assert.ok(size <= QUOTAS.inlinePolicyCharsPerRole, `${id}: ${size} characters`);
      }
      for (const [role, n] of perRole)
        assert.ok(n <= QUOTAS.inlinePolicyCharsPerRole, `${role}: ${n} characters of inline policy`);
      for (const [id, r] of ofType('AWS::IAM::ManagedPolicy')) {
        const size = chars(r.Properties?.PolicyDocument);
        assert.ok(size <= QUOTAS.managedPolicyChars, `${id}: ${size} characters`);
      }
    });

    it("keeps each function's resource-based policy under 20 KB", () => {
      const perFunction = new Map<string, number>();
      for (const [, r] of ofType('AWS::Lambda::Permission')) {
        const fn = JSON.stringify(r.Properties?.FunctionName);
        // One statement: its principal, action, resource and source ARN condition, unresolved ARNs at 200 characters.
        perFunction.set(fn, (perFunction.get(fn) ?? 0) + chars(r.Properties) + 150);
      }
      assert.ok(perFunction.size > 0);
      for (const [fn, n] of perFunction)
        assert.ok(n <= QUOTAS.functionPolicyBytes, `${fn}: about ${n} bytes`);
    });

    it(`has at most ${QUOTAS.outputsPerStack} outputs and a template under ${QUOTAS.templateBytes / 1e6} MB`, () => {
      const outputs = Object.keys(template.Outputs ?? {}).length;
      assert.ok(outputs <= QUOTAS.outputsPerStack, `${outputs} outputs`);
      const bytes = JSON.stringify(template).length;
      assert.ok(bytes <= QUOTAS.templateBytes, `${bytes} bytes of template`);
    });

    it(`keeps every function's environment under Lambda's ${QUOTAS.environmentBytes / 1024} KB`, () => {
      for (const [id, r] of ofType('AWS::Lambda::Function')) {
        const vars =
          (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
        const bytes = Object.entries(vars).reduce(
          (n, [k, v]) => n + k.length + (typeof v === 'string' ? v.length : 200),
          0,
        );
        assert.ok(bytes <= QUOTAS.environmentBytes, `${id}: ${bytes} bytes of environment`);
      }
    });
  });
}
