import assert from 'node:assert/strict';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelRegistry } from '#core/model/registry.ts';
import { type AliasReport, watchAliases } from '#runtime/alias-watcher.ts';
import { copyModels } from '../../helpers.ts';

type Report = Parameters<AliasReport>[1] & { model: string };

describe('the aliases.json watcher', () => {
  let root: string;
  let registry: ModelRegistry;
  let stop: () => void;
  const reports: Report[] = [];
  let waiting: ((r: Report) => void) | undefined;
  const next = () =>
    new Promise<Report>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no aliases.json report within 5 s')), 5000);
      waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  const live = () => registry.get('fraud-detector').policy.live.map((w) => `${w.version}:${w.weight}`);

  before(async () => {
    root = await copyModels();
    registry = await ModelRegistry.load(root, { only: ['fraud-detector', 'iris'] });
    stop = watchAliases(registry, (model, r) => {
      const report = { model, ...r };
      reports.push(report);
      waiting?.(report);
      waiting = undefined;
    });
  });
  after(async () => {
    stop?.();
    await rm(root, { recursive: true, force: true });
  });

  it('applies a canary split written to aliases.json, and reports which model changed', async () => {
    assert.deepEqual(live(), ['1:1']);
    const seen = next();
    await writeFile(join(root, 'fraud-detector', 'aliases.json'), '{"live": {"1": 0.8, "2": 0.2}}\n');
    assert.deepEqual(await seen, { model: 'fraud-detector', changed: true, problems: [] });
    assert.deepEqual(live(), ['1:0.8', '2:0.2']);
  });

  it('keeps the live policy when an edit is invalid, and reports the problem', async () => {
    const seen = next();
    await writeFile(join(root, 'fraud-detector', 'aliases.json'), '{"live": "7"}\n');
    const r = await seen;
    assert.equal(r.changed, false);
    assert.match(r.problems.join('\n'), /7/);
    assert.deepEqual(live(), ['1:0.8', '2:0.2']);
  });

  it('follows an atomic rename over aliases.json, as editors save, and ignores other files', async () => {
    const before = reports.length;
    const seen = next();
    await writeFile(join(root, 'fraud-detector', 'notes.txt'), 'not a policy\n');
    const tmp = join(root, 'fraud-detector', '.aliases.json.tmp');
    await writeFile(tmp, '{"live": "2"}\n');
    await rename(tmp, join(root, 'fraud-detector', 'aliases.json'));
    const r = await seen;
    assert.deepEqual(r, { model: 'fraud-detector', changed: true, problems: [] });
    assert.deepEqual(live(), ['2:1']);
    assert.equal(reports.length, before + 1, 'one report for the edit, none for notes.txt');
    assert.deepEqual(
      registry.get('iris').policy.live.map((w) => w.version),
      ['1'],
      'another model is untouched',
    );
  });
});
