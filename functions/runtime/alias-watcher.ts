import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import type { ModelRegistry } from '#core/model/registry.ts';

export type AliasReport = (name: string, result: { changed: boolean; problems: string[] }) => void;

/**
 * Watches every model's aliases.json and reloads it on change, so `infera release` and
 * `infera rollback` take effect in a running `npm start` at once. Requests already routed keep
 * their version; the swap is one assignment, so none is dropped or sees half a policy.
 * A deployed version is immutable: only npm start sets WATCH_ALIASES. Returns a function that
 * stops watching.
 */
export function watchAliases(registry: ModelRegistry, report: AliasReport): () => void {
  const watchers: FSWatcher[] = [];
  for (const entry of registry.list()) {
    let timer: NodeJS.Timeout | undefined;
    const w = watch(join(registry.root, entry.name), { persistent: false }, (_event, file) => {
      if (file !== null && file !== 'aliases.json') return;
      clearTimeout(timer);
      // Editors and atomic renames fire several events; one read after they settle.
      timer = setTimeout(() => {
        registry.reloadAliases(entry.name).then(
          (r) => report(entry.name, r),
          (err: unknown) => report(entry.name, { changed: false, problems: [String(err)] }),
        );
      }, 25);
    });
    w.on('error', () => w.close());
    watchers.push(w);
  }
  return () => {
    for (const w of watchers) w.close();
  };
}
