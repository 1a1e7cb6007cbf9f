/** A version folder's files, as a package lists them: every file but hidden ones and build output. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ModelPackageError } from '../../errors.ts';
import { relPath } from '../paths.ts';
import { PACKAGE_LIMITS } from '../store/package.ts';
import { CHECKED_MANIFEST } from './checked-manifest.ts';

export interface FolderFile {
  /** Relative to the version folder, with forward slashes. */
  readonly path: string;
  readonly size: number;
  read(): Promise<Uint8Array>;
}

/** The files of one version folder, in path order, checked against the package limits. */
export async function versionFiles(dir: string): Promise<FolderFile[]> {
  const out: FolderFile[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const at = join(d, e.name);
      if (e.isDirectory()) await walk(at);
      else if (e.isFile() && !(d === dir && e.name === CHECKED_MANIFEST)) {
        const size = (await stat(at)).size;
        out.push({ path: relative(dir, at).split(sep).join('/'), size, read: () => readFile(at) });
      }
      if (out.length > PACKAGE_LIMITS.files)
        throw new ModelPackageError([
          `${relPath(dir)}: holds more than ${PACKAGE_LIMITS.files} files; a package may hold ${PACKAGE_LIMITS.files}. Remove what serving does not need.`,
        ]);
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}
