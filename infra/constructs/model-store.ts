/**
 * The model store: where a store-backed deployment keeps its model packages and traffic policies,
 * outside any function's code (docs/many-models.md). An S3 bucket of content-addressed objects
 * (sha256/<hex>: each file once, and each version's index) and a DynamoDB table of records (one
 * head item per model, one item per revision written). `infera publish` fills it; `infera
 * release`, `promote` and `rollback` change one model's record; the functions only read.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { RECORD_KEYS } from '#adapters/model-store/aws.ts';
import { accessLogsBucket } from '../lib/access-logs.ts';
import { acknowledge, finding } from '../lib/nag.ts';

export interface ModelStoreProps {
  readonly removalPolicy: RemovalPolicy;
  /** Where the bucket's access logs go. @default a log bucket of its own */
  readonly accessLogsBucket?: IBucket;
}

export class ModelStore extends Construct {
  readonly bucket: Bucket;
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: ModelStoreProps) {
    super(scope, id);
    const logs = props.accessLogsBucket ?? accessLogsBucket(this, props.removalPolicy);
    this.bucket = new Bucket(this, 'Packages', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Objects are named by their sha256: a version's bytes cannot change under it. Versioning
      // still keeps a deleted or overwritten object recoverable.
      versioned: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'model-packages/',
      removalPolicy: props.removalPolicy,
    });
    this.table = new TableV2(this, 'Records', {
      partitionKey: { name: RECORD_KEYS.partition, type: AttributeType.STRING },
      sortKey: { name: RECORD_KEYS.sort, type: AttributeType.NUMBER },
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Kept data is protected from deletion too; infera:retainData=false means cdk destroy removes it.
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy,
    });
  }

  /** What a serving function needs in its environment. */
  get environment(): Record<string, string> {
    return { MODEL_STORE_BUCKET: this.bucket.bucketName, MODEL_STORE_TABLE: this.table.tableName };
  }

  /**
   * Read access for a serving function: the objects under sha256/ and the records (GetItem for a
   * model, Query for its history, Scan for the model list). It can change nothing.
   */
  grantRead(grantee: IGrantable & IConstruct): void {
    const objects = this.bucket.arnForObjects('sha256/*');
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
        resources: [this.table.tableArn],
      }),
    );
    // The finding is on the grantee's role (a sibling of the function), where the policy lives.
    const role = Construct.isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : grantee;
    acknowledge(
      role,
      'Model packages are named by their sha256 under sha256/: the function reads any of them, and only those.',
      finding(grantee, 'AwsSolutions-IAM5', 'Resource', objects),
    );
  }
}
