/**
 * Renders the text-direction model's fixtures: real text-line images, drawn by Chromium, as PNG
 * and JPEG, upright and rotated by 180 degrees. The committed files are what the golden check and
 * the tests send; run this only to remake them.
 *
 *   npm run models:ocr-fixtures [-- --chromium /usr/bin/chromium]
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { parseCommand, runMain } from '../cli/args.ts';

const COMMAND = 'npm run models:ocr-fixtures --';
const HELP = `Usage: ${COMMAND} [--chromium <path>] [--out <dir>]

Renders the text-direction model's text-line fixtures as PNG and JPEG, upright and rotated by
180 degrees, with Chromium.

Options:
  --chromium <path>  the Chromium to draw with (default /usr/bin/chromium)
  --out <dir>        where to write (default models/text-direction/1/fixtures)
  -h, --help         show this help
`;

const LINES = [
  { id: 'invoice', text: 'Total due: 1,284.50 EUR', font: 'serif', size: 30 },
  { id: 'street', text: 'Serverless inference on AWS Lambda', font: 'sans-serif', size: 34 },
];

async function main(): Promise<number> {
  const parsed = parseCommand(
    {
      name: COMMAND,
      help: HELP,
      options: {
        chromium: { type: 'string', default: '/usr/bin/chromium' },
        out: { type: 'string', default: 'models/text-direction/1/fixtures' },
      },
    },
    process.argv.slice(2),
  );
  if (!parsed) return 0;
  const { values } = parsed;
  const browser = await chromium.launch({
    executablePath: values.chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    for (const line of LINES) {
      for (const rotated of [false, true]) {
        await page.setContent(
          `<body style="margin:0;background:#fff"><div id="l" style="display:inline-block;padding:6px 10px;font:${line.size}px ${line.font};color:#111;${rotated ? 'transform:rotate(180deg)' : ''}">${line.text}</div></body>`,
        );
        const el = page.locator('#l');
        for (const type of ['png', 'jpeg'] as const) {
          const file = join(
            values.out,
            `${line.id}-${rotated ? '180' : '0'}.${type === 'png' ? 'png' : 'jpg'}`,
          );
          await writeFile(file, await el.screenshot(type === 'jpeg' ? { type, quality: 85 } : { type }));
          console.log(`wrote ${file}`);
        }
      }
    }
  } finally {
    await browser.close();
  }
  return 0;
}

await runMain(main);
