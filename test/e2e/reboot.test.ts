import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOptions, type TargetPackage } from '../../src/api/schemas';
import {
  completeAudit,
  insertHost,
  insertJob,
  listAuditLog,
  listJobs,
  listSteps,
  startAudit,
  updateJob,
  updateStep,
} from '../../src/db';
import { launchApp, type E2eApp } from './harness';

/**
 * "Installed, reboot pending" and Reboot now in Chromium, over jobs and audits seeded into the real
 * workspace with the patch engine's own functions. The host points at a closed loopback port, so a
 * reboot the page asks for really runs and fails fast, on this machine only — and must look failed.
 */
let app: E2eApp;
let closedPort = 0;
const ids = { web01: 0, job: 0 };
const FIRMWARE: TargetPackage = {
  name: 'acme-firmware',
  arch: 'all',
  from: '20230210-1',
  to: '20230210-1+deb12u1',
  security: true,
};

beforeAll(async () => {
  closedPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  app = await launchApp();
  const db = app.core.requireWorkspace().db;
  ids.web01 = insertHost(db, { name: 'web01', address: '127.0.0.1', sshPort: closedPort }).id;
  const auditId = startAudit(db, { hostId: ids.web01, taskId: null });
  completeAudit(db, auditId, {
    osId: 'debian',
    osName: 'Debian GNU/Linux',
    osVersion: '12',
    kernel: null,
    packageManager: 'apt',
    metadataAgeSeconds: 60,
    rebootRequired: true,
    warnings: [],
    durationMs: 400,
    findings: [],
  });
  // A finished job under reboot "never": the firmware is in, the host waits for its reboot.
  ids.job = insertJob(db, {
    name: 'Patch web01: acme-firmware',
    selection: { mode: 'packages', packages: ['acme-firmware'] },
    rebootPolicy: 'never',
    onFailure: 'continue',
    concurrency: 1,
    options: JobOptions.parse({}),
    steps: [{ hostId: ids.web01, packages: [FIRMWARE], packageManager: 'apt' }],
  });
  const step = listSteps(db, ids.job)[0]!;
  updateStep(db, step.id, {
    status: 'reboot-pending',
    phase: 'done',
    before: { 'acme-firmware': FIRMWARE.from },
    after: { 'acme-firmware': FIRMWARE.to },
    verifyAuditId: auditId,
    startedAt: new Date(Date.now() - 120_000).toISOString(),
    finishedAt: new Date(Date.now() - 60_000).toISOString(),
  });
  updateJob(db, ids.job, {
    status: 'succeeded',
    approvedBy: 'admin',
    approvedAt: new Date(Date.now() - 180_000).toISOString(),
    message: '1 host(s) wait for a reboot to finish their updates.',
    startedAt: new Date(Date.now() - 120_000).toISOString(),
    finishedAt: new Date(Date.now() - 60_000).toISOString(),
  });
  await app.page.setViewportSize({ width: 1400, height: 1000 });
});
afterAll(async () => {
  await app?.close();
});

describe('reboots in Chromium', () => {
  it('a job step waiting for its reboot says so, never "succeeded"; Reboot now runs, and its failure looks like failure', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Patch jobs' }).click();
    await page.getByRole('button', { name: `#${ids.job} Patch web01: acme-firmware` }).click();
    const detail = page.getByRole('region', { name: `Job ${ids.job}` });
    const web01 = detail
      .getByRole('list', { name: 'Hosts in this job' })
      .getByRole('listitem', { name: 'web01' });
    await web01.locator('.badge', { hasText: 'installed, reboot pending' }).waitFor();
    await expect(web01.locator('.badge').textContent()).resolves.not.toMatch(/succeeded/);
    const bar = web01.getByRole('progressbar', { name: 'web01 progress' });
    await expect(bar.getAttribute('aria-valuetext')).resolves.toBe('installed, verified; waits for a reboot');
    await web01.getByText('the host needs a reboot to finish them').waitFor();
    // The job itself, in its header and in the list, is not "succeeded" while its host waits.
    await expect(detail.locator('.detail-head .badge').textContent()).resolves.toBe(
      'installed, reboot pending',
    );
    const listed = page
      .getByRole('button', { name: `#${ids.job} Patch web01: acme-firmware` })
      .locator('xpath=ancestor::tr');
    await expect(listed.locator('[data-outcome]').textContent()).resolves.toBe('installed, reboot pending');
    await page.screenshot({ path: path.resolve('test-results', 'job-reboot-pending.png') });

    await detail.getByRole('button', { name: 'Reboot now (1 host)' }).waitFor();
    await web01.getByRole('button', { name: 'Reboot web01 now' }).click();
    // The host cannot be reached: the step fails in its reboot phase, the job fails, and the
    // reboot can be tried again.
    await web01.locator('.badge', { hasText: 'failed' }).waitFor({ timeout: 30_000 });
    await expect(bar.getAttribute('aria-valuetext')).resolves.toBe('failed during rebooting');
    await detail.locator('.badge', { hasText: 'failed' }).first().waitFor();
    await detail.getByRole('button', { name: 'Re-run failed hosts (1)' }).waitFor();
    await detail.getByRole('button', { name: 'Reboot now (1 host)' }).waitFor();
    const db = app.core.requireWorkspace().db;
    expect(listAuditLog(db, { entityType: 'patch_job' }).some((e) => e.action === 'job.reboot')).toBe(true);
    await page.screenshot({ path: path.resolve('test-results', 'job-reboot-failed.png') });
  });

  it('host detail offers Reboot now and Reboot at… for a host that needs a reboot; a time schedules a job of its own', async () => {
    const { page } = app;
    const base = page.url().split('#')[0]!;
    await page.goto(`${base}#/hosts/${ids.web01}`);
    const detail = page.getByRole('region', { name: 'Host detail: web01' });
    const reboot = detail.getByRole('region', { name: 'Reboot' });
    await reboot.getByText('web01 needs a reboot to finish its updates').waitFor();
    await reboot.getByRole('button', { name: 'Reboot now' }).waitFor();
    await reboot.getByRole('button', { name: 'Reboot at…' }).click();
    const when = new Date(Date.now() + 2 * 3600_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`;
    await reboot.getByLabel('Reboot at', { exact: true }).fill(local);
    await reboot.getByRole('button', { name: 'Schedule reboot' }).click();
    await reboot
      .getByRole('status')
      .filter({ hasText: /Reboot scheduled for .* \(job \d+\)/ })
      .waitFor();
    await page.screenshot({ path: path.resolve('test-results', 'host-reboot-scheduled.png') });
    const db = app.core.requireWorkspace().db;
    const job = listJobs(db).find((j) => j.name === 'Reboot web01')!;
    expect(job.status).toBe('scheduled');
    expect(new Date(job.scheduledAt!).getTime()).toBe(new Date(local).getTime());
    expect(listAuditLog(db, { entityType: 'host' }).some((e) => e.action === 'host.reboot')).toBe(true);
    await reboot.getByRole('button', { name: 'Open the job' }).click();
    await page.getByRole('region', { name: `Job ${job.id}` }).waitFor();
  });
});
