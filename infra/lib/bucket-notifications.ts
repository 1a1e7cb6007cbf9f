import { type CfnResource, Stack } from 'aws-cdk-lib';
import { ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { acknowledge, finding } from './nag.ts';

/**
 * CDK's own singleton that applies bucket notifications (a custom resource), made by the first
 * bucket with a notification in the stack: its managed policy is acknowledged, and with reserved
 * concurrency on, it reserves 1 (it runs only while CloudFormation applies the configuration).
 */
export function tendNotificationsHandler(scope: IConstruct, reserving: boolean): void {
  const handler = Stack.of(scope).node.children.find((c) =>
    c.node.id.startsWith('BucketNotificationsHandler'),
  );
  if (!handler) return;
  if (reserving)
    (handler.node.defaultChild as CfnResource).addPropertyOverride('ReservedConcurrentExecutions', 1);
  acknowledge(
    handler,
    "CDK's BucketNotificationsHandler custom resource: AWSLambdaBasicExecutionRole only lets it write its own logs.",
    finding(
      handler,
      'AwsSolutions-IAM4',
      'Policy',
      ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole').managedPolicyArn,
    ),
  );
}
