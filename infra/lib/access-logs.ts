import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledge } from './nag.ts';

/** A construct's own bucket for its buckets' server access logs: private, encrypted, kept a year. */
export function accessLogsBucket(scope: Construct, removalPolicy: RemovalPolicy): Bucket {
  const b = new Bucket(scope, 'AccessLogs', {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(365) }],
    removalPolicy,
  });
  acknowledge(b, 'This is the access-log bucket; logging it to itself would loop.', 'AwsSolutions-S1');
  return b;
}
