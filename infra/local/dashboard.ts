import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Page } from './gateway.ts';

/**
 * The local dashboard: a static page and script served by `npm start` at /dashboard, drawing
 * from GET /v1/models/{model}/monitoring with Chart.js, which is read from node_modules and
 * served from here, so the page works offline.
 */
const here = new URL('./dashboard/', import.meta.url);
// The UMD build is not in the package's exports map; it sits next to the CommonJS entry point.
const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

const file = (path: string | URL, type: string) => async (): Promise<Page> => ({
  type,
  body: await readFile(path),
});

export function dashboardPages(): Record<string, () => Promise<Page>> {
  const html = file(new URL('index.html', here), 'text/html; charset=utf-8');
  return {
    '/dashboard': html,
    '/dashboard/': html,
    '/dashboard/app.js': file(new URL('app.js', here), 'text/javascript; charset=utf-8'),
    '/dashboard/chart.js': file(chartJs, 'text/javascript; charset=utf-8'),
  };
}
