/**
 * The quality function's EMF lines carry the names and dimensions the stack's quality alarms
 * read: per model and version, and per model for the worst version that serves traffic (a
 * shadow alone never counts), from minLabels labels on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { versionQuality } from '../../support/metrics.ts';

process.env.POWERTOOLS_SERVICE_NAME = 'infera-quality';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'infera';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

const { QUALITY_SERVICE } = await import('../../../infra/constructs/model-quality.ts');
const { publish } = await import('#runtime/quality-jobs.ts');
type Report = Parameters<typeof publish>[0];

const version = (v: string, traffic: Record<string, number>, labelled: number, accuracy: number) =>
  versionQuality({ version: v, traffic, labelled, accuracy });

/** The EMF documents publish writes to stdout. */
function emitted(report: Report): Record<string, unknown>[] {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    publish(report);
  } finally {
    process.stdout.write = write;
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("the quality function's metrics", () => {
  it('give the worst serving version per model, under the dimensions the alarms read', () => {
    const report: Report = {
      model: 'fraud-detector',
      task: 'binary-classification',
      positiveLabel: 'fraud',
      window: { from: '', to: '', hours: 24 },
      computedAt: new Date().toISOString(),
      seriesSeconds: 720,
      engine: 'athena',
      labels: { received: 0, ids: 0, replaced: 0, unmatched: 0 },
      minLabels: 200,
      versions: [
        version('1', { live: 900, canary: 100 }, 400, 0.95),
        version('2', { canary: 100 }, 250, 0.82),
        // A shadow alone, however bad, is not what serves traffic.
        version('3', { shadow: 1000 }, 400, 0.4),
        // Too few labels to be judged.
        version('4', { pinned: 10 }, 10, 0.1),
      ],
    };
    const docs = emitted(report);
    const dims = (d: Record<string, unknown>) =>
      (
        (d._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions[0] ??
        []
      )
        .slice()
        .sort();
    const perModel = docs.filter((d) => dims(d).join() === ['model', 'service'].join());
    assert.equal(perModel.length, 1);
    assert.equal(perModel[0]?.service, QUALITY_SERVICE);
    assert.equal(perModel[0]?.model, 'fraud-detector');
    assert.equal(perModel[0]?.QualityAccuracy, 0.82, 'the worse of the two serving versions');
    assert.equal(perModel[0]?.QualityLabelled, 250);
    const perVersion = docs.filter((d) => dims(d).join() === ['model', 'service', 'version'].join());
    assert.deepEqual(
      perVersion.map((d) => [d.version, d.QualityAccuracy, d.QualityLabelled]),
      [
        ['1', 0.95, 400],
        ['2', 0.82, 250],
        ['3', 0.4, 400],
        ['4', 0.1, 10],
      ],
    );
  });
});
