import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchApp, type E2eApp } from './harness';

/**
 * The theme applies (and is saved) the moment it is chosen; other changed settings survive leaving
 * the page, marked in the sidebar, instead of being dropped silently.
 */
let app: E2eApp;
beforeAll(async () => {
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
});
afterAll(async () => {
  await app?.close();
});

const theme = (app: E2eApp) => app.page.evaluate(() => document.documentElement.dataset.theme);

describe('Settings: theme and unsaved changes', () => {
  it('applies and saves a chosen theme at once, without the Save button', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Theme').selectOption('dark');
    await expect.poll(() => theme(app)).toBe('dark');
    await page.getByRole('status').filter({ hasText: 'Theme saved: Dark.' }).waitFor();
    expect((await core.call('settings.get', {})).theme).toBe('dark');
    // Nothing else was changed, so there is nothing left to save and no "unsaved" mark.
    expect(await page.getByRole('button', { name: 'Save settings' }).isDisabled()).toBe(true);
    await page.getByRole('link', { name: 'Hosts' }).click();
    expect(await theme(app)).toBe('dark');
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('group', { name: 'Getting started' }).locator('li[data-state="next"]').waitFor();
    await page.screenshot({ path: path.resolve('test-results/first-run-dark.png') });
    await page.getByRole('link', { name: 'Settings' }).click();
    expect(await page.getByLabel('Theme').inputValue()).toBe('dark');
    await page.getByLabel('Theme').selectOption('light');
    await expect.poll(() => theme(app)).toBe('light');
    await expect.poll(async () => (await core.call('settings.get', {})).theme).toBe('light');
  });

  it('keeps changed settings when the page is left, marks them, and saves or discards them on return', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Your name (recorded in the audit log)').fill('Robin');
    await page.getByRole('status', { name: 'Unsaved settings' }).waitFor();
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const settingsLink = page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: /Settings/ });
    expect(await settingsLink.textContent()).toContain('unsaved');
    await page.screenshot({ path: path.resolve('test-results/settings-unsaved-mark.png') });
    await settingsLink.click();
    expect(await page.getByLabel('Your name (recorded in the audit log)').inputValue()).toBe('Robin');
    await page.getByRole('status', { name: 'Unsaved settings' }).waitFor();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    expect((await core.call('settings.get', {})).operatorName).toBe('Robin');
    expect(await settingsLink.textContent()).not.toContain('unsaved');

    await page.getByLabel('Hosts audited at once').fill('3');
    await page.getByRole('button', { name: 'Discard changes' }).click();
    expect(await page.getByLabel('Hosts audited at once').inputValue()).toBe(
      String((await core.call('settings.get', {})).auditConcurrency),
    );
    await expect(page.getByRole('status', { name: 'Unsaved settings' }).count()).resolves.toBe(0);
  });
});
