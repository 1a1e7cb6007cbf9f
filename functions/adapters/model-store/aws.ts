/**
 * The model store on AWS: package objects in S3 under sha256/<hex>, and one DynamoDB item per
 * model for its record (revision 0 is the head; revision n keeps the record as written, the audit
 * trail). A record changes only in a transaction conditioned on the head's revision.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { fieldOf, PreconditionFailedError } from '#core/errors.ts';
import type { ModelStore } from '#core/ports.ts';

/** The table's keys, as the stack creates it (infra/constructs/model-store.ts). */
export const RECORD_KEYS = { partition: 'model', sort: 'revision' } as const;
/** The sort key of a model's current record. */
const HEAD = 0;

const objectKey = (digest: string) => `sha256/${digest}`;
const status = (err: unknown) => fieldOf(fieldOf(err, '$metadata'), 'httpStatusCode');

export class AwsModelStore implements ModelStore {
  readonly where: string;
  readonly #s3: S3Client;
  readonly #db: DynamoDBDocumentClient;
  readonly #bucket: string;
  readonly #table: string;

  /**
   * `endpoint` points S3 at an emulator (path-style addressing); DynamoDB's client reads
   * AWS_ENDPOINT_URL itself, as every SDK client does.
   */
  constructor(opts: { bucket: string; table: string; endpoint?: string; region?: string }) {
    this.#s3 = new S3Client({
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      ...(opts.region ? { region: opts.region } : {}),
    });
    this.#db = DynamoDBDocumentClient.from(new DynamoDBClient(opts.region ? { region: opts.region } : {}));
    this.#bucket = opts.bucket;
    this.#table = opts.table;
    this.where = `s3://${opts.bucket} and DynamoDB table ${opts.table}`;
  }

  async readRecord(model: string): Promise<unknown> {
    const out = await this.#db.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [RECORD_KEYS.partition]: model, [RECORD_KEYS.sort]: HEAD },
        // A release must be seen by the next read: strongly consistent (1 read unit, not 0.5).
        ConsistentRead: true,
      }),
    );
    return out.Item ? parse(out.Item.record) : undefined;
  }

  async writeRecord(record: { model: string; revision: number }, expectedRevision: number): Promise<void> {
    const body = JSON.stringify(record);
    const head = {
      [RECORD_KEYS.partition]: record.model,
      [RECORD_KEYS.sort]: HEAD,
      current: record.revision,
      record: body,
    };
    try {
      await this.#db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#table,
                Item: head,
                ...(expectedRevision === 0
                  ? {
                      ConditionExpression: 'attribute_not_exists(#m)',
                      ExpressionAttributeNames: { '#m': RECORD_KEYS.partition },
                    }
                  : {
                      ConditionExpression: '#c = :expected',
                      ExpressionAttributeNames: { '#c': 'current' },
                      ExpressionAttributeValues: { ':expected': expectedRevision },
                    }),
              },
            },
            {
              Put: {
                TableName: this.#table,
                Item: {
                  [RECORD_KEYS.partition]: record.model,
                  [RECORD_KEYS.sort]: record.revision,
                  record: body,
                },
                ConditionExpression: 'attribute_not_exists(#m)',
                ExpressionAttributeNames: { '#m': RECORD_KEYS.partition },
              },
            },
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException || err instanceof ConditionalCheckFailedException) {
        throw new PreconditionFailedError(
          `${record.model}'s record changed since it was read (expected revision ${expectedRevision}); read it again and retry.`,
        );
      }
      throw err;
    }
  }

  async history(model: string, limit: number): Promise<unknown[]> {
    const out = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: '#m = :m AND #r > :head',
        ExpressionAttributeNames: { '#m': RECORD_KEYS.partition, '#r': RECORD_KEYS.sort },
        ExpressionAttributeValues: { ':m': model, ':head': HEAD },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => parse(i.record));
  }

  async listModels(): Promise<string[]> {
    const names: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#db.send(
        new ScanCommand({
          TableName: this.#table,
          FilterExpression: '#r = :head',
          ProjectionExpression: '#m',
          ExpressionAttributeNames: { '#m': RECORD_KEYS.partition, '#r': RECORD_KEYS.sort },
          ExpressionAttributeValues: { ':head': HEAD },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const i of out.Items ?? []) if (typeof i.model === 'string') names.push(i.model);
      start = out.LastEvaluatedKey;
    } while (start);
    return names.sort();
  }

  async readObject(digest: string, maxBytes: number): Promise<Uint8Array | undefined> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey(digest) }));
    } catch (err) {
      if (fieldOf(err, 'name') === 'NoSuchKey' || status(err) === 404) return undefined;
      throw err;
    }
    const body = out.Body as
      | { transformToByteArray(): Promise<Uint8Array>; destroy?: () => void }
      | undefined;
    if ((out.ContentLength ?? 0) > maxBytes) {
      body?.destroy?.();
      throw new PreconditionFailedError(
        `object ${digest} is ${out.ContentLength} bytes, more than the ${maxBytes} its package lists`,
      );
    }
    return body ? body.transformToByteArray() : new Uint8Array();
  }

  async hasObject(digest: string): Promise<boolean> {
    try {
      await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: objectKey(digest) }));
      return true;
    } catch (err) {
      if (fieldOf(err, 'name') === 'NotFound' || status(err) === 404) return false;
      throw err;
    }
  }

  async putObject(digest: string, bytes: Uint8Array): Promise<void> {
    await this.#s3.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: objectKey(digest),
        Body: bytes,
        // S3 checks the bytes it receives against this, so a corrupted upload is refused.
        ChecksumSHA256: Buffer.from(digest, 'hex').toString('base64'),
        ContentType: 'application/octet-stream',
      }),
    );
  }
}

function parse(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
