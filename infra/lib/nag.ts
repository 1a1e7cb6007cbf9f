import { createRequire } from 'node:module';
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag is CommonJS whose exports Node cannot detect statically, so ESM named imports fail at
 * run time; require it once here and re-export it with its own types.
 */
const nag = createRequire(import.meta.url)('cdk-nag') as typeof import('cdk-nag');
export const { AwsSolutionsChecks } = nag;

/**
 * Acknowledges cdk-nag findings on a construct and everything under it, each with its reason.
 * Ids are exact: a rule (`AwsSolutions-SM1`) or one finding of it
 * (`AwsSolutions-IAM5[Resource::*]`), so nothing wider than what was reviewed is silenced.
 */
export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

/** The CloudFormation logical id of a construct's resource, as cdk-nag names it in findings. */
export function logicalId(c: IConstruct): string {
  const resource = (c.node.defaultChild ?? c) as CfnElement;
  return Stack.of(c).getLogicalId(resource);
}
