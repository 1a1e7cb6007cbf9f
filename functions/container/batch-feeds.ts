/**
 * Feeds joined along the batch dimension and outputs cut back into each caller's rows: the
 * tensor arithmetic of micro-batching, with the checks that decide which calls may share a run.
 */
import { nth } from '#core/checked.ts';
import type { HostTensor, TensorData } from '#core/ports.ts';
import { fromBytes, hostTensor } from '#core/tensor/host-tensor.ts';

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
      const t = feeds[k];
      return `${k}:${t?.type}:${t?.dims.slice(1).join('x')}`;
    });
  return `${parts.join('|')}>${(outputNames ?? []).join(',')}`;
}

export function concatFeeds(
  all: readonly Readonly<Record<string, HostTensor>>[],
): Record<string, HostTensor> {
  const first = nth(all, 0);
  const out: Record<string, HostTensor> = {};
  for (const name of Object.keys(first)) {
    // Every call's feeds have the same names, types and inner shapes (compatKey).
    const parts = all.map((f) => f[name]).filter((t) => t !== undefined);
    const head = nth(parts, 0);
    let data: TensorData;
    if (head.type === 'string') {
      data = parts.flatMap((t) => (Array.isArray(t.data) ? t.data : []));
    } else {
      const bytes = new Uint8Array(
        parts.reduce((a, t) => a + (ArrayBuffer.isView(t.data) ? t.data.byteLength : 0), 0),
      );
      let at = 0;
      for (const t of parts) {
        if (!ArrayBuffer.isView(t.data)) continue;
        bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
        at += t.data.byteLength;
      }
      data = fromBytes(head.type, bytes.buffer);
    }
    const rows = parts.reduce((a, t) => a + (t.dims[0] ?? 0), 0);
    out[name] = hostTensor(head.type, data, [rows, ...head.dims.slice(1)]);
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
    const total = t.dims[0] ?? 0;
    const per = total === 0 ? 0 : t.data.length / total;
    mine[name] = hostTensor(t.type, t.data.slice(offset * per, (offset + rows) * per), [
      rows,
      ...t.dims.slice(1),
    ]);
  }
  return mine;
}
