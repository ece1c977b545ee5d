import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeAudit, startAudit } from '../../src/db';
import { launchApp, type E2eApp } from './harness';

/**
 * Bug 5 of issue 10: a host no credential covers failed as `auth-failed`, and the window told
 * the admin to run `patchdeck credential add`. The window names its own pages; the refresh the
 * dnf host needed is offered where the audit starts.
 */
let app: E2eApp;
beforeAll(async () => {
  app = await launchApp();
});
afterAll(async () => {
  await app?.close();
});

describe('audit failures in the window', () => {
  it('says "no credential" and points to Settings → Credentials, never to a command', async () => {
    const { page, core } = app;
    // A credential exists, scoped to another host only: this one is covered by none.
    await core.call('credentials.add', {
      name: 'web only',
      username: 'root',
      kind: 'agent',
      scope: ['web9'],
    });
    const host = await core.call('hosts.add', { name: 'lonely', address: '127.0.0.1', sshPort: 9 });
    await page.getByRole('link', { name: 'Hosts' }).click();
    const row = page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-host-id="${host.id}"]`);
    // Offered where the audit starts: refresh package metadata first.
    await page.getByRole('checkbox', { name: 'Refresh package metadata' }).first().check();
    await row.getByRole('button', { name: 'Audit lonely' }).click();
    await expect
      .poll(() => row.locator('td.audit-status').textContent(), { timeout: 30_000 })
      .toMatch(/^failed/);
    const latest = (await core.call('audits.latest', {})).find((a) => a.hostId === host.id)!;
    expect(latest).toMatchObject({ status: 'failed', errorKind: 'no-credential', refreshed: true });
    const text = (await row.locator('td.audit-status').textContent()) ?? '';
    expect(text).toContain('no-credential');
    expect(text).toContain('Settings → Credentials');
    expect(await page.locator('main').innerText()).not.toMatch(/patchdeck [a-z]/);

    // The host's own page says the same, in the window's words, and offers the refresh too.
    await row.getByRole('link', { name: 'lonely' }).first().click();
    const detail = page.getByRole('region', { name: 'Host detail: lonely' });
    await detail.getByText('Settings → Credentials').first().waitFor();
    await expect(
      detail.getByRole('checkbox', { name: 'Refresh package metadata' }).isChecked(),
    ).resolves.toBe(true);
    expect(await page.locator('main').innerText()).not.toMatch(/patchdeck [a-z]/);
  });

  it('shows what an audit did by itself: a dnf host with no cached metadata was refreshed once', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    const host = await core.call('hosts.add', { name: 'rocky1', address: '198.18.0.41' });
    const note =
      'dnf had no cached package metadata on this host, so this audit refreshed it once (dnf makecache) first';
    completeAudit(db, startAudit(db, { hostId: host.id, taskId: null }), {
      osId: 'rocky',
      osName: 'Rocky Linux',
      osVersion: '9',
      kernel: null,
      packageManager: 'dnf',
      metadataAgeSeconds: 0,
      rebootRequired: false,
      warnings: [note],
      durationMs: 10,
      findings: [],
    });
    await page.getByRole('button', { name: 'All hosts' }).click();
    const row = page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-host-id="${host.id}"]`);
    await row.getByRole('link', { name: 'rocky1' }).first().click();
    const detail = page.getByRole('region', { name: 'Host detail: rocky1' });
    await detail.getByRole('list', { name: 'Audit notes' }).getByText(note).waitFor();
  });
});
