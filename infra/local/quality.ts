import { GROUND_TRUTH_PREFIX } from '#core/quality/ingest.ts';
import type { LocalAws } from './aws.ts';
import { type Handler, invokeAsync, s3EventFor } from './event-sources.ts';
import { printable } from './log-safe.ts';

/**
 * Wires the quality function to the local AWS as the stack wires it on AWS: an upload under
 * ground-truth/ in the quality bucket invokes it with the S3 event.
 */
export function startLocalQuality(o: {
  readonly aws: LocalAws;
  readonly handler: Handler;
  readonly log?: (line: string) => void;
}): void {
  o.aws.onUpload((n) => {
    if (n.bucket !== o.aws.names.qualityBucket || !n.key.startsWith(GROUND_TRUTH_PREFIX)) return;
    o.log?.(`[s3] ${n.eventName} s3://${n.bucket}/${printable(n.key)} (${n.size} bytes) -> quality`);
    void invokeAsync('quality', o.handler, s3EventFor(n, o.aws.region), o.log ? { log: o.log } : {});
  });
}
