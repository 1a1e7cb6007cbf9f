/**
 * The model store in a folder: what `npm start --store <dir>` serves and `infera publish --store`
 * writes, in the same formats as on AWS. objects/sha256/<hex> holds the package objects;
 * records/<model>.json the current record, records/<model>/<revision>.json each one written.
 * A record is replaced by writing its revision's file first (exclusive create: the condition) and
 * renaming a copy over the head, so a reader sees the old record or the new one.
 */
import { mkdir, open, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { codeOf, fieldOf, PreconditionFailedError } from '#core/errors.ts';
import type { ModelStore } from '#core/ports.ts';

export class FolderModelStore implements ModelStore {
  readonly where: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
    this.where = `the model store folder ${root}`;
  }

  #object(digest: string) {
    return join(this.#root, 'objects', 'sha256', digest);
  }

  async readRecord(model: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(join(this.#root, 'records', `${model}.json`), 'utf8'));
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  async writeRecord(record: { model: string; revision: number }, expectedRevision: number): Promise<void> {
    const revision = fieldOf(await this.readRecord(record.model), 'revision') ?? 0;
    if (revision !== expectedRevision || record.revision <= expectedRevision) {
      throw new PreconditionFailedError(
        `${record.model}'s record changed since it was read (expected revision ${expectedRevision}); read it again and retry.`,
      );
    }
    const body = `${JSON.stringify(record, null, 2)}\n`;
    const dir = join(this.#root, 'records', record.model);
    await mkdir(dir, { recursive: true });
    try {
      // Exclusive create: of two writers from the same revision, only one gets here.
      const f = await open(join(dir, `${record.revision}.json`), 'wx');
      await f.writeFile(body);
      await f.close();
    } catch (err) {
      if (codeOf(err) === 'EEXIST')
        throw new PreconditionFailedError(
          `${record.model} revision ${record.revision} was written by someone else; read it again and retry.`,
        );
      throw err;
    }
    const head = join(this.#root, 'records', `${record.model}.json`);
    await writeFile(`${head}.${process.pid}.tmp`, body);
    await rename(`${head}.${process.pid}.tmp`, head);
  }

  async history(model: string, limit: number): Promise<unknown[]> {
    const dir = join(this.#root, 'records', model);
    const names = await readdir(dir).catch((): string[] => []);
    const revisions = names
      .map((n) => /^(\d+)\.json$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .sort((a, b) => Number(b) - Number(a))
      .slice(0, limit);
    return Promise.all(
      revisions.map(async (r) => JSON.parse(await readFile(join(dir, `${r}.json`), 'utf8'))),
    );
  }

  async listModels(): Promise<string[]> {
    const names = await readdir(join(this.#root, 'records')).catch((): string[] => []);
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .sort();
  }

  async readObject(digest: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const path = this.#object(digest);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) return undefined;
    if (size > maxBytes)
      throw new PreconditionFailedError(
        `object ${digest} is ${size} bytes, more than the ${maxBytes} its package lists`,
      );
    return readFile(path);
  }

  async hasObject(digest: string): Promise<boolean> {
    return stat(this.#object(digest)).then(
      () => true,
      () => false,
    );
  }

  async putObject(digest: string, bytes: Uint8Array): Promise<void> {
    const path = this.#object(digest);
    await mkdir(join(this.#root, 'objects', 'sha256'), { recursive: true });
    await writeFile(`${path}.${process.pid}.tmp`, bytes);
    await rename(`${path}.${process.pid}.tmp`, path);
  }
}
