import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertHost } from '../../src/db';
import { launchApp, type E2eApp } from './harness';

let app: E2eApp;
beforeAll(async () => {
  app = await launchApp();
});
afterAll(async () => {
  await app?.close();
});

describe('app shell in Chromium over the browser carrier', () => {
  it('shows the navigation and the dashboard, with no token left in the address bar', async () => {
    const { page } = app;
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    for (const label of ['Dashboard', 'Discover', 'Hosts', 'Updates', 'Patch jobs', 'Reports', 'Settings']) {
      await expect(page.getByRole('link', { name: label }).isVisible()).resolves.toBe(true);
    }
    expect(page.url()).not.toContain('token=');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    fs.mkdirSync(path.resolve('test-results'), { recursive: true });
    await page.screenshot({ path: path.resolve('test-results/shell-dashboard.png') });
  });

  it('lists hosts from the workspace and updates live when one is edited', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    insertHost(db, { name: 'lab01', address: '198.18.0.11' });
    insertHost(db, { name: 'lab02', address: '198.18.0.12' });
    await page.getByRole('link', { name: 'Hosts' }).click();
    const table = page.getByRole('table', { name: 'Hosts' });
    await table.getByText('lab02').waitFor();
    expect(await table.locator('tbody tr').count()).toBe(2);
    await page.getByRole('searchbox', { name: 'Filter hosts' }).fill('198.18.0.12');
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    await page.getByRole('searchbox', { name: 'Filter hosts' }).fill('');
    await page.getByRole('button', { name: 'Remove lab01' }).click();
    await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
    expect(await core.call('hosts.list', {})).toHaveLength(1);
  });

  it('saves settings through the API, applies the dark theme and rejects bad values', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Theme').selectOption('dark');
    await page.getByRole('status').filter({ hasText: 'Theme saved: Dark.' }).waitFor();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect((await core.call('settings.get', {})).theme).toBe('dark');
    await page.screenshot({ path: path.resolve('test-results/shell-settings-dark.png') });

    // The browser's own constraint stops an out-of-range number before it is sent …
    await page.getByLabel('Hosts audited at once').fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    expect(
      await page
        .getByLabel('Hosts audited at once')
        .evaluate((el) => (el as HTMLInputElement).validity.valid),
    ).toBe(false);
    await page.getByLabel('Hosts audited at once').fill('16');
    // … and what only the contract can judge comes back as a clear error, with nothing saved.
    await page.getByLabel('Your name (recorded in the audit log)').fill('   ');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /operatorName/ })
      .waitFor();
    expect((await core.call('settings.get', {})).operatorName).toBe('admin');
  });

  it('sets the most output a remote command may print', async () => {
    const { page, core } = app;
    // Away and back: the draft the last test left is kept (never dropped silently) until discarded.
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('status', { name: 'Unsaved settings' }).waitFor();
    await page.getByRole('button', { name: 'Discard changes' }).click();
    const field = page.getByLabel(/Most output per command/);
    expect(await field.inputValue()).toBe('32');
    await field.fill('64');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    expect((await core.call('settings.get', {})).maxCommandOutputMiB).toBe(64);
  });

  it('shows running tasks with a progress bar and cancels them from the status area', async () => {
    const { page, core } = app;
    const ws = core.requireWorkspace();
    const { task, result } = ws.tasks.start({ kind: 'test', title: 'Long test task' }, async (ctx) => {
      for (let i = 0; ; i++) {
        if (ctx.signal.aborted) throw new Error('stopped');
        ctx.progress(i % 10, 10, `round ${i}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    const row = page.locator(`[data-task-id="${task.id}"]`);
    await row.waitFor();
    await expect(row.getByRole('progressbar').isVisible()).resolves.toBe(true);
    await row.getByRole('button', { name: 'Cancel' }).click();
    await expect(result).rejects.toThrow();
    await row.waitFor({ state: 'detached' });
    expect((await core.call('tasks.list', {}))[0]?.status).toBe('cancelled');
  });

  it('moves keyboard focus visibly through the navigation', async () => {
    const { page } = app;
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? getComputedStyle(el).outlineStyle : 'none';
    });
    expect(outline).not.toBe('none');
  });
});

describe('the launch token in Chromium', () => {
  /** A fresh browser context: its own cookies and sessionStorage, like another browser profile. */
  async function openFresh(url: string) {
    const context = await app.browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    return { context, page };
  }

  it('keeps the token out of cookies and the address bar, in this origin’s sessionStorage only', async () => {
    const { page, carrier } = app;
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    // Cookies for 127.0.0.1 reach every port on it: there must be none.
    expect(await page.context().cookies()).toEqual([]);
    expect(page.url()).not.toContain(carrier.token);
    expect(await page.evaluate(() => sessionStorage.getItem('patchdeck.token'))).toBe(carrier.token);
    // A reload has no token in its URL and keeps working from sessionStorage.
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).getByText('ws.sqlite').waitFor();
  });

  it('opens from a single-use launch code, and refuses the same code a second time', async () => {
    const launchUrl = app.carrier.createLaunchUrl();
    expect(launchUrl).not.toContain(app.carrier.token);
    const first = await openFresh(launchUrl);
    try {
      await first.page.getByRole('navigation', { name: 'Main' }).getByText('ws.sqlite').waitFor();
      expect(first.page.url()).not.toContain('code=');
      expect(await first.page.evaluate(() => sessionStorage.getItem('patchdeck.token'))).toBe(
        app.carrier.token,
      );
    } finally {
      await first.context.close();
    }
    const second = await openFresh(launchUrl);
    try {
      await second.page
        .getByRole('alert')
        .filter({ hasText: 'already used or has expired' })
        .first()
        .waitFor();
      expect(await second.page.evaluate(() => sessionStorage.getItem('patchdeck.token'))).toBeNull();
    } finally {
      await second.context.close();
    }
  });

  it('says what to open when the page holds no token', async () => {
    const bare = await openFresh(app.carrier.url);
    try {
      await bare.page.getByRole('alert').filter({ hasText: 'open the URL that' }).first().waitFor();
    } finally {
      await bare.context.close();
    }
  });
});

describe('the content security policy in Chromium', () => {
  it('refuses inline style markup (no unsafe-inline) while the app’s own styles apply', async () => {
    const context = await app.browser.newContext();
    try {
      const page = await context.newPage();
      const reports: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) reports.push(message.text());
      });
      await page.goto(app.carrier.launchUrl);
      await page.getByRole('navigation', { name: 'Main' }).getByText('ws.sqlite').waitFor();
      const widths = await page.evaluate(() => {
        const viaMarkup = document.createElement('div');
        viaMarkup.setAttribute('style', 'width: 123px');
        const viaCssom = document.createElement('div');
        viaCssom.style.width = '77px'; // what React does with a style prop
        document.body.append(viaMarkup, viaCssom);
        return [getComputedStyle(viaMarkup).width, getComputedStyle(viaCssom).width];
      });
      expect(widths[0]).not.toBe('123px');
      expect(widths[1]).toBe('77px');
      // The harness fails a suite on exactly this kind of report.
      await expect.poll(() => reports.length).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});
