import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { labStatus, labUp, resetHost, startHost, stopHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { launchApp, type E2eApp } from '../e2e/harness';
import { assertLabRoute } from './support';

/**
 * The README's lab tour, as a newcomer does it in the window: a fresh workspace and default
 * settings, a mixed lab (apt, zypper, dnf) with one host switched off before the audit, and only
 * what the screen offers — the dashboard's Getting started checklist leads from step to step.
 * Each step asserts what the screen says (a failure must read as one), and every page is
 * photographed in light and dark under test-results/tour-*.png.
 */
const shot = (name: string): string => path.resolve('test-results', `tour-${name}.png`);

describeAsRoot('the README lab tour in the window, with default settings', () => {
  let lab: LabInventory;
  let app: E2eApp;
  let stopped: string;
  let audited: LabInventory['hosts'];

  const dashboard = async (page: Page) => {
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.locator('details[aria-label="Getting started"]').waitFor();
  };
  const checklistStep = (page: Page, id: string) =>
    page.locator(`details[aria-label="Getting started"] [data-step="${id}"]`);
  const lastTask = (page: Page) => page.getByTestId('last-task');

  beforeAll(async () => {
    // 5 hosts of the mixed lab: lab01 several (apt), lab02 security (apt), lab03 patched (apt),
    // lab04 zypper, lab05 dnf. lab03 is the machine someone switched off.
    lab = await labUp({ hosts: 5, profile: 'mixed' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    assertLabRoute(lab);
    stopped = lab.hosts.find((h) => h.profile === 'patched')!.name;
    audited = lab.hosts.filter((h) => h.name !== stopped);
    expect(new Set(audited.map((h) => h.packageManager))).toEqual(new Set(['apt', 'zypper', 'dnf']));
    app = await launchApp();
    fs.mkdirSync(path.resolve('test-results'), { recursive: true });
    await app.page.setViewportSize({ width: 1280, height: 800 });
  });
  afterAll(async () => {
    await app?.close();
    if (stopped) await startHost(stopped).catch(() => undefined);
  });
  beforeEach(() => assertLabRoute(lab));

  it('1. the dashboard of an empty workspace says where to start', async () => {
    const { page } = app;
    await dashboard(page);
    await expect.poll(() => page.getByTestId('checklist-progress').textContent()).toBe('0 of 5 steps done');
    expect(await checklistStep(page, 'hosts').getAttribute('data-state')).toBe('next');
    // No audit is offered before there is a credential.
    expect(await checklistStep(page, 'audit').getAttribute('data-state')).toBe('blocked');
    expect(await checklistStep(page, 'audit').getByRole('button').count()).toBe(0);
    await page.screenshot({ path: shot('1-dashboard-empty'), fullPage: true });
  });

  it('2. discovers the five lab hosts from the Discover page and adds them', async () => {
    const { page, core } = app;
    await checklistStep(page, 'hosts').getByRole('button', { name: 'Discover hosts' }).click();
    await page.getByLabel('Targets', { exact: true }).fill(lab.network);
    await page.getByLabel('Exclude', { exact: true }).fill(lab.gateway);
    await expect.poll(() => page.getByTestId('address-count').textContent()).toContain('253 addresses');
    await page.getByRole('button', { name: 'Start scan' }).click();
    const status = page.getByRole('status', { name: 'Scan status' });
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/^succeeded/);
    const table = page.getByRole('table', { name: 'Discovered hosts' });
    for (const host of lab.hosts) await table.locator(`tr[data-address="${host.address}"]`).waitFor();
    expect(await table.locator('tbody tr').count()).toBe(lab.hosts.length);
    // The results are on screen without scrolling, at 1280x800.
    const firstRow = await table.locator('tbody tr').first().boundingBox();
    expect(firstRow && firstRow.y + firstRow.height).toBeLessThan(800);
    await page.screenshot({ path: shot('2-discover') });
    await page.getByRole('button', { name: 'Add all to inventory' }).click();
    await expect
      .poll(async () => (await core.call('hosts.list', {})).filter((h) => h.inInventory).length)
      .toBe(lab.hosts.length);
  });

  it('3. adds the lab key as a credential from a key file, as the checklist leads', async () => {
    const { page, core } = app;
    await dashboard(page);
    expect(await checklistStep(page, 'hosts').getAttribute('data-state')).toBe('done');
    await checklistStep(page, 'credential').getByRole('button', { name: 'Add a credential' }).click();
    const form = page.getByRole('form', { name: 'Add credential' });
    await form.getByLabel('Name', { exact: true }).fill('lab-admin');
    await form.getByLabel('User', { exact: true }).fill('admin');
    await form.getByLabel('Kind', { exact: true }).selectOption('key');
    await form.getByLabel('Private key file').setInputFiles(lab.keyFile);
    await form.getByRole('status', { name: 'Chosen key file' }).waitFor();
    await page.screenshot({ path: shot('3-settings-credential'), fullPage: true });
    await form.getByRole('button', { name: 'Add credential' }).click();
    await expect
      .poll(async () => (await core.call('credentials.list', {})).map((c) => c.name))
      .toEqual(['lab-admin']);
  });

  it('4. reviews the five keys against the lab’s own fingerprints and trusts them in one step', async () => {
    const { page, core } = app;
    await dashboard(page);
    await checklistStep(page, 'keys').getByRole('button', { name: 'Review host keys' }).click();
    const review = page.getByRole('region', { name: 'Host keys to review' });
    await review.getByRole('button', { name: `Review keys (${lab.hosts.length})` }).click();
    const table = review.getByRole('table', { name: 'Keys awaiting review' });
    const hosts = await core.call('hosts.list', {});
    for (const labHost of lab.hosts) {
      const host = hosts.find((h) => h.address === labHost.address)!;
      const text = (await table.locator(`tr[data-host-id="${host.id}"]`).textContent()) ?? '';
      expect(labHost.hostKeys.map((k) => k.fingerprint)).toContain(
        /SHA256:[A-Za-z0-9+/]{43}/.exec(text)?.[0],
      );
    }
    await page.screenshot({ path: shot('4-hosts-review-keys'), fullPage: true });
    await review.getByRole('button', { name: `Trust these ${lab.hosts.length} keys` }).click();
    await expect
      .poll(async () => (await core.call('hosts.list', {})).filter((h) => h.keyTrust === 'trusted').length)
      .toBe(lab.hosts.length);
  });

  it('5. audits all from the Hosts page: the switched-off host is reported failed in words, the others match the ground truth', async () => {
    const { page, core } = app;
    await stopHost(stopped);
    await dashboard(page);
    await checklistStep(page, 'audit').getByRole('button', { name: 'Audit hosts' }).click();
    await page.getByRole('button', { name: `Audit all (${lab.hosts.length})` }).click();
    // Default settings: no "refresh" ticked. The dnf host has no cached metadata and is refreshed by itself.
    const notice = page.getByTestId('hosts-notice');
    await expect.poll(() => notice.textContent(), { timeout: 180_000 }).toMatch(/hosts succeeded/);
    await page.screenshot({ path: shot('5-hosts-audited'), fullPage: true });
    const outcomes = (await core.call('audits.latest', {})).map((a) => [
      a.hostId,
      a.status,
      a.errorKind,
      a.errorMessage,
    ]);
    expect(await notice.textContent(), JSON.stringify(outcomes)).toMatch(
      new RegExp(`${audited.length} of ${lab.hosts.length} hosts succeeded, 1 failed`),
    );
    expect(await notice.getAttribute('class')).toContain('error');
    // The status bar says failed, never "succeeded".
    await expect
      .poll(() => lastTask(page).textContent())
      .toMatch(/— partly failed: 4 of 5 hosts succeeded, 1 failed/);
    expect(await lastTask(page).textContent()).not.toMatch(/— succeeded/);
    const hosts = await core.call('hosts.list', {});
    // Never audited, it is still known by its address; the audited ones learned their names.
    const offLab = lab.hosts.find((h) => h.name === stopped)!;
    const off = hosts.find((h) => h.address === offLab.address)!;
    expect(off.name).toBe(offLab.address);
    const offRow = page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-host-id="${off.id}"]`);
    expect(await offRow.locator('td.audit-status').textContent()).toMatch(/failed.*(unreachable|timeout)/i);
    for (const host of audited) {
      const id = hosts.find((h) => h.name === host.name)!.id;
      const row = page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-host-id="${id}"]`);
      expect(await row.locator('td.audit-status').textContent()).not.toMatch(/failed/i);
    }
    await page.screenshot({ path: shot('5-hosts-audited'), fullPage: true });

    // Every finding of the audited hosts, and no more: the Updates page's totals are the ground truth.
    const expectedTotal = audited.reduce(
      (sum, h) =>
        sum +
        h.pending.length +
        (h.packageManager === 'apt' ? new Set(h.pending.flatMap((p) => p.newDependencies)).size : 0),
      0,
    );
    const expectedSecurity = audited.reduce((sum, h) => sum + h.pending.filter((p) => p.security).length, 0);
    const all = await core.call('findings.query', { limit: 1 });
    expect([all.total, all.securityTotal]).toEqual([expectedTotal, expectedSecurity]);
    await dashboard(page);
    expect(await checklistStep(page, 'audit').textContent()).toContain(
      `${audited.length} of 5 hosts audited, 1 failed`,
    );
    // The failed host links to its own page.
    await page.getByRole('link', { name: off.name }).first().waitFor();
    await page.screenshot({ path: shot('5-dashboard-audited'), fullPage: true });
    await page.getByRole('link', { name: 'Updates' }).click();
    const totals = page.getByRole('group', { name: 'Totals' });
    await expect.poll(() => totals.textContent()).toContain(String(expectedTotal));
    expect(await totals.textContent()).toContain(String(expectedSecurity));
    await page.screenshot({ path: shot('5-updates'), fullPage: true });
  });

  it('6. patches security updates on the audited hosts with the default reboot policy: the job ends green, verified by re-audit', async () => {
    const { page, core } = app;
    const names = audited.map((h) => h.name);
    await page.getByRole('link', { name: 'Patch jobs' }).click();
    await page.getByRole('button', { name: 'New patch job' }).click();
    const wizard = page.getByRole('region', { name: 'New patch job' });
    for (const name of names) await wizard.getByLabel(`Patch ${name}`).check();
    await wizard.getByLabel('Security updates only').check();
    await wizard.getByRole('button', { name: 'Review dry run' }).click();
    for (const host of audited) {
      const preview = wizard.getByRole('article', { name: `Dry run on ${host.name}` });
      await preview.getByText('will change').waitFor({ timeout: 180_000 });
      // Never an approval over an empty table: each security update is listed.
      const changes = preview.getByRole('table', { name: `Changes on ${host.name}` });
      for (const p of host.pending.filter((u) => u.security && !u.held))
        await changes
          .getByRole('row', { name: new RegExp(`^${p.name}[ .]`) })
          .first()
          .waitFor();
    }
    await page.screenshot({ path: shot('6-wizard-review'), fullPage: true });
    await wizard.getByRole('button', { name: 'Next: schedule and reboot' }).click();
    // The default reboot policy is the one chosen.
    expect(await wizard.getByLabel(/Reboot: If required/).isChecked()).toBe(true);
    await wizard.getByLabel('Now', { exact: true }).check();
    await wizard.getByRole('button', { name: 'Next: confirm' }).click();
    const approve = wizard.getByRole('button', { name: 'Approve and start' });
    await approve.waitFor({ timeout: 120_000 });
    await page.screenshot({ path: shot('6-wizard-confirm'), fullPage: true });
    await approve.click();

    await expect
      .poll(async () => (await core.call('jobs.list', {})).some((j) => j.approvedBy !== null), {
        timeout: 30_000,
      })
      .toBe(true);
    const job = (await core.call('jobs.list', {})).find((j) => j.approvedBy !== null)!;
    const detail = page.getByRole('region', { name: `Job ${job.id}` });
    const badge = detail.locator('.detail-head .badge');
    await expect
      .poll(() => badge.textContent(), { timeout: 420_000, interval: 500 })
      .toMatch(/^(succeeded|failed|partly failed|cancelled|interrupted)$/);
    const final = await core.call('jobs.get', { id: job.id });
    expect(
      final.steps.map((s) => [s.hostName, s.status, s.errorKind]),
      JSON.stringify(final.steps.map((s) => [s.hostName, s.status, s.errorMessage])),
    ).toEqual(names.map((n) => [n, 'succeeded', null]));
    expect(await badge.textContent()).toBe('succeeded');
    for (const name of names) {
      const bar = detail
        .getByRole('listitem', { name })
        .getByRole('progressbar', { name: `${name} progress` });
      await expect(bar.getAttribute('aria-valuetext')).resolves.toBe('done, verified');
    }
    await expect.poll(() => lastTask(page).textContent()).toMatch(/— succeeded/);
    await page.screenshot({ path: shot('6-job-succeeded'), fullPage: true });

    // The job's own re-audits are the latest audits: no security update left, no reboot due.
    const latest = await core.call('audits.latest', {});
    const hosts = await core.call('hosts.list', {});
    for (const name of names) {
      const id = hosts.find((h) => h.name === name)!.id;
      const audit = latest.find((a) => a.hostId === id)!;
      expect([name, audit.status, audit.rebootRequired]).toEqual([name, 'succeeded', false]);
      const left = await core.call('findings.query', { hostId: id, securityOnly: true, limit: 100 });
      // Only a held package stays (held on purpose, and listed as left out in the dry run).
      const held = audited.find((h) => h.name === name)!.pending.filter((p) => p.security && p.held).length;
      expect([name, left.total]).toEqual([name, held]);
    }
    await dashboard(page);
    expect(await checklistStep(page, 'patch').getAttribute('data-state')).toBe('done');
    await page.screenshot({ path: shot('6-dashboard-patched'), fullPage: true });
  });

  it('7. every page, light and dark', async () => {
    const { page, core } = app;
    const hostId = (await core.call('hosts.list', {})).find((h) => h.name === audited[0]!.name)!.id;
    const pages = ['Dashboard', 'Discover', 'Hosts', 'Updates', 'Patch jobs', 'Settings'];
    for (const theme of ['light', 'dark'] as const) {
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Theme').selectOption(theme);
      await expect.poll(() => page.evaluate('document.documentElement.dataset.theme')).toBe(theme);
      for (const name of pages) {
        await page.getByRole('link', { name, exact: true }).click();
        await page.waitForTimeout(300);
        await page.screenshot({
          path: shot(`7-${name.toLowerCase().replace(/ /g, '-')}-${theme}`),
          fullPage: true,
        });
      }
      await page.evaluate(`window.location.hash = '#/hosts/${hostId}'`);
      await page.getByRole('button', { name: 'All hosts' }).waitFor();
      // The re-audit compared with the first: a new dependency reads "new → 3.1-1", never "? → 3.1-1".
      const unchanged = await page.getByRole('region', { name: 'Unchanged findings' }).textContent();
      expect(unchanged).not.toContain('? →');
      for (const dep of new Set(audited[0]!.pending.flatMap((p) => p.newDependencies)))
        expect(unchanged).toMatch(new RegExp(`${dep.split(/[\s(]/)[0]} \\(all\\) new → `));
      await page.screenshot({ path: shot(`7-host-detail-${theme}`), fullPage: true });
    }
  });
});
