import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertHost, updateHost } from '../../src/db';
import { scheduleDeps, scheduleTick } from '../../src/schedules';
import { launchApp, type E2eApp } from './harness';

/**
 * Settings → Schedules in real Chromium over the browser carrier: add a nightly audit of a tag,
 * run it now and see its failure as a failure, then see runs missed while Patchdeck was closed
 * reported when the scheduler next passes (the pass the app makes when it opens a workspace).
 */
let app: E2eApp;
let closedPort = 0;
beforeAll(async () => {
  app = await launchApp();
  // A loopback port nothing listens on: the audit's connection is refused at once, on this machine.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => {
  await app?.close();
});

describe('Settings: Schedules', () => {
  it('adds a nightly audit, shows its next run, a failed run as failed, and missed runs', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    const host = insertHost(db, { name: 'office-pc', address: '127.0.0.1', sshPort: closedPort });
    updateHost(db, host.id, { tags: ['office'] });
    await page.getByRole('link', { name: 'Settings' }).click();
    const section = page.getByRole('region', { name: 'Schedules' });
    await section.getByText('No schedules yet.').waitFor();

    const form = page.getByRole('form', { name: 'Add schedule' });
    await form.getByLabel('Name').fill('Nightly office audit');
    await form.getByLabel('Hosts with tag').fill('office');
    await form.getByLabel('Time', { exact: true }).fill('02:00');
    await form.getByLabel('Time zone').fill('Europe/Berlin');
    await form.getByRole('button', { name: 'Add schedule' }).click();

    const row = section.locator('tr[data-schedule-id]');
    await expect.poll(() => row.count()).toBe(1);
    await expect.poll(() => row.textContent()).toContain('every day at 02:00 (Europe/Berlin)');
    expect(await row.textContent()).toContain('audit inventory hosts tagged "office"');
    expect(await row.locator('[data-cell="next"]').textContent()).not.toBe('—');
    expect(await row.locator('[data-cell="last"]').textContent()).toBe('Not run yet');
    expect(await row.locator('[data-cell="missed"]').textContent()).toBe('none');

    // A bad time zone is refused in words, and nothing is added.
    await form.getByLabel('Name').fill('Broken');
    await form.getByLabel('Time zone').fill('Mars/Olympus');
    await form.getByRole('button', { name: 'Add schedule' }).click();
    await section
      .getByRole('alert')
      .filter({ hasText: /time zone/ })
      .waitFor();
    expect(await row.count()).toBe(1);

    // Run now: the host has no credential and refuses the connection; the outcome must read as failure.
    await section.getByRole('button', { name: 'Run Nightly office audit now' }).click();
    const outcome = row.locator('[data-cell="last"] [role="status"]');
    await expect.poll(() => outcome.getAttribute('data-failed'), { timeout: 30_000 }).toBe('true');
    const text = (await outcome.textContent()) ?? '';
    // "Failed: 0 of 1 host succeeded, 1 failed" — led by the failure, never "Succeeded".
    expect(text).toMatch(/^Failed\b/);
    expect(await outcome.getAttribute('class')).toBe('error');
    expect(await row.locator('[data-cell="last"]').textContent()).toContain('(run by hand)');

    // Patchdeck was closed across three nights: the next pass reports them and makes one up, late.
    const [schedule] = await core.call('schedules.list', {});
    db.prepare('UPDATE schedules SET next_run_at = ? WHERE id = ?').run(
      new Date(Date.parse(schedule!.nextRunAt!) - 3 * 86_400_000).toISOString(),
      schedule!.id,
    );
    await scheduleTick(scheduleDeps(core), Date.now()).launched;
    const missed = row.locator('[data-cell="missed"]');
    await expect.poll(() => missed.textContent()).toMatch(/^3 missed \(.+ – .+\): made up once, late$/);
    await expect.poll(() => row.locator('[data-cell="last"]').textContent()).toContain('(late)');
    await expect.poll(() => outcome.getAttribute('data-failed'), { timeout: 30_000 }).toBe('true');
    await section.screenshot({ path: path.resolve('test-results/settings-schedules.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await section.screenshot({ path: path.resolve('test-results/settings-schedules-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });

    // Switch off: no next run. Remove: gone.
    await section.getByRole('button', { name: 'Switch off Nightly office audit' }).click();
    await expect.poll(() => row.locator('[data-cell="next"]').textContent()).toBe('—');
    await section.getByRole('button', { name: 'Remove Nightly office audit' }).click();
    await section.getByText('No schedules yet.').waitFor();
  });
});
