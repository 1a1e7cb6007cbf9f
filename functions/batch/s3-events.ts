import type { S3Event } from 'aws-lambda';
import type { Upload } from '#core/batch/deps.ts';
import { ownerFromS3Principal } from '#core/batch/owner.ts';

/** What S3 sends once when a notification configuration is saved. It names no object. */
interface S3TestEvent {
  readonly Service: string;
  readonly Event: 's3:TestEvent';
  readonly Bucket: string;
}

export type SplitEvent = S3Event | S3TestEvent;

export function isTestEvent(e: SplitEvent): e is S3TestEvent {
  return 'Event' in e && e.Event === 's3:TestEvent';
}

/** Whether a payload is an S3 event (or S3's test event): what the split function was invoked with. */
export function isSplitEvent(v: unknown): v is SplitEvent {
  if (typeof v !== 'object' || v === null) return false;
  if ('Event' in v) return v.Event === 's3:TestEvent';
  return 'Records' in v && Array.isArray(v.Records);
}

/**
 * S3 writes object keys in events URL-encoded, with '+' for spaces. A key that is not valid
 * percent-encoding (S3 never sends one) is kept as it came, so the event is handled, not thrown.
 */
export function eventKey(raw: string): string {
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** The uploads an S3 event announces: created objects, not folder markers. */
export function uploadsIn(event: SplitEvent): Upload[] {
  if (isTestEvent(event)) return [];
  const uploads: Upload[] = [];
  for (const r of event.Records ?? []) {
    if (!r.eventName?.startsWith('ObjectCreated:')) continue;
    const key = eventKey(r.s3.object.key);
    if (key.endsWith('/')) continue;
    const uploader = ownerFromS3Principal(r.userIdentity?.principalId);
    uploads.push({
      bucket: r.s3.bucket.name,
      key,
      ...(r.s3.object.eTag ? { etag: r.s3.object.eTag } : {}),
      ...(r.s3.object.sequencer ? { sequencer: r.s3.object.sequencer } : {}),
      ...(r.eventTime ? { eventTime: r.eventTime } : {}),
      ...(uploader ? { uploader } : {}),
    });
  }
  return uploads;
}
