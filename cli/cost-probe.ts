#!/usr/bin/env node
/**
 * The measuring half of `infera cost`, run as its own process by cli/cost.ts (never by hand): the
 * real predict handler, in-process, on each version's golden fixtures, with every version routed
 * in-process and onnxruntime on one thread (one vCPU); then the batch score step's chunk scoring
 * and the split step's chunk planning on the same rows. Sends one message per version over IPC;
 * its stdout (the handler's logs and EMF lines) is not read.
 */
import type { Timing } from '#core/cost/types.ts';

export interface ProbeRequest {
  readonly versions: readonly { readonly model: string; readonly version: string }[];
  readonly calls: number;
  readonly batch: number;
}

export interface ProbeResult {
  readonly model: string;
  readonly version: string;
  readonly single?: Timing;
  readonly batched?: Timing;
  /** ms per row for the score step on a chunk of the golden rows, and for the split step. */
  readonly batchRowMs?: number;
  readonly splitRowMs?: number;
  /** Why a figure is missing: the handler's error, or why batch does not apply. */
  readonly problems: readonly string[];
}

const quantile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;

async function main(): Promise<void> {
  const req = await new Promise<ProbeRequest>((resolve) =>
    process.once('message', (m) => resolve(m as never)),
  );
  const { handler } = (await import('#api/predict.ts')) as unknown as {
    handler: (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }>;
  };
  const { loadConfig } = await import('#runtime/config.ts');
  const { getPlatform } = await import('#runtime/platform.ts');
  const { predictEvent } = await import('#runtime/golden-events.ts');
  const { goldenSchema } = await import('#core/model/golden.ts');
  const { scoreChunk } = await import('#core/batch/chunk.ts');
  const { createRowDecoder } = await import('#core/batch/rows.ts');
  const { createTabularEncoder } = await import('#core/batch/tabular-fast.ts');
  const { planChunks } = await import('#core/batch/plan.ts');
  const { bytesOf, readLineBatches } = await import('#core/batch/lines.ts');
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { registry, scorer } = await getPlatform(loadConfig());
  const context = {
    functionName: 'infera-cost',
    awsRequestId: 'cost',
    getRemainingTimeInMillis: () => 30_000,
  };

  for (const v of req.versions) {
    const problems: string[] = [];
    const mv = registry.resolve(v.model, v.version);
    const file = join(mv.dir, 'fixtures', 'golden.json');
    let golden: ReturnType<typeof goldenSchema.parse>;
    try {
      golden = goldenSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (err) {
      // Nothing to time the handler on: say what is missing and how to add it, and go on.
      const why =
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'is not a valid fixtures file';
      problems.push(
        `${v.model} v${v.version}: fixtures/golden.json ${why}; infera cost times the handler on those inputs. Record one with npx infera init <model.onnx> --sample <data> (a new version), or write it by hand (docs/models.md), then run infera cost again.`,
      );
      await new Promise<void>((resolve) =>
        process.send?.({ model: v.model, version: v.version, problems } satisfies ProbeResult, () =>
          resolve(),
        ),
      );
      continue;
    }
    const instances = golden.instances as Record<string, unknown>[];

    const time = async (rows: number): Promise<Timing | undefined> => {
      const batch = Array.from({ length: rows }, (_, i) => instances[i % instances.length]);
      const event = predictEvent(
        { model: v.model, version: mv.version, golden: { ...golden, instances: batch } },
        'cost',
      );
      const first = await handler({ ...event }, context);
      if (first.statusCode !== 200) {
        problems.push(`batch ${rows}: the handler answered ${first.statusCode}: ${first.body.slice(0, 300)}`);
        return undefined;
      }
      for (let i = 0; i < Math.min(20, req.calls); i++) await handler({ ...event }, context);
      const times = new Float64Array(req.calls);
      for (let i = 0; i < req.calls; i++) {
        const t = performance.now();
        await handler({ ...event }, context);
        times[i] = performance.now() - t;
      }
      times.sort();
      return {
        rows,
        p50Ms: quantile(times, 0.5),
        p99Ms: quantile(times, 0.99),
        requestBytes: Buffer.byteLength(event.body ?? ''),
        responseBytes: Buffer.byteLength(first.body),
      };
    };
    const single = await time(1);
    const batched = req.batch > 1 ? await time(req.batch) : single;

    // The batch worker on a chunk of the golden rows, as JSON Lines: 2,000 rows, or 200 for a
    // model that takes more than a millisecond a row, so the run stays short.
    let batchRowMs: number | undefined;
    let splitRowMs: number | undefined;
    const rows = (single?.p50Ms ?? 0) > 1 ? 200 : 2000;
    const text = `${Array.from({ length: rows }, (_, i) => JSON.stringify(instances[i % instances.length])).join('\n')}\n`;
    try {
      const decoder = createRowDecoder(mv.manifest, 'jsonl', {});
      const matrix = scorer.matrixScorer(mv);
      const encoder = matrix ? createTabularEncoder(mv.manifest, 'jsonl') : undefined;
      const chunk = () =>
        scoreChunk({
          lines: readLineBatches(bytesOf(text)),
          firstRow: 1,
          rows,
          headerLines: 0,
          format: 'jsonl',
          decoder,
          manifest: mv.manifest,
          hasId: false,
          predict: (xs) => scorer.predict(mv, xs, { allowFallback: false }),
          ...(matrix && encoder ? { encoded: { encoder, predict: matrix } } : {}),
        });
      const warm = await chunk();
      if (warm.scored !== rows)
        throw new Error(`${warm.rejected} of ${rows} golden rows were rejected as batch rows`);
      const t = performance.now();
      for (let i = 0; i < 3; i++) await chunk();
      batchRowMs = (performance.now() - t) / 3 / rows;
      const s = performance.now();
      for (let i = 0; i < 3; i++)
        await planChunks(bytesOf(text), mv.manifest, {
          format: 'jsonl',
          chunkRows: 5000,
          chunkBytes: 1 << 30,
        });
      splitRowMs = (performance.now() - s) / 3 / rows;
    } catch (err) {
      problems.push(`batch: ${(err as Error).message}`);
    }
    const result: ProbeResult = {
      model: v.model,
      version: mv.version,
      ...(single ? { single } : {}),
      ...(batched ? { batched } : {}),
      ...(batchRowMs !== undefined ? { batchRowMs } : {}),
      ...(splitRowMs !== undefined ? { splitRowMs } : {}),
      problems,
    };
    await new Promise<void>((resolve) => process.send?.(result, () => resolve()));
  }
  process.disconnect?.();
}

if (process.send) await main();
