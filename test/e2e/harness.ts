import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Core, type CoreOptions } from '../../src/core';
import { createNodePlatform } from '../../src/platform';
import { startBrowserCarrier, type BrowserCarrier } from '../../src/server';
import { rendererBuildDir } from '../../src/util/package-root';

export const CHROMIUM = process.env.PATCHDECK_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Real Chromium against the real browser carrier and a real workspace file. When Chromium is
 * missing the suite fails with a clear reason (CI installs it); it never skips silently.
 */
export interface E2eApp {
  core: Core;
  carrier: BrowserCarrier;
  browser: Browser;
  page: Page;
  dir: string;
  close(): Promise<void>;
}

export function rendererStaticDir(): string {
  return process.env.PATCHDECK_RENDERER_DIR ?? rendererBuildDir();
}

export function assertPrerequisites(): void {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run \`apt-get install -y chromium\` (see .ci/run).`);
  }
  if (!fs.existsSync(path.join(rendererStaticDir(), 'index.html'))) {
    throw new Error('The renderer is not built: run `npm run build:renderer` (npm test does it first).');
  }
}

/** `core`: more core options (e.g. a recent workspaces list and a gateway reader of the test's own). */
export async function launchApp(
  options: { core?: Omit<CoreOptions, 'platform' | 'carrier'> } = {},
): Promise<E2eApp> {
  assertPrerequisites();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-e2e-'));
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'browser',
    ...options.core,
  });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  // PATCHDECK_RENDERER_DIR: a private build, so a run does not read one another engineer is rebuilding.
  const carrier = await startBrowserCarrier({ core, staticDir: rendererStaticDir() });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // A style, script or connection the page's CSP refused is a bug, even if nothing else shows it.
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
      errors.push(message.text());
  });
  // The token rides in the fragment (never sent to the server) and the page keeps it in
  // sessionStorage; no cookie exists.
  await page.goto(carrier.launchUrl);
  return {
    core,
    carrier,
    browser,
    page,
    dir,
    async close() {
      await browser.close();
      await carrier.close();
      await core.closeWorkspace();
      fs.rmSync(dir, { recursive: true, force: true });
      if (errors.length) throw new Error(`The page threw: ${errors.join('; ')}`);
    },
  };
}
