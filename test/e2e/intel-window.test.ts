import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeAudit, insertHost, readSettings, startAudit } from '../../src/db';
import { packageFinding } from '../../src/db/testing/audits';
import { addAdvisory, addSource } from '../../src/intel/testing/snapshot';
import { enrichCurrentFindings } from '../../src/intel/enrich';
import { systemClock } from '../../src/util';
import { launchApp, type E2eApp } from './harness';

/**
 * In real Chromium over the real core: the evidence dialog belongs to the page it was opened from
 * (another route closes it), and the dashboard's package-manager count is labelled as such, so it
 * does not contradict the judged "open security updates" (which also counts updates the snapshot
 * found CVEs for that the package manager did not mark security).
 */
const SHOTS = path.resolve('test-results');
let app: E2eApp;

beforeAll(async () => {
  app = await launchApp();
  await app.page.setViewportSize({ width: 1440, height: 1600 });
  fs.mkdirSync(SHOTS, { recursive: true });
  const db = app.core.requireWorkspace().db;
  const host = insertHost(db, { name: 'alma01', address: '198.18.0.70' });
  const audit = startAudit(db, { hostId: host.id, taskId: null });
  const upd = (pkg: string, from: string, to: string, security: boolean) =>
    packageFinding({
      package: pkg,
      arch: 'x86_64',
      installedVersion: from,
      availableVersion: to,
      repository: 'appstream',
      security,
      severity: security ? 'moderate' : null,
    });
  completeAudit(db, audit, {
    osId: 'almalinux',
    osName: 'AlmaLinux',
    osVersion: '9.4',
    packageManager: 'dnf',
    kernel: null,
    metadataAgeSeconds: 60,
    rebootRequired: false,
    warnings: [],
    durationMs: 10,
    // zlib is marked security by dnf; toolbox is not, but ALSA-2023:6077 (real record) fixes it.
    findings: [
      upd('zlib', '1.2.11-40.el9', '1.2.11-41.el9', true),
      upd('toolbox', '0.0.99.3-9.el9_2', '0.0.99.3-10.el9_2', false),
    ],
  });
  const osv = addSource(db, { feed: 'osv', publisher: 'AlmaLinux', publishedAt: new Date().toISOString() });
  addAdvisory(db, osv, {
    advisoryId: 'ALSA-2023:6077',
    cves: ['CVE-2023-39325', 'CVE-2023-44487'],
    severity: 'medium',
    packages: [
      { ecosystem: 'AlmaLinux:9', package: 'toolbox', nameKind: 'binary', fixed: '0.0.99.3-10.el9_2' },
    ],
  });
  enrichCurrentFindings(db, { clock: systemClock, settings: readSettings(db) });
}, 60_000);

afterAll(async () => {
  await app?.close();
});

describe('the window around the evidence and the dashboard', () => {
  it('the evidence dialog closes when the admin goes to another page', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.getByRole('button', { name: 'Evidence of toolbox x86_64 on alma01' }).click();
    const dialog = page.getByRole('dialog', { name: 'Evidence' });
    await dialog.getByText('CVE-2023-44487').first().waitFor();
    // A hash change (the browser's back button, a link elsewhere) is a new page.
    await page.evaluate(() => {
      window.location.hash = '#/dashboard';
    });
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await expect.poll(() => dialog.count()).toBe(0);
    expect(
      await page.evaluate(() => document.querySelector<HTMLDialogElement>('dialog.evidence-panel')?.open),
    ).toBe(false);
  });

  it("labels the package manager's count apart from the judged open security updates", async () => {
    const { page } = app;
    const figure = (label: string) =>
      page.getByRole('group', { name: label, exact: true }).locator('.card-figure');
    await expect.poll(() => figure('Marked security by the package manager').textContent()).toBe('1');
    expect(await page.getByRole('group', { name: 'Security updates', exact: true }).count()).toBe(0);
    const exposure = await app.core.call('dashboard.exposure', {});
    expect(exposure.open).toBe(2);
    await page.getByRole('region', { name: 'Exposure' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'intel-window-dashboard.png'), fullPage: true });
  });
});
