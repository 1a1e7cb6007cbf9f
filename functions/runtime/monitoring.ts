import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { messageOf } from '#core/errors.ts';
import type { ModelVersion } from '#core/model/registry.ts';
import { Monitor } from '#core/monitoring/monitor.ts';
import type { DriftEvent } from '#core/monitoring/types.ts';
import type { Prediction } from '#core/protocol/schemas.ts';
import type { QualityEvent } from '#core/quality/report-schema.ts';
import { type Config, platformEnv } from './config.ts';
import { logger } from './observability.ts';

/** Where monitoring events go: drift from the Monitor, quality from the join. */
export type Sink = (events: readonly (DriftEvent | QualityEvent)[]) => Promise<void>;

/**
 * The monitoring of one process: the streaming Monitor, drift events sent once to a log line
 * and, when configured, an EventBridge bus (AWS) or a webhook (local), and the per-feature
 * figures published as EMF metrics every MONITOR_EMIT_SECONDS.
 */
export class Monitoring {
  readonly monitor: Monitor;
  readonly #config: Config;
  readonly #sinks: Promise<Sink[]>;
  #lastEvaluated = 0;
  #lastEmitted: number;
  #shadowsInFlight = 0;
  #trailing: NodeJS.Timeout | undefined;
  /** Drift deliveries, shadows and captures not finished yet (see flush). */
  readonly #pending = new Set<Promise<unknown>>();
  /** Drift figures go out one feature per EMF line; publishing clears the dimensions for the next. */
  readonly #figures = new Metrics({
    namespace: platformEnv().POWERTOOLS_METRICS_NAMESPACE,
    serviceName: platformEnv().POWERTOOLS_SERVICE_NAME,
  });

  constructor(config: Config, now: () => number = Date.now) {
    this.#config = config;
    this.monitor = new Monitor(
      {
        windowMinutes: config.MONITOR_WINDOW_MINUTES,
        bucketSeconds: config.MONITOR_BUCKET_SECONDS,
        psiThreshold: config.DRIFT_PSI_THRESHOLD,
        minSamples: config.DRIFT_MIN_SAMPLES,
        lowConfidence: config.LOW_CONFIDENCE,
      },
      now,
    );
    this.#lastEmitted = now();
    this.#sinks = sinksFor(config);
  }

  /**
   * After each request: judge drift at most once a second, and once more a second after the
   * last request, so the final requests of a burst are judged too; publish figures at their
   * interval.
   */
  tick(now = Date.now()): void {
    if (now - this.#lastEvaluated >= 1000) {
      this.#lastEvaluated = now;
      this.evaluate();
    } else if (!this.#trailing) {
      this.#trailing = setTimeout(
        () => {
          this.#trailing = undefined;
          this.#lastEvaluated = Date.now();
          this.evaluate();
        },
        1000 - (now - this.#lastEvaluated),
      );
      this.#trailing.unref();
    }
    if (
      this.#config.MONITOR_EMIT_SECONDS > 0 &&
      now - this.#lastEmitted >= this.#config.MONITOR_EMIT_SECONDS * 1000
    ) {
      this.#lastEmitted = now;
      this.publishMetrics();
    }
  }

  /** Judges drift now; new events go to every sink, and a sink's failure is logged, not thrown. */
  evaluate(): DriftEvent[] {
    const events = this.monitor.evaluate();
    if (events.length > 0) {
      for (const e of events) logger.warn('drift detected', { drift: e });
      let failed = false;
      this.track(
        this.#sinks.then(async (sinks) => {
          await Promise.all(
            sinks.map((send) =>
              send(events).catch((err: unknown) => {
                failed = true;
                logger.error('drift event not delivered', { error: err, events: events.length });
              }),
            ),
          );
          // Raised again by the next evaluation that still sees the drift.
          if (failed) this.monitor.retract(events);
        }),
      );
    }
    return events;
  }

  /**
   * Holds work the invocation must finish: Lambda freezes the instance when the handler returns,
   * and work left running may never complete (AWS rule lambda-freeze). The handler awaits flush().
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.#pending.add(work);
    const done = () => this.#pending.delete(work);
    work.then(done, done);
    return work;
  }

  /** How much tracked work has not finished. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Waits until every tracked piece of work has finished, or `budgetMs` has passed. Returns how
   * many were left (logged, by count only); the work itself goes on if the process lives.
   */
  async flush(budgetMs: number): Promise<number> {
    if (this.#pending.size === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, budgetMs);
    });
    // Work tracked while waiting (a delivery started by a shadow's result) is waited for too.
    while (this.#pending.size > 0) {
      const settled = await Promise.race([
        Promise.allSettled([...this.#pending]).then(() => true),
        expired.then(() => false),
      ]);
      if (!settled) break;
    }
    clearTimeout(timer);
    const left = this.#pending.size;
    if (left > 0) logger.warn('monitoring work left unfinished at the budget', { left, budgetMs });
    return left;
  }

  /** DriftPSI, OutOfRange and Missing per model, version and feature, as EMF. */
  publishMetrics(): void {
    if (platformEnv().POWERTOOLS_METRICS_DISABLED) return;
    const m = this.#figures;
    for (const f of this.monitor.featureFigures()) {
      m.addDimensions({ model: f.model, version: f.version, feature: f.feature });
      m.addMetric('DriftPSI', MetricUnit.NoUnit, f.psi);
      m.addMetric('OutOfRange', MetricUnit.Percent, f.outOfRange * 100);
      m.addMetric('Missing', MetricUnit.Percent, f.missing * 100);
      m.publishStoredMetrics();
    }
  }

  /**
   * Scores a shadow version on the same input once the answer is ready, and records how it
   * compares. The invocation waits for it before returning (flush, MONITOR_FLUSH_MS); at most
   * SHADOW_MAX_IN_FLIGHT at once, beyond which shadows are skipped (and counted), so a slow shadow
   * cannot build up memory or latency.
   */
  shadow(
    primary: ModelVersion,
    shadow: ModelVersion,
    primaryPredictions: readonly Prediction[],
    primaryLatencyMs: number,
    score: () => Promise<readonly Prediction[]>,
  ): Promise<void> {
    if (this.#shadowsInFlight >= this.#config.SHADOW_MAX_IN_FLIGHT) {
      this.monitor.observeShadow(primary, shadow, {
        primary: primaryPredictions,
        primaryLatencyMs,
        skipped: true,
      });
      return Promise.resolve();
    }
    this.#shadowsInFlight++;
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        const started = performance.now();
        score()
          .then(
            (predictions) =>
              this.monitor.observeShadow(primary, shadow, {
                primary: primaryPredictions,
                shadow: predictions,
                primaryLatencyMs,
                shadowLatencyMs: performance.now() - started,
              }),
            (err: unknown) => {
              logger.warn('shadow scoring failed', {
                model: shadow.name,
                version: shadow.version,
                error: messageOf(err),
              });
              this.monitor.observeShadow(primary, shadow, {
                primary: primaryPredictions,
                primaryLatencyMs,
                failed: true,
              });
            },
          )
          .finally(() => {
            this.#shadowsInFlight--;
            resolve();
          });
      });
    });
  }
}

/** The sinks the configuration names: an EventBridge bus (AWS) and a webhook (anywhere). */
export async function sinksFor(config: Config): Promise<Sink[]> {
  const sinks: Sink[] = [];
  if (config.DRIFT_EVENT_BUS) {
    const { eventBridgeDriftSink } = await import('#adapters/eventbridge.ts');
    sinks.push(eventBridgeDriftSink(config.DRIFT_EVENT_BUS));
  }
  if (config.DRIFT_WEBHOOK_URL) {
    const url = config.DRIFT_WEBHOOK_URL;
    sinks.push(async (events) => {
      for (const e of events) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(e),
          signal: AbortSignal.timeout(5000),
        });
        if (!res.ok) throw new Error(`webhook ${url} answered ${res.status}`);
      }
    });
  }
  return sinks;
}

let shared: Monitoring | undefined;

/** The process's Monitoring, shared by the handlers in it (locally: all of them). */
export function getMonitoring(config: Config): Monitoring {
  shared ??= new Monitoring(config);
  return shared;
}
