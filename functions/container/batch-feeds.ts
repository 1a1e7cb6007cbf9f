/**
 * Feeds joined along the batch dimension and outputs cut back into each caller's rows: the
 * tensor arithmetic of micro-batching, with the checks that decide which calls may share a run.
 */
import type { HostTensor, TensorData } from '#core/ports.ts';

/** The shared batch size of all feeds, or undefined when they disagree (then it is not batchable). */
export function batchRows(feeds: Readonly<Record<string, HostTensor>>): number | undefined {
  let n: number | undefined;
  for (const t of Object.values(feeds)) {
    const d = t.dims[0];
    if (d === undefined || (n !== undefined && d !== n)) return undefined;
    n = d;
  }
  return n;
}

export function compatKey(
  feeds: Readonly<Record<string, HostTensor>>,
  outputNames: readonly string[] | undefined,
): string {
  const parts = Object.keys(feeds)
    .sort()
    .map((k) => {
      const t = feeds[k] as HostTensor;
      return `${k}:${t.type}:${t.dims.slice(1).join('x')}`;
    });
  return `${parts.join('|')}>${(outputNames ?? []).join(',')}`;
}

type TypedCtor = new (n: number) => TensorData;

export function concatFeeds(
  all: readonly Readonly<Record<string, HostTensor>>[],
): Record<string, HostTensor> {
  const first = all[0] as Readonly<Record<string, HostTensor>>;
  const out: Record<string, HostTensor> = {};
  for (const name of Object.keys(first)) {
    const parts = all.map((f) => f[name] as HostTensor);
    const head = parts[0] as HostTensor;
    let data: TensorData;
    if (Array.isArray(head.data)) {
      data = parts.flatMap((t) => t.data as string[]);
    } else {
      const length = parts.reduce((a, t) => a + t.data.length, 0);
      data = new (head.data.constructor as TypedCtor)(length);
      let at = 0;
      for (const t of parts) {
        (data as Float32Array).set(t.data as Float32Array, at);
        at += t.data.length;
      }
    }
    const rows = parts.reduce((a, t) => a + (t.dims[0] as number), 0);
    out[name] = { type: head.type, data, dims: [rows, ...head.dims.slice(1)] };
  }
  return out;
}

export function sliceOutputs(
  out: Record<string, HostTensor>,
  offset: number,
  rows: number,
): Record<string, HostTensor> {
  const mine: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(out)) {
    const total = t.dims[0] as number;
    const per = total === 0 ? 0 : t.data.length / total;
    mine[name] = {
      type: t.type,
      data: t.data.slice(offset * per, (offset + rows) * per) as TensorData,
      dims: [rows, ...t.dims.slice(1)],
    };
  }
  return mine;
}
