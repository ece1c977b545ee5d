import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core';
import { insertHost } from '../../src/db';
import { createNodePlatform } from '../../src/platform';
import { startBrowserCarrier, type BrowserCarrier } from '../../src/server';
import { assertPrerequisites, CHROMIUM, rendererStaticDir } from './harness';

/**
 * Browser mode in one real browser context: a restart of `patchdeck serve` on the same port and
 * two instances side by side must both just work, and what refuses a browser navigation is a
 * page a person can read, never a JSON envelope.
 */
interface Instance {
  core: Core;
  carrier: BrowserCarrier;
  workspace: string;
}

const staticDir = rendererStaticDir();
const dirs: string[] = [];
const running = new Set<Instance>();

async function startInstance(name: string, port?: number, workspace?: string): Promise<Instance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-e2e-token-'));
  dirs.push(dir);
  const file = workspace ?? path.join(dir, `${name}.sqlite`);
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'browser',
  });
  await core.openWorkspace(file, { create: 'if-missing' });
  const carrier = await startBrowserCarrier({ core, staticDir, port });
  const instance = { core, carrier, workspace: file };
  running.add(instance);
  return instance;
}

async function stopInstance(instance: Instance): Promise<void> {
  running.delete(instance);
  await instance.carrier.close();
  await instance.core.closeWorkspace();
}

let browser: Browser;
let context: BrowserContext;
const pageErrors: string[] = [];

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

const workspaceLabel = (page: Page) => page.locator('.workspace-name');

async function hostNames(page: Page): Promise<string[]> {
  await page.getByRole('link', { name: 'Hosts' }).click();
  const table = page.getByRole('table', { name: 'Hosts' });
  await table.locator('tbody tr').first().waitFor({ timeout: 15_000 });
  return table.locator('tbody tr').allInnerTexts();
}

beforeAll(async () => {
  assertPrerequisites();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
  context = await browser.newContext();
});

afterAll(async () => {
  await browser?.close();
  for (const instance of [...running]) await stopInstance(instance);
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  if (pageErrors.length) throw new Error(`The page threw: ${pageErrors.join('; ')}`);
});

describe('browser mode: restarts and parallel instances in one browser', () => {
  it('runs two instances on different ports side by side, each with its own workspace', async () => {
    const alpha = await startInstance('alpha');
    const beta = await startInstance('beta');
    insertHost(alpha.core.requireWorkspace().db, { name: 'alpha-host', address: '198.18.0.21' });
    insertHost(beta.core.requireWorkspace().db, { name: 'beta-host', address: '198.18.0.22' });
    const pageA = await newPage();
    const pageB = await newPage();
    await pageA.goto(alpha.carrier.launchUrl);
    await pageB.goto(beta.carrier.launchUrl);
    await expect.poll(() => workspaceLabel(pageA).innerText()).toBe('alpha.sqlite');
    await expect.poll(() => workspaceLabel(pageB).innerText()).toBe('beta.sqlite');
    // Each page keeps talking to its own instance, after the other opened and after a reload.
    await pageA.reload();
    expect((await hostNames(pageA)).join()).toContain('alpha-host');
    expect((await hostNames(pageB)).join()).toContain('beta-host');
    expect((await hostNames(pageA)).join()).not.toContain('beta-host');
    await pageA.close();
    await pageB.close();
    await stopInstance(alpha);
    await stopInstance(beta);
  });

  it('after a restart on the same port, the new address works in the same tab', async () => {
    const first = await startInstance('office');
    const port = first.carrier.port;
    insertHost(first.core.requireWorkspace().db, { name: 'office-host', address: '198.18.0.31' });
    const page = await newPage();
    await page.goto(first.carrier.launchUrl);
    await expect.poll(() => workspaceLabel(page).innerText()).toBe('office.sqlite');

    await stopInstance(first);
    const second = await startInstance('office', port, first.workspace);
    expect(second.carrier.token).not.toBe(first.carrier.token);

    // The open page learns that its token belongs to the earlier launch, and says so in words.
    await page
      .getByRole('alert')
      .filter({ hasText: /restarted/i })
      .first()
      .waitFor({ timeout: 15_000 });
    for (const text of await page.getByRole('alert').allInnerTexts()) expect(text).not.toContain('{');

    // Opening the new address in the same tab changes only the fragment (no page load): the
    // page must take the new token and work, with no token left in the address bar.
    await page.goto(second.carrier.launchUrl);
    await expect.poll(() => page.url(), { timeout: 15_000 }).not.toContain('token=');
    await expect.poll(() => workspaceLabel(page).innerText()).toBe('office.sqlite');
    expect((await hostNames(page)).join()).toContain('office-host');
    expect(await page.getByRole('alert').count()).toBe(0);

    // A reload keeps working with the new token.
    await page.reload();
    expect((await hostNames(page)).join()).toContain('office-host');
    await page.close();
    await stopInstance(second);
  });

  it('a tab reloaded after a restart explains itself instead of failing silently', async () => {
    const first = await startInstance('reload');
    const port = first.carrier.port;
    const page = await newPage();
    await page.goto(first.carrier.launchUrl);
    await expect.poll(() => workspaceLabel(page).innerText()).toBe('reload.sqlite');
    await stopInstance(first);
    const second = await startInstance('reload', port, first.workspace);
    await page.reload();
    const alert = page
      .getByRole('alert')
      .filter({ hasText: /restarted|earlier launch/i })
      .first();
    await alert.waitFor({ timeout: 15_000 });
    expect(await alert.innerText()).toMatch(/open the (new )?address/i);
    await page.close();
    await stopInstance(second);
  });

  it('refuses a browser navigation with a readable page, never raw JSON', async () => {
    const instance = await startInstance('refusal');
    const page = await newPage();
    for (const target of [
      `${instance.carrier.url}?token=from-an-earlier-launch`,
      `${instance.carrier.url}api/call`,
      `${instance.carrier.url}api/nothing-here`,
      `${instance.carrier.url}api/launch`,
    ]) {
      const response = await page.goto(target);
      expect(response, target).not.toBeNull();
      expect(response!.status(), target).toBeGreaterThanOrEqual(400);
      expect(response!.headers()['content-type'], target).toMatch(/^text\/html/);
      const text = await page.locator('body').innerText();
      expect(text, target).not.toMatch(/"ok"\s*:\s*false|^\s*\{/);
      expect(text, target).toMatch(/Patchdeck/);
    }
    // A program's request (no navigation) still gets the JSON envelope it can parse.
    const status = await new Promise<{ status: number; type: string }>((resolve, reject) => {
      http
        .request(`${instance.carrier.url}api/call`, { method: 'POST' }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']) });
        })
        .on('error', reject)
        .end();
    });
    expect(status.status).toBe(401);
    expect(status.type).toMatch(/^application\/json/);
    await page.close();
    await stopInstance(instance);
  });
});
