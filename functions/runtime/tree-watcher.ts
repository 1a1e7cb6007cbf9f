/**
 * fs.watch over a folder and its subfolders to a depth, following folders added and removed.
 * Node's own recursive watch is no help here: on Linux it watches each file, and loses a file an
 * editor or `infera release` replaces by renaming another over it. A folder's watcher sees that.
 */
import { existsSync, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { join, relative } from 'node:path';

/** Calls `onEvent` with the path, relative to `root`, of each change at most `depth` folders down. */
export function watchTree(root: string, depth: number, onEvent: (rel: string) => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  const close = (dir: string) => {
    watchers.get(dir)?.close();
    watchers.delete(dir);
  };
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  const add = (dir: string, level: number) => {
    close(dir);
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (_event, file) => {
        const base = relative(root, dir);
        onEvent(file === null ? base : join(base, file));
        if (file === null || level >= depth) return;
        // A subfolder created, replaced or removed: watch the one that is there now.
        const child = join(dir, file);
        if (isDir(child)) add(child, level + 1);
        else close(child);
      });
    } catch {
      return;
    }
    w.on('error', () => close(dir));
    watchers.set(dir, w);
    if (level >= depth || !existsSync(dir)) return;
    for (const d of readdirSync(dir, { withFileTypes: true }))
      if (d.isDirectory()) add(join(dir, d.name), level + 1);
  };
  add(root, 0);
  return () => {
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
}
