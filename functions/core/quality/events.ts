/**
 * Quality events: raised when a version's figure crosses its manifest threshold, and once more
 * when it is back, by comparing a report with the one before it. The same channels as drift
 * events carry them (an EventBridge bus on AWS, a webhook locally).
 */
import type { QualityEvent, QualityReport } from './report-schema.ts';

export function qualityTransitions(
  previous: QualityReport | undefined,
  next: QualityReport,
  windowHours: number,
): QualityEvent[] {
  const before = new Map<string, string>();
  for (const v of previous?.versions ?? [])
    for (const a of v.alarms) before.set(`${v.version}/${a.figure}`, a.state);
  const events: QualityEvent[] = [];
  for (const v of next.versions)
    for (const a of v.alarms) {
      const was = before.get(`${v.version}/${a.figure}`);
      const raised = a.state === 'alarm' && was !== 'alarm';
      const cleared = a.state === 'ok' && was === 'alarm';
      if ((raised || cleared) && a.value !== null)
        events.push({
          type: 'infera.quality',
          state: raised ? 'alarm' : 'ok',
          model: next.model,
          version: v.version,
          figure: a.figure,
          value: a.value,
          threshold: a.threshold,
          labelled: v.labelled,
          windowHours,
          time: next.computedAt,
        });
    }
  return events;
}
