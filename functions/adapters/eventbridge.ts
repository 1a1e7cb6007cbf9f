import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DriftEvent } from '#core/monitoring/types.ts';

/** The EventBridge source and detail type of drift events: what a retraining rule matches on. */
export const DRIFT_SOURCE = 'infera.monitoring';
export const DRIFT_DETAIL_TYPE = 'Model Drift Detected';

/** Puts drift events on an event bus, one entry each, and says which the bus refused. */
export function eventBridgeDriftSink(busName: string, client = new EventBridgeClient({})) {
  return async (events: readonly DriftEvent[]): Promise<void> => {
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10);
      const out = await client.send(
        new PutEventsCommand({
          Entries: batch.map((e) => ({
            EventBusName: busName,
            Source: DRIFT_SOURCE,
            DetailType: DRIFT_DETAIL_TYPE,
            Detail: JSON.stringify(e),
            Time: new Date(e.time),
          })),
        }),
      );
      if (out.FailedEntryCount) {
        const reasons = (out.Entries ?? [])
          .filter((x) => x.ErrorCode)
          .map((x) => `${x.ErrorCode}: ${x.ErrorMessage}`);
        throw new Error(`EventBridge refused ${out.FailedEntryCount} drift event(s): ${reasons.join('; ')}`);
      }
    }
  };
}
