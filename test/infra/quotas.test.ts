/**
 * The AWS quotas a deployment must stay under, checked on the default app (built with bundling
 * skipped: the same resources): CloudFormation's resources per stack, the HTTP API's routes per
 * API, IAM's policy sizes, and the size of each Lambda function's resource-based policy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Default quotas (the resource and route ones can be raised; IAM's and Lambda's cannot). */
const QUOTAS = {
  resourcesPerStack: 500,
  routesPerApi: 300,
  /** Inline policies of one role, all together, in characters (whitespace not counted). */
  inlinePolicyCharsPerRole: 10_240,
  managedPolicyChars: 6_144,
  /** A function's resource-based policy, in bytes. */
  functionPolicyBytes: 20_480,
};

let outdir: string;
let resources: Record<string, Resource>;

before(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'infera-quotas-'));
  const { stack } = await buildApp({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
});
after(() => rmSync(outdir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** A policy document's length as IAM counts it: JSON without whitespace; an unresolved ARN counts as 200. */
const chars = (doc: unknown) =>
  JSON.stringify(doc, (_, v) =>
    v && typeof v === 'object' && ('Fn::GetAtt' in v || 'Fn::Join' in v || 'Ref' in v || 'Fn::Sub' in v)
      ? 'x'.repeat(200)
      : v,
  ).length;

describe('the default deployment stays under the AWS quotas', () => {
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
    for (const [fn, n] of perFunction) assert.ok(n <= QUOTAS.functionPolicyBytes, `${fn}: about ${n} bytes`);
  });
});
