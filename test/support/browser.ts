import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/**
 * A headless Chromium from the npm package @sparticuz/chromium, so the browser tests need nothing
 * but `npm ci`: no apt package, no download at test time. The package unpacks Chromium, its
 * fonts, SwiftShader and (asked for by the Lambda-style environment variable) the Amazon Linux
 * 2023 shared libraries Chromium links against, which a bare machine does not have.
 */
export async function launchBrowser(): Promise<Browser> {
  const saved = { exec: process.env.AWS_EXECUTION_ENV, ld: process.env.LD_LIBRARY_PATH };
  process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs24.x';
  let executablePath: string;
  let libraries: string | undefined;
  // The package skips unpacking when /tmp/chromium exists; make sure its libraries came with it.
  if (existsSync(join(tmpdir(), 'chromium')) && !existsSync(join(tmpdir(), 'al2023', 'lib'))) {
    rmSync(join(tmpdir(), 'chromium'), { force: true });
  }
  try {
    const { default: sparticuz } = await import('@sparticuz/chromium');
    executablePath = await sparticuz.executablePath();
    libraries = process.env.LD_LIBRARY_PATH;
  } finally {
    // Only Chromium gets the bundled libraries; this process and its other children keep theirs.
    if (saved.exec === undefined) delete process.env.AWS_EXECUTION_ENV;
    else process.env.AWS_EXECUTION_ENV = saved.exec;
    if (saved.ld === undefined) delete process.env.LD_LIBRARY_PATH;
    else process.env.LD_LIBRARY_PATH = saved.ld;
  }
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--single-process',
      '--no-zygote',
      '--use-angle=swiftshader',
      '--disable-background-networking',
    ],
    env: { ...process.env, ...(libraries ? { LD_LIBRARY_PATH: libraries } : {}) },
  });
}
