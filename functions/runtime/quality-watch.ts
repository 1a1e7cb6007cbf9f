/**
 * Judges labelled quality on a clock: each model with quality alarms gets a fresh report, compared
 * with the one before; crossings become quality events, sent where drift events go. Locally it runs
 * in the platform's process every QUALITY_EVALUATE_SECONDS; on AWS the quality function does the
 * same on a schedule, with Athena (evaluateAll in quality-jobs.ts).
 */
import { messageOf } from '#core/errors.ts';
import type { ModelRegistry } from '#core/model/registry.ts';
import { qualityTransitions } from '#core/quality/events.ts';
import { type QualityModel, qualityModelOf } from '#core/quality/model.ts';
import type { QualityEvent, QualityReport } from '#core/quality/report-schema.ts';
import type { Config } from './config.ts';
import type { Sink } from './monitoring.ts';
import { logger } from './observability.ts';

/** One round: each model's report, its events, and the report kept for the next round. */
export async function judgeQuality(
  models: readonly QualityModel[],
  report: (q: QualityModel) => Promise<QualityReport>,
  previous: (model: string) => Promise<QualityReport | undefined>,
  keep: (report: QualityReport) => Promise<void>,
  sinks: readonly Sink[],
): Promise<QualityEvent[]> {
  const all: QualityEvent[] = [];
  for (const q of models) {
    try {
      const next = await report(q);
      const events = qualityTransitions(await previous(q.model), next, q.spec.windowHours);
      for (const e of events)
        logger.warn(e.state === 'alarm' ? 'quality alarm' : 'quality recovered', { quality: e });
      // Sent before the report is kept: an event that could not be sent is raised again next round.
      await Promise.all(sinks.map((send) => (events.length > 0 ? send(events) : Promise.resolve())));
      await keep(next);
      all.push(...events);
    } catch (err) {
      logger.error('quality not judged', { model: q.model, error: messageOf(err) });
    }
  }
  return all;
}

/** The models a registry holds whose live version has quality alarms. */
export function judgedModels(registry: ModelRegistry): QualityModel[] {
  const out: QualityModel[] = [];
  for (const m of registry.list()) {
    const q = qualityModelOf(registry.resolve(m.name).manifest);
    if (q && Object.keys(q.spec.alarms).length > 0) out.push(q);
  }
  return out;
}

/** Starts the local clock; returns a stop function. */
export async function startQualityWatch(config: Config, registry: ModelRegistry): Promise<() => void> {
  if (config.QUALITY_EVALUATE_SECONDS <= 0) return () => {};
  const { getQuality } = await import('./quality.ts');
  const { sinksFor } = await import('./monitoring.ts');
  const quality = getQuality(config);
  if (!quality.configured) return () => {};
  const sinks = await sinksFor(config);
  const last = new Map<string, QualityReport>();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void judgeQuality(
      judgedModels(registry),
      (q) => quality.report(q),
      async (model) => last.get(model),
      async (r) => {
        last.set(r.model, r);
      },
      sinks,
    ).finally(() => {
      running = false;
    });
  }, config.QUALITY_EVALUATE_SECONDS * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
