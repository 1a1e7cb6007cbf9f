import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { MessageQueue, QueueEntry } from '#core/ports.ts';

/** SQS behind the MessageQueue port; locally the same client points at the emulator's endpoint. */
export function sqsClient(endpoint?: string): SQSClient {
  return new SQSClient(endpoint ? { endpoint } : {});
}

const attrs = (a?: Readonly<Record<string, string>>) =>
  a
    ? Object.fromEntries(Object.entries(a).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]))
    : undefined;

export class SqsQueue implements MessageQueue {
  readonly client: SQSClient;

  constructor(client: SQSClient) {
    this.client = client;
  }

  async sendBatch(
    queueUrl: string,
    entries: readonly QueueEntry[],
  ): Promise<{ id: string; reason: string }[]> {
    const r = await this.client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: entries.map((e) => ({
          Id: e.id,
          MessageBody: e.body,
          ...(e.attributes ? { MessageAttributes: attrs(e.attributes) } : {}),
        })),
      }),
    );
    return (r.Failed ?? []).map((f) => ({ id: f.Id ?? '', reason: `${f.Code}: ${f.Message ?? ''}` }));
  }

  async send(queueUrl: string, body: string, attributes?: Readonly<Record<string, string>>): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        ...(attributes ? { MessageAttributes: attrs(attributes) } : {}),
      }),
    );
  }
}
