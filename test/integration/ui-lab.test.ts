import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { labStatus, labUp, resetHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { launchApp, type E2eApp } from '../e2e/harness';
import { assertLabRoute } from './support';

/**
 * The whole first-wave flow in real Chromium against the real lab: discover 198.18.0.0/24 from
 * the Discover page, add the hosts, audit them all from the Hosts page, and read the findings
 * on the Updates page — compared with the lab's ground truth.
 */
describeAsRoot('Discover → Hosts → Updates in Chromium against the lab', () => {
  let lab: LabInventory;
  let app: E2eApp;

  beforeAll(async () => {
    lab = await labUp({ hosts: 4, profile: 'mixed' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    app = await launchApp();
    const admin = lab.hosts[0]!.users.find((u) => u.sudo === 'nopasswd')!;
    await app.core.call('credentials.add', {
      name: 'lab-admin',
      username: admin.name,
      kind: 'key',
      secret: fs.readFileSync(lab.keyFile, 'utf8'),
      scope: ['*'],
    });
    // The dnf host has no cached metadata: audits from the UI refresh first.
    await app.core.call('settings.set', { patch: { refreshMetadataBeforeAudit: true } });
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => assertLabRoute(lab));

  it('discovers exactly the lab hosts from the Discover page and adds them to the inventory', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Discover' }).click();
    await page.getByLabel('Targets', { exact: true }).fill(lab.network);
    await page.getByLabel('Exclude', { exact: true }).fill(lab.gateway);
    const rdns = page.getByLabel('Reverse DNS');
    if (await rdns.isChecked()) await rdns.uncheck();
    await expect.poll(() => page.getByTestId('address-count').textContent()).toContain('253 addresses');
    await page.getByRole('button', { name: 'Start scan' }).click();
    await expect
      .poll(() => page.getByRole('status', { name: 'Scan status' }).textContent(), { timeout: 30_000 })
      .toMatch(/^succeeded/);
    const table = page.getByRole('table', { name: 'Discovered hosts' });
    for (const host of lab.hosts) {
      const row = table.locator(`tr[data-address="${host.address}"]`);
      await row.waitFor();
      expect(await row.locator('td').nth(3).textContent()).toContain('22/ssh');
      // The key the sweep read (no login), shown for review: one of the machine's own keys.
      const key = /SHA256:[A-Za-z0-9+/]{43}/.exec((await row.locator('td').nth(6).textContent()) ?? '')?.[0];
      expect(host.hostKeys.map((k) => k.fingerprint)).toContain(key);
    }
    expect(await table.locator('tbody tr').count()).toBe(lab.hosts.length);
    fs.mkdirSync(path.resolve('test-results'), { recursive: true });
    await table.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.resolve('test-results/lab-discover.png'), fullPage: true });
    await page.getByRole('button', { name: 'Add all to inventory' }).click();
    await expect
      .poll(async () => (await core.call('hosts.list', {})).filter((h) => h.inInventory).length)
      .toBe(lab.hosts.length);
  });

  it('shows the SSH key each host presented during the scan and trusts them all in one reviewed step', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Hosts' }).click();
    const review = page.getByRole('region', { name: 'Host keys to review' });
    await review.getByRole('button', { name: `Review keys (${lab.hosts.length})` }).click();
    const table = review.getByRole('table', { name: 'Keys awaiting review' });
    const hosts = await core.call('hosts.list', {});
    // The admin's check: each fingerprint is one of the machine's own keys.
    for (const labHost of lab.hosts) {
      const host = hosts.find((h) => h.address === labHost.address)!;
      const text = (await table.locator(`tr[data-host-id="${host.id}"]`).textContent()) ?? '';
      const shown = /SHA256:[A-Za-z0-9+/]{43}/.exec(text)?.[0];
      expect(labHost.hostKeys.map((k) => k.fingerprint)).toContain(shown);
      expect(text).toContain('discovery scan');
    }
    await page.screenshot({ path: path.resolve('test-results/lab-review-keys.png'), fullPage: true });
    await review.getByRole('button', { name: `Trust these ${lab.hosts.length} keys` }).click();
    await expect
      .poll(async () => (await core.call('hosts.list', {})).filter((h) => h.keyTrust === 'trusted').length)
      .toBe(lab.hosts.length);
  });

  it('audits every host from the Hosts page and lists exactly the ground-truth updates on the Updates page', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Hosts' }).click();
    await page.getByRole('button', { name: `Audit all (${lab.hosts.length})` }).click();
    await expect
      .poll(async () => (await core.call('audits.latest', {})).filter((a) => a.status !== 'running').length, {
        timeout: 120_000,
      })
      .toBe(lab.hosts.length);
    const audits = await core.call('audits.latest', {});
    expect(audits.filter((a) => a.status !== 'succeeded').map((a) => a.errorMessage)).toEqual([]);
    await page.screenshot({ path: path.resolve('test-results/lab-hosts-audited.png'), fullPage: true });

    const expectedTotal = lab.hosts.reduce(
      (sum, h) =>
        sum +
        h.pending.length +
        (h.packageManager === 'apt' ? new Set(h.pending.flatMap((p) => p.newDependencies)).size : 0),
      0,
    );
    // zypper's patches are shown on the packages they update, never counted as updates of their own.
    const expectedSecurity = lab.hosts.reduce(
      (sum, h) => sum + h.pending.filter((p) => p.security).length,
      0,
    );
    const page1 = await core.call('findings.query', { limit: 1 });
    expect(page1.total).toBe(expectedTotal);
    expect(page1.securityTotal).toBe(expectedSecurity);

    await page.getByRole('link', { name: 'Updates' }).click();
    const totals = page.getByRole('group', { name: 'Totals' });
    await expect.poll(() => totals.textContent()).toContain(String(expectedTotal));
    expect(await totals.textContent()).toContain(String(expectedSecurity));
    await page.getByLabel('Search updates').fill('acme-tool');
    const rows = page.getByRole('table', { name: 'Updates' }).locator('[data-finding-id]');
    const withTool = lab.hosts.filter((h) => h.pending.some((p) => p.name === 'acme-tool')).length;
    await expect.poll(() => rows.count()).toBe(withTool);
    await page.screenshot({ path: path.resolve('test-results/lab-updates.png'), fullPage: true });
  });
});
