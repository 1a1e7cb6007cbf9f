import { createRequire } from 'node:module';
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

const require = createRequire(import.meta.url);
/**
 * cdk-nag is CommonJS whose exports Node cannot detect statically, so ESM named imports fail at
 * run time; require it once here and re-export it with its own types.
 */
const nag = require('cdk-nag') as typeof import('cdk-nag');
export const { AwsSolutionsChecks } = nag;
/** cdk-nag's own renderer of a resolved ARN or reference into the text of a finding id. */
const { flattenCfnReference } = require('cdk-nag/lib/utils/flatten-cfn-reference.js') as {
  flattenCfnReference: (resolved: unknown) => string;
};

/**
 * Acknowledges cdk-nag findings on a construct and everything under it, each with its reason.
 * Ids are exact: a rule (`AwsSolutions-SM1`) or one finding of it (see `finding`), so nothing
 * wider than what was reviewed is silenced.
 */
export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

/**
 * The id of one granular finding (`AwsSolutions-IAM5[Resource::…]`), rendered from the very value
 * the policy holds, exactly as cdk-nag renders it in the stack's environment. An ARN is a token in
 * an environment-agnostic stack (`arn:<AWS::Partition>:logs:<AWS::Region>:…`) and literal text in
 * an environment-specific one (`arn:aws-cn:logs:cn-north-1:…`), so an id written by hand matches
 * one of them only.
 */
export function finding(
  scope: IConstruct,
  rule: string,
  kind: 'Resource' | 'Policy' | 'Action',
  value: string,
): string {
  return `${rule}[${kind}::${flattenCfnReference(Stack.of(scope).resolve(value))}]`;
}
