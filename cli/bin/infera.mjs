#!/usr/bin/env node
// Entry point for the `infera` bin. The CLI is TypeScript run by Node's type stripping (Node >= 24).
// When an older global `node` runs this shim, it re-executes the CLI with the project's pinned Node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../infera.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  const { runCli } = await import(entry);
  await runCli(process.argv.slice(2));
} else {
  const pinned = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(`infera needs Node >= 24 (this is ${process.version}). Run npm ci in the project first.`);
    process.exit(1);
  }
  const r = spawnSync(pinned, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
