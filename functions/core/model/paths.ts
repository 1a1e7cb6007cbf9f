import { relative } from 'node:path';

/** A path relative to the working directory, for messages that name a file. */
export function relPath(p: string): string {
  return relative(process.cwd(), p) || p;
}
