import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchApp, type E2eApp } from './harness';

/**
 * Browser mode's notifications in Chromium: Settings asks the browser's permission on the click,
 * and a finished audit then shows a notification with the task's own outcome and summary. The
 * page's Notification is wrapped (recorded, then the real one is made) so the test can read what
 * was shown; the permission is granted the way a user would, through the browser context.
 */
let app: E2eApp;
let closedPort = 0;

beforeAll(async () => {
  closedPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  await app.page.addInitScript(() => {
    const Real = window.Notification;
    const shown: { title: string; body: string }[] = [];
    (window as unknown as { shownNotifications: typeof shown }).shownNotifications = shown;
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        shown.push({ title, body: options?.body ?? '' });
        super(title, options);
      }
    }
    Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true, writable: true });
  });
  await app.page.reload();
}, 60_000);
afterAll(async () => {
  await app?.close();
});

const shownNotifications = () =>
  app.page.evaluate(
    () => (window as unknown as { shownNotifications: { title: string; body: string }[] }).shownNotifications,
  );

describe('browser notifications', () => {
  it('a denied permission leaves the setting off and says what to do', async () => {
    const { page, core } = app;
    await page.context().clearPermissions();
    await page.getByRole('link', { name: 'Settings' }).click();
    const box = page.getByRole('checkbox', { name: 'Notify me when work finishes' });
    await box.click();
    await expect
      .poll(() => page.getByRole('region', { name: 'Notifications' }).getByRole('alert').textContent())
      .toContain('The browser did not allow notifications for this page.');
    expect(await box.isChecked()).toBe(false);
    expect((await core.call('settings.get', {})).notifyWhenWorkFinishes).toBe(false);
  });

  it('asks on the Settings click, then shows a failed audit as failed with its summary', async () => {
    const { page, core, carrier } = app;
    await page.context().grantPermissions(['notifications'], { origin: new URL(carrier.launchUrl).origin });
    const box = page.getByRole('checkbox', { name: 'Notify me when work finishes' });
    await box.click();
    await expect.poll(() => box.isChecked()).toBe(true);
    await expect.poll(async () => (await core.call('settings.get', {})).notifyWhenWorkFinishes).toBe(true);
    await page.getByRole('region', { name: 'Notifications' }).screenshot({
      path: path.resolve('test-results', 'settings-notifications.png'),
    });

    const a = await core.call('hosts.add', { name: 'down01', address: '127.0.0.1', sshPort: closedPort });
    const b = await core.call('hosts.add', { name: 'down02', address: '127.0.0.1', sshPort: closedPort });
    const { taskId } = await core.call('audits.start', { hostIds: [a.id, b.id] });
    const task = await core.requireWorkspace().tasks.wait(taskId);
    expect(task?.summary).toBe('0 of 2 hosts succeeded, 2 failed');
    await expect
      .poll(shownNotifications)
      .toEqual([{ title: 'Audit 2 hosts — failed', body: '0 of 2 hosts succeeded, 2 failed' }]);
  });
});
