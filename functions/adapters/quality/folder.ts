import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { QualityLog } from '#core/ports.ts';

/** The quality log in a folder (npm start: .infera/state/quality), as JSON Lines appended. */
export class FolderQualityLog implements QualityLog {
  readonly root: string;
  readonly #made = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  async write(folder: string, stream: string, _unique: string, lines: string): Promise<void> {
    if (lines === '') return;
    const dir = join(this.root, folder);
    if (!this.#made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.#made.add(dir);
    }
    // One write call per batch of lines, appended: concurrent writers never interleave inside a line.
    await appendFile(join(dir, `${stream}.jsonl`), lines);
  }
}
