import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createNodeSecretBox } from '../secrets';
import { PatchdeckError, userConfigDir } from '../util';
import { assertExternalUrl, type Platform } from './types';

/**
 * The Node implementation of Platform: used by the CLI, the browser carrier and tests.
 * There is no native dialog in plain Node; those calls say so clearly and the callers (which take
 * explicit paths on the CLI) do not need them. PDFs come from the local Chromium when one is there.
 */
export function createNodePlatform(
  options: { configDir?: string; passphrase?: string; useKeychain?: boolean } = {},
): Platform {
  const secrets = createNodeSecretBox({
    configDir: options.configDir ?? userConfigDir(),
    passphrase: options.passphrase ?? process.env.PATCHDECK_PASSPHRASE,
    useKeychain: options.useKeychain,
  });
  return {
    kind: 'node',
    secrets,
    async openExternal(url) {
      const parsed = assertExternalUrl(url);
      const opener =
        process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer.exe' : 'xdg-open';
      spawn(opener, [parsed.href], { stdio: 'ignore', detached: true })
        .on('error', () => undefined)
        .unref();
    },
    async chooseFileToOpen() {
      throw new Error('File dialogs exist only in the desktop app; pass a path instead.');
    },
    async chooseFileToSave() {
      throw new Error('File dialogs exist only in the desktop app; pass a path instead.');
    },
    printToPdf: (html) => printWithChromium(html),
  };
}

/** Where Chromium usually is: PATCHDECK_CHROMIUM first (a path that must exist), then the usual names. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const named = env.PATCHDECK_CHROMIUM;
  if (named) return fs.existsSync(named) ? named : null;
  const candidates =
    process.platform === 'darwin'
      ? [
          '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
          '/Applications/Chromium.app/Contents/MacOS/Chromium',
        ]
      : process.platform === 'win32'
        ? [
            `${env.PROGRAMFILES ?? 'C:\\Program Files'}\\Google\\Chrome\\Application\\chrome.exe`,
            `${env['PROGRAMFILES(X86)'] ?? 'C:\\Program Files (x86)'}\\Microsoft\\Edge\\Application\\msedge.exe`,
          ]
        : [
            '/usr/bin/chromium',
            '/usr/bin/chromium-browser',
            '/usr/bin/google-chrome',
            '/usr/bin/google-chrome-stable',
            '/snap/bin/chromium',
          ];
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

const NO_PDF = 'Export the report as HTML instead (--format html) and print it from a browser.';

/**
 * A self-contained HTML document as A4 PDF bytes, printed by the local Chromium through
 * playwright-core (loaded only when asked: it is not needed for anything else). The page is
 * offline: JavaScript is off and every request it would make is refused.
 */
export async function printWithChromium(html: string, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  const executablePath = findChromium(env);
  if (!executablePath)
    throw new PatchdeckError(
      'unavailable',
      `No Chromium was found to make the PDF${env.PATCHDECK_CHROMIUM ? ` (PATCHDECK_CHROMIUM=${env.PATCHDECK_CHROMIUM} does not exist)` : ''}. ${NO_PDF}`,
    );
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new PatchdeckError(
      'unavailable',
      `PDFs need the playwright-core package, which is not installed. ${NO_PDF}`,
    );
  }
  let browser: import('playwright-core').Browser;
  try {
    browser = await chromium.launch({
      executablePath,
      timeout: 60_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  } catch (error) {
    throw new PatchdeckError(
      'unavailable',
      `Chromium (${executablePath}) did not start to make the PDF: ${String((error as Error).message).split('\n')[0]}. ${NO_PDF}`,
    );
  }
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    await context.route('**/*', (route) => route.abort());
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load', timeout: 60_000 });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  } finally {
    await browser.close();
  }
}
