import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DriftEvent } from '#core/monitoring/types.ts';
import type { QualityEvent } from '#core/quality/report-schema.ts';

/** The EventBridge source and detail types of monitoring events: what a retraining rule matches on. */
export const DRIFT_SOURCE = 'infera.monitoring';
export const DRIFT_DETAIL_TYPE = 'Model Drift Detected';
export const QUALITY_DETAIL_TYPE = 'Model Quality Changed';

/** Puts drift and quality events on an event bus, one entry each, and says which the bus refused. */
export function eventBridgeDriftSink(busName: string, client = new EventBridgeClient({})) {
  return async (events: readonly (DriftEvent | QualityEvent)[]): Promise<void> => {
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10);
      const out = await client.send(
        new PutEventsCommand({
          Entries: batch.map((e) => ({
            EventBusName: busName,
            Source: DRIFT_SOURCE,
            DetailType: e.type === 'infera.quality' ? QUALITY_DETAIL_TYPE : DRIFT_DETAIL_TYPE,
            Detail: JSON.stringify(e),
            Time: new Date(e.time),
          })),
        }),
      );
      if (out.FailedEntryCount) {
        const reasons = (out.Entries ?? [])
          .filter((x) => x.ErrorCode)
          .map((x) => `${x.ErrorCode}: ${x.ErrorMessage}`);
        throw new Error(
          `EventBridge refused ${out.FailedEntryCount} monitoring event(s): ${reasons.join('; ')}`,
        );
      }
    }
  };
}
