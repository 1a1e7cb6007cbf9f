import type { ObjectStore, QualityLog } from '#core/ports.ts';

/** The quality log in S3: one object per write, under the partitioned layout Athena reads. */
export class S3QualityLog implements QualityLog {
  readonly #store: ObjectStore;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(store: ObjectStore, bucket: string, prefix: string) {
    this.#store = store;
    this.#bucket = bucket;
    this.#prefix = prefix.replace(/\/+$/, '');
  }

  async write(folder: string, _stream: string, unique: string, lines: string): Promise<void> {
    if (lines === '') return;
    const key = [this.#prefix, folder, `${unique}.jsonl`].filter(Boolean).join('/');
    await this.#store.write(this.#bucket, key, lines, { contentType: 'application/x-ndjson' });
  }
}
